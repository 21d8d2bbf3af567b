//! [`Driver`] (the part that blocks) and [`Handle`] (the part every thread
//! may hold). See "Parking" in the crate docs for the protocol.

use crate::registration::IoSlab;
use crate::scheduled_io::bits_of;
use crate::time::clock::{Clock, Virtual};
use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::{Duration, Instant};

/// The token of the driver's `mio::Waker`; registration tokens never take
/// this value (see `registration.rs`, "Tokens").
const WAKER_TOKEN: mio::Token = mio::Token(usize::MAX);

/// Runs a closure on a thread pool for blocking work (the executor's
/// `spawn_blocking` pool); host-name resolution goes through it.
pub type BlockingSpawner = Arc<dyn Fn(Box<dyn FnOnce() + Send>) + Send + Sync>;

/// The part of the reactor that blocks: owns the `mio::Poll`. One per
/// runtime, held by whichever worker thread is parked in it.
pub struct Driver {
    poll: mio::Poll,
    events: mio::Events,
    handle: Handle,
    /// Wakers collected while locks are held, woken after release.
    /// Reused across parks to avoid allocating.
    to_wake: Vec<Waker>,
    is_shutdown: bool,
}

/// A cheap, clonable reference to a reactor, usable from any thread.
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) registry: mio::Registry,
    waker: mio::Waker,
    /// Live registrations. Locked by the driver for one batch of events,
    /// and by sockets when they are created or dropped.
    pub(crate) io: Mutex<IoSlab>,
    pub(crate) clock: Clock,
    /// See [`Driver::set_blocking_spawner`].
    blocking: Mutex<Option<BlockingSpawner>>,
    /// How many times [`Driver::park`] has run; see [`Handle::polls`].
    pub(crate) polls: AtomicU64,
    /// Mirrors the slab's count of live registrations (written under its
    /// lock by [`Inner::with_slab`]), so that a non-blocking poll can skip
    /// the system call when no socket is registered.
    live_ios: AtomicUsize,
    /// Readiness events dispatched to registrations; see
    /// [`crate::ReactorMetrics`].
    pub(crate) ready_events: AtomicU64,
}

impl Inner {
    /// Raises the waker's edge (see [`Handle::unpark`]).
    pub(crate) fn waker_wake(&self) {
        self.waker
            .wake()
            .expect("goro reactor: failed to wake the poller");
    }

    /// Runs `f` on the registration slab under its lock and refreshes
    /// `live_ios`.
    pub(crate) fn with_slab<R>(&self, f: impl FnOnce(&mut IoSlab) -> R) -> R {
        let mut slab = self.io.lock().unwrap();
        let out = f(&mut slab);
        // Relaxed: a hint for `Driver::park`'s skip (see there), not a
        // publication; the slab itself stays behind the lock.
        self.live_ios.store(slab.live(), Ordering::Relaxed);
        out
    }

    /// Records each `(token, readiness bits)` event in its registration and
    /// moves the wakers it readies to `to_wake`, under the slab's lock (the
    /// caller wakes them after). Returns how many events reached a
    /// registration, and whether one was the waker's own.
    pub(crate) fn dispatch(
        &self,
        events: impl Iterator<Item = (mio::Token, usize)>,
        to_wake: &mut Vec<Waker>,
    ) -> (u64, bool) {
        let slab = self.io.lock().unwrap();
        let mut dispatched = 0u64;
        let mut waker = false;
        for (token, ready) in events {
            if token == WAKER_TOKEN {
                waker = true; // an unpark: nothing to dispatch
                continue;
            }
            if let Some(io) = slab.get(token) {
                io.set_readiness(ready);
                io.take_wakers(ready, to_wake);
                dispatched += 1;
            }
        }
        // An RMW: `Handle::poll_io_now` dispatches from other threads than
        // the driver's. Relaxed: readers take a statistic, nothing is
        // published through it.
        self.ready_events.fetch_add(dispatched, Ordering::Relaxed);
        (dispatched, waker)
    }
}

impl Driver {
    /// Creates a reactor.
    pub fn new() -> io::Result<Driver> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        let registry = poll.registry().try_clone()?;
        Ok(Driver {
            poll,
            events: mio::Events::with_capacity(1024),
            handle: Handle {
                inner: Arc::new(Inner {
                    registry,
                    waker,
                    io: Mutex::new(IoSlab::default()),
                    clock: Clock::new(),
                    blocking: Mutex::new(None),
                    polls: AtomicU64::new(0),
                    live_ios: AtomicUsize::new(0),
                    ready_events: AtomicU64::new(0),
                }),
            },
            to_wake: Vec::new(),
            is_shutdown: false,
        })
    }

    /// A handle to this reactor.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Polls for IO readiness and fires due timers, waking their wakers on
    /// this thread. Blocks for at most `timeout` and never past the nearest
    /// timer (`None`: until an event, a timer or [`Handle::unpark`];
    /// `Some(ZERO)`: never blocks).
    pub fn park(&mut self, timeout: Option<Duration>) {
        let inner = &*self.handle.inner;
        let clock = &inner.clock;
        // Relaxed: a progress counter for sysmon's heuristic; nothing is
        // published through it.
        inner.polls.fetch_add(1, Ordering::Relaxed);

        // Fire what is already due and decide how long to sleep; publish
        // that under the wheel lock (see "Waking a driver that sleeps too
        // long" in time/clock.rs).
        let real = Instant::now();
        let poll_timeout = {
            let mut st = clock.lock();
            let mut now = clock.virtual_now(&st, real);
            st.wheel.advance(clock.now_tick(now), &mut self.to_wake);
            if timeout.is_none() && self.to_wake.is_empty() && matches!(st.virt, Virtual::Paused(_))
            {
                // Idle with the clock paused: jump to the next timer
                // instead of sleeping until it (time/pause.rs).
                now = clock.auto_advance(&mut st, &mut self.to_wake);
            }
            let timer = st.wheel.next_deadline();
            let mut t = match (timeout, timer) {
                (None, None) => None,
                (Some(t), None) => Some(t),
                (t, Some(tick)) => {
                    let until = clock.until(tick, now);
                    Some(t.map_or(until, |t| t.min(until)))
                }
            };
            if !self.to_wake.is_empty() {
                t = Some(Duration::ZERO); // we have work to hand back now
            }
            st.sleeping_until = match t {
                None => u64::MAX,
                Some(d) if d.is_zero() => 0,
                Some(d) => clock.deadline_tick(now + d),
            };
            t
        };
        // Wake timer tasks before blocking so another worker can run them.
        self.to_wake.drain(..).for_each(Waker::wake);

        // A non-blocking poll with no socket registered can only find the
        // wake-up event, which nobody needs while this thread is awake (the
        // next blocking poll consumes it): skip the system call, which a
        // busy M would otherwise make every 61 ticks on a runtime without
        // sockets, a measurable share of a `yield_now`. Relaxed: a socket
        // registered concurrently is polled next time, as if it had
        // registered just after this poll.
        let skip =
            poll_timeout == Some(Duration::ZERO) && inner.live_ios.load(Ordering::Relaxed) == 0;
        if skip {
            self.events.clear();
        } else {
            match self.poll.poll(&mut self.events, poll_timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => panic!("goro reactor: epoll/kqueue poll failed: {e}"),
            }
        }

        if !self.events.is_empty() {
            let events = self.events.iter().map(|e| (e.token(), bits_of(e)));
            inner.dispatch(events, &mut self.to_wake);
        }
        // A non-blocking park already advanced the wheel to (almost) now;
        // after a real sleep, fire what came due while we slept.
        let slept = poll_timeout != Some(Duration::ZERO);
        {
            let mut st = clock.lock();
            st.sleeping_until = 0;
            if slept {
                let now = clock.virtual_now(&st, Instant::now());
                st.wheel.advance(clock.now_tick(now), &mut self.to_wake);
            }
        }
        self.to_wake.drain(..).for_each(Waker::wake);
    }

    /// Shuts the reactor down: every registration is marked shut down (its
    /// pending and future IO fails with an error saying so) and its wakers
    /// are woken; every pending timer is dropped and its waker woken (a
    /// sleep polled afterwards panics, see "Outside a runtime" in the crate
    /// docs). Idempotent; also run when the driver is dropped.
    pub fn shutdown(&mut self) {
        if self.is_shutdown {
            return;
        }
        self.is_shutdown = true;
        let inner = &self.handle.inner;
        inner.io.lock().unwrap().shutdown(&mut self.to_wake);
        let spare = {
            let mut st = inner.clock.lock();
            st.is_shutdown = true;
            st.wheel.drain(&mut self.to_wake);
            st.spare.take()
        };
        drop(spare); // outside the lock: see time/clock.rs

        // Drop the blocking pool: it belongs to the runtime that is ending.
        inner.blocking.lock().unwrap().take();
        self.to_wake.drain(..).for_each(Waker::wake);
    }

    /// Hands the reactor the executor's blocking pool. Without one, blocking
    /// work (DNS) runs on a fresh std thread.
    pub fn set_blocking_spawner(&mut self, spawner: BlockingSpawner) {
        *self.handle.inner.blocking.lock().unwrap() = Some(spawner);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// Restores the previous current reactor when dropped.
#[derive(Debug)]
pub struct EnterGuard {
    prev: Option<Handle>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

pub(crate) const NO_RUNTIME: &str =
    "there is no goro reactor running: this must be called from inside a goro runtime \
     (within Runtime::block_on, a spawned task, or #[goro::main])";

impl Handle {
    /// Wakes the thread blocked in [`Driver::park`], if any; the next park
    /// returns at once if none is blocked now.
    pub fn unpark(&self) {
        self.inner.waker_wake();
    }

    /// Polls for IO readiness without blocking and without the [`Driver`]:
    /// any thread may call it, also while another thread is blocked in
    /// [`Driver::park`] (the kernel lets several threads wait on one epoll
    /// instance). Readiness is dispatched as the driver dispatches it, and
    /// the wakers of the tasks waiting for it are woken on this thread, so
    /// an executor's worker that ran out of work runs them itself instead
    /// of waiting for the thread parked in the driver to wake and hand them
    /// over (Go's `findRunnable` calls `netpoll(0)` the same way while
    /// another M blocks in `netpoll`). Timers are not fired here: they stay
    /// with the driver. Returns whether readiness reached any registration.
    ///
    /// Costs one load when no socket is registered. Linux only (elsewhere
    /// it returns false and the driver alone polls).
    pub fn poll_io_now(&self) -> bool {
        // Relaxed: a hint, as in `Driver::park`'s skip.
        if self.inner.live_ios.load(Ordering::Relaxed) == 0 {
            return false;
        }
        #[cfg(target_os = "linux")]
        {
            crate::concurrent_poll::poll_io_now(&self.inner)
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }

    /// Makes this the current thread's reactor until the guard drops.
    pub fn enter(&self) -> EnterGuard {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        EnterGuard { prev }
    }

    /// The current thread's reactor.
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn current() -> Handle {
        Self::try_current().expect(NO_RUNTIME)
    }

    /// The current thread's reactor, or `None` outside a goro runtime.
    pub fn try_current() -> Option<Handle> {
        CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
    }

    /// Runs `f` with the current thread's reactor (no reference count
    /// taken), or `None` outside a goro runtime or during thread exit.
    pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Handle>) -> R) -> R {
        let mut f = Some(f);
        if let Ok(r) = CURRENT.try_with(|c| match c.try_borrow() {
            Ok(h) => (f.take().unwrap())(h.as_ref()),
            Err(_) => (f.take().unwrap())(None),
        }) {
            return r;
        }
        (f.take().unwrap())(None)
    }

    /// Lets [`crate::time::pause`] pause this reactor's clock. An executor
    /// calls it for a runtime whose tasks all run on the thread that parks
    /// in the driver (goro's current-thread flavor): there, "every task is
    /// idle" is exactly "the driver is parked with no timeout", which is
    /// when a paused clock jumps to the next timer. Addition to the seam.
    pub fn allow_clock_pause(&self) {
        self.inner.clock.allow_pause();
    }

    /// Pauses this reactor's clock, as [`crate::time::pause`] does for the
    /// current one (an executor's `start_paused`). Addition to the seam.
    ///
    /// # Panics
    /// As [`crate::time::pause`].
    #[track_caller]
    pub fn pause_clock(&self) {
        crate::time::pause_in(self);
    }

    /// Diagnostic (addition to the seam): how many IO sources are
    /// registered right now. Tests use it to prove that dropped sockets
    /// free their registrations.
    pub fn io_registrations(&self) -> usize {
        self.inner.io.lock().unwrap().live()
    }

    /// How many times the reactor has been polled ([`Driver::park`],
    /// blocking or not) since it was created. An executor's monitor thread
    /// reads it to tell whether IO is being noticed without its help.
    pub fn polls(&self) -> u64 {
        // Relaxed: a monotonic hint; see the increment in `Driver::park`.
        self.inner.polls.load(Ordering::Relaxed)
    }

    /// Whether a non-blocking [`Driver::park`] could find anything: some IO
    /// source is registered or some timer is armed. A busy executor polls
    /// the reactor every few dozen task polls; when this is false it skips
    /// that poll (Go's `findRunnable` likewise checks `netpollAnyWaiters`
    /// before it polls the network). A blocking park is never skipped.
    ///
    /// The socket count is read without a lock (a socket registered on
    /// another thread at this moment may be missed once, and is seen by the
    /// next check); the timer count is read under the wheel's lock, which
    /// costs a busy worker one uncontended lock every few dozen polls.
    /// Keeping a lock-free copy of the count instead (refreshed at every
    /// release of the lock, or a flag set by inserts) makes every timer
    /// operation slower (the `timer_churn` bench shows it), to speed up a
    /// check that runs once every few dozen polls.
    pub fn needs_polling(&self) -> bool {
        // Relaxed: a hint, see above and `Inner::with_slab`.
        self.inner.live_ios.load(Ordering::Relaxed) > 0 || self.inner.clock.pending() > 0
    }

    /// Diagnostic (addition to the seam): how many registered sockets hold
    /// the waker of something waiting for them (an over-count, never an
    /// under-count: a waker stays stored until the next event even if its
    /// task stopped waiting). Walks the registrations under their lock:
    /// for rare checks (deadlock detection), not for hot paths.
    pub fn waiting_sockets(&self) -> usize {
        self.inner.io.lock().unwrap().waiting()
    }

    /// Diagnostic (addition to the seam): how many timers are pending.
    pub fn pending_timers(&self) -> usize {
        self.inner.clock.pending()
    }

    /// Runs `f` on the blocking pool (or a fresh thread if the executor
    /// did not provide one).
    pub(crate) fn spawn_blocking(&self, f: Box<dyn FnOnce() + Send>) {
        let spawner = self.inner.blocking.lock().unwrap().clone();
        match spawner {
            Some(s) => s(f),
            None => {
                std::thread::Builder::new()
                    .name("goro-resolver".into())
                    .spawn(f)
                    .expect("goro reactor: failed to start a resolver thread");
            }
        }
    }
}
