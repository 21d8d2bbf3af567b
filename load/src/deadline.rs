//! Request timeouts with one timer per connection, not one per request.
//!
//! `goro::time::timeout` around every request registers a timer-wheel entry when the request
//! first waits and removes it when the answer comes: the wheel is one mutex per runtime, shared
//! by every worker, so a closed loop at 80k req/s takes it two or three times per request from
//! both workers. A timeout almost never fires, so a [`Deadline`] keeps one timer per connection
//! (per HTTP/2 stream loop) and moves it lazily, the idea of Netty's `IdleStateHandler` (its
//! timer, on firing, re-arms itself for what is left since the last activity):
//!
//! - Each request has its own expiry, `sent + timeout`. Expiries only grow along a connection,
//!   because requests on it go out one after another.
//! - The armed timer's deadline is never later than the current request's expiry, so it wakes
//!   the task in time. While it is armed for the right waker and has not passed, a request costs
//!   one clock read per poll and nothing else.
//! - When it fires early (it was armed for an earlier request), the task finds the current
//!   request not yet expired and arms the timer again, at the current expiry: once per timeout
//!   period per connection, not once per request.
//!
//! The outcome is the same as `timeout`'s: a request whose answer is not complete by its expiry
//! ends with [`Expired`] (at the first poll on or after its expiry, and the timer guarantees that
//! poll), and an answer that is ready wins over an expiry seen in the same poll.

use std::future::{pending, Future, Pending};
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use goro::time::Timeout;

/// A request did not finish before its expiry.
#[derive(Debug)]
pub struct Expired;

/// One connection's (or one HTTP/2 stream loop's) request timer.
#[derive(Default)]
pub struct Deadline {
    /// The armed timer: a `Timeout` around a future that never ends fires exactly when its
    /// deadline passes, and its timer is polled without spending the task's coop budget (a bare
    /// `Sleep` may answer `Pending` for the budget alone, unregistered).
    timer: Option<Timeout<Pending<()>>>,
    /// The deadline `timer` is armed for.
    armed_at: Option<Instant>,
    /// The waker `timer` was registered with.
    waker: Option<Waker>,
}

impl Deadline {
    /// Runs `fut` until `expiry` at the latest.
    pub async fn within<F: Future>(
        &mut self,
        expiry: Instant,
        fut: F,
    ) -> Result<F::Output, Expired> {
        let mut fut = pin!(fut);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                return Poll::Ready(Ok(v));
            }
            self.poll_expired(expiry, cx).map(|()| Err(Expired))
        })
        .await
    }

    /// Ready when `expiry` has passed; otherwise makes sure the timer wakes this task by then.
    fn poll_expired(&mut self, expiry: Instant, cx: &mut Context<'_>) -> Poll<()> {
        let now = Instant::now();
        if now >= expiry {
            return Poll::Ready(());
        }
        // Still armed: not passed (so not fired), no later than `expiry`, and for this task.
        if let (Some(at), Some(w)) = (self.armed_at, &self.waker) {
            if now < at && at <= expiry && w.will_wake(cx.waker()) {
                return Poll::Pending;
            }
        }
        // Dropping the old timer removes its entry; the new one registers on this poll.
        let timer = self.timer.insert(goro::time::timeout_at(expiry, pending()));
        match Pin::new(timer).poll(cx) {
            Poll::Ready(_) => {
                self.armed_at = None;
                Poll::Ready(())
            }
            Poll::Pending => {
                self.armed_at = Some(expiry);
                if !self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    self.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}
