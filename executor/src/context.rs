//! The thread's runtime context: what this thread is doing for goro.
//!
//! Everything the executor keeps per thread is a field of one [`Context`]
//! (which runtime is entered, which M runs here, its handoff id and the P
//! it holds, whether the thread is inside `block_on` or belongs to a
//! blocking pool, which task it is polling, the rest of its task-id block),
//! except two values that
//! must be dropped when the thread exits and so live in thread-locals of
//! their own:
//!
//! * `THREAD_PARKER` below: the lazily built parker and Waker of a plain
//!   thread's `block_on`;
//! * `free_list::CACHE`: the thread's cached task records, handed back to
//!   the process-wide pool on exit.
//!
//! `Context` has a `const` initialiser and no destructor, so reaching it is
//! one thread-pointer-relative access with no "initialised yet?" or
//! "destructor registered?" check; the hot paths (queueing a task on the
//! local P, `yield_now`, taking a task id) read it on every call. That is
//! why the entered runtime is held as a raw `Arc` pointer rather than an
//! `Option<Arc<_>>`: a field that needs dropping would add that check to
//! every access. The slot owns the count it holds, and every writer is a
//! guard that restores the previous value when dropped (a guard that is
//! leaked leaks one count of the runtime, never a dangling pointer).
//!
//! Nothing in here imports the API layer (`runtime/`); the API calls in.

use crate::park::Parker;
use crate::processor::Processor;
use crate::shared::Shared;
use crate::task::local::LocalShared;
use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::Arc;
use std::task::{Wake, Waker};

/// What an M (worker thread, or current-thread `block_on`) keeps while it
/// runs: its runtime and the P it holds.
pub(crate) struct WorkerCtx {
    pub(crate) shared: Arc<Shared>,
    /// The P this M holds. Borrowed only for queue operations, never across
    /// a task poll or a park, so that code running on this thread (a task
    /// spawning, a reactor waking a task) can push to it.
    pub(crate) p: RefCell<Option<Box<Processor>>>,
    /// Whether this M counts as searching in `Idle`.
    pub(crate) searching: Cell<bool>,
}

/// Per-thread executor state; see the module docs for what is not here.
struct Context {
    /// The M context of this thread, if it is running one (set by
    /// [`enter_worker`], cleared when its guard drops).
    worker: Cell<*const WorkerCtx>,
    /// The runtime entered by [`enter`] (`Handle::enter`, `block_on`, a
    /// blocking-pool thread): an `Arc::into_raw` pointer whose count this
    /// slot owns, or null.
    current: Cell<*const Shared>,
    /// Set while this thread is inside a `block_on`.
    in_block_on: Cell<bool>,
    /// Whether this thread is a blocking-pool thread.
    in_pool: Cell<bool>,
    /// The task record this thread is polling (its waker data pointer) and
    /// whether its future asked to be requeued (see `task/current.rs`).
    polling: Cell<(*const (), bool)>,
    /// The rest of this thread's block of task ids: next id, end
    /// (exclusive). See `task::Id::next`.
    id_block: Cell<(u64, u64)>,
    /// The `LocalSet` this thread is driving (`task/local.rs`), borrowed
    /// from the set for the scope of its guard, or null.
    local: Cell<*const LocalShared>,
    /// The handoff's id of the M this thread is (for schedtrace's per-M
    /// lines), or `usize::MAX` if unknown yet. An M started by the handoff
    /// sets it first thing; a worker M started with the runtime is M `i`
    /// for its first P `i` and learns that the first time it lends the P
    /// (before that it holds P `i`, as the handoff's table says).
    m_id: Cell<usize>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            worker: Cell::new(ptr::null()),
            current: Cell::new(ptr::null()),
            in_block_on: Cell::new(false),
            in_pool: Cell::new(false),
            polling: Cell::new((ptr::null(), false)),
            id_block: Cell::new((0, 0)),
            local: Cell::new(ptr::null()),
            m_id: Cell::new(usize::MAX),
        }
    };

    /// This thread's parker and a Waker that unparks it, for driving a
    /// future on a plain thread. Built on first use.
    static THREAD_PARKER: (Arc<Parker<()>>, Waker) = {
        let parker = Arc::new(Parker::new(()));
        let waker = Waker::from(Arc::new(ThreadWaker(parker.clone())));
        (parker, waker)
    };
}

/// Marks this thread as an M running `ctx` until dropped.
pub(crate) struct WorkerGuard {
    prev: *const WorkerCtx,
}

/// Makes this thread the M of `ctx` until the guard drops. `ctx` must
/// outlive the guard (callers keep both on the M's stack, the guard
/// declared after the context).
pub(crate) fn enter_worker(ctx: &WorkerCtx) -> WorkerGuard {
    WorkerGuard {
        prev: CONTEXT.with(|c| c.worker.replace(ctx)),
    }
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        CONTEXT.with(|c| c.worker.set(self.prev));
    }
}

#[inline]
fn with_worker<R>(f: impl FnOnce(Option<&WorkerCtx>) -> R) -> R {
    let ptr = CONTEXT.with(|c| c.worker.get());
    // SAFETY: the pointer is set by `enter_worker` from a `WorkerCtx` that
    // outlives its guard, and is reset when the guard drops; null otherwise.
    f(unsafe { ptr.as_ref() })
}

/// Whether this thread is an M of some runtime.
pub(crate) fn is_worker() -> bool {
    with_worker(|w| w.is_some())
}

/// Runs `f` on the P this thread holds, if it holds one of `shared`'s;
/// otherwise gives `value` back.
#[inline]
pub(crate) fn with_local_p<T>(
    shared: &Shared,
    value: T,
    f: impl FnOnce(&mut Processor, T),
) -> Result<(), T> {
    with_worker(|w| {
        let Some(w) = w.filter(|w| ptr::eq(&*w.shared, shared)) else {
            return Err(value);
        };
        // try_borrow: a destructor run while the P is borrowed (a rare
        // output drop) falls back to the injector instead of panicking.
        let Ok(mut p) = w.p.try_borrow_mut() else {
            return Err(value);
        };
        match p.as_mut() {
            Some(p) => {
                f(p, value);
                Ok(())
            }
            None => Err(value),
        }
    })
}

/// `block_in_place`: takes this M's P out of its context and lends it to
/// the handoff (see `handoff.rs`).
pub(crate) fn lend_p() -> crate::handoff::Lent {
    use crate::handoff::Lent;
    with_worker(|w| {
        let Some(w) = w else { return Lent::NoP };
        if w.shared.config.current_thread {
            return Lent::CurrentThread;
        }
        // A P borrowed further up this thread's stack (a destructor run
        // from a queue operation) cannot be lent: run in place.
        let Ok(mut slot) = w.p.try_borrow_mut() else {
            return Lent::NoP;
        };
        let Some(p) = slot.take() else {
            return Lent::NoP; // nested: lent already
        };
        drop(slot);
        if w.searching.replace(false) {
            w.shared.counters[p.index]
                .searching
                .store(false, std::sync::atomic::Ordering::Relaxed);
            w.shared.idle.stop_searching();
        }
        let index = p.index;
        w.shared.handoff.lend(&w.shared, p);
        Lent::Yes(index)
    })
}

/// `block_in_place`'s `f` returned: takes P `index` back into this M's
/// context if no other M took it meanwhile.
pub(crate) fn reclaim_p(index: usize) {
    with_worker(|w| {
        let Some(w) = w else { return };
        if let Some(p) = w.shared.handoff.reclaim(index) {
            *w.p.borrow_mut() = Some(p);
        }
    })
}

/// Makes `local` the set this thread drives until the returned previous
/// value is put back with [`set_local`]. The caller keeps `local` alive
/// while it is current.
pub(crate) fn replace_local(local: *const LocalShared) -> *const LocalShared {
    CONTEXT.with(|c| c.local.replace(local))
}

/// Puts back the value [`replace_local`] returned.
pub(crate) fn set_local(local: *const LocalShared) {
    let _ = CONTEXT.try_with(|c| c.local.set(local));
}

/// The set this thread is driving, or null.
pub(crate) fn local() -> *const LocalShared {
    CONTEXT.try_with(|c| c.local.get()).unwrap_or(ptr::null())
}

/// Runs `f` with the runtime this thread is in (M or entered), if any.
pub(crate) fn with_current<R>(f: impl FnOnce(&Arc<Shared>) -> R) -> Option<R> {
    with_worker(|w| match w {
        Some(w) => Some(f(&w.shared)),
        None => current().map(|s| f(&s)),
    })
}

/// A new count of the entered runtime, if any.
fn current() -> Option<Arc<Shared>> {
    let ptr = CONTEXT.with(|c| c.current.get());
    if ptr.is_null() {
        return None;
    }
    // SAFETY: a non-null `current` came from `Arc::into_raw` and the slot
    // still owns that count, so the allocation is live; we take one more
    // count for the `Arc` we build from it.
    unsafe {
        Arc::increment_strong_count(ptr);
        Some(Arc::from_raw(ptr))
    }
}

/// Puts `shared` in the `current` slot and returns what was there (the
/// slot's count moves in and out with the value).
fn replace_current(shared: Option<Arc<Shared>>) -> Option<Arc<Shared>> {
    let new = shared.map_or(ptr::null(), Arc::into_raw);
    let old = CONTEXT.with(|c| c.current.replace(new));
    // SAFETY: a non-null old value came from `Arc::into_raw` and its count
    // was owned by the slot, which no longer holds it.
    (!old.is_null()).then(|| unsafe { Arc::from_raw(old) })
}

/// Keeps a runtime entered on this thread (current runtime and its
/// reactor) until dropped; then the previous one is current again.
pub(crate) struct EnterGuard {
    prev: Option<Arc<Shared>>,
    _reactor: goro_reactor::EnterGuard,
}

/// Enters `shared` on this thread (for `spawn`, `Handle::current`, net
/// types and timers).
pub(crate) fn enter(shared: &Arc<Shared>) -> EnterGuard {
    EnterGuard {
        _reactor: shared.reactor.enter(),
        prev: replace_current(Some(shared.clone())),
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        drop(replace_current(self.prev.take()));
    }
}

/// Set while this thread is inside a `block_on`; see [`enter_block_on`].
pub(crate) struct BlockOnGuard(());

/// Marks this thread as blocked on a future until the guard drops, or
/// returns `None` if it must not block: it is an M (it would stop running
/// its P's tasks) or is already inside a `block_on`.
pub(crate) fn enter_block_on() -> Option<BlockOnGuard> {
    if is_worker() || CONTEXT.with(|c| c.in_block_on.replace(true)) {
        return None;
    }
    Some(BlockOnGuard(()))
}

impl Drop for BlockOnGuard {
    fn drop(&mut self) {
        CONTEXT.with(|c| c.in_block_on.set(false));
    }
}

/// Marks this thread as a blocking-pool thread (for the rest of its life).
pub(crate) fn set_in_pool() {
    CONTEXT.with(|c| c.in_pool.set(true));
}

/// Whether this thread is a blocking-pool thread.
pub(crate) fn in_pool() -> bool {
    CONTEXT.with(|c| c.in_pool.get())
}

/// Replaces the polled-task slot (see `task/current.rs`), returning the
/// previous value.
#[inline]
pub(crate) fn replace_polling(value: (*const (), bool)) -> (*const (), bool) {
    CONTEXT.with(|c| c.polling.replace(value))
}

/// Runs `f` on the polled-task slot.
#[inline]
pub(crate) fn with_polling<R>(f: impl FnOnce(&Cell<(*const (), bool)>) -> R) -> R {
    CONTEXT.with(|c| f(&c.polling))
}

/// Runs `f` on this thread's task-id block.
#[inline]
pub(crate) fn with_id_block<R>(f: impl FnOnce(&Cell<(u64, u64)>) -> R) -> R {
    CONTEXT.with(|c| f(&c.id_block))
}

/// Runs `f` on this thread's M id slot (see `Context::m_id`).
pub(crate) fn with_m_id<R>(f: impl FnOnce(&Cell<usize>) -> R) -> R {
    CONTEXT.with(|c| f(&c.m_id))
}

/// A Waker that unparks one thread.
struct ThreadWaker(Arc<Parker<()>>);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// This thread's parker and a Waker that unparks it.
pub(crate) fn thread_parker() -> (Arc<Parker<()>>, Waker) {
    THREAD_PARKER.with(|(p, w)| (p.clone(), w.clone()))
}
