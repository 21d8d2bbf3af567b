//! Why a task is parked, and since when: the record's wait word and the
//! coarse clock it is stamped with.
//!
//! When a poll returns `Pending`, the harness (`raw.rs`) stores one word
//! into the record (`Header::wait`, a relaxed store; nothing else reads
//! it but task dumps and the deadlock report):
//!
//! ```text
//!   bits 0..8    the goro_coop::WaitReason the poll gave (0: idle)
//!   bit  8       BLOCKING_TASK: the record is a blocking-pool job
//!   bits 16..64  the coarse clock, in milliseconds, when it parked
//! ```
//!
//! The reason comes from `goro_coop::take_wait_reason`: the resource that
//! returned `Pending` wrote it into a thread-local (the reactor, channels
//! and sync primitives know Wakers, never tasks, so they cannot reach the
//! record themselves).
//!
//! ## The coarse clock
//!
//! Reading `Instant::now` on every park would add a clock read to the
//! path every `Pending` takes. The stamp is instead a process-wide
//! millisecond counter ([`now_ms`], one relaxed load) that is advanced by
//! [`tick`]: by sysmon on each of its wake-ups, by every M each
//! `event_interval` ticks and whenever it returns from a park, by the
//! deadlock watcher and by a dump before it reads the records. A stamp is
//! therefore early by at most the time since the last tick on any thread,
//! so a shown wait is never shorter than the real one, and longer by at
//! most the gap between two ticks (on a busy runtime, 61 polls or one
//! sysmon interval).

use goro_coop::WaitReason;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Set on the wait word of blocking-pool jobs (their reason stays
/// `Blocking`: a job is never `Pending`).
pub(crate) const BLOCKING_TASK: u64 = 1 << 8;
const TIME_SHIFT: u32 = 16;

/// Milliseconds since [`epoch`], as of the last [`tick`].
static NOW_MS: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Advances the coarse clock to now.
pub(crate) fn tick() {
    let ms = epoch().elapsed().as_millis() as u64;
    // Relaxed: a clock value, publishing nothing; `fetch_max` keeps it
    // monotonic when two threads tick at once.
    NOW_MS.fetch_max(ms, Ordering::Relaxed);
}

/// The coarse clock (see the module docs).
#[inline]
pub(crate) fn now_ms() -> u64 {
    // Relaxed: see `tick`.
    NOW_MS.load(Ordering::Relaxed)
}

/// The wait word of a task that parks now for `reason`.
#[inline]
pub(crate) fn stamp(reason: WaitReason) -> u64 {
    (now_ms() << TIME_SHIFT) | reason as u64
}

/// The wait word of a fresh blocking-pool job.
pub(crate) fn blocking_job() -> u64 {
    (now_ms() << TIME_SHIFT) | BLOCKING_TASK | WaitReason::Blocking as u64
}

/// A decoded wait word.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wait {
    pub(crate) reason: WaitReason,
    pub(crate) blocking_task: bool,
    pub(crate) since_ms: u64,
}

impl Wait {
    pub(crate) fn decode(word: u64) -> Wait {
        Wait {
            reason: WaitReason::from_u8(word as u8),
            blocking_task: word & BLOCKING_TASK != 0,
            since_ms: word >> TIME_SHIFT,
        }
    }

    /// How long ago it parked, by a clock just ticked.
    pub(crate) fn elapsed(&self, now_ms: u64) -> Duration {
        Duration::from_millis(now_ms.saturating_sub(self.since_ms))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn word_round_trips() {
        tick();
        let w = Wait::decode(stamp(WaitReason::ChanSend));
        assert_eq!(w.reason, WaitReason::ChanSend);
        assert!(!w.blocking_task);
        assert!(w.since_ms <= now_ms());
        let b = Wait::decode(blocking_job());
        assert_eq!(b.reason, WaitReason::Blocking);
        assert!(b.blocking_task);
    }
}
