//! Task-local values: `task_local!`, [`LocalKey`], [`TaskLocalFuture`].
//!
//! A task-local is a thread-local slot that a [`TaskLocalFuture`] fills
//! with its value around each poll of the future it wraps, and empties
//! again (putting the value back into the wrapper) when the poll returns.
//! The value therefore lives in the future, not in the thread, and follows
//! the task to whichever worker polls it next; code outside any scope finds
//! the slot empty and gets [`AccessError`]. This is tokio's design; the
//! rejected alternative, a map in the task record keyed by the local,
//! would cost every task a field and every access a lookup, and would
//! not work for futures polled by other executors.
//!
//! A task spawned from inside a scope does not inherit the value: it is a
//! different future (wrap it in its own `scope` to pass the value on).

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::LocalKey as ThreadKey;

/// Declares task-local keys: `static NAME: Type;` items, each a
/// [`LocalKey`](crate::task::LocalKey).
///
/// ```
/// goro_executor::task_local! {
///     static REQUEST_ID: u64;
/// }
/// # goro_executor::block_on(async {
/// REQUEST_ID
///     .scope(7, async {
///         assert_eq!(REQUEST_ID.get(), 7);
///     })
///     .await;
/// assert!(REQUEST_ID.try_with(|_| ()).is_err());
/// # });
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_inner {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static __GORO_TASK_LOCAL: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::task::LocalKey::__new(__GORO_TASK_LOCAL)
        };
    };
}

/// A key for a task-local value, declared with [`task_local!`].
pub struct LocalKey<T: 'static> {
    inner: ThreadKey<RefCell<Option<T>>>,
}

/// Reading a task-local outside any scope that sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessError(());

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set: no enclosing `scope` sets it")
    }
}

impl Error for AccessError {}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn __new(inner: ThreadKey<RefCell<Option<T>>>) -> LocalKey<T> {
        LocalKey { inner }
    }

    /// Runs `future` with the task-local set to `value` during each of its
    /// polls (and during its drop).
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            slot: Some(value),
            future: Some(future),
        }
    }

    /// Runs `f` with the task-local set to `value`.
    ///
    /// # Panics
    /// If called from inside [`with`](LocalKey::with) of the same key.
    #[track_caller]
    pub fn sync_scope<R>(&'static self, value: T, f: impl FnOnce() -> R) -> R {
        let mut slot = Some(value);
        let _entered = Entered::enter(self, &mut slot);
        f()
    }

    /// Calls `f` with a reference to the value.
    ///
    /// # Panics
    /// Outside a scope of this key (see [`try_with`](LocalKey::try_with)).
    #[track_caller]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        match self.try_with(f) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    /// Calls `f` with a reference to the value, or returns `AccessError`
    /// outside a scope of this key (or while the thread is exiting).
    pub fn try_with<R>(&'static self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        self.inner
            .try_with(|cell| {
                // A `scope` can only be entered while no borrow is live
                // (`Entered::enter` checks), so this borrow cannot fail.
                let v = cell.borrow();
                v.as_ref().map(f).ok_or(AccessError(()))
            })
            .unwrap_or(Err(AccessError(())))
    }

    /// A clone of the value.
    ///
    /// # Panics
    /// Outside a scope of this key.
    #[track_caller]
    pub fn get(&'static self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("LocalKey { .. }")
    }
}

/// While alive, the thread-local slot holds the scope's value and the
/// scope's own slot holds whatever was there before (the value of an
/// enclosing scope, or nothing). Dropping it swaps them back, on unwinding
/// too.
struct Entered<'a, T: 'static> {
    key: &'static LocalKey<T>,
    slot: &'a mut Option<T>,
}

impl<'a, T: 'static> Entered<'a, T> {
    #[track_caller]
    fn enter(key: &'static LocalKey<T>, slot: &'a mut Option<T>) -> Entered<'a, T> {
        key.inner.with(|cell| {
            let mut cur = cell.try_borrow_mut().unwrap_or_else(|_| {
                panic!("cannot enter a task-local scope inside `with` of the same key")
            });
            std::mem::swap(&mut *cur, slot);
        });
        Entered { key, slot }
    }
}

impl<T: 'static> Drop for Entered<'_, T> {
    fn drop(&mut self) {
        // `try_with`: while the thread exits the slot may be gone; the
        // value then stays in the thread-local and drops with it.
        let _ = self.key.inner.try_with(|cell| {
            // The borrow taken in `with` has ended: `Entered` outlives no
            // closure passed to `with`.
            std::mem::swap(&mut *cell.borrow_mut(), self.slot);
        });
    }
}

/// The future returned by [`LocalKey::scope`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TaskLocalFuture<T: 'static, F> {
    key: &'static LocalKey<T>,
    /// The value, between polls. `None` while a poll runs.
    slot: Option<T>,
    /// `None` once the future completed or was dropped.
    future: Option<F>,
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is only ever reached
        // through the `Pin` made below, never moved out, and dropped in
        // place (set to `None` in `poll` or `drop`). `slot` and `key` are
        // not pinned and are used as plain fields.
        let this = unsafe { self.get_unchecked_mut() };
        let _entered = Entered::enter(this.key, &mut this.slot);
        let Some(future) = this.future.as_mut() else {
            panic!("TaskLocalFuture polled after completion");
        };
        // SAFETY: see above; `this` came from a pinned `self`.
        let res = unsafe { Pin::new_unchecked(future) }.poll(cx);
        if res.is_ready() {
            // Dropped in place, inside the scope.
            this.future = None;
        }
        res
    }
}

impl<T: 'static, F> Drop for TaskLocalFuture<T, F> {
    fn drop(&mut self) {
        if self.future.is_some() {
            // Drop the inner future inside the scope, so its destructors can
            // read the value. If the slot is busy (dropped from inside `with`
            // of this key) drop it outside instead of panicking in drop.
            let busy = self
                .key
                .inner
                .try_with(|cell| cell.try_borrow_mut().is_err())
                .unwrap_or(true);
            if busy {
                self.future = None;
            } else {
                let _entered = Entered::enter(self.key, &mut self.slot);
                self.future = None;
            }
        }
    }
}

impl<T: 'static + fmt::Debug, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture")
            .field("value", &self.slot)
            .finish_non_exhaustive()
    }
}
