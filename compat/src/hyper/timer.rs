//! [`GoroTimer`]: `hyper::rt::Timer` on goro's timer wheel.

use goro_reactor::time::Sleep;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// hyper's timeouts (header read, keep-alive, HTTP/2 pings, the client
/// pool's idle timer) as goro sleeps on the runtime's timer wheel.
///
/// [`reset`](::hyper::rt::Timer::reset) downcasts hyper's boxed sleep to
/// [`GoroSleep`] and moves the deadline of that same goro `Sleep`; it
/// allocates a new one only when handed a sleep some other timer made.
///
/// # Panics
/// `sleep` and `sleep_until` panic outside a goro runtime (a goro sleep
/// belongs to a runtime's wheel).
#[derive(Clone, Copy, Debug, Default)]
pub struct GoroTimer {
    _private: (),
}

impl GoroTimer {
    /// A timer on the current goro runtime's wheel.
    pub fn new() -> Self {
        GoroTimer { _private: () }
    }
}

/// The sleep [`GoroTimer`] hands hyper: a goro [`Sleep`] in a box hyper can
/// downcast.
#[derive(Debug)]
pub struct GoroSleep {
    inner: Sleep,
}

impl GoroSleep {
    /// Moves the deadline of the same underlying timer.
    pub fn reset(&mut self, deadline: Instant) {
        self.inner.reset(deadline.into());
    }

    /// The instant this sleep completes at.
    pub fn deadline(&self) -> Instant {
        self.inner.deadline().into_std()
    }
}

impl Future for GoroSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.inner).poll(cx)
    }
}

impl ::hyper::rt::Sleep for GoroSleep {}

impl ::hyper::rt::Timer for GoroTimer {
    #[track_caller]
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(GoroSleep {
            inner: goro_reactor::time::sleep(duration),
        })
    }

    #[track_caller]
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(GoroSleep {
            inner: goro_reactor::time::sleep_until(deadline.into()),
        })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn ::hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<GoroSleep>() {
            Some(goro) => goro.get_mut().reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
