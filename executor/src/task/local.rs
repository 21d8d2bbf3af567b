//! Local tasks: `LocalSet` and `spawn_local`, for futures that are not
//! `Send`.
//!
//! A local task is an ordinary task record (`raw.rs`: one allocation, the
//! same state word, JoinHandle and waker) whose scheduler is its
//! [`LocalSet`]'s shared state instead of a runtime. The set is a FIFO of
//! `Notified`s behind a mutex plus an owned-task list; it runs on the
//! thread that polls its [`RunUntil`] future (`run_until`, or
//! `LocalSet::block_on`): each poll polls the caller's future, then runs up
//! to [`MAX_TASKS_PER_TICK`] queued tasks, each with a fresh coop budget.
//! The set is not a P: the runtime's workers never see its tasks, so a
//! current-thread or a multi-thread runtime can host it unchanged, and the
//! multi-thread poll loop has no branch for it.
//!
//! ## Waking from other threads
//!
//! A local task's Waker is `Send + Sync` like every Waker. Waking it from
//! any thread pushes its `Notified` on the set's queue and wakes the waker
//! of whoever drives the set (the `block_on` waker that last polled
//! `RunUntil`), so a parked `block_on` thread comes back and runs it. A
//! wake-up from inside the set's own poll on its own thread skips that
//! wake: the poll drains the queue before it returns.
//!
//! ## Soundness
//!
//! A future that is not `Send` must only be polled and dropped on the
//! thread it was created on. In the harness, only two operations touch the
//! future: running a `Notified` (poll, or drop on cancel) and shutting the
//! owned-list reference down. Both happen only here, on the set's thread:
//!
//! * `Notified`s are run only by [`LocalShared::tick`], called from
//!   `RunUntil::poll`, which borrows the `LocalSet`; the set is neither
//!   `Send` nor `Sync`, so that is its creator's thread. Another thread may
//!   push a `Notified` (a wake) or drop one (a wake after the set closed),
//!   and dropping one only counts a reference down: the owned list holds a
//!   reference for as long as the future exists, so the count cannot reach
//!   zero (and free the record, stage and all) before the future is gone.
//! * The owned list is shut down only by `LocalSet`'s `Drop`, on its
//!   thread; a spawn that finds the list closed shuts the task down on the
//!   spawning thread, which is the set's (a `LocalSet` method, or
//!   `spawn_local`, which finds the set in this thread's context).
//! * The output of a task that nobody joins is dropped when the task
//!   completes, on the set's thread. A joined output is read or dropped by
//!   the JoinHandle, which is `Send` only when the output is.
//!
//! The scheduler itself (`Arc<LocalShared>`) is `Send + Sync` and may be
//! dropped anywhere: it holds the queue and the list, never a future.
//!
//! ## Dropping the set
//!
//! `Drop` closes the queue (later wake-ups drop their `Notified` at once),
//! shuts down every task of the list (their futures are dropped there, on
//! the set's thread, and their JoinHandles resolve to a cancelled
//! `JoinError`), then drops what was queued. The context is entered while
//! it does so: a destructor that calls `spawn_local` gets a task that is
//! shut down at once rather than a panic.

use super::list::OwnedTasks;
use super::{new_local_task, JoinHandle, Notified, RawTask, Schedule};
use crate::context;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::ptr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};

/// How many tasks one poll of [`RunUntil`] runs before it lets the thread's
/// executor have it back (it wakes itself if more are queued). Go's figure
/// for a P's turn between looks at the global queue.
const MAX_TASKS_PER_TICK: usize = 61;

/// A set of tasks that are not `Send`, run on the thread that drives the
/// set.
///
/// Drive it with [`run_until`](LocalSet::run_until) inside a runtime's
/// `block_on` (either flavor; on a multi-thread runtime the set runs on the
/// `block_on` thread, not on the workers), or with
/// [`block_on`](LocalSet::block_on). While it is driven, [`spawn_local`]
/// adds tasks to it. Dropping the set drops the futures of its unfinished
/// tasks.
///
/// ```
/// use std::rc::Rc;
/// let set = goro_executor::task::LocalSet::new();
/// let out = set.block_on(async {
///     let shared = Rc::new(5); // not Send
///     let s = shared.clone();
///     goro_executor::task::spawn_local(async move { *s * 2 }).await.unwrap()
/// });
/// assert_eq!(out, 10);
/// ```
pub struct LocalSet {
    shared: Arc<LocalShared>,
    /// Neither `Send` nor `Sync`: the set's thread is where it lives.
    _not_send: PhantomData<*const ()>,
}

/// The set's state that tasks and wakers share (the tasks' scheduler).
pub(crate) struct LocalShared {
    owned: OwnedTasks,
    queue: Mutex<Queue>,
    /// The waker of whoever polled `RunUntil` last.
    driver: Mutex<Option<Waker>>,
    /// This very allocation, for [`LocalShared::spawn`]'s scheduler handle.
    this: Weak<LocalShared>,
}

struct Queue {
    tasks: VecDeque<Notified>,
    /// Set by the set's `Drop`: pushes drop their `Notified` at once.
    closed: bool,
}

/// Takes over a poisoned lock: no critical section here runs foreign code
/// or panics, so the data is consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LocalShared {
    /// Queues a woken task and makes sure someone runs it.
    fn push(&self, task: Notified) {
        let mut q = lock(&self.queue);
        if q.closed {
            drop(q);
            // Counts a reference down; the future is already gone (see
            // "Soundness").
            drop(task);
            return;
        }
        q.tasks.push_back(task);
        drop(q);
        // Inside our own poll on our thread, the poll drains the queue.
        if !ptr::eq(context::local(), self) {
            let waker = lock(&self.driver).clone();
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    /// Runs queued tasks; returns whether some are still queued.
    ///
    /// Only called by `RunUntil::poll`, on the set's thread.
    fn tick(&self) -> bool {
        for _ in 0..MAX_TASKS_PER_TICK {
            let task = lock(&self.queue).tasks.pop_front();
            match task {
                // The poll (or cancel) of a local task, on the set's
                // thread (see "Soundness"), with a budget of its own.
                Some(task) => goro_coop::with_budget(|| task.run()),
                None => return false,
            }
        }
        !lock(&self.queue).tasks.is_empty()
    }

    #[track_caller]
    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let sched = LocalSched(self.this.upgrade().expect("LocalSet state alive"));
        // SAFETY: the task's Notifieds are run only by `tick` and its list
        // reference shut down only by the set's `Drop` or right below, all
        // on this thread, which is the set's (see "Soundness").
        let (raw, notified, join) = unsafe { new_local_task(future, sched, Location::caller()) };
        match self.owned.insert_named(raw, None) {
            Ok(()) => self.push(notified),
            Err(raw) => {
                // The set is being dropped: the handle resolves to a
                // cancelled error; the future is dropped here.
                drop(notified);
                raw.shutdown();
            }
        }
        join
    }

    fn register(&self, waker: &Waker) {
        let mut slot = lock(&self.driver);
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            let old = slot.replace(waker.clone());
            drop(slot);
            drop(old); // foreign code, outside the lock
        }
    }
}

/// The scheduler of a local task.
struct LocalSched(Arc<LocalShared>);

impl Schedule for LocalSched {
    fn schedule(&self, task: Notified) {
        self.0.push(task);
    }
    fn requeue(&self, task: Notified) {
        self.0.push(task);
    }
    fn release(&self, task: RawTask) -> bool {
        self.0.owned.remove(task)
    }
}

/// Makes a set this thread's current one until dropped.
struct Enter {
    prev: *const LocalShared,
}

impl Enter {
    fn new(shared: &LocalShared) -> Enter {
        Enter {
            prev: context::replace_local(shared),
        }
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        context::set_local(self.prev);
    }
}

impl LocalSet {
    /// An empty set.
    pub fn new() -> LocalSet {
        LocalSet {
            shared: Arc::new_cyclic(|this| LocalShared {
                owned: OwnedTasks::new(1),
                queue: Mutex::new(Queue {
                    tasks: VecDeque::new(),
                    closed: false,
                }),
                driver: Mutex::new(None),
                this: this.clone(),
            }),
            _not_send: PhantomData,
        }
    }

    /// Spawns a `!Send` task on this set. It runs once the set is driven
    /// ([`run_until`](LocalSet::run_until), [`block_on`](LocalSet::block_on)).
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.shared.spawn(future)
    }

    /// Runs `future` and the set's tasks on this thread until `future`
    /// completes. Tasks still unfinished then stay in the set (the next
    /// `run_until` goes on with them; dropping the set drops them).
    pub fn run_until<F: Future>(&self, future: F) -> RunUntil<'_, F> {
        RunUntil { set: self, future }
    }

    /// How many tasks of the set have not finished.
    pub fn len(&self) -> usize {
        self.shared.owned.len()
    }

    /// Whether every task of the set has finished.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for LocalSet {
    fn default() -> LocalSet {
        LocalSet::new()
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet")
            .field("tasks", &self.len())
            .finish()
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        let _enter = Enter::new(&self.shared);
        let queued = {
            let mut q = lock(&self.shared.queue);
            q.closed = true;
            std::mem::take(&mut q.tasks)
        };
        // Drops every unfinished future, here on the set's thread.
        self.shared.owned.close_and_shutdown();
        drop(queued);
        let driver = lock(&self.shared.driver).take();
        drop(driver);
    }
}

/// Spawns a `!Send` task on the [`LocalSet`] this thread is driving.
///
/// # Panics
/// Outside a `LocalSet`: call it from a local task, or from the future
/// given to `LocalSet::run_until` or `LocalSet::block_on`.
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let local = context::local();
    // SAFETY: a non-null slot points into the `Arc` of the set this thread
    // is driving or dropping; the `RunUntil` poll or the `Drop` that set
    // it is on this thread's stack below us and keeps the set alive.
    match unsafe { local.as_ref() } {
        Some(shared) => shared.spawn(future),
        None => panic!(
            "goro::task::spawn_local called outside a LocalSet: call it from a local \
             task or from the future given to LocalSet::run_until or LocalSet::block_on"
        ),
    }
}

/// The future returned by [`LocalSet::run_until`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RunUntil<'a, F> {
    set: &'a LocalSet,
    future: F,
}

impl<F: Future> Future for RunUntil<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is pinned structurally (projected below, never
        // moved out); `set` is a shared reference and not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let shared = &*this.set.shared;
        let _enter = Enter::new(shared);
        shared.register(cx.waker());
        // SAFETY: see above: `future` lives in the pinned `RunUntil`.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(out) = future.poll(cx) {
            return Poll::Ready(out);
        }
        // The tasks' polls take (and so clear) the wait reason: keep the
        // one `future` gave for whoever polls us.
        let reason = goro_coop::take_wait_reason();
        if shared.tick() {
            cx.waker().wake_by_ref();
        }
        goro_coop::set_wait_reason(reason);
        Poll::Pending
    }
}

impl<F> fmt::Debug for RunUntil<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntil").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! Driven by hand (no runtime, no reactor) so that Miri can run them.
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::task::Wake;
    use std::thread::{self, Thread};

    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    /// Polls `f` on this thread, parking between polls.
    fn drive<F: Future>(f: F) -> F::Output {
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
                return out;
            }
            thread::park();
        }
    }

    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn spawn_run_and_join() {
        let set = LocalSet::new();
        let rc = Rc::new(Cell::new(0));
        let r = rc.clone();
        let h = set.spawn_local(async move {
            r.set(r.get() + 1);
            Rc::new(7)
        });
        let out = drive(set.run_until(async move {
            let inner = spawn_local(async { 1 });
            *h.await.unwrap() + inner.await.unwrap()
        }));
        assert_eq!(out, 8);
        assert_eq!(rc.get(), 1);
        assert!(set.is_empty());
    }

    #[test]
    fn cross_thread_wake_and_drop_with_pending_tasks() {
        let drops = Arc::new(AtomicUsize::new(0));
        let set = LocalSet::new();
        let (tx, rx) = mpsc::channel::<Waker>();
        let waker_thread = thread::spawn(move || {
            for w in rx {
                w.wake();
            }
        });
        let c = Counted(drops.clone());
        let (ptx, prx) = mpsc::channel::<Waker>();
        let _pending = set.spawn_local(async move {
            let _c = c;
            let _rc = Rc::new(());
            let mut first = true;
            std::future::poll_fn(|cx| {
                if first {
                    first = false;
                    ptx.send(cx.waker().clone()).unwrap();
                }
                Poll::<()>::Pending
            })
            .await;
        });
        let woken = drive(set.run_until(async move {
            let mut sent = false;
            let h = spawn_local(std::future::poll_fn(move |cx| {
                if sent {
                    return Poll::Ready(5);
                }
                sent = true;
                tx.send(cx.waker().clone()).unwrap();
                Poll::Pending
            }));
            h.await.unwrap()
        }));
        assert_eq!(woken, 5);
        let stray = prx.recv().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(set);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        // Waking and dropping a waker of a task whose set is gone.
        thread::spawn(move || stray.wake()).join().unwrap();
        waker_thread.join().unwrap();
    }

    #[test]
    fn panic_and_abort() {
        let set = LocalSet::new();
        let err = drive(set.run_until(async {
            let p = spawn_local(async { panic!("boom") });
            let a = spawn_local(std::future::pending::<()>());
            crate::task::yield_now().await;
            a.abort();
            let aborted = a.await.unwrap_err();
            assert!(aborted.is_cancelled());
            p.await.unwrap_err()
        }));
        assert!(err.is_panic());
    }
}
