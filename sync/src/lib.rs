//! # goro-sync
//!
//! Go gives goroutines `sync.Mutex`, `sync.RWMutex`, `sync.WaitGroup`,
//! `sync.Once` and, in `x/sync`, a weighted semaphore. Async Rust needs the
//! same tools in a form whose waiting is a future rather than a blocked
//! thread. This crate provides them (as `goro::sync`); they need nothing of the scheduler
//! and run on any executor (goro, `futures::executor`, tokio), and most
//! have a `blocking_*` / `*_blocking` twin for plain threads.
//!
//! | primitive      | waits for                           | fairness            |
//! |----------------|-------------------------------------|---------------------|
//! | [`Mutex`]      | exclusive access                    | FIFO hand-off       |
//! | [`RwLock`]     | shared or exclusive access          | FIFO, phase batches |
//! | [`Semaphore`]  | `n` permits                         | FIFO (no barging)   |
//! | [`Notify`]     | a notification (one stored permit)  | FIFO                |
//! | [`Barrier`]    | `n` tasks to arrive                 | n/a                 |
//! | [`WaitGroup`]  | a counter to reach zero             | n/a                 |
//! | [`OnceCell`]   | someone else's initialisation       | FIFO                |
//! | [`oneshot`]    | one value from one sender           | n/a                 |
//!
//! ## One building block
//!
//! Every primitive but `oneshot` is the same shape: a small state (a locked
//! flag, a permit count, ...) plus a FIFO of parked futures, all behind one
//! short-held lock. The FIFO is `waiters::WaitList`, a slab-backed doubly
//! linked list with O(1) removal; its module documents the rules every
//! primitive follows (what the lock protects; that no waker is woken and
//! no user code runs while it is held, waker clones and drops excepted).
//! `Mutex` adds a lock word in front of its queue so that an uncontended
//! lock/unlock is one CAS each; see "Lock word" in `mutex.rs`.
//!
//! ## Grants, not wake-ups
//!
//! The classic way to lose a wake-up: the releasing side wakes the first
//! waiter, and that waiter's future is dropped before it runs; the
//! resource is free, the second waiter sleeps forever. Here the releasing
//! side never just wakes a waiter, it *grants* it the resource under the
//! lock (marks it owner of the mutex, assigns it the permits, records the
//! notification) and then wakes it. A granted future that is dropped
//! finds the grant in its slot and passes it on exactly as a release would.
//! That is what "cancel-safe" means for every future in this module, and
//! it also means a woken task never has to race newcomers for what it was
//! woken for (Go's "starvation mode" mutex, always on).
//!
//! ## Cooperative budget
//!
//! Each successful acquisition spends one unit of goro's coop budget
//! ([`goro_coop::poll_proceed`]), so a task that loops over an always-free
//! mutex still yields to its neighbours under goro. Outside a goro task the
//! budget is unlimited and this costs a thread-local read.

/// Loom's synchronisation types under `--cfg loom`, std's otherwise.
use goro_loom as loom;

mod barrier;
mod mutex;
mod notify;
mod once_cell;
pub mod oneshot;
mod rwlock;
mod semaphore;
mod wait_group;
mod waiters;
mod waker_slot;

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod test_util;

pub use barrier::{Barrier, BarrierWait, BarrierWaitResult};
pub use mutex::{Lock, LockOwned, Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::{Notified, Notify};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, Read, ReadOwned, RwLock, RwLockReadGuard,
    RwLockWriteGuard, Write, WriteOwned,
};
pub use semaphore::{
    Acquire, AcquireError, AcquireOwned, OwnedSemaphorePermit, Semaphore, SemaphorePermit,
    TryAcquireError,
};
pub use wait_group::{Wait, WaitGroup};

/// Drives `future` to completion on the current thread, parking between
/// polls. Backs the `blocking_*` methods; it lifts the coop budget, since
/// the thread runs nothing else meanwhile.
#[cfg(not(loom))]
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }

    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    goro_coop::unconstrained(|| loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            // A stale unpark token only makes this loop poll once more.
            Poll::Pending => std::thread::park(),
        }
    })
}

#[cfg(all(test, not(loom)))]
mod coop_tests {
    use super::test_util::Task;
    use super::*;
    use std::future::Future;
    use std::task::{Context, Poll};

    /// Spends the whole budget of the current (budgeted) poll.
    fn exhaust_budget() {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        while let Poll::Ready(spent) = goro_coop::poll_proceed(&mut cx) {
            spent.made_progress();
        }
    }

    /// An operation that would complete at once answers `Pending` (and
    /// reschedules itself) when the budget is spent, and completes in the
    /// next poll with a fresh budget.
    fn yields_when_budget_is_spent<F: Future>(future: F) {
        let mut task = Task::new(future);
        goro_coop::with_budget(|| {
            exhaust_budget();
            task.pending();
        });
        assert!(task.woken(), "a budget yield must wake the task");
        goro_coop::with_budget(|| {
            let before = goro_coop::remaining();
            assert!(task.poll().is_ready());
            assert_eq!(
                goro_coop::remaining(),
                before.map(|n| n - 1),
                "one unit spent"
            );
        });
    }

    #[test]
    fn every_acquisition_takes_part_in_the_budget() {
        let rw = RwLock::new(());
        yields_when_budget_is_spent(rw.read());
        yields_when_budget_is_spent(rw.write());
        let sem = Semaphore::new(1);
        yields_when_budget_is_spent(sem.acquire());
        let notify = Notify::new();
        notify.notify_one();
        yields_when_budget_is_spent(notify.notified());
        let (tx, rx) = oneshot::channel();
        tx.send(1).unwrap();
        yields_when_budget_is_spent(rx);
        yields_when_budget_is_spent(Barrier::new(1).wait());
        yields_when_budget_is_spent(WaitGroup::new().wait());
        yields_when_budget_is_spent(Mutex::new(()).lock());
    }
}
