//! The open-loop schedule: when the k-th request of a run is *meant* to be sent.
//!
//! An open-loop generator fixes send times in advance, whatever the server does, and measures
//! each request's latency from its intended time (the idea behind wrk2's constant-throughput mode).
//! Connections share one counter of slots: an idle connection takes the next slot, waits for its
//! intended time, and sends. If every connection is busy when a slot comes due, the slot is sent
//! late, and the lateness is part of the corrected latency, as it would be for a real client that
//! arrived at that moment.
//!
//! The rate is `r(t) = A + (B - A) * t / D` for `t < D` (the ramp) and `B` afterwards. The number
//! of requests due by `t` is the integral `N(t) = A t + s t² / 2` with `s = (B - A) / D`. Slot `k`
//! is due at the `t` where `N(t) = k`: the positive root `t = 2k / (A + sqrt(A² + 2 s k))`, a form
//! that stays exact when `s` is 0 (constant rate) or `A` is 0 (ramp from zero), and does not
//! cancel when `s < 0` (a ramp down).

use std::time::Duration;

use crate::Rate;

/// Maps slot numbers to intended send offsets from the start of the run.
#[derive(Clone, Debug)]
pub struct Schedule {
    from: f64,
    to: f64,
    ramp_s: f64,
}

impl Schedule {
    /// The schedule of an open-loop rate; `None` for a closed loop.
    pub fn new(rate: &Rate) -> Option<Schedule> {
        match *rate {
            Rate::Closed => None,
            Rate::Constant(r) => Some(Schedule {
                from: r,
                to: r,
                ramp_s: 0.0,
            }),
            Rate::Ramp { from, to, over } => Some(Schedule {
                from,
                to,
                ramp_s: over.as_secs_f64(),
            }),
        }
    }

    /// Requests due in the first `t` (the integral of the rate).
    pub fn due_by(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        let (a, b, d) = (self.from, self.to, self.ramp_s);
        if d > 0.0 && t <= d {
            a * t + (b - a) / d * t * t / 2.0
        } else {
            let ramp = if d > 0.0 { (a + b) / 2.0 * d } else { 0.0 };
            ramp + b * (t - d)
        }
    }

    /// Intended send offset of slot `k` (0-based) from the start of the run.
    pub fn offset(&self, k: u64) -> Duration {
        let k = k as f64;
        let (a, b, d) = (self.from, self.to, self.ramp_s);
        let in_ramp = if d > 0.0 { (a + b) / 2.0 * d } else { 0.0 };
        let t = if k == 0.0 {
            0.0
        } else if k < in_ramp {
            let s = (b - a) / d;
            2.0 * k / (a + (a * a + 2.0 * s * k).sqrt())
        } else {
            d + (k - in_ramp) / b
        };
        Duration::from_secs_f64(t.max(0.0))
    }

    /// The mean asked rate over the first `t`.
    pub fn mean_rate(&self, t: Duration) -> f64 {
        if t.is_zero() {
            return self.from;
        }
        self.due_by(t) / t.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Duration, b: f64) -> bool {
        (a.as_secs_f64() - b).abs() < 1e-6
    }

    #[test]
    fn constant_rate_spaces_evenly() {
        let s = Schedule::new(&Rate::Constant(1000.0)).unwrap();
        assert_eq!(s.offset(0), Duration::ZERO);
        assert!(close(s.offset(1), 0.001));
        assert!(close(s.offset(2500), 2.5));
        assert!((s.due_by(Duration::from_secs(3)) - 3000.0).abs() < 1e-9);
        assert!(Schedule::new(&Rate::Closed).is_none());
    }

    #[test]
    fn ramp_integrates_the_linear_rate() {
        // 0 -> 100 req/s over 10 s: N(t) = 5 t², so N(10) = 500, and 100/s afterwards.
        let s = Schedule::new(&Rate::Ramp {
            from: 0.0,
            to: 100.0,
            over: Duration::from_secs(10),
        })
        .unwrap();
        assert!(close(s.offset(5), 1.0)); // 5 t² = 5 -> t = 1
        assert!(close(s.offset(125), 5.0)); // 5 t² = 125 -> t = 5
        assert!(close(s.offset(500), 10.0));
        assert!(close(s.offset(600), 11.0));
        assert!((s.due_by(Duration::from_secs(12)) - 700.0).abs() < 1e-9);
        // Offsets grow strictly and their spacing shrinks as the rate rises.
        let gaps: Vec<f64> = (1..500)
            .map(|k| (s.offset(k + 1) - s.offset(k)).as_secs_f64())
            .collect();
        assert!(gaps.iter().all(|g| *g > 0.0));
        assert!(gaps.windows(2).all(|w| w[1] <= w[0] + 1e-12));
    }

    #[test]
    fn ramp_down_and_inverse() {
        let s = Schedule::new(&Rate::Ramp {
            from: 200.0,
            to: 50.0,
            over: Duration::from_secs(4),
        })
        .unwrap();
        for k in [1u64, 10, 100, 499, 500, 501, 900] {
            let t = s.offset(k);
            assert!((s.due_by(t) - k as f64).abs() < 1e-6, "slot {k} at {t:?}");
        }
        assert!((s.mean_rate(Duration::from_secs(4)) - 125.0).abs() < 1e-9);
    }
}
