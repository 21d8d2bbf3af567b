//! Which task this thread is polling, so that `yield_now` can skip its wake.
//!
//! A `yield_now` that wakes its own task from inside the poll costs two
//! read-modify-writes of the state word: one to set NOTIFIED, then one
//! after the poll to clear RUNNING and see it. When the task is being
//! polled by goro's harness on this very thread, the first one is
//! unnecessary: `yield_now` only has to tell the harness, and the harness
//! folds "requeue me" into the one transition it makes anyway
//! (`State::transition_to_idle(true)`). That is one locked instruction
//! fewer per yield, on a path that has few of them.
//!
//! The request is honoured only if the `Context`'s waker is the waker of
//! the task this thread is polling (same vtable, same record): a future
//! polled with some other waker (an inner executor, a combinator's own
//! waker, a stored waker of another task) gets the ordinary wake. The scope
//! saves and restores the previous value, so a nested poll (a
//! current-thread runtime's `block_on` inside a task) is handled.
//!
//! Under loom the fast path is off: loom's threads share one OS thread's
//! thread-locals, and the models check the ordinary wake instead.

use crate::context;
use std::ptr;
use std::task::Waker;

/// Marks `task` as the one this thread polls until [`PollScope::finish`].
pub(crate) struct PollScope {
    prev: (*const (), bool),
}

impl PollScope {
    #[inline]
    pub(crate) fn enter(task: *const ()) -> PollScope {
        PollScope {
            prev: context::replace_polling((task, false)),
        }
    }

    /// Ends the scope; returns whether the task asked to yield.
    #[inline]
    pub(crate) fn finish(self) -> bool {
        let prev = self.prev;
        std::mem::forget(self);
        context::replace_polling(prev).1
    }
}

impl Drop for PollScope {
    /// Only on unwinding out of the poll (the harness catches panics, so
    /// this is for a panic inside the harness itself).
    fn drop(&mut self) {
        context::replace_polling(self.prev);
    }
}

/// Asks the harness polling the task that owns `waker` to requeue it at the
/// back after this poll. Returns false (and does nothing) if `waker` is not
/// the waker of the task this thread is polling; the caller then wakes it.
#[inline]
pub(crate) fn request_yield(waker: &Waker) -> bool {
    if cfg!(loom) || !super::waker::is_task_waker(waker) {
        return false;
    }
    context::with_polling(|p| {
        let (task, _) = p.get();
        let mine = !task.is_null() && ptr::eq(task, waker.data());
        if mine {
            p.set((task, true));
        }
        mine
    })
}
