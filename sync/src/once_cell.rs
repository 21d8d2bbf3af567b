//! A cell written once, possibly by an async initialiser.
//!
//! # How initialisation is serialised
//!
//! The cell carries a one-permit [`Semaphore`]. Whoever holds the permit
//! may write the value; the others wait for it in FIFO order. The writer
//! stores the value, publishes it with `initialized` (Release), *forgets*
//! the permit and closes the semaphore, so every waiter's `acquire` fails
//! and it reads the value instead. An initialiser that fails, panics or is
//! cancelled drops its permit, and the next waiter runs its own
//! initialiser (Go's `sync.Once` would instead count a panicking `f` as
//! done).
//!
//! # Invariants
//!
//! * `value` is written only by the holder of the permit, and only while
//!   `initialized` is false; once `initialized` is true it is never written
//!   again (except through `&mut self`).
//! * `initialized` is true exactly when `value` holds a `T`.

use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicBool, Ordering};

use super::semaphore::{Semaphore, SemaphorePermit, TryAcquireError};

/// A thread-safe cell that is written at most once.
pub struct OnceCell<T> {
    initialized: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
    /// One permit: the right to initialise. Closed once initialised.
    init: Semaphore,
}

// SAFETY: the value may be written on one thread and read (as `&T`) on
// others, so sharing needs `T: Send + Sync`; moving the cell moves the `T`.
unsafe impl<T: Send + Sync> Sync for OnceCell<T> {}
// SAFETY: moving the cell moves the `T` it may hold.
unsafe impl<T: Send> Send for OnceCell<T> {}

/// Why [`OnceCell::set`] refused the value (which it gives back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitialized(T),
    /// Another task is initialising the cell right now.
    Initializing(T),
}

impl<T> SetError<T> {
    /// The value that was not stored.
    pub fn into_inner(self) -> T {
        match self {
            SetError::AlreadyInitialized(v) | SetError::Initializing(v) => v,
        }
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitialized(_) => f.write_str("cell already initialized"),
            SetError::Initializing(_) => f.write_str("cell is being initialized"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for SetError<T> {}

impl<T> OnceCell<T> {
    /// An empty cell.
    pub fn new() -> Self {
        OnceCell {
            initialized: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            init: Semaphore::new(1),
        }
    }

    /// [`OnceCell::new`] for `static`s and other `const` contexts.
    ///
    /// Not available under `--cfg loom`, whose types have no `const`
    /// constructors.
    #[cfg(not(loom))]
    pub const fn const_new() -> Self {
        OnceCell {
            initialized: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            init: Semaphore::const_new(1),
        }
    }

    /// A cell that already holds `value`.
    pub fn new_with(value: T) -> Self {
        let cell = OnceCell::new();
        let permit = cell.init.try_acquire().expect("fresh cell");
        cell.publish(value, permit);
        cell
    }

    /// Whether the cell holds a value.
    pub fn initialized(&self) -> bool {
        // Acquire: pairs with the Release in `publish`, so that a caller who
        // sees `true` and then reads the value sees it written.
        self.initialized.load(Ordering::Acquire)
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        if self.initialized() {
            // SAFETY: `initialized` is true (and was read with Acquire), so
            // `value` holds a `T` that is never written again while `&self`
            // lives.
            Some(unsafe { self.get_unchecked() })
        } else {
            None
        }
    }

    /// The value, mutably, if set.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if self.initialized() {
            // SAFETY: initialised, and `&mut self` makes access unique.
            Some(self.value.with_mut(|p| unsafe { (*p).assume_init_mut() }))
        } else {
            None
        }
    }

    /// Stores `value` if the cell is empty and nobody is initialising it.
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        match self.init.try_acquire() {
            Ok(permit) => {
                self.publish(value, permit);
                Ok(())
            }
            Err(TryAcquireError::Closed) => Err(SetError::AlreadyInitialized(value)),
            Err(TryAcquireError::NoPermits) => Err(SetError::Initializing(value)),
        }
    }

    /// The value, running `f` to produce it if the cell is empty. Only one
    /// initialiser runs at a time; the others wait for it. If the running
    /// initialiser is cancelled or panics, the next waiter runs its own.
    pub async fn get_or_init<F, Fut>(&self, f: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        match self
            .get_or_try_init(|| async { Ok::<T, std::convert::Infallible>(f().await) })
            .await
        {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// Like [`OnceCell::get_or_init`] with a fallible initialiser: on
    /// `Err` the cell stays empty, the error is returned, and the next
    /// waiter gets its turn.
    pub async fn get_or_try_init<E, F, Fut>(&self, f: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.get() {
            return Ok(value);
        }
        match self.init.acquire().await {
            Ok(permit) => {
                // Between our check and the permit, an earlier initialiser
                // can only have failed (success closes the semaphore).
                let value = f().await?;
                self.publish(value, permit);
                // SAFETY: just published by us.
                Ok(unsafe { self.get_unchecked() })
            }
            // Closed: someone initialised the cell while we waited.
            Err(_) => Ok(self
                .get()
                .expect("init semaphore closed before value published")),
        }
    }

    /// Consumes the cell, returning its value if set.
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    /// Empties the cell through `&mut self`, returning the value if set.
    pub fn take(&mut self) -> Option<T> {
        if !self.initialized() {
            return None;
        }
        self.initialized.store(false, Ordering::Relaxed); // `&mut self`: no other thread.
                                                          // SAFETY: it was initialised, and clearing the flag first means the
                                                          // value is read out exactly once.
        let value = self.value.with_mut(|p| unsafe { (*p).assume_init_read() });
        self.init = Semaphore::new(1);
        Some(value)
    }

    /// Writes the value and publishes it. The permit proves we are the
    /// only writer.
    fn publish(&self, value: T, permit: SemaphorePermit<'_>) {
        debug_assert!(!self.initialized());
        // SAFETY: we hold the only init permit and `initialized` is false,
        // so nobody reads or writes `value` concurrently.
        self.value.with_mut(|p| unsafe { (*p).write(value) });
        // Release: publishes the write above to `initialized()`'s Acquire.
        self.initialized.store(true, Ordering::Release);
        permit.forget();
        self.init.close();
    }

    /// # Safety
    /// `initialized` must have been observed true (with Acquire).
    unsafe fn get_unchecked(&self) -> &T {
        // SAFETY: the caller promises the value is initialised; it is never
        // written again while `&self` lives.
        self.value.with(|p| unsafe { (*p).assume_init_ref() })
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> Self {
        OnceCell::new_with(value)
    }
}

impl<T> Drop for OnceCell<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::Task;
    use crate::Notify;
    use std::sync::Arc;

    #[test]
    fn set_get_into_inner() {
        let cell = OnceCell::new();
        assert_eq!(cell.get(), None);
        cell.set(String::from("a")).unwrap();
        assert_eq!(cell.get().map(String::as_str), Some("a"));
        assert_eq!(
            cell.set(String::from("b")),
            Err(SetError::AlreadyInitialized(String::from("b")))
        );
        assert_eq!(cell.into_inner().as_deref(), Some("a"));
    }

    #[test]
    fn one_initialiser_at_a_time() {
        let cell = OnceCell::new();
        let gate = Notify::new();
        let mut first = Task::new(cell.get_or_init(|| async {
            gate.notified().await;
            1
        }));
        let mut second = Task::new(cell.get_or_init(|| async { 2 }));
        first.pending();
        second.pending();
        assert_eq!(cell.set(3), Err(SetError::Initializing(3)));
        gate.notify_one();
        assert_eq!(*first.ready(), 1);
        assert!(second.woken());
        assert_eq!(*second.ready(), 1, "the second initialiser never ran");
    }

    #[test]
    fn cancelled_initialiser_hands_over() {
        let cell = OnceCell::new();
        let mut first = Task::new(cell.get_or_init(std::future::pending::<i32>));
        let mut second = Task::new(cell.get_or_init(|| async { 2 }));
        first.pending();
        second.pending();
        drop(first);
        assert!(second.woken());
        assert_eq!(*second.ready(), 2);
    }

    #[test]
    fn failed_initialiser_leaves_cell_empty() {
        let cell = OnceCell::<i32>::new();
        let r = Task::new(cell.get_or_try_init(|| async { Err::<i32, _>("no") })).ready();
        assert_eq!(r, Err("no"));
        assert!(!cell.initialized());
        let r = Task::new(cell.get_or_try_init(|| async { Ok::<_, ()>(9) })).ready();
        assert_eq!(r, Ok(&9));
    }

    #[test]
    fn drops_value_once() {
        let value = Arc::new(());
        let mut cell = OnceCell::new_with(value.clone());
        assert_eq!(Arc::strong_count(&value), 2);
        assert!(cell.take().is_some());
        assert_eq!(Arc::strong_count(&value), 1);
        cell.set(value.clone()).unwrap();
        drop(cell);
        assert_eq!(Arc::strong_count(&value), 1);
    }
}
