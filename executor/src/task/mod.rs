//! Tasks: goro's G.
//!
//! A task is one heap record (`raw.rs`) holding its state word
//! (`state.rs`), its future and then its output. Three kinds of handle own
//! references to it: the runtime's owned-task list (`list.rs`), a queued
//! `Notified` (at most one, guarded by the NOTIFIED bit) and the
//! [`JoinHandle`]; every task [`Waker`](std::task::Waker) is one more
//! (`waker.rs`).

mod builder;
mod current;
pub(crate) mod free_list;
pub(crate) mod join;
mod join_set;
pub(crate) mod list;
pub(crate) mod local;
pub(crate) mod raw;
pub(crate) mod state;
mod task_local;
pub(crate) mod wait;
pub(crate) mod waker;

pub use builder::Builder;
pub use goro_coop::WaitReason;
pub use join::{JoinError, JoinHandle};
pub use join_set::JoinSet;
pub use local::{spawn_local, LocalSet, RunUntil};
pub use task_local::{AccessError, LocalKey, TaskLocalFuture};

use crate::queue::QueueItem;
use raw::Header;
use std::fmt;
use std::future::Future;
use std::num::NonZeroU64;
use std::panic::Location;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

pub use crate::blocking::spawn_blocking;

/// Runs the blocking function `f` on this thread, and lets the runtime run
/// this worker's other tasks on another thread meanwhile (Go's `handoffp`
/// for a goroutine entering a blocking syscall).
///
/// On a worker of a multi-thread runtime, the worker's P (its run queue
/// and runnext slot) is handed to another thread at once if it has work
/// queued, and otherwise after one tick of the runtime's monitor thread
/// (1 to 4 ms) if `f` is still running. When `f` returns, this thread
/// takes its P back if nobody took it; otherwise it finishes the current
/// poll without one (what the task spawns or wakes goes to the global
/// queue) and then waits as a spare thread for a P that needs one, exiting
/// after `Builder::thread_keep_alive`. At most as many extra threads as
/// there are workers run at once; past that, the P waits for `f`.
///
/// Unlike [`spawn_blocking`], `f` may borrow from the task, since it runs
/// right here; and the task's other futures (what it joins or selects
/// over) wait for `f` either way.
///
/// Outside a runtime, on a `block_on` thread, on a blocking-pool thread
/// and inside another `block_in_place`, `f` just runs (there is no P to
/// hand over), as in tokio.
///
/// # Panics
/// On a current-thread runtime (its only worker is the calling thread, so
/// nothing could run its tasks meanwhile), as tokio's does: use
/// [`spawn_blocking`] there.
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    crate::handoff::block_in_place(f)
}
pub use goro_coop::consume_budget;

/// What a task needs from the runtime that owns it.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// The task was woken (outside its own poll) or aborted: queue it.
    fn schedule(&self, task: Notified);
    /// The task was woken during its own poll (by `yield_now`, or by any
    /// waker that fired while it ran) and its poll returned `Pending`: queue
    /// it behind the others, never in runnext, so it cannot starve them.
    fn requeue(&self, task: Notified);
    /// The task completed: take it off the owned-task list. Returns whether
    /// it was listed (and so the caller drops the list's reference).
    fn release(&self, task: RawTask) -> bool;
    /// The task's poll panicked (the panic is caught and goes to its
    /// JoinHandle); the runtime applies its unhandled-panic policy.
    fn panicked(&self) {}
}

/// A task's id, unique among all tasks of the process.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Id(NonZeroU64);

impl Id {
    /// A fresh id. Each thread reserves ids in blocks of `ID_BLOCK` from
    /// one global counter, so spawning threads do not all bounce the
    /// counter's cache line on every spawn.
    #[inline]
    pub(crate) fn next() -> Id {
        const ID_BLOCK: u64 = 1024;
        // Relaxed: uniqueness only needs the atomicity of fetch_add.
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // The rest of this thread's block lives in its context (reachable
        // for the whole life of the thread, exit included).
        let id = crate::context::with_id_block(|b| {
            let (mut next, mut end) = b.get();
            if next == end {
                next = NEXT.fetch_add(ID_BLOCK, Ordering::Relaxed);
                end = next + ID_BLOCK;
            }
            b.set((next + 1, end));
            next
        });
        Id(NonZeroU64::new(id).expect("task id counter wrapped"))
    }

    /// The id as an integer.
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

/// The id of the task this code runs in.
///
/// # Panics
/// Outside a task (in `block_on`'s own future, on a plain thread); see
/// [`try_id`].
#[track_caller]
pub fn id() -> Id {
    try_id().unwrap_or_else(|| {
        panic!("goro::task::id called outside a task: use try_id() where there may be none")
    })
}

/// The id of the task this code runs in, or `None` outside any task. A
/// blocking-pool job (`spawn_blocking`) is a task too and has an id.
#[inline]
pub fn try_id() -> Option<Id> {
    let task = crate::context::with_polling(|p| p.get().0);
    // SAFETY: a non-null polling slot is the record this thread is polling
    // right now (`current.rs`), which the poller's reference keeps alive
    // until the slot is restored; `Header` is its first field.
    unsafe { task.cast::<Header>().as_ref() }.map(|h| h.id)
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

pub(crate) use raw_task::RawTask;

mod raw_task {
    //! In a module of its own so that [`RawTask::from_raw`] is the only way
    //! to make one, even for the rest of `task/`.
    use super::raw::Header;
    use std::ptr::NonNull;

    /// A borrowed task pointer: owns no reference.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub(crate) struct RawTask(NonNull<Header>);

    impl RawTask {
        /// # Safety
        /// `ptr` is a task record, and the caller holds (or knows someone
        /// holds) a reference to it for as long as this `RawTask` or any
        /// copy of it is used.
        pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> RawTask {
            RawTask(ptr)
        }

        pub(crate) fn as_ptr(self) -> NonNull<Header> {
            self.0
        }

        pub(crate) fn header(&self) -> &Header {
            // SAFETY: `from_raw`'s contract: the record stays alive while
            // this RawTask is used.
            unsafe { self.0.as_ref() }
        }
    }
}

/// A queued task: owns the reference that the NOTIFIED bit stands for.
pub(crate) struct Notified(NonNull<Header>);

// SAFETY: the record is shared through its atomic state word, and running
// a Notified is the only way to reach the future. For a task whose future
// and output are Send that may happen on any thread; a local task's
// Notified may be moved to and dropped on another thread (dropping only
// counts a reference: the future is gone before the last one, see
// `local.rs`, "Soundness"), but only its set's thread runs it.
unsafe impl Send for Notified {}

impl Notified {
    /// # Safety
    /// The caller hands over one reference taken for a Notified.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Notified {
        Notified(ptr)
    }

    /// Polls (or cancels) the task; consumes the reference.
    pub(crate) fn run(self) {
        let ptr = self.0;
        std::mem::forget(self);
        // SAFETY: we pass our reference to the harness.
        unsafe { ((*ptr.as_ptr()).vtable.poll)(ptr) }
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: our reference keeps the record alive.
        unsafe { self.0.as_ref() }
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        let h = self.header();
        if h.state.ref_dec(1) {
            // SAFETY: that was the last reference.
            unsafe { (h.vtable.dealloc)(self.0) }
        }
    }
}

impl QueueItem for Notified {
    fn into_raw(self) -> NonNull<()> {
        let ptr = self.0.cast();
        std::mem::forget(self);
        ptr
    }

    /// # Safety
    /// As [`QueueItem::from_raw`]: `ptr` came from `into_raw` and is taken
    /// back exactly once.
    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        Notified(ptr.cast())
    }
}

/// A new task's three handles: the owned list's reference (as a RawTask to
/// insert, or to shut down if the list is closed), the first Notified and
/// the JoinHandle.
pub(crate) fn new_task<F, S>(
    future: F,
    scheduler: S,
    location: &'static Location<'static>,
) -> (RawTask, Notified, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let ptr = raw::allocate(future, scheduler, Id::next(), location, try_id(), 0);
    // SAFETY: `allocate` created the three references these stand for; the
    // RawTask carries the owned list's.
    unsafe {
        (
            RawTask::from_raw(ptr),
            Notified(ptr),
            JoinHandle::from_raw(ptr),
        )
    }
}

/// [`new_task`] for a future that need not be `Send`.
///
/// # Safety
/// As [`raw::allocate_any`]: unless `F` and its output are Send, the
/// returned Notified (and every later one) is run, and the RawTask shut
/// down, only on the calling thread.
pub(crate) unsafe fn new_local_task<F, S>(
    future: F,
    scheduler: S,
    location: &'static Location<'static>,
) -> (RawTask, Notified, JoinHandle<F::Output>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: the caller takes on `allocate_any`'s contract.
    let ptr = unsafe { raw::allocate_any(future, scheduler, Id::next(), location, try_id(), 0) };
    // SAFETY: as in `new_task`.
    unsafe {
        (
            RawTask::from_raw(ptr),
            Notified(ptr),
            JoinHandle::from_raw(ptr),
        )
    }
}

impl RawTask {
    /// Shuts the task down (drops its future); consumes the owned list's
    /// reference, which the caller holds.
    pub(crate) fn shutdown(self) {
        // SAFETY: the caller gives us the list's reference.
        unsafe { (self.header().vtable.shutdown)(self.as_ptr()) }
    }
}

/// Yields to the scheduler once: the task goes to the back of its worker's
/// run queue, behind everything that was ready before it.
///
/// A plain function returning a named future rather than an `async fn`:
/// the state machine an `async fn` wraps around the inner future adds its
/// own state checks to every yield, on one of the shortest paths in the
/// scheduler.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Woken while RUNNING: the harness requeues the task at the back.
        // Polled by goro's harness on this thread, telling it is enough
        // (`current.rs`); anywhere else, wake as usual.
        if !current::request_yield(cx.waker()) {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(test)]
pub(crate) mod test_sched;
#[cfg(all(test, not(loom)))]
mod tests;
