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
        let timer = self
            .timer
            .insert(goro::time::timeout_at(expiry.into(), pending()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn runtime() -> goro::runtime::Runtime {
        goro::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("goro runtime")
    }

    const TIMEOUT: Duration = Duration::from_millis(400);

    #[test]
    fn requests_that_outlast_one_timeout_together_do_not_expire() {
        runtime().block_on(async {
            let mut d = Deadline::default();
            // 4 × 150 ms: the timer armed for the first request passes during the third,
            // which must re-arm it rather than expire.
            for i in 0..4 {
                let expiry = Instant::now() + TIMEOUT;
                let r = d
                    .within(expiry, goro::time::sleep(Duration::from_millis(150)))
                    .await;
                assert!(r.is_ok(), "request {i} expired");
            }
        });
    }

    #[test]
    fn a_hung_request_expires_at_its_own_expiry_not_an_earlier_one() {
        runtime().block_on(async {
            let mut d = Deadline::default();
            let expiry = Instant::now() + TIMEOUT;
            let r = d
                .within(expiry, goro::time::sleep(Duration::from_millis(150)))
                .await;
            assert!(r.is_ok());
            // The timer is still armed for the first request's expiry, 250 ms from here.
            let start = Instant::now();
            let r = d.within(start + TIMEOUT, pending::<()>()).await;
            let took = start.elapsed();
            assert!(r.is_err(), "a future that never ends finished");
            assert!(took >= TIMEOUT, "expired early, after {took:?}");
            assert!(
                took < Duration::from_secs(10),
                "expired late, after {took:?}"
            );
        });
    }

    #[test]
    fn an_answer_ready_with_the_expiry_wins() {
        runtime().block_on(async {
            let mut d = Deadline::default();
            let past = Instant::now() - Duration::from_millis(1);
            assert!(d.within(past, std::future::ready(7)).await.is_ok());
            assert!(d.within(past, pending::<()>()).await.is_err());
        });
    }
}
