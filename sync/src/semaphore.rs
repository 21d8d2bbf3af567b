//! A counting semaphore with FIFO fairness.
//!
//! # Fairness
//!
//! Requests are served strictly in arrival order, like Go's
//! `golang.org/x/sync/semaphore`: a request for 5 permits at the front of
//! the queue holds back a later request for 1 even if 1 permit is free,
//! so large requests cannot starve. For the same reason `try_acquire` fails
//! while anyone is queued. Permits are *assigned* to waiters by whoever
//! releases them (under the state lock), so a woken waiter never has to
//! race for them.
//!
//! # Invariants (all under `Semaphore::state`'s lock)
//!
//! * After every operation, either `waiters` is empty or the front waiter
//!   needs more than `permits`: `assign` runs wherever permits appear or the
//!   front changes.
//! * After `close`, `waiters` is empty and stays empty.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use crate::loom::sync::Mutex as StateLock;

use super::waiters::{lock, Key, Removed, WaitList, WakeList};

/// A counting semaphore: `acquire` waits until a permit is free; dropping
/// the returned permit gives it back.
pub struct Semaphore {
    state: StateLock<State>,
}

struct State {
    /// Free permits not yet assigned to anyone.
    permits: usize,
    closed: bool,
    waiters: WaitList<Request>,
}

/// One queued acquisition.
struct Request {
    need: usize,
    /// Set by `assign` when the permits were handed over; a woken request
    /// that was not granted was woken by `close`.
    granted: bool,
}

/// The semaphore was closed: no permit was acquired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Why [`Semaphore::try_acquire`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough free permits, or others are queued ahead.
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

impl Semaphore {
    /// The most permits a semaphore can hold; more is a bug (`new` and
    /// `add_permits` panic), not a value to wrap around.
    pub const MAX_PERMITS: usize = usize::MAX >> 4;

    /// Creates a semaphore with `permits` free permits.
    ///
    /// # Panics
    /// If `permits > Semaphore::MAX_PERMITS`.
    pub fn new(permits: usize) -> Self {
        assert!(
            permits <= Self::MAX_PERMITS,
            "goro::sync::Semaphore: {permits} permits exceeds MAX_PERMITS"
        );
        Semaphore {
            state: StateLock::new(State {
                permits,
                closed: false,
                waiters: WaitList::new(),
            }),
        }
    }

    /// [`Semaphore::new`] for `static`s and other `const` contexts.
    ///
    /// # Panics
    /// If `permits > Semaphore::MAX_PERMITS` (at compile time in a `static`).
    /// Not available under `--cfg loom`, whose types have no `const`
    /// constructors.
    #[cfg(not(loom))]
    pub const fn const_new(permits: usize) -> Self {
        assert!(
            permits <= Self::MAX_PERMITS,
            "goro::sync::Semaphore: permits exceed MAX_PERMITS"
        );
        Semaphore {
            state: StateLock::new(State {
                permits,
                closed: false,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Free permits right now (a snapshot).
    pub fn available_permits(&self) -> usize {
        lock(&self.state).permits
    }

    /// Whether [`Semaphore::close`] was called.
    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    /// Waits for one permit. Cancel-safe: a dropped future leaves the
    /// queue, and permits already assigned to it go to the next waiters.
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits, taken all at once.
    ///
    /// # Panics
    /// If `n > Semaphore::MAX_PERMITS` (it could never be satisfied).
    pub fn acquire_many(&self, n: usize) -> Acquire<'_> {
        check_request(n);
        Acquire {
            sem: self,
            need: n,
            key: None,
        }
    }

    /// [`Semaphore::acquire`] for an `Arc<Semaphore>`: the permit keeps the
    /// semaphore alive.
    pub fn acquire_owned(self: Arc<Self>) -> AcquireOwned {
        self.acquire_many_owned(1)
    }

    /// [`Semaphore::acquire_many`] for an `Arc<Semaphore>`.
    ///
    /// # Panics
    /// If `n > Semaphore::MAX_PERMITS`.
    pub fn acquire_many_owned(self: Arc<Self>, n: usize) -> AcquireOwned {
        check_request(n);
        AcquireOwned {
            sem: self,
            need: n,
            key: None,
        }
    }

    /// Takes one permit if one is free and nobody is queued.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody is queued.
    pub fn try_acquire_many(&self, n: usize) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take(n)?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// [`Semaphore::try_acquire`] for an `Arc<Semaphore>`.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(1)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: 1,
        })
    }

    /// Adds `n` permits, waking waiters they satisfy (in FIFO order).
    ///
    /// # Panics
    /// If the total would exceed [`Semaphore::MAX_PERMITS`].
    pub fn add_permits(&self, n: usize) {
        let mut wakers = WakeList::new();
        let mut state = lock(&self.state);
        match state.permits.checked_add(n) {
            Some(total) if total <= Self::MAX_PERMITS => state.permits = total,
            _ => {
                let have = state.permits;
                drop(state);
                panic!("goro::sync::Semaphore: adding {n} permits to {have} exceeds MAX_PERMITS");
            }
        }
        state.assign(&mut wakers);
        drop(state);
        wakers.wake_all();
    }

    /// Closes the semaphore: every waiting and future `acquire` fails with
    /// [`AcquireError`]. Permits already held stay valid and are returned
    /// as usual; `available_permits` keeps counting them.
    pub fn close(&self) {
        let mut wakers = WakeList::new();
        let mut state = lock(&self.state);
        state.closed = true;
        state.waiters.wake_all(&mut wakers, |r| r.granted = false);
        drop(state);
        wakers.wake_all();
    }

    fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut state = lock(&self.state);
        if state.closed {
            Err(TryAcquireError::Closed)
        } else if state.waiters.is_empty() && state.permits >= n {
            state.permits -= n;
            Ok(())
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }

    /// One poll of an acquisition of `need` permits.
    fn poll_acquire(
        &self,
        need: usize,
        key: &mut Option<Key>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        let spent = ready!(goro_coop::poll_proceed(cx));
        let mut state = lock(&self.state);
        let outcome = match key.take() {
            None if state.closed => Some(Err(AcquireError(()))),
            None if state.waiters.is_empty() && state.permits >= need => {
                state.permits -= need;
                Some(Ok(()))
            }
            None => {
                let request = Request {
                    need,
                    granted: false,
                };
                *key = Some(state.waiters.push_back(request, cx.waker().clone()));
                None
            }
            Some(k) => match state.waiters.poll_key(k, cx.waker()) {
                Ok(Request { granted: true, .. }) => Some(Ok(())),
                Ok(Request { granted: false, .. }) => Some(Err(AcquireError(()))),
                Err(k) => {
                    *key = Some(k);
                    None
                }
            },
        };
        drop(state);
        match outcome {
            Some(result) => {
                spent.made_progress();
                Poll::Ready(result)
            }
            None => {
                goro_coop::set_wait_reason(goro_coop::WaitReason::SemaphoreAcquire);
                Poll::Pending
            }
        }
    }

    /// A waiting future went away: give back anything assigned to it, and
    /// let the waiters behind it move up.
    fn cancel(&self, key: Key) {
        let mut wakers = WakeList::new();
        let mut state = lock(&self.state);
        match state.waiters.remove(key) {
            Removed::Woken(Request {
                need,
                granted: true,
            }) => state.permits += need,
            // Closed: nothing was assigned. Queued: nothing either, but it
            // may have been the front, blocking smaller requests.
            Removed::Woken(_) | Removed::Queued(_) => {}
        }
        state.assign(&mut wakers);
        drop(state);
        wakers.wake_all();
    }

    fn release(&self, n: usize) {
        if n > 0 {
            self.add_permits(n);
        }
    }
}

/// A request no semaphore could ever satisfy would wait forever: refuse it.
fn check_request(n: usize) {
    assert!(
        n <= Semaphore::MAX_PERMITS,
        "goro::sync::Semaphore: acquiring {n} permits exceeds MAX_PERMITS; it could never succeed"
    );
}

impl State {
    /// Hands free permits to the waiters at the front, oldest first, for as
    /// long as the front one can be satisfied.
    fn assign(&mut self, wakers: &mut WakeList) {
        while let Some(front) = self.waiters.front_mut() {
            if front.need > self.permits {
                break;
            }
            self.permits -= front.need;
            front.granted = true;
            wakers.extend(self.waiters.wake_front());
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Semaphore")
            .field("permits", &state.permits)
            .field("closed", &state.closed)
            .field("waiters", &state.waiters.len())
            .finish()
    }
}

/// The future returned by [`Semaphore::acquire`] and
/// [`Semaphore::acquire_many`].
#[must_use = "futures do nothing unless polled"]
pub struct Acquire<'a> {
    sem: &'a Semaphore,
    need: usize,
    key: Option<Key>,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        ready!(this.sem.poll_acquire(this.need, &mut this.key, cx))?;
        Poll::Ready(Ok(SemaphorePermit {
            sem: this.sem,
            permits: this.need,
        }))
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.sem.cancel(key);
        }
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("need", &self.need)
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// The future returned by [`Semaphore::acquire_owned`].
#[must_use = "futures do nothing unless polled"]
pub struct AcquireOwned {
    sem: Arc<Semaphore>,
    need: usize,
    key: Option<Key>,
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        ready!(this.sem.poll_acquire(this.need, &mut this.key, cx))?;
        Poll::Ready(Ok(OwnedSemaphorePermit {
            sem: this.sem.clone(),
            permits: this.need,
        }))
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.sem.cancel(key);
        }
    }
}

impl fmt::Debug for AcquireOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireOwned")
            .field("need", &self.need)
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// Permits borrowed from a [`Semaphore`]; returned when dropped.
#[must_use = "the permits are returned as soon as this is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: usize,
}

impl SemaphorePermit<'_> {
    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Keeps the permits taken forever (the semaphore shrinks).
    pub fn forget(mut self) {
        self.permits = 0;
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.release(self.permits);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

/// Permits from an `Arc<Semaphore>`; returned when dropped.
#[must_use = "the permits are returned as soon as this is dropped"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: usize,
}

impl OwnedSemaphorePermit {
    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Keeps the permits taken forever (the semaphore shrinks).
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// The semaphore these permits came from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.release(self.permits);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::Task;

    #[test]
    fn permits_come_back_on_drop() {
        let sem = Semaphore::new(2);
        let a = sem.try_acquire().unwrap();
        let b = sem.try_acquire().unwrap();
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
        drop(a);
        assert_eq!(sem.available_permits(), 1);
        b.forget();
        assert_eq!(sem.available_permits(), 1);
        sem.add_permits(3);
        assert_eq!(sem.try_acquire_many(4).unwrap().num_permits(), 4);
    }

    #[test]
    fn fifo_large_request_is_not_starved() {
        let sem = Semaphore::new(1);
        let held = sem.try_acquire().unwrap();
        let mut big = Task::new(sem.acquire_many(2));
        let mut small = Task::new(sem.acquire());
        big.pending();
        small.pending();
        sem.add_permits(1); // 1 free; `big` needs 2 and is first
        assert!(!big.woken() && !small.woken());
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
        drop(held);
        assert!(big.woken() && !small.woken());
        let permit = big.ready().unwrap();
        assert_eq!(permit.num_permits(), 2);
        drop(permit);
        assert!(small.woken());
        drop(small.ready().unwrap());
    }

    #[test]
    fn cancelled_front_request_lets_smaller_ones_through() {
        let sem = Semaphore::new(1);
        let mut big = Task::new(sem.acquire_many(5));
        let mut small = Task::new(sem.acquire());
        big.pending();
        small.pending();
        drop(big);
        assert!(small.woken());
        drop(small.ready().unwrap());
    }

    #[test]
    fn cancelled_granted_waiter_returns_its_permits() {
        let sem = Semaphore::new(0);
        let mut a = Task::new(sem.acquire_many(2));
        let mut b = Task::new(sem.acquire_many(2));
        a.pending();
        b.pending();
        sem.add_permits(2);
        assert!(a.woken() && !b.woken());
        assert_eq!(sem.available_permits(), 0, "assigned to `a` already");
        drop(a);
        assert!(b.woken(), "a's permits go to the next waiter");
        drop(b.ready().unwrap());
        assert_eq!(sem.available_permits(), 2);
    }

    #[test]
    fn close_fails_waiters_and_later_acquires() {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.clone().try_acquire_owned().unwrap();
        let mut waiter = Task::new(sem.clone().acquire_owned());
        waiter.pending();
        sem.close();
        assert!(sem.is_closed());
        assert!(waiter.woken());
        assert_eq!(waiter.ready().unwrap_err(), AcquireError(()));
        assert_eq!(
            Task::new(sem.acquire()).ready().unwrap_err(),
            AcquireError(())
        );
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
        drop(held);
        assert_eq!(sem.available_permits(), 1);
    }

    #[test]
    #[should_panic(expected = "exceeds MAX_PERMITS")]
    fn too_many_permits_panics() {
        let sem = Semaphore::new(Semaphore::MAX_PERMITS);
        sem.add_permits(1);
    }

    #[test]
    #[should_panic(expected = "could never succeed")]
    fn impossible_request_panics() {
        drop(Semaphore::new(1).acquire_many(Semaphore::MAX_PERMITS + 1));
    }

    #[test]
    fn zero_permit_request_is_immediate() {
        let sem = Semaphore::new(0);
        assert_eq!(
            Task::new(sem.acquire_many(0))
                .ready()
                .unwrap()
                .num_permits(),
            0
        );
    }
}
