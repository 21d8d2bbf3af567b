//! Go's `sync.WaitGroup`: wait for a counted set of tasks to finish.
//!
//! `add(n)` raises the counter, `done()` lowers it by one, and `wait()`
//! completes once the counter is zero. As in Go, a counter that would go
//! negative is a bug and panics (with the counter left unchanged), and a
//! group may be reused once its waiters have been released.
//!
//! Unlike Go's value type, a `WaitGroup` is a handle: clones share one
//! counter (pass a clone where Go passes `&wg`). Cloning does not `add`;
//! this is not crossbeam's drop-counting `WaitGroup`.
//!
//! # Invariants (all under `Inner::state`'s lock)
//!
//! * `count == 0` implies `waiters` is empty: the transition to zero wakes
//!   everyone, and `wait` on a zero counter does not queue.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use crate::loom::sync::Mutex as StateLock;

use super::waiters::{lock, Key, WaitList, WakeList};

/// Waits for a collection of tasks to finish. See the module docs.
#[derive(Clone)]
pub struct WaitGroup {
    inner: Arc<StateLock<State>>,
}

struct State {
    count: usize,
    waiters: WaitList<()>,
}

impl WaitGroup {
    /// A group with a counter of zero.
    pub fn new() -> Self {
        WaitGroup {
            inner: Arc::new(StateLock::new(State {
                count: 0,
                waiters: WaitList::new(),
            })),
        }
    }

    /// Adds `delta` (which may be negative) to the counter; reaching zero
    /// releases every waiter.
    ///
    /// # Panics
    /// If the counter would become negative (or overflow). The counter is
    /// left as it was.
    pub fn add(&self, delta: isize) {
        let mut wakers = WakeList::new();
        let mut state = lock(&self.inner);
        let next = if delta >= 0 {
            state.count.checked_add(delta.unsigned_abs())
        } else {
            state.count.checked_sub(delta.unsigned_abs())
        };
        let Some(next) = next else {
            let count = state.count;
            drop(state);
            if delta < 0 {
                panic!(
                    "goro::sync::WaitGroup: negative counter (add({delta}) with counter {count})"
                );
            }
            panic!("goro::sync::WaitGroup: counter overflow (add({delta}) with counter {count})");
        };
        state.count = next;
        if next == 0 {
            state.waiters.wake_all(&mut wakers, |_| {});
        }
        drop(state);
        wakers.wake_all();
    }

    /// Lowers the counter by one (`add(-1)`).
    ///
    /// # Panics
    /// If the counter is already zero.
    pub fn done(&self) {
        self.add(-1);
    }

    /// The counter now (a snapshot).
    pub fn count(&self) -> usize {
        lock(&self.inner).count
    }

    /// Completes when the counter is zero. Cancel-safe (dropping it affects
    /// no one else).
    pub fn wait(&self) -> Wait<'_> {
        Wait {
            group: self,
            key: None,
        }
    }

    /// Blocks the thread until the counter is zero (plain threads only).
    #[cfg(not(loom))]
    pub fn wait_blocking(&self) {
        super::block_on(self.wait())
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}

/// The future returned by [`WaitGroup::wait`].
#[must_use = "futures do nothing unless polled"]
pub struct Wait<'a> {
    group: &'a WaitGroup,
    key: Option<Key>,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let spent = ready!(goro_coop::poll_proceed(cx));
        let mut state = lock(&this.group.inner);
        let ready = match this.key.take() {
            None if state.count == 0 => true,
            None => {
                this.key = Some(state.waiters.push_back((), cx.waker().clone()));
                false
            }
            Some(key) => match state.waiters.poll_key(key, cx.waker()) {
                Ok(()) => true,
                Err(key) => {
                    this.key = Some(key);
                    false
                }
            },
        };
        drop(state);
        if ready {
            spent.made_progress();
            Poll::Ready(())
        } else {
            goro_coop::set_wait_reason(goro_coop::WaitReason::WaitGroup);
            Poll::Pending
        }
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // Woken or not, a waiter holds nothing another could need.
            let _ = lock(&self.group.inner).waiters.remove(key);
        }
    }
}

impl fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("queued", &self.key.is_some())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::Task;

    #[test]
    fn wait_completes_at_zero() {
        let wg = WaitGroup::new();
        Task::new(wg.wait()).ready();
        wg.add(2);
        let mut w = Task::new(wg.wait());
        w.pending();
        wg.done();
        assert!(!w.woken());
        wg.clone().done();
        assert!(w.woken());
        w.ready();
        assert_eq!(wg.count(), 0);
    }

    #[test]
    fn reusable_after_release() {
        let wg = WaitGroup::new();
        for _ in 0..3 {
            wg.add(1);
            let mut w = Task::new(wg.wait());
            w.pending();
            wg.done();
            w.ready();
        }
    }

    #[test]
    fn negative_counter_panics_and_leaves_counter() {
        let wg = WaitGroup::new();
        wg.add(1);
        let err = std::panic::catch_unwind(|| wg.add(-2)).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("negative counter"), "{msg}");
        assert_eq!(wg.count(), 1);
        wg.done();
        assert!(std::panic::catch_unwind(|| wg.done()).is_err());
        Task::new(wg.wait()).ready();
    }

    #[test]
    fn cancelled_waiter_does_not_disturb_others() {
        let wg = WaitGroup::new();
        wg.add(1);
        let mut a = Task::new(wg.wait());
        let mut b = Task::new(wg.wait());
        a.pending();
        b.pending();
        drop(a);
        wg.done();
        b.ready();
    }
}
