//! P, the processor: the right to run goro code, with its run queue.
//!
//! A [`Processor`] (Go's P) is owned by exactly one M (worker thread, or the `block_on`
//! thread of a current-thread runtime) at a time, through an
//! `Option<Box<P>>` in that thread's context. Everything in it is touched
//! only by its owner. What other threads need (stealing, the runnext slot,
//! waking the owner) lives in the P's [`Remote`], which stays in the
//! runtime's shared state. Because the two are separate, a P can be handed
//! to another thread whole (Go's `handoffp`) by moving the box.

use crate::loom::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use crate::park::Parker;
use crate::queue::{Local, QueueItem, Steal};
use crate::task::raw::Header;
use crate::task::Notified;
use std::ptr::{self, NonNull};
use std::sync::Arc;

/// Go's P: the right to run tasks, with its run queue and the counters its
/// owning M (a [`Machine`](crate::worker::Machine)) updates on every tick.
///
/// Aligned to 128 bytes, like the ring (see `queue::Ring`): the owner
/// writes its counters on every tick, and two Ps must not share a line.
#[doc(alias = "P")]
#[repr(align(128))]
pub(crate) struct Processor {
    /// Index of this P in `Shared::remotes`.
    pub(crate) index: usize,
    /// The owner's end of the 256-slot ring.
    pub(crate) run_queue: Local<Notified>,
    /// Ticks until the injector is checked first; reset to
    /// `global_queue_interval`. A countdown rather than `ticks % interval`:
    /// the interval is a runtime value and a division per task costs more
    /// than the rest of the bookkeeping.
    pub(crate) until_global: u32,
    /// Ticks until a busy M polls the reactor; reset to `event_interval`.
    pub(crate) until_event: u32,
    /// Consecutive tasks taken from runnext; capped (see
    /// "Runnext starvation guard" in `worker.rs`).
    pub(crate) runnext_streak: u32,
    /// Per-P xorshift state for the random steal order.
    pub(crate) rng: u32,
    /// When the M holding this P last woke (or took it): the start of the
    /// busy period `metrics.rs` adds up at the next park.
    pub(crate) awake_since: std::time::Instant,
    /// For a spare P (see `handoff.rs`): the index of the stuck P whose
    /// work it takes, and that P's poll count when it got stuck.
    pub(crate) helps: usize,
    pub(crate) helps_polls: u64,
}

impl Processor {
    pub(crate) fn new(
        index: usize,
        run_queue: Local<Notified>,
        global_queue_interval: u32,
        event_interval: u32,
    ) -> Processor {
        Processor {
            index,
            run_queue,
            until_global: global_queue_interval,
            until_event: event_interval,
            runnext_streak: 0,
            rng: (index as u32).wrapping_mul(0x9E37_79B9) | 1,
            awake_since: std::time::Instant::now(),
            helps: usize::MAX,
            helps_polls: 0,
        }
    }

    /// A random number below `n` (Go's `cheaprandn`).
    pub(crate) fn rand_below(&mut self, n: usize) -> usize {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        ((x as u64 * n as u64) >> 32) as usize
    }
}

/// The parts of a P that other threads touch.
/// Aligned to 128 bytes: the `Remote`s sit in one array, and each owner
/// writes its `runnext` on every hand-off.
#[repr(align(128))]
pub(crate) struct Remote {
    /// Stealers' end of the P's run queue.
    pub(crate) steal: Steal<Notified>,
    /// The runnext (LIFO) slot; see [`RunNext`].
    pub(crate) runnext: RunNext,
    /// Where the M holding this P sleeps. See "Worker thread
    /// parking/unparking" in `worker.rs`.
    pub(crate) parker: Arc<Parker<goro_reactor::Handle>>,
}

/// One task that runs next on this P, ahead of the queue: the task woken or
/// spawned by the running one, so a producer and its consumer hand off
/// without a trip through the queue (Go's `runnext`).
///
/// Written by the owner (swap in, take out); taken by a searching M of
/// another P only when it finds nothing else anywhere (unlike tokio, whose
/// LIFO slot cannot be stolen). Holds a `Notified`'s reference.
///
/// `puts` counts the owner's swaps. A stealer compares it before and after
/// its wait. Comparing only the pointer is not enough: in a ping-pong the
/// slot alternates between two tasks, so the same pointer is back in the
/// slot half of the time, and a stealer would take a task that is anything
/// but stale, splitting the pair across two cores so that every hand-off
/// crosses them.
pub(crate) struct RunNext {
    slot: AtomicPtr<Header>,
    puts: AtomicU32,
}

impl RunNext {
    pub(crate) fn new() -> RunNext {
        RunNext {
            slot: AtomicPtr::new(ptr::null_mut()),
            puts: AtomicU32::new(0),
        }
    }

    /// Puts `task` in the slot and returns the task it displaced. Owner only.
    pub(crate) fn swap(&self, task: Notified) -> Option<Notified> {
        // Relaxed load and store, not an RMW: only the owner writes `puts`,
        // and stealers use it as a hint (the CAS on `slot` decides).
        let puts = self.puts.load(Ordering::Relaxed);
        self.puts.store(puts.wrapping_add(1), Ordering::Relaxed);
        let new = task.into_raw().cast::<Header>();
        // AcqRel: Release publishes the task to a stealer's Acquire; Acquire
        // makes the displaced task (possibly put there before a steal
        // attempt failed) ours.
        let old = self.slot.swap(new.as_ptr(), Ordering::AcqRel);
        // SAFETY: the slot held that reference (stored by `into_raw`).
        NonNull::new(old).map(|p| unsafe { <Notified as QueueItem>::from_raw(p.cast()) })
    }

    /// Takes the task out of the slot, if any (owner or stealer).
    pub(crate) fn take(&self) -> Option<Notified> {
        // Relaxed pre-check: an empty slot is the common case and needs no
        // read-modify-write; a task that appears right after is found the
        // next time round.
        if self.slot.load(Ordering::Relaxed).is_null() {
            return None;
        }
        // Acquire: pairs with the Release in `swap`.
        let old = self.slot.swap(ptr::null_mut(), Ordering::Acquire);
        // SAFETY: the slot held that reference; the swap made it ours alone.
        NonNull::new(old).map(|p| unsafe { <Notified as QueueItem>::from_raw(p.cast()) })
    }

    /// A stealer takes the task only if the owner put nothing in the slot
    /// during `spins` spin-loop hints and the same task is still there, i.e.
    /// its owner did not get to it (Go's `runqgrab` waits before stealing
    /// runnext for the same reason).
    pub(crate) fn steal_if_stale(&self, spins: u32) -> Option<Notified> {
        // Relaxed: both are hints, compared below; the CAS acquires.
        let puts = self.puts.load(Ordering::Relaxed);
        let seen = self.slot.load(Ordering::Relaxed);
        if seen.is_null() {
            return None;
        }
        for _ in 0..spins {
            crate::loom::hint::spin_loop();
        }
        // Relaxed: a hint (see the type's doc).
        if self.puts.load(Ordering::Relaxed) != puts {
            return None; // the owner is busy handing off: not stale
        }
        // Acquire: pairs with the Release in `swap`. If the slot changed,
        // the owner took the task (or replaced it): leave it alone.
        let taken = self
            .slot
            .compare_exchange(seen, ptr::null_mut(), Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        // SAFETY: the slot held that reference; the CAS made it ours alone.
        NonNull::new(taken).map(|p| unsafe { <Notified as QueueItem>::from_raw(p.cast()) })
    }

    pub(crate) fn is_empty(&self) -> bool {
        // Relaxed: a hint; callers that need a decision re-check.
        self.slot.load(Ordering::Relaxed).is_null()
    }
}

impl Drop for RunNext {
    fn drop(&mut self) {
        drop(self.take());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The runnext slot hands each task to exactly one of its owner and a
    //! stealer, and loses none.
    use super::RunNext;
    use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use crate::loom::thread;
    use crate::task::test_sched::TestSched;
    use std::sync::Arc;

    #[test]
    fn owner_take_races_stealer() {
        loom::model(|| {
            let s = TestSched::new();
            let ran = Arc::new(AtomicUsize::new(0));
            let r = ran.clone();
            let join = s.spawn(async move {
                r.fetch_add(1, SeqCst);
            });
            let slot = Arc::new(RunNext::new());
            assert!(slot.swap(s.pop().unwrap()).is_none());
            let stealer = {
                let slot = slot.clone();
                thread::spawn(move || slot.steal_if_stale(0))
            };
            let mine = slot.take();
            let stolen = stealer.join().unwrap();
            assert!(mine.is_some() != stolen.is_some(), "taken twice or lost");
            mine.or(stolen).unwrap().run();
            assert_eq!(ran.load(SeqCst), 1);
            assert!(join.is_finished());
            drop(join);
            drop(slot);
            s.run_all();
            assert_eq!(Arc::strong_count(&s), 1);
        });
    }
}
