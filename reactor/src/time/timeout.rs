//! [`timeout`] and [`timeout_at`]: race a future against a [`Sleep`].

use super::error::Elapsed;
use super::{far_future, sleep_until, Duration, Instant, Sleep};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs `future` for at most `duration`; `Err(Elapsed)` if it did not
/// finish in time (the future is then dropped with the `Timeout`).
///
/// # Panics
/// Outside a goro runtime.
#[track_caller]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    let deadline = Instant::now()
        .checked_add(duration)
        .unwrap_or_else(far_future);
    timeout_at(deadline, future)
}

/// Runs `future` until `deadline` at the latest.
///
/// # Panics
/// Outside a goro runtime.
#[track_caller]
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
    }
}

/// Future returned by [`timeout`] and [`timeout_at`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The wrapped future, mutably.
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.future
    }

    /// Gives back the wrapped future (cancelling the timer).
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of
        // a pinned `Timeout` (`into_inner` takes `self` by value, which
        // requires `Timeout: Unpin`, i.e. `F: Unpin`), and `Timeout` has no
        // `Drop` impl that could move it. `sleep` is `Unpin` and is not
        // treated as pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `future` stays at this address until dropped.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(v) = future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        // Budget-free: a future that ran out of budget must still time out.
        match this.sleep.poll_elapsed(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}
