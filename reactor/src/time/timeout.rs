//! [`timeout`] and [`timeout_at`]: race a future against a [`Sleep`].

use super::error::Elapsed;
use super::{far_future, sleep_in, sleep_until, Duration, Instant, Sleep};
use crate::driver::Handle;
use pin_project_lite::pin_project;
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
    let handle = Handle::current();
    let deadline = Instant::from_std(handle.inner.clock.now())
        .checked_add(duration)
        .unwrap_or_else(far_future);
    Timeout {
        future,
        sleep: sleep_in(handle, deadline),
    }
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

pin_project! {
    /// Future returned by [`timeout`] and [`timeout_at`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        // Structurally pinned: polled in place.
        #[pin]
        future: F,
        // `Sleep` is `Unpin`; polled through `&mut`.
        sleep: Sleep,
    }
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
        let this = self.project();
        if let Poll::Ready(v) = this.future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        // Budget-free: a future that ran out of budget must still time out.
        match this.sleep.poll_elapsed(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::task::Waker;

    /// Exercises the pin projection (run under Miri as well): a `!Unpin`
    /// inner future is polled in place until it completes.
    #[test]
    fn pinned_inner_future_is_polled_in_place() {
        let driver = crate::Driver::new().unwrap();
        let _g = driver.handle().enter();
        let mut cx = Context::from_waker(Waker::noop());
        let mut polls = 0;
        let inner = async {
            let local = [1u8, 2, 3]; // borrowed across an await: !Unpin
            let r = &local;
            std::future::poll_fn(|cx| {
                polls += 1;
                if polls < 3 {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            })
            .await;
            r.iter().map(|&x| u32::from(x)).sum::<u32>()
        };
        let mut t = std::pin::pin!(timeout(Duration::from_secs(60), inner));
        assert!(t.as_mut().poll(&mut cx).is_pending());
        assert!(t.as_mut().poll(&mut cx).is_pending());
        assert_eq!(t.as_mut().poll(&mut cx), Poll::Ready(Ok(6)));
    }
}
