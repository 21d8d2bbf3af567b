//! Thread-local context: which runtime this thread belongs to, and, on an
//! M, the P it holds.

use super::Handle;
use crate::processor::Processor;
use crate::shared::Shared;
use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::Arc;

/// What an M (worker thread, or current-thread `block_on`) keeps while it
/// runs: its runtime and the P it holds.
pub(crate) struct WorkerCtx {
    pub(crate) shared: Arc<Shared>,
    /// The P this M holds. Borrowed only for queue operations, never across
    /// a task poll or a park, so that code running on this thread (a task
    /// spawning, a reactor waking a task) can push to it.
    pub(crate) p: RefCell<Option<Box<Processor>>>,
    /// Whether this M counts as searching in `Idle`.
    pub(crate) searching: Cell<bool>,
}

thread_local! {
    /// The M context of this thread, if it is running one.
    static WORKER: Cell<*const WorkerCtx> = const { Cell::new(ptr::null()) };
    /// The runtime entered by `Handle::enter` or `block_on`.
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// Marks this thread as an M running `ctx` until dropped.
pub(crate) struct WorkerGuard {
    prev: *const WorkerCtx,
}

pub(crate) fn enter_worker(ctx: &WorkerCtx) -> WorkerGuard {
    WorkerGuard {
        prev: WORKER.with(|w| w.replace(ctx)),
    }
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        let _ = WORKER.try_with(|w| w.set(self.prev));
    }
}

#[inline]
fn with_worker<R>(f: impl FnOnce(Option<&WorkerCtx>) -> R) -> R {
    let ptr = WORKER.try_with(|w| w.get()).unwrap_or(ptr::null());
    // SAFETY: the pointer is set by `enter_worker` from a `WorkerCtx` that
    // outlives its guard, and is cleared when the guard drops.
    f(unsafe { ptr.as_ref() })
}

/// Whether this thread is an M of some runtime.
pub(crate) fn is_worker() -> bool {
    with_worker(|w| w.is_some())
}

/// Runs `f` on the P this thread holds, if it holds one of `shared`'s;
/// otherwise gives `value` back.
#[inline]
pub(crate) fn with_local_p<T>(
    shared: &Shared,
    value: T,
    f: impl FnOnce(&mut Processor, T),
) -> Result<(), T> {
    with_worker(|w| {
        let Some(w) = w.filter(|w| ptr::eq(&*w.shared, shared)) else {
            return Err(value);
        };
        // try_borrow: a destructor run while the P is borrowed (a rare
        // output drop) falls back to the injector instead of panicking.
        let Ok(mut p) = w.p.try_borrow_mut() else {
            return Err(value);
        };
        match p.as_mut() {
            Some(p) => {
                f(p, value);
                Ok(())
            }
            None => Err(value),
        }
    })
}

/// Runs `f` with the runtime this thread is in (M or entered), if any.
pub(crate) fn with_current<R>(f: impl FnOnce(&Arc<Shared>) -> R) -> Option<R> {
    with_worker(|w| match w {
        Some(w) => Some(f(&w.shared)),
        None => CURRENT
            .try_with(|c| c.borrow().as_ref().map(|h| h.shared.clone()))
            .ok()
            .flatten()
            .map(|s| f(&s)),
    })
}

/// Makes `handle` the current runtime; returns the previous one.
pub(crate) fn set_current(handle: Option<Handle>) -> Option<Handle> {
    CURRENT.try_with(|c| c.replace(handle)).ok().flatten()
}
