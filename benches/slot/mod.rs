//! The one-value, one-waiter hand-off that the scheduler benches use on every
//! runtime, so that goro, tokio and smol run exactly the same wake-up code
//! and only the scheduler differs.
//!
//! It is deliberately minimal: a mutex around the value and the waiting
//! task's `Waker`. `put` stores the value and wakes the waiter; `take`
//! returns it, or parks the task until it arrives. One value at a time: a
//! second `put` before a `take` is a bug in the benchmark and panics.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

/// A single-value hand-off between two tasks (or a thread and a task).
pub struct Slot<T> {
    inner: Mutex<Inner<T>>,
}

struct Inner<T> {
    value: Option<T>,
    waiter: Option<Waker>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            inner: Mutex::new(Inner {
                value: None,
                waiter: None,
            }),
        }
    }
}

impl<T> Slot<T> {
    /// Stores `value` and wakes the task waiting in [`Slot::take`], if any.
    pub fn put(&self, value: T) {
        let waiter = {
            let mut inner = self.inner.lock().unwrap();
            assert!(
                inner.value.is_none(),
                "Slot::put while the previous value is still there"
            );
            inner.value = Some(value);
            inner.waiter.take()
        };
        // Wake outside the lock, as a real channel would.
        if let Some(waker) = waiter {
            waker.wake();
        }
    }

    /// Waits for the next value.
    pub fn take(&self) -> Take<'_, T> {
        Take { slot: self }
    }
}

/// The future returned by [`Slot::take`].
pub struct Take<'a, T> {
    slot: &'a Slot<T>,
}

impl<T> Future for Take<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut inner = self.slot.inner.lock().unwrap();
        if let Some(value) = inner.value.take() {
            return Poll::Ready(value);
        }
        match &inner.waiter {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => inner.waiter = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}
