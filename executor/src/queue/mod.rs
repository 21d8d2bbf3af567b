//! The P's local run queue: a bounded ring with one owner and many stealers.
//!
//! # Shape
//!
//! Each P owns a ring of [`LOCAL_QUEUE_CAPACITY`] slots. Two free-running
//! `u32` indices describe it: `head` (the oldest task) and `tail` (one past
//! the newest); a slot's position is the index modulo the capacity, and
//! `tail - head` (wrapping) is the number of tasks. The owner — the M that
//! currently holds the P — pushes at `tail` and pops at `head`; any other M
//! may steal half of the tasks from `head`. The idea is Go's `runq` in
//! `runtime/proc.go` (`runqput`, `runqputslow`, `runqget`, `runqgrab`,
//! `runqsteal`); the code here is our own.
//!
//! # Who writes what
//!
//! - `tail` and the slots are written only by the owner. The owner publishes
//!   a new task by writing its slot and then storing `tail` with `Release`.
//! - `head` is advanced by compare-and-swap, by the owner (pop, overflow) and
//!   by stealers alike. Whoever wins the CAS from `h` to `h + n` owns the
//!   tasks in slots `h .. h + n`; everyone else retries or gives up.
//!
//! # The claim protocol
//!
//! A consumer (owner or stealer) reads the slots it wants *first* and then
//! tries to claim them with the CAS. The reads may be stale — between them
//! and the CAS, another consumer may have claimed those slots and the owner
//! may have reused them — but then `head` has moved and the CAS fails, so the
//! stale values are thrown away unused. The slots are `AtomicPtr`s, so these
//! speculative reads are ordinary atomic loads, not data races: Miri and
//! ThreadSanitizer have nothing to report.
//!
//! The owner must not overwrite a slot while a stealer that has *won* it may
//! still be reading it. A winning stealer's reads are sequenced before its
//! `Release` CAS; the owner checks for room by loading `head` with `Acquire`,
//! so once it sees `head` past a slot, every read of that slot by the
//! consumer who moved `head` happened before the owner's next write there.
//!
//! # Invariants
//!
//! - At every moment `head <= tail <= head + LOCAL_QUEUE_CAPACITY` (in
//!   wrapping arithmetic), and slots `head .. tail` hold owned tasks that no
//!   one has claimed.
//! - `head` and `tail` only move forward. A stealer that reads `head` and then
//!   `tail` may see more than a capacity's worth of tasks (the owner moved
//!   both in between); it treats that as a torn snapshot and reads again.
//! - ABA: a consumer's CAS could wrongly succeed only if `head` advanced by
//!   exactly 2^32 between its load and its CAS. Go accepts the same bound.
//!
//! # Claiming in batches
//!
//! Popping one task costs the owner a compare-and-swap on `head` (stealers
//! move `head` too), a large share of a `yield_now`'s path. So
//! the owner claims up to `CLAIM_BATCH` (8) tasks from the front with one
//! CAS, by the same claim protocol, into a private array of its `Local`,
//! and hands them out one by one. It claims at most half of what the ring
//! holds, so stealers still find half of the work; the claimed tasks are
//! the owner's, like a task it is running (Go's `runqget` takes one at a
//! time; this is goro's own trade).
//!
//! # Overflow
//!
//! When the ring is full, [`Local::push_back`] claims the older half with the
//! same CAS and hands it, plus the new task, to the [`Overflow`] (the global
//! injector) in one batch, so the cost of a contended push is paid once per
//! 128 tasks (Go's `runqputslow`).

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;

use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use crate::loom::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use crate::loom::sync::Arc;

/// Slots in one P's ring (shrunk under loom so models stay small).
pub(crate) const LOCAL_QUEUE_CAPACITY: usize = if cfg!(loom) { 4 } else { 256 };

/// How many tasks a full ring sends to the overflow, besides the new one.
const HALF: usize = LOCAL_QUEUE_CAPACITY / 2;

/// Most tasks the owner claims from its ring with one CAS (see "Claiming in
/// batches"); shrunk under loom so that models reach the batch path.
const CLAIM_BATCH: usize = if cfg!(loom) { 2 } else { 8 };

/// Masks a free-running index down to a slot position.
const MASK: u32 = LOCAL_QUEUE_CAPACITY as u32 - 1;

const _: () = assert!(LOCAL_QUEUE_CAPACITY.is_power_of_two());
const _: () = assert!(LOCAL_QUEUE_CAPACITY <= u32::MAX as usize / 2);

/// An owned, pointer-sized handle to a runnable task. The ring stores it as
/// a raw pointer in an atomic slot.
pub(crate) trait QueueItem: Send + 'static {
    /// Gives up ownership as a raw pointer.
    fn into_raw(self) -> NonNull<()>;
    /// Takes ownership back.
    ///
    /// # Safety
    /// `ptr` came from [`QueueItem::into_raw`] and is turned back exactly once.
    unsafe fn from_raw(ptr: NonNull<()>) -> Self;
}

/// Where a full local queue sends half of its tasks: the global injector.
pub(crate) trait Overflow<T> {
    /// Takes a batch of tasks in one operation.
    fn push_batch(&self, batch: impl Iterator<Item = T>);
}

/// Creates a P's queue: the owner's end and a clonable stealer's end.
pub(crate) fn local<T: QueueItem>() -> (Local<T>, Steal<T>) {
    local_at(0)
}

/// [`local`] with both indices starting at `start`, so that tests can cross
/// the `u32` wrap-around without pushing four billion tasks.
fn local_at<T: QueueItem>(start: u32) -> (Local<T>, Steal<T>) {
    let ring = Arc::new(Ring {
        head: AtomicU32::new(start),
        tail: AtomicU32::new(start),
        slots: Box::new(std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut()))),
        drop_task: drop_raw::<T>,
        _tasks: PhantomData,
    });
    (
        Local {
            ring: ring.clone(),
            claimed: [ptr::null_mut(); CLAIM_BATCH],
            next: 0,
            end: 0,
        },
        Steal { ring },
    )
}

/// Turns a pointer back into its task and drops it.
///
/// # Safety
/// As [`QueueItem::from_raw`]: `raw` came from `T::into_raw` and is turned
/// back exactly once.
unsafe fn drop_raw<T: QueueItem>(raw: NonNull<()>) {
    // SAFETY: the caller's contract is `from_raw`'s.
    drop(unsafe { T::from_raw(raw) });
}

/// The ring shared by one [`Local`] and any number of [`Steal`]s.
///
/// Aligned to 128 bytes (two cache lines, the unit the adjacent-line
/// prefetcher pulls) so that two Ps' rings never share a line: the owner
/// writes `head` and `tail` on every pop and push, and rings allocated
/// back to back could make each worker's writes evict the other's line,
/// depending on where the allocator put them.
#[repr(align(128))]
struct Ring<T> {
    /// Index of the oldest unclaimed task. Advanced by CAS by the owner
    /// (`pop`, overflow) and by stealers; read by everyone. Winning the CAS
    /// from `h` to `h + n` transfers ownership of slots `h .. h + n`.
    head: AtomicU32,
    /// One past the newest task. Written only by the owner (`Release`, after
    /// the slot it publishes); read by stealers with `Acquire`.
    tail: AtomicU32,
    /// The tasks, as `QueueItem::into_raw` pointers. Written only by the
    /// owner, and only in slots outside `head .. tail`; read by the owner and,
    /// speculatively, by stealers (see "The claim protocol" above). Slots
    /// outside `head .. tail` hold stale pointers that nobody owns.
    slots: Box<[AtomicPtr<()>; LOCAL_QUEUE_CAPACITY]>,
    /// Drops a task given as a raw pointer (`T::from_raw` then drop); kept
    /// here so that [`Local`]'s `Drop` needs no `QueueItem` bound. Immutable.
    /// # Safety: call it only with a pointer claimed from this ring, once.
    drop_task: unsafe fn(NonNull<()>),
    /// The ring owns `T`s in the sense that it moves them between threads.
    _tasks: PhantomData<T>,
}

// SAFETY: the ring holds `T`s only as raw pointers and moves each one, whole,
// from the thread that pushed it to the single thread that claimed it; it
// never hands out `&T`. That is sound whenever `T: Send`, which `QueueItem`
// requires. The indices and slots are atomics.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: through `&Ring` a thread can only push a `T` it owns or claim one
// (by winning a compare-exchange on the indices) and take it away whole; no
// `&T` is ever shared, so `T: Send` suffices, and the indices and slots
// are atomics.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    /// The slot for free-running index `index`.
    #[inline]
    fn slot(&self, index: u32) -> &AtomicPtr<()> {
        // `MASK` keeps the position below the array's (known) length, so
        // the compiler drops the bounds check.
        &self.slots[(index & MASK) as usize]
    }
}

/// The owner's end: only the thread that holds the P pushes and pops. It is
/// `Send` so that a P can be handed from one thread to another; whatever
/// hands it over (a mutex, a channel, a thread spawn) orders the old owner's
/// writes before the new owner's reads, which is what keeps the owner's
/// `Relaxed` loads of its own `tail` exact on the new thread.
///
/// Dropping it drops every task still in the ring (and in its claimed
/// batch).
pub(crate) struct Local<T> {
    ring: Arc<Ring<T>>,
    /// Tasks the owner has claimed from the front of the ring (one CAS for
    /// up to `CLAIM_BATCH` of them, see "Claiming in batches") and not yet
    /// handed out: `claimed[next..end]`, oldest first. Only the owner
    /// touches them; stealers cannot see them.
    claimed: [*mut (); CLAIM_BATCH],
    next: usize,
    end: usize,
}

// SAFETY: the claimed pointers are owned tasks (`T: Send`), handed over with
// the `Local` itself, like the ring's.
unsafe impl<T: Send> Send for Local<T> {}

/// A stealer's end: any thread may steal half of the queue.
pub(crate) struct Steal<T> {
    ring: Arc<Ring<T>>,
}

impl<T> Clone for Steal<T> {
    fn clone(&self) -> Self {
        Steal {
            ring: self.ring.clone(),
        }
    }
}

impl<T: QueueItem> Local<T> {
    /// Pushes `task` at the back. When the ring is full, half of it plus
    /// `task` move to `overflow` in one batch.
    #[inline]
    pub(crate) fn push_back(&mut self, mut task: T, overflow: &impl Overflow<T>) {
        loop {
            // Acquire: a consumer that moved `head` past a slot read that slot
            // before its Release CAS; acquiring `head` orders those reads
            // before our write of the same slot below.
            let head = self.ring.head.load(Ordering::Acquire);
            // Relaxed: only this thread writes `tail`.
            let tail = self.ring.tail.load(Ordering::Relaxed);
            if tail.wrapping_sub(head) < LOCAL_QUEUE_CAPACITY as u32 {
                // Relaxed: the Release store of `tail` publishes it.
                self.ring
                    .slot(tail)
                    .store(task.into_raw().as_ptr(), Ordering::Relaxed);
                // Release: a stealer that acquires this `tail` sees the slot
                // and everything the task's creator wrote before pushing it.
                self.ring
                    .tail
                    .store(tail.wrapping_add(1), Ordering::Release);
                return;
            }
            match self.push_overflow(task, head, overflow) {
                Ok(()) => return,
                // A stealer freed room first; the plain push will succeed.
                Err(back) => task = back,
            }
        }
    }

    /// The slow half of [`push_back`](Self::push_back) (Go's `runqputslow`):
    /// claims the older half of a full ring and sends it with `task` to
    /// `overflow`. Gives `task` back if a stealer claimed tasks first.
    #[cold]
    fn push_overflow(&mut self, task: T, head: u32, overflow: &impl Overflow<T>) -> Result<(), T> {
        let mut batch = [ptr::null_mut(); HALF];
        for (i, raw) in batch.iter_mut().enumerate() {
            // Relaxed: this thread wrote these slots, so it reads its own
            // values; the CAS below decides whether they are still ours.
            *raw = self
                .ring
                .slot(head.wrapping_add(i as u32))
                .load(Ordering::Relaxed);
        }
        // Release: so that a stealer that acquires the new `head` also sees a
        // `tail` at least this new, rather than a torn snapshot it would have
        // to retry. Relaxed on failure: we return and start over.
        if self
            .ring
            .head
            .compare_exchange(
                head,
                head.wrapping_add(HALF as u32),
                Ordering::Release,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return Err(task);
        }
        let claimed = Claimed {
            raws: batch,
            next: 0,
            _tasks: PhantomData,
        };
        overflow.push_batch(claimed.chain(std::iter::once(task)));
        Ok(())
    }

    /// Pops the task at the front.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        let raw = self.pop_raw()?;
        // SAFETY: `pop_raw` hands out each claimed `into_raw` pointer once.
        Some(unsafe { T::from_raw(raw) })
    }

    /// Tasks in the queue, the claimed batch included (racy if stealers are
    /// active; exact for the owner when there are none).
    pub(crate) fn len(&self) -> usize {
        // Relaxed: a count, not a claim; only this thread writes `tail`.
        let head = self.ring.head.load(Ordering::Relaxed);
        let tail = self.ring.tail.load(Ordering::Relaxed);
        tail.wrapping_sub(head) as usize + (self.end - self.next)
    }

    /// Whether the queue holds no task.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Free slots, as seen by the owner. A stale `head` can only make the
    /// answer too small, never too large.
    fn room(&self) -> usize {
        // Acquire: the caller is about to write into the free slots; see
        // `push_back`.
        let head = self.ring.head.load(Ordering::Acquire);
        // Relaxed: only this thread writes `tail`.
        let tail = self.ring.tail.load(Ordering::Relaxed);
        LOCAL_QUEUE_CAPACITY - tail.wrapping_sub(head) as usize
    }
}

impl<T> Local<T> {
    /// Hands out the oldest task, claiming a batch from the front of the
    /// ring when the claimed batch is used up; returns its `into_raw`
    /// pointer, which the caller now owns.
    #[inline]
    fn pop_raw(&mut self) -> Option<NonNull<()>> {
        if self.next < self.end {
            let raw = self.claimed[self.next];
            self.next += 1;
            // SAFETY: slots `next..end` hold pointers claimed from live
            // ring slots, which are never null (checked when claimed).
            return Some(unsafe { NonNull::new_unchecked(raw) });
        }
        // Relaxed: a stale `head` only makes the CAS below fail and retry.
        let mut head = self.ring.head.load(Ordering::Relaxed);
        loop {
            // Relaxed: only this thread writes `tail`.
            let tail = self.ring.tail.load(Ordering::Relaxed);
            let len = tail.wrapping_sub(head);
            if len == 0 {
                return None;
            }
            // Leave at least half of the ring to stealers.
            let n = (len / 2).clamp(1, CLAIM_BATCH as u32);
            for i in 0..n {
                // Relaxed: this thread wrote the slots; the CAS decides
                // ownership, and a failed CAS throws these values away.
                self.claimed[i as usize] =
                    self.ring.slot(head.wrapping_add(i)).load(Ordering::Relaxed);
            }
            // Release on success: see `push_overflow` (keeps stealers'
            // head-then-tail snapshots consistent). Relaxed on failure: the
            // returned value is only used to retry.
            match self.ring.head.compare_exchange(
                head,
                head.wrapping_add(n),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    let claimed = &self.claimed[..n as usize];
                    assert!(
                        claimed.iter().all(|raw| !raw.is_null()),
                        "run queue: a live slot held null"
                    );
                    self.next = 1;
                    self.end = n as usize;
                    // SAFETY: checked just above.
                    return Some(unsafe { NonNull::new_unchecked(self.claimed[0]) });
                }
                Err(actual) => head = actual,
            }
        }
    }
}

impl<T> Drop for Local<T> {
    fn drop(&mut self) {
        // Stealers may still hold the ring; popping claims each task properly,
        // so a racing steal takes a task or we drop it, never both.
        while let Some(raw) = self.pop_raw() {
            // SAFETY: `pop_raw` gave us sole ownership of this `into_raw`
            // pointer, and `drop_task` is `drop_raw::<T>` for this ring's `T`.
            unsafe { (self.ring.drop_task)(raw) };
        }
    }
}

impl<T: QueueItem> Steal<T> {
    /// Steals half of the tasks (rounded up) into `dst`, returning one of
    /// them to run now. `dst` must belong to another P; stealing into the
    /// queue's own `Local` returns `None`.
    ///
    /// If `dst` has less room than half of this queue, only as many tasks as
    /// fit (plus the one returned) are taken.
    pub(crate) fn steal_into(&self, dst: &mut Local<T>) -> Option<T> {
        if Arc::ptr_eq(&self.ring, &dst.ring) {
            return None;
        }
        let src = &*self.ring;
        // `&mut dst` makes us its owner: nobody else writes its slots or tail.
        let dst_room = dst.room();
        // Relaxed: only the owner (us) writes `dst.tail`.
        let dst_tail = dst.ring.tail.load(Ordering::Relaxed);
        loop {
            // Acquire on `head`: orders the `tail` load after it (so `tail`
            // is at least as new, see "Invariants"), and pairs with the
            // consumers' Release CASes.
            let head = src.head.load(Ordering::Acquire);
            // Acquire: pairs with the owner's Release store of `tail`, so the
            // slots below `tail` (and the tasks they point to) are visible.
            let tail = src.tail.load(Ordering::Acquire);
            let len = tail.wrapping_sub(head) as usize;
            if len > LOCAL_QUEUE_CAPACITY {
                // Torn snapshot: the owner moved both indices between our two
                // loads. Read again.
                crate::loom::hint::spin_loop();
                continue;
            }
            // Half, rounded up; at most what `dst` can take besides the one
            // we return.
            let n = (len - len / 2).min(dst_room + 1);
            if n == 0 {
                return None;
            }
            // Relaxed slot loads: the Acquire load of `tail` made the owner's
            // writes of these slots visible; if the owner has since reused
            // a slot, `head` has moved and the CAS below fails.
            let first = src.slot(head).load(Ordering::Relaxed);
            for i in 1..n as u32 {
                let raw = src.slot(head.wrapping_add(i)).load(Ordering::Relaxed);
                // Relaxed: these `dst` slots are free and only we write them;
                // the Release store of `dst.tail` below publishes them. If the
                // CAS fails they are left as unowned garbage, which is fine.
                dst.ring
                    .slot(dst_tail.wrapping_add(i - 1))
                    .store(raw, Ordering::Relaxed);
            }
            // Release on success: our slot reads above must happen before the
            // owner reuses those slots (it acquires `head` before writing).
            // Relaxed on failure: we start over from fresh loads.
            if src
                .head
                .compare_exchange(
                    head,
                    head.wrapping_add(n as u32),
                    Ordering::Release,
                    Ordering::Relaxed,
                )
                .is_err()
            {
                crate::loom::hint::spin_loop();
                continue;
            }
            if n > 1 {
                // Release: publishes the copied slots to `dst`'s stealers.
                dst.ring
                    .tail
                    .store(dst_tail.wrapping_add(n as u32 - 1), Ordering::Release);
            }
            // SAFETY: winning the CAS made us the owner of slot `head`'s task,
            // which the source's owner stored via `into_raw`.
            return Some(unsafe { T::from_raw(NonNull::new_unchecked(first)) });
        }
    }

    /// Tasks in the queue (racy).
    pub(crate) fn len(&self) -> usize {
        // Acquire on `head` keeps the `tail` load after it, so the difference
        // does not go negative; it may still exceed the capacity if the owner
        // moved both in between, hence the clamp.
        let head = self.ring.head.load(Ordering::Acquire);
        // Relaxed: only a count.
        let tail = self.ring.tail.load(Ordering::Relaxed);
        (tail.wrapping_sub(head) as usize).min(LOCAL_QUEUE_CAPACITY)
    }

    /// Whether the queue holds no task (racy).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Tasks claimed from a full ring on their way to the overflow. Any the
/// overflow does not take (say it panics halfway) are dropped, not leaked.
struct Claimed<T: QueueItem> {
    /// `into_raw` pointers, all owned by this batch.
    raws: [*mut (); HALF],
    /// Position of the next pointer to hand out; those before it are gone.
    next: usize,
    _tasks: PhantomData<T>,
}

impl<T: QueueItem> Iterator for Claimed<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let raw = *self.raws.get(self.next)?;
        self.next += 1;
        // SAFETY: the batch owns every pointer from `next` on (the overflow
        // CAS claimed them), each came from `into_raw`, and advancing `next`
        // first means this one is turned back exactly once.
        Some(unsafe { T::from_raw(NonNull::new_unchecked(raw)) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = HALF - self.next;
        (left, Some(left))
    }
}

impl<T: QueueItem> ExactSizeIterator for Claimed<T> {}

impl<T: QueueItem> Drop for Claimed<T> {
    fn drop(&mut self) {
        for task in self.by_ref() {
            drop(task);
        }
    }
}
