//! Timers: [`sleep`], [`timeout`], [`interval`] (exported as `goro::time`).
//!
//! Every timer belongs to the reactor of the runtime it was created in and
//! is driven by that reactor's hierarchical timing wheel (1 ms resolution;
//! see `wheel.rs`). A timer is registered lazily, on its first poll that
//! finds the deadline still ahead, and removed in O(1) when dropped. A timer
//! never fires early; it fires at the first reactor park at or after its
//! deadline (on an idle runtime, within about a millisecond).
//!
//! Time is read from the runtime's clock, which a test can pause
//! ([`pause`], [`advance`], [`resume`]; see `pause.rs`): use
//! [`Instant::now`] from here, not `std::time::Instant::now()`, to see it.
//!
//! Creating a timer outside a goro runtime panics; polling one after its
//! runtime shut down panics too (see "Outside a runtime" in the crate docs).

pub(crate) mod clock;
mod instant;
mod interval;
mod pause;
mod timeout;
pub(crate) mod wheel;

pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub(crate) use pause::pause_in;
pub use pause::{advance, is_paused, pause, resume};
pub use std::time::Duration;
pub use timeout::{timeout, timeout_at, Timeout};

use crate::driver::Handle;
use clock::Inserted;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use wheel::Key;

/// Errors of the time module.
pub mod error {
    use std::fmt;

    /// A [`timeout`](super::timeout) expired before its future completed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Elapsed(pub(super) ());

    impl fmt::Display for Elapsed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("deadline has elapsed")
        }
    }

    impl std::error::Error for Elapsed {}

    impl From<Elapsed> for std::io::Error {
        fn from(_: Elapsed) -> std::io::Error {
            std::io::ErrorKind::TimedOut.into()
        }
    }
}

/// Waits until `duration` has elapsed.
///
/// # Panics
/// Outside a goro runtime.
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let handle = Handle::current();
    let now = Instant::from_std(handle.inner.clock.now());
    let deadline = now.checked_add(duration).unwrap_or_else(far_future);
    sleep_in(handle, deadline)
}

/// Waits until `deadline`.
///
/// # Panics
/// Outside a goro runtime.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    sleep_in(Handle::current(), deadline)
}

/// A sleep on `handle`'s clock.
pub(crate) fn sleep_in(handle: Handle, deadline: Instant) -> Sleep {
    Sleep {
        handle,
        deadline,
        state: SleepState::Unregistered,
    }
}

/// About 30 years from now: "never" for deadlines that overflow `Instant`.
pub(crate) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

/// [`far_future`] on the real clock.
pub(crate) fn far_future_std() -> std::time::Instant {
    std::time::Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

/// Future returned by [`sleep`] and [`sleep_until`]. `Unpin`; dropping it
/// cancels the timer.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    handle: Handle,
    deadline: Instant,
    state: SleepState,
}

#[derive(Clone, Copy, Debug)]
enum SleepState {
    /// Not in the wheel (never polled, or reset since).
    Unregistered,
    /// In the wheel under this key.
    Registered(Key),
    /// The deadline passed and was observed.
    Elapsed,
}

impl Sleep {
    /// The instant this sleep completes at.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Now on the clock of this sleep's runtime.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_std(self.handle.inner.clock.now())
    }

    /// Whether the deadline has been observed to pass (by a poll).
    pub fn is_elapsed(&self) -> bool {
        matches!(self.state, SleepState::Elapsed)
    }

    /// Moves the deadline (earlier or later), even after the sleep
    /// completed; the next poll waits for the new deadline.
    pub fn reset(&mut self, deadline: Instant) {
        self.unregister();
        self.deadline = deadline;
        self.state = SleepState::Unregistered;
    }

    fn unregister(&mut self) {
        if let SleepState::Registered(key) = self.state {
            self.handle.inner.clock.remove(key);
            self.state = SleepState::Unregistered;
        }
    }

    /// Polls without spending coop budget (used by `Timeout`, whose timer
    /// must fire even when the inner future has used the budget up).
    pub(crate) fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let clock = &self.handle.inner.clock;
        match self.state {
            SleepState::Elapsed => return Poll::Ready(()),
            SleepState::Registered(key) => {
                if !clock.poll(key, cx.waker()) {
                    return Poll::Pending;
                }
            }
            SleepState::Unregistered => {
                // No clock read here (it costs as much as the insert): the
                // wheel rejects deadlines it has already passed, and one
                // that passed since the last park fires at the next one.
                match clock.insert(self.deadline.into_std(), cx.waker()) {
                    (Inserted::Pending(key), unpark) => {
                        self.state = SleepState::Registered(key);
                        if unpark {
                            self.handle.unpark();
                        }
                        return Poll::Pending;
                    }
                    (Inserted::Fired, _) => {}
                }
            }
        }
        self.state = SleepState::Elapsed;
        Poll::Ready(())
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let spent = match goro_coop::poll_proceed(cx) {
            Poll::Ready(s) => s,
            Poll::Pending => return Poll::Pending,
        };
        let res = this.poll_elapsed(cx);
        if res.is_ready() {
            spent.made_progress();
        } else {
            goro_coop::set_wait_reason(goro_coop::WaitReason::Sleep);
        }
        res
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.unregister();
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("state", &self.state)
            .finish()
    }
}
