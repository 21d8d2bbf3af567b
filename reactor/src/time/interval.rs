//! [`Interval`]: a periodic timer with a policy for missed ticks.

use super::{far_future, sleep_until, Duration, Instant, Sleep};
use std::future::poll_fn;
use std::task::{Context, Poll};

/// What an [`Interval`] does when ticks were missed (the task awaited
/// `tick` later than a whole period after a tick was due).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back until caught up; the schedule
    /// stays `start + n * period`. The default.
    #[default]
    Burst,
    /// Restart the schedule from now: the next tick is `period` after the
    /// late one was observed.
    Delay,
    /// Drop the missed ticks; the next tick is the next `start + n * period`
    /// still in the future.
    Skip,
}

impl MissedTickBehavior {
    /// The tick after one that was due at `due` and observed at `now`.
    fn next(self, due: Instant, now: Instant, period: Duration) -> Instant {
        let on_time = due + period;
        if now < on_time {
            // Not a missed tick: keep the schedule whatever the policy.
            return on_time;
        }
        match self {
            MissedTickBehavior::Burst => on_time,
            MissedTickBehavior::Delay => now + period,
            MissedTickBehavior::Skip => {
                let late = (now - due).as_nanos();
                let period_ns = period.as_nanos();
                let into = late % period_ns;
                now + Duration::from_nanos((period_ns - into) as u64)
            }
        }
    }
}

/// Ticks every `period`; the first tick completes immediately.
///
/// # Panics
/// If `period` is zero, or outside a goro runtime.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks at `start`, then every `period`.
///
/// # Panics
/// If `period` is zero, or outside a goro runtime.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "goro::time::interval: period must be non-zero"
    );
    Interval {
        sleep: sleep_until(start),
        period,
        missed: MissedTickBehavior::default(),
    }
}

/// A periodic timer; see [`interval`].
#[derive(Debug)]
pub struct Interval {
    sleep: Sleep,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick; returns the instant it was scheduled for.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Poll version of [`Interval::tick`].
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let spent = match goro_coop::poll_proceed(cx) {
            Poll::Ready(s) => s,
            Poll::Pending => return Poll::Pending,
        };
        // A tick already due (catching up after a late tick) completes
        // without waiting for the wheel to notice it at its next park.
        let now = self.sleep.now();
        let due = self.sleep.deadline();
        if due > now && self.sleep.poll_elapsed(cx).is_pending() {
            goro_coop::set_wait_reason(goro_coop::WaitReason::Sleep);
            return Poll::Pending;
        }
        spent.made_progress();
        let next = self.missed.next(due, now, self.period);
        self.sleep.reset(next);
        Poll::Ready(due)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        let next = self
            .sleep
            .now()
            .checked_add(self.period)
            .unwrap_or_else(far_future);
        self.sleep.reset(next);
    }

    /// The current missed-tick policy.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets the missed-tick policy.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn policies_agree_when_on_time_and_differ_when_late() {
        let t0 = Instant::now();
        let p = Duration::from_millis(10);
        for b in [
            MissedTickBehavior::Burst,
            MissedTickBehavior::Delay,
            MissedTickBehavior::Skip,
        ] {
            assert_eq!(b.next(t0, t0 + Duration::from_millis(3), p), t0 + p);
        }
        let now = t0 + Duration::from_millis(35);
        assert_eq!(MissedTickBehavior::Burst.next(t0, now, p), t0 + p);
        assert_eq!(MissedTickBehavior::Delay.next(t0, now, p), now + p);
        assert_eq!(
            MissedTickBehavior::Skip.next(t0, now, p),
            t0 + Duration::from_millis(40)
        );
        // Exactly on a later multiple: Skip goes to the next one.
        let now = t0 + Duration::from_millis(30);
        assert_eq!(
            MissedTickBehavior::Skip.next(t0, now, p),
            t0 + Duration::from_millis(40)
        );
    }
}
