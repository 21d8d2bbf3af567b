//! The injector: the global run queue (Go's `sched.runq`).
//!
//! Tasks spawned or woken from outside the runtime, and the overflow of full
//! local queues, land here. A lock-free segmented queue (crossbeam's
//! `SegQueue`): many producers, many consumers, no lock convoy when four
//! outside threads spawn at once.

use crate::queue::Overflow;
use crate::task::Notified;
use crossbeam_queue::SegQueue;

pub(crate) struct Injector {
    queue: SegQueue<Notified>,
}

impl Injector {
    pub(crate) fn new() -> Injector {
        Injector {
            queue: SegQueue::new(),
        }
    }

    pub(crate) fn push(&self, task: Notified) {
        self.queue.push(task);
    }

    pub(crate) fn pop(&self) -> Option<Notified> {
        self.queue.pop()
    }

    /// Tasks queued (racy).
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no task is queued (racy).
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

impl Overflow<Notified> for Injector {
    fn push_batch(&self, batch: impl Iterator<Item = Notified>) {
        for task in batch {
            self.queue.push(task);
        }
    }
}
