//! The P's local run queue.
//!
//! INTERFACE STUB: a mutex around a `VecDeque` that honours the interface
//! below. The run-queue work replaces the body with the lock-free ring
//! (256 atomic slots, one owner, many stealers, steal half); the signatures
//! are the contract the scheduler programs against and stay as they are.

use std::collections::VecDeque;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

/// Slots in one P's ring (shrunk under loom so models stay small).
pub(crate) const LOCAL_QUEUE_CAPACITY: usize = if cfg!(loom) { 4 } else { 256 };

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
    let inner = Arc::new(Mutex::new(VecDeque::with_capacity(LOCAL_QUEUE_CAPACITY)));
    (
        Local {
            inner: inner.clone(),
        },
        Steal { inner },
    )
}

/// The owner's end: only the thread that holds the P pushes and pops. It is
/// `Send` so that a P can be handed from one thread to another.
pub(crate) struct Local<T> {
    inner: Arc<Mutex<VecDeque<T>>>,
}

/// A stealer's end: any thread may steal half of the queue.
pub(crate) struct Steal<T> {
    inner: Arc<Mutex<VecDeque<T>>>,
}

impl<T> Clone for Steal<T> {
    fn clone(&self) -> Self {
        Steal {
            inner: self.inner.clone(),
        }
    }
}

impl<T: QueueItem> Local<T> {
    /// Pushes `task` at the back. When the ring is full, half of it plus
    /// `task` move to `overflow` in one batch.
    pub(crate) fn push_back(&mut self, task: T, overflow: &impl Overflow<T>) {
        let mut q = self.inner.lock().unwrap();
        if q.len() < LOCAL_QUEUE_CAPACITY {
            q.push_back(task);
            return;
        }
        let half: Vec<T> = q.drain(..LOCAL_QUEUE_CAPACITY / 2).collect();
        drop(q);
        overflow.push_batch(half.into_iter().chain(std::iter::once(task)));
    }

    /// Pops the task at the front.
    pub(crate) fn pop(&mut self) -> Option<T> {
        self.inner.lock().unwrap().pop_front()
    }

    /// Tasks in the queue (racy if stealers are active; exact for the owner
    /// when there are none).
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().unwrap().len()
    }

    /// Whether the queue holds no task.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: QueueItem> Steal<T> {
    /// Steals half of the tasks (rounded up) into `dst`, returning one of
    /// them to run now. `dst` must belong to another P.
    pub(crate) fn steal_into(&self, dst: &mut Local<T>) -> Option<T> {
        if Arc::ptr_eq(&self.inner, &dst.inner) {
            return None;
        }
        let mut src = self.inner.lock().unwrap();
        let n = src.len().div_ceil(2);
        if n == 0 {
            return None;
        }
        let mut stolen: VecDeque<T> = src.drain(..n).collect();
        drop(src);
        let first = stolen.pop_front();
        let mut d = dst.inner.lock().unwrap();
        d.extend(stolen);
        first
    }

    /// Tasks in the queue (racy).
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().unwrap().len()
    }

    /// Whether the queue holds no task (racy).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
