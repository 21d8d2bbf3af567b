//! The reactor's counters, for the executor's `RuntimeMetrics`.

use crate::driver::Handle;
use std::sync::atomic::Ordering;

/// A snapshot of a reactor's counters.
///
/// Each field is read on its own (no lock covers them all), so a snapshot
/// taken while the reactor works may mix instants a few microseconds apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReactorMetrics {
    /// IO sources (sockets, `AsyncFd`s) registered right now.
    pub registered_sockets: usize,
    /// Readiness events delivered to registrations since the reactor was
    /// created (one per source per poll that reported it ready; the
    /// reactor's own wake-up events are not counted).
    pub ready_events: u64,
    /// Timers armed right now (sleeps, timeouts, intervals not yet fired or
    /// dropped).
    pub armed_timers: usize,
    /// How many times the reactor has been polled, blocking or not.
    pub polls: u64,
}

impl Handle {
    /// This reactor's counters.
    pub fn metrics(&self) -> ReactorMetrics {
        ReactorMetrics {
            registered_sockets: self.io_registrations(),
            // Relaxed: a statistic; see the store in `Driver::park`.
            ready_events: self.inner.ready_events.load(Ordering::Relaxed),
            armed_timers: self.pending_timers(),
            polls: self.polls(),
        }
    }
}

/// The counters of the reactor entered on this thread, or `None` outside
/// any (see [`Handle::try_current`]).
pub fn metrics() -> Option<ReactorMetrics> {
    Handle::try_current().map(|h| h.metrics())
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::Driver;
    use std::future::Future;
    use std::time::Duration;

    #[test]
    fn counts_sockets_events_and_timers() {
        let mut driver = Driver::new().unwrap();
        let handle = driver.handle();
        let _enter = handle.enter();
        let before = crate::metrics().expect("entered");
        assert_eq!(before.registered_sockets, 0);
        assert_eq!(before.armed_timers, 0);
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let a = crate::net::UnixStream::from_std(a).unwrap();
        let sleep = crate::time::sleep(Duration::from_secs(60));
        let mut sleep = Box::pin(sleep);
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(sleep.as_mut().poll(&mut cx).is_pending());
        use std::io::Write;
        (&b).write_all(b"x").unwrap();
        driver.park(Some(Duration::from_millis(100)));
        let m = handle.metrics();
        assert_eq!(m.registered_sockets, 1);
        assert_eq!(m.armed_timers, 1);
        assert!(m.ready_events >= 1, "{m:?}");
        assert!(m.polls > before.polls);
        drop(a);
        drop(sleep);
        let m = handle.metrics();
        assert_eq!((m.registered_sockets, m.armed_timers), (0, 0), "{m:?}");
    }
}
