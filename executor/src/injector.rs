//! The injector: the global run queue (Go's `sched.runq`).
//!
//! Two kinds of traffic land here, and they want different queues:
//!
//! - Tasks spawned or woken from *outside* the runtime arrive one at a time,
//!   possibly from several threads at once. They go to a lock-free
//!   segmented queue (crossbeam's `SegQueue`): many producers, many
//!   consumers, no lock convoy when four outside threads spawn at once.
//! - The *overflow* of a full local queue arrives as a batch of half a ring
//!   (129 tasks). Pushing those one by one into the `SegQueue` would cost a
//!   compare-and-swap per task on each side, plus a segment allocation every
//!   31 tasks, on the path of a task that spawns faster than its P runs
//!   them. Batches go to a mutex-protected `VecDeque` instead: one lock per
//!   batch pushed, one per share taken (Go's `runqputslow` and
//!   `globrunqget` take `sched.lock` once per batch too).
//!
//! Takers (`pop`, `take`) always look at the batch lane first, then the
//! single lane. Each lane is FIFO; neither is ordered against the other.
//! A task in the single lane therefore waits for the batch lane to empty.
//! That lane only fills when a local queue overflows, and every M that
//! finds its own queue empty drains it, so the wait is bounded while the Ms
//! keep up; under a sustained overload that keeps overflowing local queues
//! faster than the Ms drain them, nothing bounds it. The 61-tick check (see
//! worker.rs) bounds how long the injector as a whole waits behind local
//! work, not how the two lanes share it.
//!
//! `batched` mirrors the batch lane's length so that emptiness checks (the
//! parking protocol's re-check, `take_from_injector`'s early exit) need no
//! lock. It is written under the lock, before the lock is released, and
//! read with `SeqCst` like the rest of the parking protocol's loads.

use crate::queue::Overflow;
use crate::task::Notified;
use crossbeam_queue::SegQueue;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

pub(crate) struct Injector {
    singles: SegQueue<Notified>,
    batches: Mutex<VecDeque<Notified>>,
    batched: AtomicUsize,
}

impl Injector {
    pub(crate) fn new() -> Injector {
        Injector {
            singles: SegQueue::new(),
            batches: Mutex::new(VecDeque::new()),
            batched: AtomicUsize::new(0),
        }
    }

    /// Queues one task (a spawn or wake from outside).
    pub(crate) fn push(&self, task: Notified) {
        self.singles.push(task);
    }

    /// Takes one task (batch lane first, like `take`).
    pub(crate) fn pop(&self) -> Option<Notified> {
        if self.batched.load(SeqCst) > 0 {
            let mut batches = self.lock();
            let task = batches.pop_front();
            self.batched.store(batches.len(), SeqCst);
            if task.is_some() {
                return task;
            }
        }
        self.singles.pop()
    }

    /// Takes up to `n` tasks, handing each to `sink` in queue order; returns
    /// how many it took. The batch lane is drained under one lock per
    /// `CHUNK` tasks; `sink` runs after the lock is released (it may push to
    /// a local queue, whose overflow comes back here).
    pub(crate) fn take(&self, n: usize, mut sink: impl FnMut(Notified)) -> usize {
        const CHUNK: usize = 128;
        let mut taken = 0;
        while taken < n && self.batched.load(SeqCst) > 0 {
            let mut chunk: [Option<Notified>; CHUNK] = [const { None }; CHUNK];
            let k = {
                let mut batches = self.lock();
                let k = (n - taken).min(CHUNK).min(batches.len());
                for (slot, task) in chunk.iter_mut().zip(batches.drain(..k)) {
                    *slot = Some(task);
                }
                self.batched.store(batches.len(), SeqCst);
                k
            };
            if k == 0 {
                break;
            }
            chunk.into_iter().take(k).flatten().for_each(&mut sink);
            taken += k;
        }
        while taken < n {
            match self.singles.pop() {
                Some(task) => {
                    sink(task);
                    taken += 1;
                }
                None => break,
            }
        }
        taken
    }

    pub(crate) fn len(&self) -> usize {
        self.singles.len() + self.batched.load(SeqCst)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.batched.load(SeqCst) == 0 && self.singles.is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Notified>> {
        // A panic cannot happen while the lock is held (the code under it
        // only moves pointers), but a poisoned lock is still a usable queue.
        self.batches.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Overflow<Notified> for Injector {
    fn push_batch(&self, batch: impl Iterator<Item = Notified>) {
        let mut batches = self.lock();
        batches.extend(batch);
        self.batched.store(batches.len(), SeqCst);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::task::test_sched::TestSched;

    #[test]
    fn batches_and_singles_all_come_out_once() {
        let s = TestSched::new();
        let inj = Injector::new();
        let spawn = || {
            s.spawn(async {});
            s.pop().unwrap()
        };
        for _ in 0..3 {
            inj.push(spawn());
        }
        inj.push_batch((0..5).map(|_| spawn()));
        assert_eq!(inj.len(), 8);
        assert!(!inj.is_empty());
        let mut got = Vec::new();
        assert_eq!(inj.take(6, |t| got.push(t)), 6);
        assert_eq!(inj.len(), 2);
        got.extend(inj.pop());
        got.extend(inj.pop());
        assert!(inj.pop().is_none());
        assert!(inj.is_empty());
        assert_eq!(inj.take(4, |t| got.push(t)), 0);
        assert_eq!(got.len(), 8);
        // Run them all (each exactly once), so every record is freed.
        for task in got {
            task.run();
        }
        assert_eq!(s.run_all(), 0);
    }
}
