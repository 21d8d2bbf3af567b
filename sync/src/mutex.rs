//! An async mutex with fair FIFO hand-off.
//!
//! # Hand-off
//!
//! Go's `sync.Mutex` lets a newly arriving goroutine barge ahead of woken
//! waiters ("normal mode") until a waiter has waited 1 ms, then switches to
//! "starvation mode", where the unlocker hands ownership straight to the
//! first waiter. This mutex is always in starvation mode: `unlock` never
//! clears `LOCKED` while someone waits; it marks the oldest waiter as the
//! owner and wakes it. Latency under contention is one wake-up, and no
//! waiter can be overtaken.
//!
//! A woken waiter owns the mutex from the moment it is woken. If its
//! future is dropped before collecting the guard, the drop hands the mutex
//! to the next waiter (or frees it): see `cancel`.
//!
//! # Lock word
//!
//! The uncontended path is one compare-and-swap on `Mutex::word` to lock
//! and one to unlock; the wait list and its lock are touched only under
//! contention. Two bits:
//!
//! * `LOCKED`: someone owns the mutex: a guard, or a woken waiter that has
//!   not collected its guard yet.
//! * `QUEUED`: the wait list is non-empty. Set and cleared only while
//!   holding the `waiters` lock, so it always equals `!waiters.is_empty()`
//!   as seen by a holder of that lock.
//!
//! Invariant: `QUEUED` implies `LOCKED`. A waiter sets `QUEUED` only by a
//! CAS from a word that has `LOCKED`, and while `QUEUED` is set the fast
//! unlock (CAS `LOCKED -> 0`) fails, so the unlock goes through the wait
//! list and hands the mutex over with `LOCKED` still set. Nobody ever
//! waits on a free mutex.
//!
//! Arrivals while `QUEUED` is set fail the fast CAS (`0 -> LOCKED`) and
//! queue behind the others: no barging.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::Mutex as ListLock;

use super::waiters::{lock, Key, Removed, WaitList};

/// An async mutual-exclusion lock with FIFO hand-off.
///
/// Unlike `std::sync::Mutex`, its guard may be held across `.await` and
/// sent to another thread. Lock acquisitions are granted strictly in the
/// order they first waited: the unlocking side hands the lock to the oldest
/// waiter (Go's starvation mode, always on).
pub struct Mutex<T> {
    /// `LOCKED | QUEUED`; see "Lock word" above.
    word: AtomicUsize,
    /// Parked lockers, oldest first. Its lock also serialises every change
    /// of `QUEUED` and every hand-off.
    waiters: ListLock<WaitList<()>>,
    data: UnsafeCell<T>,
}

/// The mutex is owned. See "Lock word".
const LOCKED: usize = 1;
/// The wait list is non-empty. See "Lock word".
const QUEUED: usize = 2;

// SAFETY: the mutex moves `T` between threads (whoever holds the guard gets
// `&mut T`), so both require `T: Send`; it never hands out `&T` to two
// threads at once, so `T: Sync` is not needed.
unsafe impl<T: Send> Send for Mutex<T> {}
// SAFETY: sharing `&Mutex<T>` lets each thread reach `&mut T` only through
// a guard, and guards are exclusive (access to `data` is serialised by the
// `LOCKED` bit), so `T: Send` suffices, as for `std::sync::Mutex`.
unsafe impl<T: Send> Sync for Mutex<T> {}

/// Returned by [`Mutex::try_lock`] (and [`RwLock::try_read`] /
/// [`RwLock::try_write`]) when the lock is held or has waiters.
///
/// [`RwLock::try_read`]: super::RwLock::try_read
/// [`RwLock::try_write`]: super::RwLock::try_write
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(());

impl TryLockError {
    pub(super) fn new() -> Self {
        TryLockError(())
    }
}

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("lock is held or has waiters")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    /// Creates an unlocked mutex holding `value`.
    pub fn new(value: T) -> Self {
        Mutex {
            word: AtomicUsize::new(0),
            waiters: ListLock::new(WaitList::new()),
            data: UnsafeCell::new(value),
        }
    }

    /// [`Mutex::new`] for `static`s and other `const` contexts.
    ///
    /// Not available under `--cfg loom`, whose types have no `const`
    /// constructors.
    #[cfg(not(loom))]
    pub const fn const_new(value: T) -> Self {
        Mutex {
            word: AtomicUsize::new(0),
            waiters: ListLock::new(WaitList::new()),
            data: UnsafeCell::new(value),
        }
    }

    /// Waits for the lock. Cancel-safe: dropping the future gives up its
    /// place in the queue, and if the lock had already been handed to it the
    /// lock passes on to the next waiter.
    pub fn lock(&self) -> Lock<'_, T> {
        Lock {
            mutex: self,
            key: None,
        }
    }

    /// Like [`Mutex::lock`], for an `Arc<Mutex>`: the guard keeps the mutex
    /// alive and has no lifetime, so it can move into a spawned task.
    pub fn lock_owned(self: Arc<Self>) -> LockOwned<T> {
        LockOwned {
            mutex: self,
            key: None,
        }
    }

    /// Blocks the current thread until the lock is acquired. For plain
    /// threads only: inside async code it would block the executor.
    #[cfg(not(loom))]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        super::block_on(self.lock())
    }

    /// Takes the lock if it is free and nobody is queued for it.
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        if self.try_lock_fast() {
            Ok(MutexGuard { mutex: self })
        } else {
            Err(TryLockError(()))
        }
    }

    /// [`Mutex::try_lock`] for an `Arc<Mutex>`.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        if self.try_lock_fast() {
            Ok(OwnedMutexGuard { mutex: self })
        } else {
            Err(TryLockError(()))
        }
    }

    /// Direct access through `&mut self`: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` proves no guard exists (guards borrow or own
        // an `Arc` of the mutex, and an `Arc` never yields `&mut`).
        self.data.with_mut(|p| unsafe { &mut *p })
    }

    /// Consumes the mutex and returns its value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }

    /// `0 -> LOCKED`: succeeds only if the mutex is free, which (by the
    /// invariant) also means nobody is queued.
    fn try_lock_fast(&self) -> bool {
        // Acquire: taking the lock must see everything the previous owner
        // wrote before its Release in `unlock`. A failed CAS takes nothing
        // and reads nothing guarded, so its ordering is Relaxed.
        self.word
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// One poll of an acquisition (shared by [`Lock`] and [`LockOwned`]).
    fn poll_acquire(&self, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
        let spent = ready!(goro_coop::poll_proceed(cx));
        let acquired = match key.take() {
            None if self.try_lock_fast() => true,
            None => self.lock_slow(key, cx.waker()),
            Some(k) => match lock(&self.waiters).poll_key(k, cx.waker()) {
                // Handed over by `unlock_slow`: `LOCKED` is ours. The data
                // is visible to us through the `waiters` lock, which the
                // unlocker released after its last write.
                Ok(()) => true,
                Err(k) => {
                    *key = Some(k);
                    false
                }
            },
        };
        if acquired {
            spent.made_progress();
            Poll::Ready(())
        } else {
            // Dropping `spent` refunds the unit: nothing was acquired.
            goro_coop::set_wait_reason(goro_coop::WaitReason::MutexLock);
            Poll::Pending
        }
    }

    /// Contended lock: under the `waiters` lock, either the mutex turns out
    /// to be free after all (take it) or we make sure `QUEUED` is set and
    /// queue up. Returns whether we got the lock.
    fn lock_slow(&self, key: &mut Option<Key>, waker: &Waker) -> bool {
        let mut waiters = lock(&self.waiters);
        // Relaxed loads and the QUEUED CAS: `QUEUED` only changes under
        // the `waiters` lock, which we hold; the CAS is only there to fail
        // if a concurrent fast unlock cleared `LOCKED` meanwhile (then we
        // retry and take the free mutex with Acquire).
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            if word == 0 {
                match self
                    .word
                    .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
                {
                    Ok(_) => return true,
                    Err(actual) => word = actual,
                }
            } else if word & QUEUED != 0 {
                break;
            } else {
                match self.word.compare_exchange(
                    LOCKED,
                    LOCKED | QUEUED,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(actual) => word = actual,
                }
            }
        }
        *key = Some(waiters.push_back((), waker.clone()));
        false
    }

    /// A waiting future went away. If it had been handed the lock, pass it
    /// on, so that its cancellation never strands the next waiter.
    fn cancel(&self, key: Key) {
        let mut waiters = lock(&self.waiters);
        let waker = match waiters.remove(key) {
            Removed::Queued(()) => {
                self.clear_queued_if_empty(&waiters);
                None
            }
            Removed::Woken(()) => self.hand_off(&mut waiters),
        };
        drop(waiters);
        wake(waker);
    }

    fn unlock(&self) {
        // Release: publishes our writes to the next owner's Acquire CAS.
        // Fails if `QUEUED` is set: then the mutex goes to a waiter through
        // the `waiters` lock, which orders the hand-off itself (so the
        // failure ordering is Relaxed).
        if self
            .word
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            let mut waiters = lock(&self.waiters);
            let waker = self.hand_off(&mut waiters);
            drop(waiters);
            wake(waker);
        }
    }

    /// Releases a mutex we own while holding the `waiters` lock: to the
    /// oldest waiter if there is one (`LOCKED` stays set; the returned
    /// waker must be woken after the `waiters` lock is released),
    /// otherwise by clearing the word.
    fn hand_off(&self, waiters: &mut WaitList<()>) -> Option<Waker> {
        // Relaxed: `LOCKED` is ours, set by this thread or handed to us
        // under the `waiters` lock; any ordering sees it.
        debug_assert!(self.word.load(Ordering::Relaxed) & LOCKED != 0);
        match waiters.wake_front() {
            Some(waker) => {
                self.clear_queued_if_empty(waiters);
                Some(waker)
            }
            None => {
                // The list is empty, so `QUEUED` is clear, and nobody can set
                // it (we hold the `waiters` lock) or take `LOCKED` (it is
                // set): the word is exactly `LOCKED`. Release as in `unlock`.
                self.word.store(0, Ordering::Release);
                None
            }
        }
    }

    fn clear_queued_if_empty(&self, waiters: &WaitList<()>) {
        if waiters.is_empty() {
            // Relaxed: `QUEUED` only changes under the `waiters` lock (held).
            self.word.fetch_and(!QUEUED, Ordering::Relaxed);
        }
    }
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// The future returned by [`Mutex::lock`].
#[must_use = "futures do nothing unless polled"]
pub struct Lock<'a, T> {
    mutex: &'a Mutex<T>,
    /// Our place in the queue, once we had to wait.
    key: Option<Key>,
}

impl<'a, T> Future for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        ready!(this.mutex.poll_acquire(&mut this.key, cx));
        Poll::Ready(MutexGuard { mutex: this.mutex })
    }
}

impl<T> Drop for Lock<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.mutex.cancel(key);
        }
    }
}

impl<T> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// The future returned by [`Mutex::lock_owned`].
#[must_use = "futures do nothing unless polled"]
pub struct LockOwned<T> {
    mutex: Arc<Mutex<T>>,
    key: Option<Key>,
}

impl<T> Future for LockOwned<T> {
    type Output = OwnedMutexGuard<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        ready!(this.mutex.poll_acquire(&mut this.key, cx));
        Poll::Ready(OwnedMutexGuard {
            mutex: this.mutex.clone(),
        })
    }
}

impl<T> Drop for LockOwned<T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.mutex.cancel(key);
        }
    }
}

impl<T> fmt::Debug for LockOwned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockOwned")
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// Exclusive access to a [`Mutex`]'s value; unlocks (handing the lock to the
/// oldest waiter) when dropped.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
}

// SAFETY: sharing `&MutexGuard` between threads shares `&T`, so it needs
// `T: Sync` (the derived impl would only ask for `T: Send`).
unsafe impl<T: Send + Sync> Sync for MutexGuard<'_, T> {}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard is the lock's only owner (`LOCKED`), so
        // no `&mut T` exists elsewhere for the guard's lifetime.
        self.mutex.data.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, so no other guard exists, and
        // `&mut self` makes this borrow the only one.
        self.mutex.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// A [`MutexGuard`] that owns an `Arc` of its mutex (from
/// [`Mutex::lock_owned`]), so it is `'static` when `T` is.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T> {
    mutex: Arc<Mutex<T>>,
}

// SAFETY: `&OwnedMutexGuard` on two threads shares only `&T` (through
// `Deref`), which `T: Sync` permits; `T: Send` because the guard's owner
// gets `&mut T` on whichever thread holds it.
unsafe impl<T: Send + Sync> Sync for OwnedMutexGuard<T> {}

impl<T> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(&self) -> &Arc<Mutex<T>> {
        &self.mutex
    }
}

impl<T> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard owns the lock; see `MutexGuard::deref`.
        self.mutex.data.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard owns the lock and `&mut self` is unique.
        self.mutex.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::Task;

    #[test]
    fn try_lock_and_unlock() {
        let m = Mutex::new(1);
        let mut g = m.try_lock().unwrap();
        *g += 1;
        assert!(m.try_lock().is_err());
        drop(g);
        assert_eq!(*m.try_lock().unwrap(), 2);
        assert_eq!(m.into_inner(), 2);
    }

    #[test]
    fn fifo_hand_off_without_barging() {
        let m = Mutex::new(Vec::new());
        let g = m.try_lock().unwrap();
        let mut a = Task::new(async { m.lock().await.push('a') });
        let mut b = Task::new(async { m.lock().await.push('b') });
        a.pending();
        b.pending();
        drop(g);
        assert!(a.woken() && !b.woken(), "only the oldest waiter is woken");
        // The lock now belongs to `a`: a newcomer may not barge in.
        assert!(m.try_lock().is_err());
        let mut c = Task::new(async { m.lock().await.push('c') });
        c.pending();
        a.ready();
        assert!(b.woken() && !c.woken());
        b.ready();
        c.ready();
        assert_eq!(*m.try_lock().unwrap(), ['a', 'b', 'c']);
    }

    #[test]
    fn cancelled_queued_waiter_gives_up_its_place() {
        let m = Mutex::new(());
        let g = m.try_lock().unwrap();
        let mut a = Task::new(m.lock());
        let mut b = Task::new(m.lock());
        a.pending();
        b.pending();
        drop(a);
        drop(g);
        assert!(b.woken());
        let _gb = b.ready();
    }

    #[test]
    fn cancelled_granted_waiter_passes_the_lock_on() {
        let m = Mutex::new(0);
        let g = m.try_lock().unwrap();
        let mut a = Task::new(m.lock());
        let mut b = Task::new(m.lock());
        a.pending();
        b.pending();
        drop(g); // hands the lock to `a`
        assert!(a.woken() && !b.woken());
        drop(a); // ...which never collects it
        assert!(b.woken(), "the grant must pass to the next waiter");
        let mut gb = b.ready();
        *gb += 1;
        drop(gb);
        assert_eq!(*m.try_lock().unwrap(), 1);
    }

    #[test]
    fn cancelled_last_waiter_frees_the_lock() {
        let m = Mutex::new(());
        let g = m.try_lock().unwrap();
        let mut a = Task::new(m.lock());
        a.pending();
        drop(g);
        drop(a);
        assert!(m.try_lock().is_ok());
    }

    #[test]
    fn owned_guard_outlives_borrow() {
        let m = Arc::new(Mutex::new(5));
        let mut t = Task::new(m.clone().lock_owned());
        let mut g = t.ready();
        *g = 6;
        assert!(m.clone().try_lock_owned().is_err());
        drop(g);
        assert_eq!(*m.try_lock().unwrap(), 6);
    }

    #[test]
    fn get_mut_needs_no_lock() {
        let mut m = Mutex::new(String::from("a"));
        m.get_mut().push('b');
        assert_eq!(format!("{m:?}"), r#"Mutex { data: "ab" }"#);
        let _g = m.try_lock().unwrap();
        assert_eq!(format!("{m:?}"), "Mutex { data: <locked> }");
    }

    #[test]
    fn spends_coop_budget_only_on_success() {
        let m = Mutex::new(());
        goro_coop::with_budget(|| {
            let before = goro_coop::remaining().unwrap();
            let g = Task::new(m.lock()).ready();
            assert_eq!(goro_coop::remaining().unwrap(), before - 1);
            let mut t = Task::new(m.lock());
            t.pending();
            assert_eq!(
                goro_coop::remaining().unwrap(),
                before - 1,
                "Pending is free"
            );
            drop(t);
            drop(g);
            while goro_coop::has_budget_remaining() {
                drop(Task::new(m.lock()).ready());
            }
            let mut t = Task::new(m.lock());
            t.pending();
            assert!(t.woken(), "an exhausted budget yields and reschedules");
        });
    }
}
