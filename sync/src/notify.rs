//! Wake one task or all of them, without data.
//!
//! Semantics follow tokio's `Notify` (Go's closest relative is a
//! `sync.Cond` whose `Signal` is remembered):
//!
//! * `notify_one` wakes the oldest waiting `notified()` future; with nobody
//!   waiting it stores a single permit (several calls still store one), and
//!   the next `notified()` completes at once, consuming it.
//! * `notify_waiters` wakes every `notified()` future that exists at the
//!   time of the call, including ones created but not yet polled, and
//!   stores no permit.
//!
//! # Invariants (all under `Notify::state`'s lock)
//!
//! * `permit` implies `waiters` is empty: `notify_one` only stores the
//!   permit when nobody waits, and a new waiter takes it instead of
//!   queueing.
//! * A waiter woken by `notify_one` that is dropped before it sees the
//!   notification passes it on as a fresh `notify_one`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::Mutex as StateLock;

use super::waiters::{lock, Key, Removed, WaitList, WakeList};

/// Notifies tasks, one or all at a time.
pub struct Notify {
    state: StateLock<State>,
    /// Number of `notify_waiters` calls so far. Written only under the
    /// `state` lock; read without it when a `Notified` is created, so that
    /// a later `notify_waiters` can complete futures not yet polled.
    waiters_calls: AtomicUsize,
}

struct State {
    /// A `notify_one` arrived while nobody waited.
    permit: bool,
    waiters: WaitList<Wakeup>,
}

/// How a queued waiter was woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wakeup {
    Waiting,
    One,
    All,
}

impl Notify {
    /// Creates a `Notify` with no stored permit.
    pub fn new() -> Self {
        Notify {
            state: StateLock::new(State {
                permit: false,
                waiters: WaitList::new(),
            }),
            waiters_calls: AtomicUsize::new(0),
        }
    }

    /// [`Notify::new`] for `static`s and other `const` contexts.
    ///
    /// Not available under `--cfg loom`, whose types have no `const`
    /// constructors.
    #[cfg(not(loom))]
    pub const fn const_new() -> Self {
        Notify {
            state: StateLock::new(State {
                permit: false,
                waiters: WaitList::new(),
            }),
            waiters_calls: AtomicUsize::new(0),
        }
    }

    /// Returns a future that completes on the next notification. It is
    /// cancel-safe: dropping it after `notify_one` chose it passes that
    /// notification on.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            // SeqCst for plainness; only coherence matters here: a
            // `notify_waiters` that happened before this call must be seen,
            // so that it does not count as later.
            calls_at_creation: self.waiters_calls.load(Ordering::SeqCst),
            key: None,
            done: false,
        }
    }

    /// Wakes the oldest waiter, or stores one permit if none waits.
    pub fn notify_one(&self) {
        let mut state = lock(&self.state);
        let waker = state.notify_one();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes every waiter that exists now (polled or not). Stores no permit.
    pub fn notify_waiters(&self) {
        let mut wakers = WakeList::new();
        let mut state = lock(&self.state);
        // SeqCst for plainness; the write is under the lock, which already
        // orders it before every poll that takes the lock after us.
        self.waiters_calls.fetch_add(1, Ordering::SeqCst);
        state.waiters.wake_all(&mut wakers, |w| *w = Wakeup::All);
        drop(state);
        wakers.wake_all();
    }
}

impl State {
    fn notify_one(&mut self) -> Option<std::task::Waker> {
        match self.waiters.front_mut() {
            Some(w) => {
                *w = Wakeup::One;
                self.waiters.wake_front()
            }
            None => {
                self.permit = true;
                None
            }
        }
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Notify")
            .field("permit", &state.permit)
            .field("waiters", &state.waiters.len())
            .finish()
    }
}

/// The future returned by [`Notify::notified`].
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    calls_at_creation: usize,
    key: Option<Key>,
    done: bool,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        let spent = ready!(goro_coop::poll_proceed(cx));
        let mut state = lock(&this.notify.state);
        let ready = match this.key.take() {
            // Under the lock, so this read sees every `notify_waiters`
            // that took the lock before us.
            None if this.notify.waiters_calls.load(Ordering::SeqCst) != this.calls_at_creation => {
                true
            }
            None if state.permit => {
                state.permit = false;
                true
            }
            None => {
                let key = state.waiters.push_back(Wakeup::Waiting, cx.waker().clone());
                this.key = Some(key);
                false
            }
            Some(key) => match state.waiters.poll_key(key, cx.waker()) {
                Ok(_) => true,
                Err(key) => {
                    this.key = Some(key);
                    false
                }
            },
        };
        drop(state);
        if ready {
            this.done = true;
            spent.made_progress();
            Poll::Ready(())
        } else {
            goro_coop::set_wait_reason(goro_coop::WaitReason::Notify);
            Poll::Pending
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut state = lock(&self.notify.state);
        let waker = match state.waiters.remove(key) {
            // Chosen by notify_one but never saw it: pass it on.
            Removed::Woken(Wakeup::One) => state.notify_one(),
            Removed::Woken(_) | Removed::Queued(_) => None,
        };
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("queued", &self.key.is_some())
            .field("done", &self.done)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::Task;

    #[test]
    fn notify_one_without_waiter_stores_one_permit() {
        let n = Notify::new();
        n.notify_one();
        n.notify_one();
        Task::new(n.notified()).ready();
        Task::new(n.notified()).pending();
    }

    #[test]
    fn notify_one_wakes_in_fifo_order() {
        let n = Notify::new();
        let mut a = Task::new(n.notified());
        let mut b = Task::new(n.notified());
        a.pending();
        b.pending();
        n.notify_one();
        assert!(a.woken() && !b.woken());
        a.ready();
        b.pending();
        n.notify_one();
        b.ready();
    }

    #[test]
    fn notify_waiters_reaches_unpolled_futures_but_stores_nothing() {
        let n = Notify::new();
        let mut polled = Task::new(n.notified());
        polled.pending();
        let mut unpolled = Task::new(n.notified());
        n.notify_waiters();
        assert!(polled.woken());
        polled.ready();
        unpolled.ready();
        Task::new(n.notified()).pending();
    }

    #[test]
    fn cancelled_chosen_waiter_passes_notification_on() {
        let n = Notify::new();
        let mut a = Task::new(n.notified());
        let mut b = Task::new(n.notified());
        a.pending();
        b.pending();
        n.notify_one();
        assert!(!b.woken());
        drop(a);
        assert!(b.woken(), "the notification moves to the next waiter");
        b.ready();
    }

    #[test]
    fn cancelled_chosen_last_waiter_leaves_a_permit() {
        let n = Notify::new();
        let mut a = Task::new(n.notified());
        a.pending();
        n.notify_one();
        drop(a);
        Task::new(n.notified()).ready();
    }

    #[test]
    fn cancelled_queued_waiter_is_skipped() {
        let n = Notify::new();
        let mut a = Task::new(n.notified());
        let mut b = Task::new(n.notified());
        a.pending();
        b.pending();
        drop(a);
        n.notify_one();
        b.ready();
    }
}
