//! P, the processor: the right to run goro code, with its run queue.
//!
//! A [`P`] is owned by exactly one M (worker thread, or the `block_on`
//! thread of a current-thread runtime) at a time, through an
//! `Option<Box<P>>` in that thread's context. Everything in it is touched
//! only by its owner. What other threads need (stealing, the runnext slot,
//! waking the owner) lives in the P's [`Remote`], which stays in the
//! runtime's shared state. Because the two are separate, a P can be handed
//! to another thread whole (Go's `handoffp`) by moving the box.

use crate::park::Parker;
use crate::queue::{Local, QueueItem, Steal};
use crate::task::raw::Header;
use crate::task::Notified;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

pub(crate) struct P {
    /// Index of this P in `Shared::remotes`.
    pub(crate) index: usize,
    /// The owner's end of the 256-slot ring.
    pub(crate) run_queue: Local<Notified>,
    /// Scheduler ticks: tasks taken by this P. Every
    /// `global_queue_interval` ticks the injector is checked first, every
    /// `event_interval` ticks the reactor is polled.
    pub(crate) tick: u32,
    /// Consecutive tasks taken from runnext; capped (see
    /// "Runnext starvation guard" in `worker.rs`).
    pub(crate) runnext_streak: u32,
    /// Per-P xorshift state for the random steal order.
    pub(crate) rng: u32,
}

impl P {
    pub(crate) fn new(index: usize, run_queue: Local<Notified>) -> P {
        P {
            index,
            run_queue,
            tick: 0,
            runnext_streak: 0,
            rng: (index as u32).wrapping_mul(0x9E37_79B9) | 1,
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
pub(crate) struct RunNext(AtomicPtr<Header>);

impl RunNext {
    pub(crate) fn new() -> RunNext {
        RunNext(AtomicPtr::new(ptr::null_mut()))
    }

    /// Puts `task` in the slot and returns the task it displaced.
    pub(crate) fn swap(&self, task: Notified) -> Option<Notified> {
        let new = task.into_raw().cast::<Header>();
        // AcqRel: Release publishes the task to a stealer's Acquire; Acquire
        // makes the displaced task (possibly put there before a steal
        // attempt failed) ours.
        let old = self.0.swap(new.as_ptr(), Ordering::AcqRel);
        // SAFETY: the slot held that reference (stored by `into_raw`).
        NonNull::new(old).map(|p| unsafe { <Notified as QueueItem>::from_raw(p.cast()) })
    }

    /// Takes the task out of the slot, if any (owner or stealer).
    pub(crate) fn take(&self) -> Option<Notified> {
        // Relaxed pre-check: an empty slot is the common case and needs no
        // read-modify-write; a task that appears right after is found the
        // next time round.
        if self.0.load(Ordering::Relaxed).is_null() {
            return None;
        }
        // Acquire: pairs with the Release in `swap`.
        let old = self.0.swap(ptr::null_mut(), Ordering::Acquire);
        // SAFETY: the slot held that reference; the swap made it ours alone.
        NonNull::new(old).map(|p| unsafe { <Notified as QueueItem>::from_raw(p.cast()) })
    }

    pub(crate) fn is_empty(&self) -> bool {
        // Relaxed: a hint; callers that need a decision re-check.
        self.0.load(Ordering::Relaxed).is_null()
    }
}

impl Drop for RunNext {
    fn drop(&mut self) {
        drop(self.take());
    }
}
