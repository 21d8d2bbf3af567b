//! # goro-reactor: the netpoller
//!
//! SKELETON (to be replaced by the reactor issue). The API below is the
//! seam the executor programs against and must be kept:
//!
//! * [`Driver::new`], [`Driver::handle`], [`Driver::park`] — owned by the
//!   one worker thread that is currently blocked in the poller.
//! * [`Handle::unpark`] — wakes a thread blocked in [`Driver::park`].
//! * [`Handle::enter`] / [`Handle::current`] / [`Handle::try_current`] —
//!   the thread-local "current reactor" that net types and timers use.

use std::cell::RefCell;
use std::io;
use std::sync::Arc;
use std::time::Duration;

const WAKER_TOKEN: mio::Token = mio::Token(usize::MAX);

/// The part of the reactor that blocks: owns the `mio::Poll`.
pub struct Driver {
    poll: mio::Poll,
    events: mio::Events,
    handle: Handle,
}

/// A cheap, clonable reference to a reactor, usable from any thread.
#[derive(Clone)]
pub struct Handle {
    inner: Arc<Inner>,
}

struct Inner {
    waker: mio::Waker,
    #[allow(dead_code)]
    registry: mio::Registry,
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
                inner: Arc::new(Inner { waker, registry }),
            },
        })
    }

    /// A handle to this reactor.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Polls for IO readiness and fires due timers, waking their wakers on
    /// this thread. Blocks for at most `timeout` (`None`: until an event,
    /// a timer or [`Handle::unpark`]; `Some(ZERO)`: never blocks).
    pub fn park(&mut self, timeout: Option<Duration>) {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("goro reactor: poll failed: {e}"),
        }
    }

    /// Shuts the reactor down: wakes every registered waker so pending IO
    /// observes the shutdown, and drops all pending timers.
    pub fn shutdown(&mut self) {}
}

thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// Restores the previous current reactor when dropped.
pub struct EnterGuard {
    prev: Option<Handle>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

impl Handle {
    /// Wakes the thread blocked in [`Driver::park`], if any; the next park
    /// returns at once if none is blocked now.
    pub fn unpark(&self) {
        self.inner
            .waker
            .wake()
            .expect("goro reactor: failed to wake the poller");
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
        Self::try_current().expect(
            "there is no goro reactor running: this must be called from inside a goro runtime \
             (within Runtime::block_on, a spawned task, or #[goro::main])",
        )
    }

    /// The current thread's reactor, or `None` outside a goro runtime.
    pub fn try_current() -> Option<Handle> {
        CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
    }
}

/// Runs a closure on a thread pool for blocking work (the executor's
/// `spawn_blocking` pool); host-name resolution goes through it.
pub type BlockingSpawner = Arc<dyn Fn(Box<dyn FnOnce() + Send>) + Send + Sync>;

impl Driver {
    /// Hands the reactor the executor's blocking pool. Without one, blocking
    /// work (DNS) runs on a fresh std thread.
    pub fn set_blocking_spawner(&mut self, spawner: BlockingSpawner) {
        let _ = spawner;
    }
}
