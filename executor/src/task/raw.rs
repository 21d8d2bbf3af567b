//! The task record (G) and the harness that polls, cancels and frees it.
//!
//! One allocation per task, laid out `#[repr(C)]` so that a pointer to the
//! [`Header`] is a pointer to the whole record:
//!
//! ```text
//!   Header   state word, wait word (see `wait.rs`), vtable, owned-list
//!            links, id, spawn location, parent id
//!   S        the scheduler: `shared::TaskSched`, an uncounted pointer to the
//!            runtime (see "Why the pointer stays valid" there), or for
//!            blocking-pool tasks a counted `Arc<Shared>`
//!   Stage<F> the future, then its output: an untagged union whose variant
//!            is the header's `stage` byte (see "Stage" below)
//!   waker    the JoinHandle's waker slot
//! ```
//!
//! ## Stage
//!
//! The stage holds the future until it completes (`STAGE_RUNNING`), then
//! its output (`STAGE_FINISHED`), then nothing (`STAGE_CONSUMED`, also
//! while a value is being dropped, so a panicking destructor leaves
//! nothing to drop twice). The variant is kept in a byte of the header's
//! padding rather than in a Rust enum, whose tag would add a word to every
//! record (a future's own state byte does not offer the enum a niche).
//! The byte has the same owner as the union: the holder of RUNNING until
//! COMPLETE, then the JoinHandle (JOIN_INTEREST) or the completing thread.
//!
//! ## Join waker
//!
//! The slot is written by the JoinHandle and read by the thread that
//! completes the task. JOIN_WAKER says who owns it: clear, the JoinHandle
//! may write it; set, it is published and the completing thread may wake
//! it. The JoinHandle clears the bit (a CAS that fails once COMPLETE is set)
//! before it replaces the waker. After waking it on completion, the runtime
//! clears the bit; whichever of the runtime and the dropping JoinHandle
//! comes second frees the waker.

use super::current::PollScope;
use super::join::JoinError;
use super::state::{State, ToComplete, ToIdle, ToJoinHandleDropped, ToRunning, ToShutdown};
use super::{free_list, wait, waker, Id, Notified, RawTask, Schedule};
use crate::loom::cell::UnsafeCell;
use std::alloc::Layout;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU8};
use std::task::{Context, Poll, Waker};

/// The type-erased start of every task record.
#[repr(C)]
pub(crate) struct Header {
    /// Status bits and reference count; see `state.rs`.
    pub(crate) state: State,
    /// Since when (coarse clock, ms, wrapping) and why the task is parked
    /// (`wait.rs`). Written by the holder of RUNNING when a poll returns
    /// `Pending`; read (relaxed, a diagnostic) by dumps, which only trust
    /// them while the state word says idle, and by a JoinHandle (the
    /// blocking-job bit). Right after the state word, so that the poll
    /// harness and a JoinHandle, which touch the state anyway, touch no
    /// other cache line for them: the record is only 16-byte aligned, and
    /// the end of the header usually shares a line with the future, which
    /// another core may be writing. Two narrow fields rather than one word:
    /// with `listed` and the stage tag they fill eight bytes.
    pub(crate) wait_since: AtomicU32,
    pub(crate) wait_reason: AtomicU8,
    /// Whether the task is in the owned-task list; only touched with the
    /// lock of its list shard (see `list.rs`).
    pub(crate) listed: std::cell::UnsafeCell<bool>,
    /// Which variant the record's stage holds (see "Stage"); owned like the
    /// stage itself.
    stage: UnsafeCell<u8>,
    /// The functions that know the future's type.
    pub(crate) vtable: &'static Vtable,
    /// Links of the runtime's owned-task list. Only touched with the lock of
    /// the list shard this task belongs to (see `list.rs`).
    pub(crate) links: std::cell::UnsafeCell<Links>,
    /// The task id, unique for the life of the process.
    pub(crate) id: Id,
    /// Where `spawn` was called, for task dumps.
    pub(crate) location: &'static Location<'static>,
    /// The task that spawned this one, `None` if spawned from outside any
    /// task (`block_on`'s future, a plain thread). Written once, before the
    /// record is shared.
    pub(crate) parent: Option<Id>,
}

/// The stage holds the future.
const STAGE_RUNNING: u8 = 0;
/// The stage holds the output.
const STAGE_FINISHED: u8 = 1;
/// The stage holds nothing.
const STAGE_CONSUMED: u8 = 2;

/// Owned-task list membership, protected by the shard lock.
#[derive(Default)]
pub(crate) struct Links {
    pub(crate) prev: Option<NonNull<Header>>,
    pub(crate) next: Option<NonNull<Header>>,
}

/// Per-future-type functions.
///
/// # Safety
/// Each is installed only on a `Cell<F, S>` of its own `F` and `S`; callers
/// pass that cell's pointer and hand over the references each field's doc
/// names (the functions' own `# Safety` sections say the same).
pub(crate) struct Vtable {
    /// Runs a dequeued task; consumes the `Notified`'s reference.
    pub(crate) poll: unsafe fn(NonNull<Header>),
    /// Submits a `Notified` (the caller gives it one reference).
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    /// Frees the record; called when the reference count reaches zero.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// JoinHandle poll: writes `Poll<Result<T, JoinError>>` through the
    /// pointer when the output is ready, else registers the waker.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// JoinHandle drop; consumes the handle's reference.
    pub(crate) drop_join_handle: unsafe fn(NonNull<Header>),
    /// Runtime shutdown; consumes the owned list's reference.
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
}

/// The future or its output, as `Header::stage` says (see "Stage").
pub(crate) union Stage<F: Future> {
    future: ManuallyDrop<F>,
    output: ManuallyDrop<Result<F::Output, JoinError>>,
}

#[repr(C)]
struct Cell<F: Future, S> {
    header: Header,
    scheduler: S,
    /// Owned by the holder of RUNNING until COMPLETE; then by the JoinHandle
    /// (JOIN_INTEREST) or by the completing thread (no JOIN_INTEREST). Its
    /// variant is `header.stage`.
    stage: UnsafeCell<Stage<F>>,
    /// See "Join waker" above.
    join_waker: UnsafeCell<Option<Waker>>,
}

struct VtableOf<F, S>(std::marker::PhantomData<(F, S)>);

// No `Send` bound: local tasks (`local.rs`) use these functions too; the
// bound is enforced where a record is made (`allocate`, or the contract of
// `allocate_any`).
impl<F: Future + 'static, S: Schedule> VtableOf<F, S>
where
    F::Output: 'static,
{
    const VTABLE: Vtable = Vtable {
        poll: poll::<F, S>,
        schedule: schedule::<F, S>,
        dealloc: dealloc::<F, S>,
        try_read_output: try_read_output::<F, S>,
        drop_join_handle: drop_join_handle::<F, S>,
        shutdown: shutdown::<F, S>,
    };
}

/// Allocates a task record in the spawned state (see `state.rs`): three
/// references, for the owned list, the returned `Notified` and the
/// JoinHandle that the caller builds from the same pointer.
pub(crate) fn allocate<F, S>(
    future: F,
    scheduler: S,
    id: Id,
    location: &'static Location<'static>,
    parent: Option<Id>,
    wait_reason: u8,
) -> NonNull<Header>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: `F` and its output are Send, so the record may be polled,
    // cancelled and freed on any thread.
    unsafe { allocate_any(future, scheduler, id, location, parent, wait_reason) }
}

/// [`allocate`] for a future that need not be `Send` (a local task).
///
/// # Safety
/// If `F` or `F::Output` is not `Send`, the caller makes sure that the
/// future is only polled and dropped, and the output only dropped by the
/// task harness, on one thread: every `Notified` of the task is run, and
/// the owned-list reference shut down, only on that thread (see
/// `local.rs`, "Soundness"). The rest of the record is thread-safe.
pub(crate) unsafe fn allocate_any<F, S>(
    future: F,
    scheduler: S,
    id: Id,
    location: &'static Location<'static>,
    parent: Option<Id>,
    wait_reason: u8,
) -> NonNull<Header>
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    let layout = Layout::new::<Cell<F, S>>();
    let ptr = free_list::alloc(layout).cast::<Cell<F, S>>();
    let cell = Cell {
        header: Header {
            state: State::new(),
            vtable: &VtableOf::<F, S>::VTABLE,
            links: std::cell::UnsafeCell::new(Links::default()),
            id,
            location,
            parent,
            wait_since: AtomicU32::new(wait::now_ms() as u32),
            wait_reason: AtomicU8::new(wait_reason),
            listed: std::cell::UnsafeCell::new(false),
            stage: UnsafeCell::new(STAGE_RUNNING),
        },
        scheduler,
        stage: UnsafeCell::new(Stage {
            future: ManuallyDrop::new(future),
        }),
        join_waker: UnsafeCell::new(None),
    };
    // SAFETY: `ptr` is fresh (or recycled, holding no value) memory with
    // the layout of a `Cell<F, S>`.
    unsafe { ptr.as_ptr().write(cell) };
    ptr.cast()
}

/// # Safety
/// `ptr` points to a live `Cell<F, S>`.
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: the caller guarantees the type; `Header` is the first field of
    // the `repr(C)` cell, so the pointers coincide.
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

/// Vtable `poll`.
///
/// # Safety
/// `ptr` is a `Cell<F, S>` and the caller gives up one reference (the
/// dequeued `Notified`'s).
unsafe fn poll<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable is only installed on a `Cell<F, S>`, and the
    // caller's `Notified` reference keeps it alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    match cell.header.state.transition_to_running() {
        ToRunning::Poll => {}
        // SAFETY: the transition gave us RUNNING; the Notified's reference
        // is the one handed over.
        ToRunning::Cancel => return unsafe { cancel_and_complete::<F, S>(ptr, 1) },
        ToRunning::Skip => return,
        // SAFETY: that was the last reference.
        ToRunning::Dealloc => return unsafe { dealloc::<F, S>(ptr) },
    }
    // SAFETY: the Waker borrows the poller's reference for the poll; it is
    // never dropped (ManuallyDrop), so the count is untouched.
    let waker = ManuallyDrop::new(unsafe { waker::borrowed(ptr) });
    let mut cx = Context::from_waker(&waker);
    let scope = PollScope::enter(ptr.as_ptr() as *const ());
    let polled = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: we hold RUNNING, so we own the stage and its tag.
        let tag = cell.header.stage.with(|t| unsafe { *t });
        assert!(tag == STAGE_RUNNING, "polled a task whose future is gone");
        cell.stage.with_mut(|stage| {
            // SAFETY: we own the stage, and the tag says it holds the
            // future. The future lives in the heap record until the stage
            // is replaced, which only the RUNNING holder (us) does, and
            // never by moving it out (`drop_stage` drops it in place): it
            // stays pinned.
            unsafe { Pin::new_unchecked(&mut *(*stage).future) }.poll(&mut cx)
        })
    }));
    let yielded = scope.finish();
    // Taken whatever the poll returned, so no reason outlives its poll.
    let reason = goro_coop::take_wait_reason_u8();
    let output = match polled {
        Ok(Poll::Pending) => {
            if !yielded {
                // A yielding task is requeued, never parked: dumps read the
                // wait fields only of parked tasks, so `yield_now` (the
                // shortest path through here) skips the stores. They come
                // before the transition: once idle, another thread may poll
                // the task and store its own.
                wait::store(&cell.header, reason);
            }
            match cell.header.state.transition_to_idle(yielded) {
                ToIdle::Idle => {}
                // SAFETY: the poller's reference passes to the Notified.
                ToIdle::Requeue => cell.scheduler.requeue(unsafe { Notified::from_raw(ptr) }),
                // SAFETY: we still hold RUNNING and the Notified's reference.
                ToIdle::Cancel => unsafe { cancel_and_complete::<F, S>(ptr, 1) },
            }
            return;
        }
        Ok(Poll::Ready(value)) => Ok(value),
        Err(payload) => {
            cell.scheduler.panicked();
            Err(JoinError::panic(cell.header.id, payload))
        }
    };
    // Drop the future before publishing the output; a panicking destructor
    // turns the result into a panic error.
    let dropped = drop_stage(cell);
    let output = match (dropped, output) {
        (Err(payload), Ok(_)) => Err(JoinError::panic(cell.header.id, payload)),
        (_, output) => output,
    };
    store_output(cell, output);
    // SAFETY: we hold RUNNING and the Notified's reference.
    unsafe { complete::<F, S>(ptr, 1) };
}

/// Empties the stage (we own it), catching a panic from the destructor of
/// what it held. The value is dropped in place (a future stays pinned),
/// with the tag already set to `STAGE_CONSUMED`, so a destructor that
/// panics leaves nothing behind to drop again.
#[inline]
fn drop_stage<F: Future, S>(cell: &Cell<F, S>) -> std::thread::Result<()> {
    // SAFETY: callers own the stage and its tag (RUNNING held, or COMPLETE
    // and the output belongs to them).
    let tag = cell.header.stage.with(|t| unsafe { *t });
    if tag == STAGE_CONSUMED {
        return Ok(());
    }
    // SAFETY: as above.
    cell.header
        .stage
        .with_mut(|t| unsafe { *t = STAGE_CONSUMED });
    catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            if tag == STAGE_RUNNING {
                // SAFETY: the tag said the union holds the future; it is
                // dropped where it is, and the tag no longer names it.
                unsafe { ManuallyDrop::drop(&mut (*stage).future) }
            } else {
                // SAFETY: as above, for the output.
                unsafe { ManuallyDrop::drop(&mut (*stage).output) }
            }
        })
    }))
}

/// Stores the output in the emptied stage (we own it).
#[inline]
fn store_output<F: Future, S>(cell: &Cell<F, S>, output: Result<F::Output, JoinError>) {
    cell.stage.with_mut(|stage| {
        // SAFETY: callers own the stage, which `drop_stage` emptied.
        unsafe {
            stage.write(Stage {
                output: ManuallyDrop::new(output),
            })
        }
    });
    // SAFETY: callers own the tag.
    cell.header
        .stage
        .with_mut(|t| unsafe { *t = STAGE_FINISHED });
}

/// Takes the output out of the stage, if it holds one.
///
/// # Safety
/// The caller owns the stage (COMPLETE, and the output is theirs).
unsafe fn take_output<F: Future, S>(cell: &Cell<F, S>) -> Option<Result<F::Output, JoinError>> {
    // SAFETY: the caller owns the stage and its tag.
    let tag = cell.header.stage.with(|t| unsafe { *t });
    if tag != STAGE_FINISHED {
        return None;
    }
    // SAFETY: as above.
    cell.header
        .stage
        .with_mut(|t| unsafe { *t = STAGE_CONSUMED });
    // SAFETY: the tag said the union holds the output, and no longer names
    // it: it is moved out exactly once.
    Some(
        cell.stage
            .with_mut(|s| unsafe { ManuallyDrop::take(&mut (*s).output) }),
    )
}

/// Drops the future of a task whose RUNNING bit we hold, stores a cancelled
/// (or, if the destructor panicked, a panic) error and completes it.
///
/// # Safety
/// `ptr` is a live `Cell<F, S>` whose RUNNING bit the caller holds, and the
/// caller gives up `refs` references to it.
unsafe fn cancel_and_complete<F: Future, S: Schedule>(ptr: NonNull<Header>, refs: usize) {
    // SAFETY: the caller holds RUNNING and a reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    let id = cell.header.id;
    let err = match drop_stage(cell) {
        Ok(()) => JoinError::cancelled(id),
        Err(payload) => JoinError::panic(id, payload),
    };
    store_output(cell, Err(err));
    // SAFETY: passed on from our caller: RUNNING and `refs` references.
    unsafe { complete::<F, S>(ptr, refs) };
}

/// Publishes completion, hands the output to the JoinHandle or drops it,
/// leaves the owned list and drops `refs` references plus the list's.
/// `ptr` is the record's own pointer; no reference to the record is passed
/// in as an argument, since the record may be freed here.
///
/// # Safety
/// `ptr` is a live `Cell<F, S>` whose RUNNING bit the caller holds, and the
/// caller gives up `refs` references to it.
unsafe fn complete<F: Future, S: Schedule>(ptr: NonNull<Header>, refs: usize) {
    // SAFETY: the caller holds RUNNING and `refs` references.
    let cell = unsafe { cell::<F, S>(ptr) };
    match cell.header.state.transition_to_complete() {
        ToComplete::DropOutput => {
            let _ = drop_stage(cell);
        }
        ToComplete::WakeJoiner => {
            cell.join_waker.with(|slot| {
                // SAFETY: JOIN_WAKER and COMPLETE are both set: the JoinHandle
                // cannot write the slot any more, and it holds a waker.
                if let Some(w) = unsafe { &*slot } {
                    w.wake_by_ref();
                }
            });
            if cell.header.state.unset_join_waker_after_complete() {
                // The JoinHandle went away meanwhile and left the waker to us.
                // SAFETY: JOIN_WAKER was still set when it dropped, so it did
                // not touch the slot; nobody else does.
                cell.join_waker.with_mut(|slot| unsafe { *slot = None });
            }
        }
        ToComplete::LeaveOutput => {}
    }
    // SAFETY: we hold `refs` references until the `ref_dec` below.
    let listed = cell.scheduler.release(unsafe { RawTask::from_raw(ptr) });
    if cell.header.state.ref_dec(refs + usize::from(listed)) {
        // SAFETY: that was the last reference.
        unsafe { dealloc::<F, S>(ptr) }
    }
}

/// Vtable `schedule`.
///
/// # Safety
/// `ptr` is a `Cell<F, S>` and the caller gives up one reference, taken for
/// the new `Notified`.
unsafe fn schedule<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable is only installed on a `Cell<F, S>`, and the
    // reference the caller hands over keeps it alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: the caller hands over a reference taken for a Notified.
    cell.scheduler.schedule(unsafe { Notified::from_raw(ptr) });
}

/// Vtable `dealloc`.
///
/// # Safety
/// `ptr` is a `Cell<F, S>` whose reference count has just reached zero.
unsafe fn dealloc<F: Future, S>(ptr: NonNull<Header>) {
    let cell = ptr.cast::<Cell<F, S>>();
    // The union drops nothing by itself: empty it first (normally it is
    // empty already; a destructor's panic is not the freeing thread's).
    // SAFETY: this was the last reference, so the stage is ours; the
    // borrow ends before the record is freed.
    let _ = drop_stage(unsafe { cell.as_ref() });
    // SAFETY: this was the last reference to a record written by
    // `allocate`; nothing touches it after this.
    unsafe { std::ptr::drop_in_place(cell.as_ptr()) };
    // SAFETY: the memory came from `free_list::alloc` with this layout and
    // its value was just dropped.
    unsafe { free_list::free(cell.cast(), Layout::new::<Cell<F, S>>()) };
}

/// Whether the JoinHandle may read the output now; if not, its waker is
/// registered (see "Join waker").
fn can_read_output(header: &Header, slot: &UnsafeCell<Option<Waker>>, waker: &Waker) -> bool {
    let snapshot = header.state.load();
    if snapshot.is_complete() {
        return true;
    }
    if snapshot.has_join_waker() {
        // SAFETY: the runtime only reads the slot while JOIN_WAKER is set,
        // and so do we.
        let same = slot.with(|s| unsafe { &*s }.as_ref().is_some_and(|w| w.will_wake(waker)));
        if same {
            return false;
        }
        if header.state.unset_join_waker().is_err() {
            return true;
        }
    }
    // SAFETY: JOIN_WAKER is clear, so the slot is ours.
    slot.with_mut(|s| unsafe { *s = Some(waker.clone()) });
    match header.state.set_join_waker() {
        Ok(()) => false,
        Err(s) => {
            debug_assert!(s.is_complete());
            true
        }
    }
}

/// Vtable `try_read_output`.
///
/// # Safety
/// `ptr` is a `Cell<F, S>` the calling JoinHandle holds a reference to, and
/// `dst` points to a live `Poll<Result<F::Output, JoinError>>`.
unsafe fn try_read_output<F: Future, S>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker) {
    // SAFETY: the JoinHandle's reference keeps the record alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    if !can_read_output(&cell.header, &cell.join_waker, waker) {
        return;
    }
    // SAFETY: COMPLETE with JOIN_INTEREST: the stage belongs to us.
    let Some(output) = (unsafe { take_output(cell) }) else {
        panic!("JoinHandle polled after it returned Ready");
    };
    let dst = dst.cast::<Poll<Result<F::Output, JoinError>>>();
    // SAFETY: the JoinHandle passes a pointer to a live value of this type.
    unsafe { *dst = Poll::Ready(output) };
}

/// Vtable `drop_join_handle`.
///
/// # Safety
/// `ptr` is a `Cell<F, S>`; the dropping JoinHandle gives up its reference.
unsafe fn drop_join_handle<F: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: the JoinHandle's reference keeps the record alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.state.drop_join_handle_fast() {
        // Not complete, so the completing thread drops the output; no join
        // waker was published, so the slot is empty (a waker written but
        // not published is only left behind once COMPLETE is set); another
        // reference remains, so the record is not ours to free.
        return;
    }
    let todo = cell.header.state.transition_to_join_handle_dropped();
    if todo != ToJoinHandleDropped::ClearWaker {
        // Complete: the output was left for us.
        let _ = drop_stage(cell);
    }
    if todo != ToJoinHandleDropped::DropOutput {
        // SAFETY: JOIN_WAKER is clear (or we cleared it), so the slot is ours.
        cell.join_waker.with_mut(|s| unsafe { *s = None });
    }
    if cell.header.state.ref_dec(1) {
        // SAFETY: last reference.
        unsafe { dealloc::<F, S>(ptr) }
    }
}

/// Vtable `shutdown`.
///
/// # Safety
/// `ptr` is a `Cell<F, S>`; the caller gives up the owned list's reference.
unsafe fn shutdown<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the owned list's reference (now ours) keeps it alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.state.transition_to_shutdown() == ToShutdown::Cancel {
        // SAFETY: transition_to_shutdown gave us RUNNING; the owned list's
        // reference is ours.
        unsafe { cancel_and_complete::<F, S>(ptr, 1) };
    } else if cell.header.state.ref_dec(1) {
        // SAFETY: last reference.
        unsafe { dealloc::<F, S>(ptr) }
    }
}

#[cfg(all(test, not(loom), target_pointer_width = "64"))]
mod tests {
    use super::{Cell, Header, Stage};
    use crate::shared::TaskSched;
    use crate::task::JoinError;
    use std::mem::size_of;

    /// The figures `lib.rs` quotes, on 64-bit targets: a 64-byte header;
    /// 88 bytes of record besides the stage (header, scheduler pointer,
    /// join waker slot); a stage as large as the larger of the future and
    /// the output slot (a `Result<_, JoinError>`, 24 bytes), with no tag of
    /// its own; 112 bytes for a future that holds nothing.
    #[test]
    fn record_size() {
        type F = std::future::Ready<()>;
        let stage = size_of::<Stage<F>>();
        let record = size_of::<Cell<F, TaskSched>>();
        assert_eq!(size_of::<Header>(), 64);
        assert_eq!(record - stage, 88);
        assert_eq!(size_of::<Result<(), JoinError>>(), 24);
        assert_eq!(stage, 24);
        assert_eq!(record, 112);
        // A future of 32 bytes (an `async` block holding two pointers
        // across its await) costs exactly its size.
        type G = [usize; 4];
        struct Fut(#[allow(dead_code)] G);
        impl std::future::Future for Fut {
            type Output = ();
            fn poll(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<()> {
                std::task::Poll::Pending
            }
        }
        assert_eq!(size_of::<Cell<Fut, TaskSched>>(), 88 + 32);
    }
}
