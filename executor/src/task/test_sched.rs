//! A minimal scheduler for testing the task record alone: a FIFO that the
//! test drains by hand, plus an owned-task list.

use super::list::OwnedTasks;
use super::{new_task, JoinHandle, Notified, RawTask, Schedule};
use crate::loom::sync::Mutex;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

pub(crate) struct TestSched {
    pub(crate) queue: Mutex<VecDeque<Notified>>,
    pub(crate) owned: OwnedTasks,
    pub(crate) yields: Mutex<usize>,
}

impl TestSched {
    pub(crate) fn new() -> Arc<TestSched> {
        Arc::new(TestSched {
            queue: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::new(1),
            yields: Mutex::new(0),
        })
    }

    pub(crate) fn spawn<F>(self: &Arc<Self>, f: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (raw, notified, join) = new_task(f, Handle(self.clone()), Location::caller());
        match self.owned.insert(raw) {
            Ok(()) => self.queue.lock().unwrap().push_back(notified),
            Err(raw) => {
                drop(notified);
                raw.shutdown();
            }
        }
        join
    }

    pub(crate) fn pop(&self) -> Option<Notified> {
        self.queue.lock().unwrap().pop_front()
    }

    /// Runs queued tasks until the queue is empty; returns how many ran.
    pub(crate) fn run_all(&self) -> usize {
        let mut n = 0;
        while let Some(t) = self.pop() {
            t.run();
            n += 1;
        }
        n
    }

    #[cfg(not(loom))]
    pub(crate) fn queued(&self) -> usize {
        self.queue.lock().unwrap().len()
    }
}

/// The scheduler handle stored in each task.
pub(crate) struct Handle(pub(crate) Arc<TestSched>);

impl Schedule for Handle {
    fn schedule(&self, task: Notified) {
        self.0.queue.lock().unwrap().push_back(task);
    }
    fn requeue(&self, task: Notified) {
        *self.0.yields.lock().unwrap() += 1;
        self.0.queue.lock().unwrap().push_back(task);
    }
    fn release(&self, task: RawTask) -> bool {
        self.0.owned.remove(task)
    }
}
