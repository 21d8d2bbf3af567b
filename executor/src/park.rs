//! The parking seam: how an M sleeps when it has no work and how another
//! thread wakes it.
//!
//! [`Park`] is something a thread can block in; [`Unpark`] wakes it. There
//! are two backends: a condition variable (built into [`Parker`]) and the
//! reactor's [`goro_reactor::Driver`], which blocks in the OS poller and is
//! woken through its mio waker. A [`Parker`] is the per-P state that says
//! which of the two its thread is blocked in, so that `unpark` wakes the
//! right one, and only with a syscall when someone is actually asleep.
//!
//! Protocol (one word, four states):
//!
//! ```text
//!   park:   NOTIFIED -> EMPTY, return          (a wake-up was pending)
//!           EMPTY -> PARKED_CONDVAR | PARKED_DRIVER, block, then -> EMPTY
//!   unpark: swap(NOTIFIED); if the old state was PARKED_*, wake that backend
//! ```
//!
//! No lost wake-ups: `unpark` always leaves NOTIFIED behind, so a `park`
//! that has not yet published PARKED_* returns at once, and one that has is
//! woken by the backend (the condvar under the mutex the parker checks the
//! state with; the mio waker is level-triggered, so a wake that lands before
//! the poller blocks still ends the next poll). `park` may return
//! spuriously; callers re-check their condition. The loom model is
//! `park::loom_tests`.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Condvar, Mutex};
use std::time::Duration;

/// Something a thread can block in until woken.
pub(crate) trait Park {
    /// Blocks for at most `timeout` (`None`: until woken).
    fn park(&mut self, timeout: Option<Duration>);
}

/// Wakes the thread blocked in the matching [`Park`].
pub(crate) trait Unpark: Send + Sync + 'static {
    fn unpark(&self);
}

impl Park for goro_reactor::Driver {
    fn park(&mut self, timeout: Option<Duration>) {
        goro_reactor::Driver::park(self, timeout)
    }
}

impl Unpark for goro_reactor::Handle {
    fn unpark(&self) {
        goro_reactor::Handle::unpark(self)
    }
}

/// A parker that never blocks in a driver (plain threads: `block_on`).
impl Unpark for () {
    fn unpark(&self) {}
}

const EMPTY: usize = 0;
const NOTIFIED: usize = 1;
const PARKED_CONDVAR: usize = 2;
const PARKED_DRIVER: usize = 3;

/// One sleeping place: a P's (whoever runs it parks here) or a `block_on`
/// thread's. `U` wakes the driver backend.
pub(crate) struct Parker<U> {
    /// EMPTY / NOTIFIED / PARKED_CONDVAR / PARKED_DRIVER. All accesses are
    /// SeqCst: they are the StoreLoad pairs of the protocol above.
    state: AtomicUsize,
    /// Held to go to sleep on `condvar` and to notify it, so a notify cannot
    /// fall between the sleeper's state check and its wait.
    lock: Mutex<()>,
    condvar: Condvar,
    driver: U,
}

impl<U: Unpark> Parker<U> {
    pub(crate) fn new(driver: U) -> Parker<U> {
        Parker {
            state: AtomicUsize::new(EMPTY),
            lock: Mutex::new(()),
            condvar: Condvar::new(),
            driver,
        }
    }

    /// Blocks on the condition variable until [`Parker::unpark`].
    pub(crate) fn park(&self) {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        let mut guard = self.lock.lock().unwrap();
        match self
            .state
            .compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.store(EMPTY, SeqCst);
                return;
            }
            Err(s) => unreachable!("parker in state {s} while parking"),
        }
        loop {
            guard = self.condvar.wait(guard).unwrap();
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return;
            }
            // Spurious wake-up: still PARKED_CONDVAR.
        }
    }

    /// Blocks in `driver` (the reactor) until IO, a timer or
    /// [`Parker::unpark`]. May return early; callers re-check.
    pub(crate) fn park_in<D: Park>(&self, driver: &mut D) {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        match self
            .state
            .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.store(EMPTY, SeqCst);
                return;
            }
            Err(s) => unreachable!("parker in state {s} while parking"),
        }
        driver.park(None);
        // NOTIFIED (woken by us) or PARKED_DRIVER (IO or a timer woke the
        // poller): either way we are awake now.
        self.state.swap(EMPTY, SeqCst);
    }

    /// Wakes the parked thread, or makes its next park return at once.
    pub(crate) fn unpark(&self) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                // Taking the lock orders us after the sleeper's wait began.
                drop(self.lock.lock().unwrap());
                self.condvar.notify_one();
            }
            PARKED_DRIVER => self.driver.unpark(),
            s => unreachable!("parker in state {s}"),
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::sync::atomic::AtomicBool;
    use crate::loom::thread;
    use std::sync::Arc;

    /// A driver backend for the model: a flag and a condvar.
    #[derive(Clone)]
    struct FakeDriver(Arc<(Mutex<bool>, Condvar)>);

    impl Park for FakeDriver {
        fn park(&mut self, _: Option<Duration>) {
            let (lock, cv) = &*self.0;
            let mut woken = lock.lock().unwrap();
            while !*woken {
                woken = cv.wait(woken).unwrap();
            }
            *woken = false;
        }
    }

    impl Unpark for FakeDriver {
        fn unpark(&self) {
            let (lock, cv) = &*self.0;
            *lock.lock().unwrap() = true;
            cv.notify_one();
        }
    }

    fn model(in_driver: bool) {
        loom::model(move || {
            let driver = FakeDriver(Arc::new((Mutex::new(false), Condvar::new())));
            let parker = Arc::new(Parker::new(driver.clone()));
            let work = Arc::new(AtomicBool::new(false));
            let (p2, w2) = (parker.clone(), work.clone());
            let waker = thread::spawn(move || {
                w2.store(true, SeqCst);
                p2.unpark();
            });
            let mut driver = driver;
            // The sleeper: check for work, park, repeat. It must terminate.
            while !work.load(SeqCst) {
                if in_driver {
                    parker.park_in(&mut driver);
                } else {
                    parker.park();
                }
            }
            waker.join().unwrap();
        });
    }

    #[test]
    fn no_lost_wakeup_condvar() {
        model(false);
    }

    #[test]
    fn no_lost_wakeup_driver() {
        model(true);
    }
}
