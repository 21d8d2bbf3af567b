//! # Cooperative scheduling budget
//!
//! A task that finds every resource ready never returns `Pending`, so a
//! plain executor would poll it forever while its neighbours starve. Go
//! solves this with preemption: sysmon marks a goroutine that has run for
//! 10 ms and the next function prologue yields. Stackless futures cannot be
//! preempted, so goro does what tokio does (its `coop` module): every task
//! poll gets a *budget* of operations, each resource operation that makes
//! progress spends one unit, and once the budget is spent every resource
//! answers `Pending` (after waking the task) until the executor has polled
//! something else.
//!
//! ## Why a crate of its own
//!
//! The executor sets the budget; channels (`goro-channels`) and IO
//! (`goro-reactor`) spend it. Channels must run on any executor and so may
//! not depend on the scheduler, and the reactor knows wakers, never tasks.
//! The budget therefore lives in the lowest crate of the workspace, this
//! one, as a thread-local counter. Outside a budgeted poll (on another
//! executor, or on a plain thread) the budget is *unconstrained* and every
//! call here is a no-op that says "proceed".
//!
//! Two more things cross the same seam: the [`WaitReason`] a resource
//! gives when it returns `Pending`, and the identity of goro's task wakers
//! ([`task_waker_vtable`]), which the executor registers so that a
//! resource can keep a task's waker as one word.
//!
//! ## Protocol
//!
//! * The executor wraps each task poll in [`with_budget`].
//! * A resource calls [`poll_proceed`] before it would make progress. On
//!   `Ready(guard)` it goes ahead; if the operation then turns out to be
//!   `Pending` after all, dropping the guard un-spends the unit, and
//!   [`Spent::made_progress`] keeps it spent.
//! * Code that loops without resources calls [`consume_budget`].

#![warn(missing_docs)]

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::task::{Context, Poll, RawWakerVTable};

/// Units of work one task poll may do before resources start answering
/// `Pending`. Tokio uses the same figure.
pub const INITIAL_BUDGET: u8 = 128;

thread_local! {
    /// `None`: unconstrained (not inside a budgeted poll). `Some(n)`: `n`
    /// units left in the current task poll. Only this thread touches it.
    static BUDGET: Cell<Option<u8>> = const { Cell::new(None) };
    /// The [`WaitReason`] the future being polled gave last (as its `u8`).
    /// Taken (and so cleared) by goro's executor after every poll of a
    /// task or of a `block_on` future, whatever the poll returned, so that
    /// a reason never outlives the poll that set it. Only this thread
    /// touches it.
    static WAIT: Cell<u8> = const { Cell::new(0) };
    /// Where this thread counts forced yields (see
    /// [`set_forced_yield_counter`]), or null.
    static FORCED_YIELDS: Cell<*const AtomicU64> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` (one task poll) with a fresh budget of [`INITIAL_BUDGET`],
/// restoring whatever budget the thread had before, even if `f` panics.
#[inline]
pub fn with_budget<R>(f: impl FnOnce() -> R) -> R {
    with_budget_of(Some(INITIAL_BUDGET), f)
}

/// Makes this thread count the polls that its budget forces to yield
/// (each time [`poll_proceed`] answers `Pending` because the budget is
/// spent, tokio's `budget_forced_yield_count`) in `counter`, until the
/// returned previous counter is put back with another call. goro's
/// worker threads point it at their P's metrics; elsewhere it is null
/// and nothing is counted. Counting where the budget runs out keeps the
/// executor's per-poll path free of a "was the budget spent?" check.
///
/// # Safety
/// `counter` (if not null) stays valid until the previous value has been
/// put back on this thread.
#[doc(hidden)]
pub unsafe fn set_forced_yield_counter(counter: *const AtomicU64) -> *const AtomicU64 {
    // Nothing here dereferences the pointer: the function is unsafe for
    // the contract above, which `count_forced_yield` relies on when it
    // follows the pointer later.
    FORCED_YIELDS.with(|c| c.replace(counter))
}

/// Counts one forced yield, if this thread has a counter (the rare path
/// of [`poll_proceed`], out of line).
#[cold]
#[inline(never)]
fn count_forced_yield() {
    let _ = FORCED_YIELDS.try_with(|c| {
        // SAFETY: `set_forced_yield_counter`'s caller keeps a non-null
        // counter valid while it is set.
        if let Some(counter) = unsafe { c.get().as_ref() } {
            // Relaxed: a statistic. An RMW, not the owner-only store of
            // the other per-P counters: an M that lent its P away in
            // `block_in_place` still finishes its poll, so two threads may
            // count on one P for a moment.
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
}

/// Runs `f` with the budget lifted (used by `block_on` for the future it
/// drives directly: it is the only thing running on its thread).
#[inline]
pub fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_budget_of(None, f)
}

#[inline]
fn with_budget_of<R>(budget: Option<u8>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u8>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0;
            let _ = BUDGET.try_with(|b| b.set(prev));
        }
    }
    let prev = BUDGET.with(|b| b.replace(budget));
    let restore = Restore(prev);
    let out = f();
    // `f` returned: restore inline; the guard's out-of-line drop is for
    // unwinding only.
    std::mem::forget(restore);
    let _ = BUDGET.try_with(|b| b.set(prev));
    out
}

/// The identity of goro's task wakers, for resources below the executor.
///
/// A goro task's [`Waker`](std::task::Waker) is the task's record pointer
/// with the executor's one `static` vtable, so a resource that only ever
/// needs to wake a goro task can keep the data pointer alone (one word
/// instead of a `Waker`'s two) and rebuild the `Waker` from it and this
/// vtable. The executor is above the resources in the crate graph, so it
/// registers its vtable here when a runtime is built; before that (or on
/// another executor) [`task_waker_vtable`] is `None` and resources keep
/// whole wakers.
///
/// The registration is set once for the life of the process: a resource
/// that stored a data pointer under the vtable it read rebuilds the
/// `Waker` with the same one. A second registration of a different vtable
/// is refused.
static TASK_WAKER_VTABLE: AtomicPtr<RawWakerVTable> = AtomicPtr::new(std::ptr::null_mut());

/// Registers `vtable` as the vtable of goro's task wakers (see
/// [`task_waker_vtable`]). Returns whether it is now the registered one:
/// `true` if it already was or was just set, `false` if another vtable was
/// registered first (which then stays).
///
/// Whoever registers a vtable promises only what every `RawWakerVTable`
/// already promises; resources still check each waker's data pointer for
/// the alignment they need before they keep it alone.
pub fn register_task_waker_vtable(vtable: &'static RawWakerVTable) -> bool {
    let vtable = vtable as *const RawWakerVTable as *mut RawWakerVTable;
    // Relaxed: the pointer is the whole message (a `'static` vtable needs
    // no other write published with it), and set-once: every load that
    // sees it non-null sees this value, by coherence.
    match TASK_WAKER_VTABLE.compare_exchange(
        std::ptr::null_mut(),
        vtable,
        Ordering::Relaxed,
        Ordering::Relaxed,
    ) {
        Ok(_) => true,
        Err(current) => current == vtable,
    }
}

/// The vtable of goro's task wakers, once a goro runtime was built in this
/// process (see [`register_task_waker_vtable`]).
#[inline]
pub fn task_waker_vtable() -> Option<&'static RawWakerVTable> {
    // Relaxed: see `register_task_waker_vtable`.
    let vtable = TASK_WAKER_VTABLE.load(Ordering::Relaxed);
    // SAFETY: only `register_task_waker_vtable` stores here, a pointer
    // made from a `&'static RawWakerVTable`.
    unsafe { vtable.cast_const().as_ref() }
}

/// Why a task returned `Pending`: what it waits for.
///
/// Every goro resource calls [`set_wait_reason`] just before it returns
/// `Pending` after storing the waker; goro's executor records the last
/// reason of each poll in the task (for task dumps and the deadlock
/// report). The executor, the reactor, channels and sync primitives sit in
/// different crates and only this one is below them all, so the reason
/// travels through a thread-local cell here, like the budget. On another
/// executor or a plain thread the cell is written and never read.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
#[non_exhaustive]
pub enum WaitReason {
    /// No goro resource said why (a foreign future, a hand-written one).
    Idle = 0,
    /// Receiving on a channel.
    ChanRecv,
    /// Sending on a channel.
    ChanSend,
    /// A `select!` with at least one case.
    Select,
    /// A `select!` with no cases: blocks for ever.
    SelectNoCases,
    /// Waiting for a socket or file descriptor to become ready.
    Io,
    /// A timer: `sleep`, `timeout`, `interval`.
    Sleep,
    /// `Mutex::lock`.
    MutexLock,
    /// `RwLock::read`.
    RwLockRead,
    /// `RwLock::write`.
    RwLockWrite,
    /// `Semaphore::acquire`.
    SemaphoreAcquire,
    /// `WaitGroup::wait`.
    WaitGroup,
    /// `Notify::notified` (and `Barrier::wait`, `OnceCell` initialisation).
    Notify,
    /// A oneshot receiver.
    Oneshot,
    /// A `JoinHandle` (or `JoinSet`) of another task.
    Join,
    /// A `JoinHandle` of a blocking-pool job (`spawn_blocking`).
    Blocking,
}

impl WaitReason {
    /// Every reason, in `u8` order.
    pub const ALL: [WaitReason; 16] = [
        WaitReason::Idle,
        WaitReason::ChanRecv,
        WaitReason::ChanSend,
        WaitReason::Select,
        WaitReason::SelectNoCases,
        WaitReason::Io,
        WaitReason::Sleep,
        WaitReason::MutexLock,
        WaitReason::RwLockRead,
        WaitReason::RwLockWrite,
        WaitReason::SemaphoreAcquire,
        WaitReason::WaitGroup,
        WaitReason::Notify,
        WaitReason::Oneshot,
        WaitReason::Join,
        WaitReason::Blocking,
    ];

    /// The reason stored as `n`; unknown values read as `Idle`.
    pub fn from_u8(n: u8) -> WaitReason {
        WaitReason::ALL
            .get(usize::from(n))
            .copied()
            .unwrap_or(WaitReason::Idle)
    }

    /// Go's spelling (`chan receive`, `select (no cases)`, `IO wait`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::Idle => "idle",
            WaitReason::ChanRecv => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::Io => "IO wait",
            WaitReason::Sleep => "sleep",
            WaitReason::MutexLock => "mutex lock",
            WaitReason::RwLockRead => "rwlock read",
            WaitReason::RwLockWrite => "rwlock write",
            WaitReason::SemaphoreAcquire => "semaphore acquire",
            WaitReason::WaitGroup => "wait group",
            WaitReason::Notify => "notify",
            WaitReason::Oneshot => "oneshot",
            WaitReason::Join => "join",
            WaitReason::Blocking => "blocking",
        }
    }
}

impl std::fmt::Display for WaitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Records why the future being polled is about to return `Pending`: one
/// store into a thread-local, no allocation. Call it after the waker is
/// stored, on the `Pending` path only; the last call of a poll wins.
#[inline]
pub fn set_wait_reason(reason: WaitReason) {
    let _ = WAIT.try_with(|w| w.set(reason as u8));
}

/// The reason the last poll gave (`Idle` if none), clearing it. Called by
/// the executor after each poll.
#[inline]
pub fn take_wait_reason() -> WaitReason {
    WaitReason::from_u8(take_wait_reason_u8())
}

/// [`take_wait_reason`] as the raw byte (`reason as u8`), for an executor
/// that stores it as is and decodes it only when someone reads it.
#[inline]
pub fn take_wait_reason_u8() -> u8 {
    WAIT.try_with(|w| w.replace(0)).unwrap_or(0)
}

/// A unit of budget taken by [`poll_proceed`]. Dropping it without calling
/// [`Spent::made_progress`] gives the unit back: an operation that ended up
/// `Pending` did no work and should not be charged for it.
#[must_use = "drop the guard to refund the unit, or call made_progress()"]
#[derive(Debug)]
pub struct Spent {
    charged: bool,
}

impl Spent {
    /// The operation did its work: keep the unit spent.
    #[inline]
    pub fn made_progress(mut self) {
        self.charged = false;
    }
}

impl Drop for Spent {
    #[inline]
    fn drop(&mut self) {
        if self.charged {
            let _ = BUDGET.try_with(|b| {
                if let Some(n) = b.get() {
                    b.set(Some(n.saturating_add(1)));
                }
            });
        }
    }
}

/// Asks for one unit of budget. Returns `Pending` (having woken the task so
/// that it is polled again after its neighbours) when the budget is spent.
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<Spent> {
    let left = BUDGET.try_with(|b| match b.get() {
        None => Some(false),
        Some(0) => None,
        Some(n) => {
            b.set(Some(n - 1));
            Some(true)
        }
    });
    match left {
        // Thread-local already destroyed (thread exit): never block progress.
        Err(_) | Ok(Some(false)) => Poll::Ready(Spent { charged: false }),
        Ok(Some(true)) => Poll::Ready(Spent { charged: true }),
        Ok(None) => {
            count_forced_yield();
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Whether the current task poll still has budget (always true outside a
/// budgeted poll).
#[inline]
pub fn has_budget_remaining() -> bool {
    BUDGET.try_with(|b| b.get() != Some(0)).unwrap_or(true)
}

/// The budget left in the current poll: `None` when unconstrained.
#[inline]
pub fn remaining() -> Option<u8> {
    BUDGET.try_with(|b| b.get()).ok().flatten()
}

/// Spends one unit of budget, yielding to the scheduler first if the budget
/// is exhausted. Call it in loops that do work without touching a goro
/// resource, so that they too let their neighbours run.
pub async fn consume_budget() {
    ConsumeBudget { done: false }.await
}

struct ConsumeBudget {
    done: bool,
}

impl Future for ConsumeBudget {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done {
            return Poll::Ready(());
        }
        match poll_proceed(cx) {
            Poll::Ready(spent) => {
                spent.made_progress();
                self.done = true;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct CountWake(AtomicUsize);
    impl Wake for CountWake {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn unconstrained_outside_a_poll() {
        let w = Arc::new(CountWake(AtomicUsize::new(0)));
        let waker = w.clone().into();
        let mut cx = Context::from_waker(&waker);
        for _ in 0..1000 {
            assert!(poll_proceed(&mut cx).is_ready());
        }
        assert_eq!(remaining(), None);
        assert_eq!(w.0.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn budget_runs_out_and_wakes() {
        let w = Arc::new(CountWake(AtomicUsize::new(0)));
        let waker = w.clone().into();
        let mut cx = Context::from_waker(&waker);
        with_budget(|| {
            for _ in 0..INITIAL_BUDGET {
                match poll_proceed(&mut cx) {
                    Poll::Ready(s) => s.made_progress(),
                    Poll::Pending => panic!("budget ran out early"),
                }
            }
            assert!(!has_budget_remaining());
            assert!(poll_proceed(&mut cx).is_pending());
            assert_eq!(w.0.load(Ordering::Relaxed), 1);
        });
        // Restored to unconstrained after the poll.
        assert_eq!(remaining(), None);
    }

    #[test]
    fn forced_yields_are_counted_where_the_budget_runs_out() {
        let waker = futures_noop_waker();
        let mut cx = Context::from_waker(&waker);
        let counter = AtomicU64::new(0);
        // SAFETY: `counter` outlives the reset below.
        let prev = unsafe { set_forced_yield_counter(&counter) };
        let n = with_budget(|| {
            let mut n = 0;
            while let Poll::Ready(s) = poll_proceed(&mut cx) {
                s.made_progress();
                n += 1;
            }
            // Each `Pending` for lack of budget counts once.
            assert!(poll_proceed(&mut cx).is_pending());
            n
        });
        assert_eq!(n, INITIAL_BUDGET);
        assert_eq!(counter.load(Ordering::Relaxed), 2);
        // A poll that does not run out counts nothing, and an
        // unconstrained one never does.
        with_budget(|| assert!(poll_proceed(&mut cx).is_ready()));
        assert!(poll_proceed(&mut cx).is_ready());
        assert_eq!(counter.load(Ordering::Relaxed), 2);
        // SAFETY: putting back what was there.
        unsafe { set_forced_yield_counter(prev) };
        assert_eq!(remaining(), None);
    }

    #[test]
    fn dropped_guard_refunds() {
        let waker = futures_noop_waker();
        let mut cx = Context::from_waker(&waker);
        with_budget(|| {
            let before = remaining().unwrap();
            match poll_proceed(&mut cx) {
                Poll::Ready(s) => drop(s),
                Poll::Pending => unreachable!(),
            }
            assert_eq!(remaining().unwrap(), before);
        });
    }

    #[test]
    fn nested_budget_restores_outer() {
        with_budget(|| {
            let waker = futures_noop_waker();
            let mut cx = Context::from_waker(&waker);
            if let Poll::Ready(s) = poll_proceed(&mut cx) {
                s.made_progress();
            }
            let outer = remaining();
            unconstrained(|| assert_eq!(remaining(), None));
            assert_eq!(remaining(), outer);
        });
    }

    #[test]
    fn wait_reason_round_trips_and_the_last_one_wins() {
        for (i, r) in WaitReason::ALL.iter().enumerate() {
            assert_eq!(WaitReason::from_u8(i as u8), *r);
        }
        assert_eq!(WaitReason::from_u8(200), WaitReason::Idle);
        with_budget(|| {
            assert_eq!(take_wait_reason(), WaitReason::Idle);
            set_wait_reason(WaitReason::Sleep);
            set_wait_reason(WaitReason::MutexLock);
            assert_eq!(take_wait_reason(), WaitReason::MutexLock);
            assert_eq!(take_wait_reason(), WaitReason::Idle);
        });
        assert_eq!(WaitReason::SelectNoCases.to_string(), "select (no cases)");
    }

    fn futures_noop_waker() -> std::task::Waker {
        std::task::Waker::noop().clone()
    }

    #[test]
    fn task_waker_vtable_is_set_once() {
        static A: RawWakerVTable =
            RawWakerVTable::new(|p| std::task::RawWaker::new(p, &A), |_| {}, |_| {}, |_| {});
        static B: RawWakerVTable =
            RawWakerVTable::new(|p| std::task::RawWaker::new(p, &B), |_| {}, |_| {}, |_| {});
        assert!(task_waker_vtable().is_none());
        assert!(register_task_waker_vtable(&A));
        assert!(register_task_waker_vtable(&A), "the same one again");
        assert!(!register_task_waker_vtable(&B), "a second one is refused");
        assert!(task_waker_vtable().is_some_and(|v| std::ptr::eq(v, &A)));
    }
}
