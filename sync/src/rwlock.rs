//! A fair async reader-writer lock.
//!
//! # Fairness
//!
//! One FIFO queue holds readers and writers alike. A reader may join the
//! readers already inside only if nobody is queued, so a waiting writer
//! holds back later readers and cannot starve (Go's `RWMutex` gets the same
//! effect with its `readerWait` count). When the lock is released the run
//! of readers at the front of the queue enters together, or the one writer
//! at the front does.
//!
//! # Invariants (all under `RwLock::state`'s lock)
//!
//! * `writer` implies `readers == 0`.
//! * If the lock is free (`!writer && readers == 0`) the queue is empty:
//!   `grant` runs after every release and every cancellation.
//! * A woken waiter already holds its access (counted in `readers` or
//!   `writer`); a dropped woken waiter releases it.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::Mutex as StateLock;

use super::mutex::TryLockError;
use super::waiters::{lock, Key, Removed, WaitList, WakeList};

/// An async reader-writer lock: many readers or one writer, granted in
/// FIFO order.
pub struct RwLock<T> {
    state: StateLock<State>,
    data: UnsafeCell<T>,
}

struct State {
    readers: usize,
    writer: bool,
    waiters: WaitList<Access>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

// SAFETY: a writer gets `&mut T` on whatever thread holds the guard (needs
// `T: Send`).
unsafe impl<T: Send> Send for RwLock<T> {}
// SAFETY: readers on several threads share `&T` (needs `T: Sync`); a writer
// may be on any thread (needs `T: Send`).
unsafe impl<T: Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// Creates an unlocked `RwLock` holding `value`.
    pub fn new(value: T) -> Self {
        RwLock {
            state: StateLock::new(State {
                readers: 0,
                writer: false,
                waiters: WaitList::new(),
            }),
            data: UnsafeCell::new(value),
        }
    }

    /// [`RwLock::new`] for `static`s and other `const` contexts.
    ///
    /// Not available under `--cfg loom`, whose types have no `const`
    /// constructors.
    #[cfg(not(loom))]
    pub const fn const_new(value: T) -> Self {
        RwLock {
            state: StateLock::new(State {
                readers: 0,
                writer: false,
                waiters: WaitList::new(),
            }),
            data: UnsafeCell::new(value),
        }
    }

    /// Waits for shared access. Cancel-safe.
    pub fn read(&self) -> Read<'_, T> {
        Read {
            lock: self,
            key: None,
        }
    }

    /// Waits for exclusive access. Cancel-safe.
    pub fn write(&self) -> Write<'_, T> {
        Write {
            lock: self,
            key: None,
        }
    }

    /// [`RwLock::read`] for an `Arc<RwLock>`: the guard keeps the lock
    /// alive and has no lifetime.
    pub fn read_owned(self: Arc<Self>) -> ReadOwned<T> {
        ReadOwned {
            lock: self,
            key: None,
        }
    }

    /// [`RwLock::write`] for an `Arc<RwLock>`.
    pub fn write_owned(self: Arc<Self>) -> WriteOwned<T> {
        WriteOwned {
            lock: self,
            key: None,
        }
    }

    /// Shared access now, if no writer holds or waits for the lock.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        let mut state = lock(&self.state);
        if state.admits(Access::Read) {
            state.readers += 1;
            Ok(RwLockReadGuard { lock: self })
        } else {
            Err(TryLockError::new())
        }
    }

    /// Exclusive access now, if the lock is free.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        let mut state = lock(&self.state);
        if state.admits(Access::Write) {
            state.writer = true;
            Ok(RwLockWriteGuard { lock: self })
        } else {
            Err(TryLockError::new())
        }
    }

    /// Blocks the thread for shared access (plain threads only).
    #[cfg(not(loom))]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        super::block_on(self.read())
    }

    /// Blocks the thread for exclusive access (plain threads only).
    #[cfg(not(loom))]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        super::block_on(self.write())
    }

    /// Direct access through `&mut self`.
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` proves no guard borrows the lock.
        self.data.with_mut(|p| unsafe { &mut *p })
    }

    /// Consumes the lock and returns its value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }

    fn poll_acquire(
        &self,
        access: Access,
        key: &mut Option<Key>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let spent = ready!(goro_coop::poll_proceed(cx));
        let mut state = lock(&self.state);
        let acquired = match key.take() {
            None if state.admits(access) => {
                state.take(access);
                true
            }
            None => {
                *key = Some(state.waiters.push_back(access, cx.waker().clone()));
                false
            }
            Some(k) => match state.waiters.poll_key(k, cx.waker()) {
                Ok(_) => true,
                Err(k) => {
                    *key = Some(k);
                    false
                }
            },
        };
        drop(state);
        if acquired {
            spent.made_progress();
            Poll::Ready(())
        } else {
            goro_coop::set_wait_reason(match access {
                Access::Read => goro_coop::WaitReason::RwLockRead,
                Access::Write => goro_coop::WaitReason::RwLockWrite,
            });
            Poll::Pending
        }
    }

    fn cancel(&self, key: Key) {
        let mut wakers = WakeList::new();
        let mut state = lock(&self.state);
        match state.waiters.remove(key) {
            Removed::Woken(access) => state.release(access),
            // A queued writer at the front may have been holding back the
            // readers behind it.
            Removed::Queued(_) => {}
        }
        state.grant(&mut wakers);
        drop(state);
        wakers.wake_all();
    }

    fn release(&self, access: Access) {
        let mut wakers = WakeList::new();
        let mut state = lock(&self.state);
        state.release(access);
        state.grant(&mut wakers);
        drop(state);
        wakers.wake_all();
    }
}

impl State {
    /// Whether a newcomer asking for `access` may enter without queueing.
    fn admits(&self, access: Access) -> bool {
        self.waiters.is_empty() && self.fits(access)
    }

    /// Whether `access` is compatible with the current holders.
    fn fits(&self, access: Access) -> bool {
        match access {
            Access::Read => !self.writer,
            Access::Write => !self.writer && self.readers == 0,
        }
    }

    fn take(&mut self, access: Access) {
        match access {
            Access::Read => self.readers += 1,
            Access::Write => self.writer = true,
        }
    }

    fn release(&mut self, access: Access) {
        match access {
            Access::Read => {
                debug_assert!(self.readers > 0);
                self.readers -= 1;
            }
            Access::Write => {
                debug_assert!(self.writer);
                self.writer = false;
            }
        }
    }

    /// Admits waiters from the front for as long as they fit: a run of
    /// readers, or one writer.
    fn grant(&mut self, wakers: &mut WakeList) {
        while let Some(&access) = self.waiters.front() {
            if !self.fits(access) {
                break;
            }
            self.take(access);
            wakers.extend(self.waiters.wake_front());
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

macro_rules! acquire_future {
    ($(#[$doc:meta])* $name:ident, $guard:ident, $access:expr) => {
        $(#[$doc])*
        #[must_use = "futures do nothing unless polled"]
        pub struct $name<'a, T> {
            lock: &'a RwLock<T>,
            key: Option<Key>,
        }

        impl<'a, T> Future for $name<'a, T> {
            type Output = $guard<'a, T>;

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let this = self.get_mut();
                ready!(this.lock.poll_acquire($access, &mut this.key, cx));
                Poll::Ready($guard { lock: this.lock })
            }
        }

        impl<T> Drop for $name<'_, T> {
            fn drop(&mut self) {
                if let Some(key) = self.key.take() {
                    self.lock.cancel(key);
                }
            }
        }

        impl<T> fmt::Debug for $name<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("queued", &self.key.is_some())
                    .finish()
            }
        }
    };
}

acquire_future!(
    /// The future returned by [`RwLock::read`].
    Read,
    RwLockReadGuard,
    Access::Read
);
acquire_future!(
    /// The future returned by [`RwLock::write`].
    Write,
    RwLockWriteGuard,
    Access::Write
);

macro_rules! acquire_owned_future {
    ($(#[$doc:meta])* $name:ident, $guard:ident, $access:expr) => {
        $(#[$doc])*
        #[must_use = "futures do nothing unless polled"]
        pub struct $name<T> {
            lock: Arc<RwLock<T>>,
            key: Option<Key>,
        }

        impl<T> Future for $name<T> {
            type Output = $guard<T>;

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let this = self.get_mut();
                ready!(this.lock.poll_acquire($access, &mut this.key, cx));
                Poll::Ready($guard {
                    lock: this.lock.clone(),
                })
            }
        }

        impl<T> Drop for $name<T> {
            fn drop(&mut self) {
                if let Some(key) = self.key.take() {
                    self.lock.cancel(key);
                }
            }
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("queued", &self.key.is_some())
                    .finish()
            }
        }
    };
}

acquire_owned_future!(
    /// The future returned by [`RwLock::read_owned`].
    ReadOwned,
    OwnedRwLockReadGuard,
    Access::Read
);
acquire_owned_future!(
    /// The future returned by [`RwLock::write_owned`].
    WriteOwned,
    OwnedRwLockWriteGuard,
    Access::Write
);

/// Shared access to an [`RwLock`]'s value.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T> {
    lock: &'a RwLock<T>,
}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: while a read guard lives `readers > 0`, so `writer` is
        // false and no `&mut T` exists.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.release(Access::Read);
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to an [`RwLock`]'s value.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T> {
    lock: &'a RwLock<T>,
}

impl<'a, T> RwLockWriteGuard<'a, T> {
    /// Turns exclusive access into shared access without letting a writer
    /// in between; readers queued at the front enter alongside.
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let rw = self.lock;
        std::mem::forget(self);
        let mut wakers = WakeList::new();
        let mut state = lock(&rw.state);
        state.writer = false;
        state.readers += 1;
        state.grant(&mut wakers);
        drop(state);
        wakers.wake_all();
        RwLockReadGuard { lock: rw }
    }
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `writer` is set while this guard lives: no other guard.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: `writer` is set while this guard lives, so no other guard
        // exists, and `&mut self` makes this borrow the only one.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.release(Access::Write);
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A read guard that owns an `Arc` of its lock (from
/// [`RwLock::read_owned`]).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockReadGuard<T> {
    lock: Arc<RwLock<T>>,
}

impl<T> Deref for OwnedRwLockReadGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `readers > 0` while this guard lives, so no writer holds
        // the lock and every borrow of the data is shared.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> Drop for OwnedRwLockReadGuard<T> {
    fn drop(&mut self) {
        self.lock.release(Access::Read);
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedRwLockReadGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A write guard that owns an `Arc` of its lock (from
/// [`RwLock::write_owned`]).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockWriteGuard<T> {
    lock: Arc<RwLock<T>>,
}

impl<T> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `writer` is set while this guard lives: no other guard.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: `writer` is set while this guard lives, so no other guard
        // exists, and `&mut self` makes this borrow the only one.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock.release(Access::Write);
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedRwLockWriteGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::Task;

    #[test]
    fn readers_share_writer_excludes() {
        let rw = RwLock::new(1);
        let r1 = rw.try_read().unwrap();
        let r2 = rw.try_read().unwrap();
        assert_eq!(*r1 + *r2, 2);
        assert!(rw.try_write().is_err());
        drop((r1, r2));
        let mut w = rw.try_write().unwrap();
        *w = 7;
        assert!(rw.try_read().is_err());
        drop(w);
        assert_eq!(rw.into_inner(), 7);
    }

    #[test]
    fn queued_writer_holds_back_later_readers() {
        let rw = RwLock::new(0);
        let r = rw.try_read().unwrap();
        let mut w = Task::new(rw.write());
        w.pending();
        // A writer waits: new readers queue behind it instead of joining.
        assert!(rw.try_read().is_err());
        let mut r2 = Task::new(rw.read());
        let mut r3 = Task::new(rw.read());
        r2.pending();
        r3.pending();
        drop(r);
        assert!(w.woken() && !r2.woken());
        let mut wg = w.ready();
        *wg += 1;
        drop(wg);
        // The run of readers at the front enters together.
        assert!(r2.woken() && r3.woken());
        assert_eq!(*r2.ready() + *r3.ready(), 2);
    }

    #[test]
    fn cancelled_front_writer_lets_readers_behind_it_in() {
        let rw = RwLock::new(());
        let r = rw.try_read().unwrap();
        let mut w = Task::new(rw.write());
        let mut r2 = Task::new(rw.read());
        w.pending();
        r2.pending();
        drop(w);
        assert!(r2.woken());
        let _r2 = r2.ready();
        drop(r);
    }

    #[test]
    fn cancelled_granted_writer_passes_on() {
        let rw = RwLock::new(0);
        let g = rw.try_write().unwrap();
        let mut w1 = Task::new(rw.write());
        let mut w2 = Task::new(rw.write());
        w1.pending();
        w2.pending();
        drop(g);
        assert!(w1.woken() && !w2.woken());
        drop(w1);
        assert!(w2.woken());
        drop(w2.ready());
        assert!(rw.try_write().is_ok());
    }

    #[test]
    fn cancelled_granted_reader_releases() {
        let rw = RwLock::new(());
        let g = rw.try_write().unwrap();
        let mut r = Task::new(rw.read());
        let mut w = Task::new(rw.write());
        r.pending();
        w.pending();
        drop(g);
        assert!(r.woken() && !w.woken());
        drop(r);
        assert!(w.woken());
        drop(w.ready());
    }

    #[test]
    fn owned_guards_and_cancelled_owned_waiter() {
        let rw = Arc::new(RwLock::new(1));
        let mut w = Task::new(rw.clone().write_owned());
        let mut g = w.ready();
        *g += 1;
        let mut r1 = Task::new(rw.clone().read_owned());
        let mut r2 = Task::new(rw.clone().read_owned());
        r1.pending();
        r2.pending();
        drop(g);
        assert!(r1.woken() && r2.woken());
        drop(r1); // granted, never collected: releases its read
        let read = r2.ready();
        assert_eq!(*read, 2);
        assert!(rw.try_write().is_err());
        drop(read);
        assert!(rw.try_write().is_ok());
    }

    #[test]
    fn downgrade_keeps_writers_out_and_admits_readers() {
        let rw = RwLock::new(3);
        let g = rw.try_write().unwrap();
        let mut r = Task::new(rw.read());
        let mut w = Task::new(rw.write());
        r.pending();
        w.pending();
        let read = g.downgrade();
        assert!(r.woken() && !w.woken());
        assert_eq!(*r.ready(), 3);
        drop(read);
        assert!(w.woken());
        drop(w.ready());
    }
}
