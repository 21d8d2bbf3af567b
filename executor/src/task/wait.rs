//! Why a task is parked, and since when: the record's wait word and the
//! coarse clock it is stamped with.
//!
//! When a poll returns `Pending`, the harness (`raw.rs`) stores two
//! narrow fields of the header (relaxed stores; nothing but task dumps and
//! the deadlock report reads them):
//!
//! ```text
//!   wait_reason  bits 0..7: the goro_coop::WaitReason the poll gave (0: idle)
//!                bit  7:    BLOCKING_TASK, the record is a blocking-pool job
//!   wait_since   the coarse clock when it parked, in milliseconds, wrapping
//!                (a wait is read as `now - since` modulo 2^32: exact for
//!                waits under 49 days)
//! ```
//!
//! Five bytes rather than one 8-byte word: with the list's `listed` flag
//! they fill the eight bytes after the state word, so the record is no
//! bigger than what the allocator hands out for it anyway, and the fields
//! share the state word's cache line (see `Header`).
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

use super::raw::Header;
use goro_coop::WaitReason;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Set in `wait_reason` of blocking-pool jobs (their reason stays
/// `Blocking`: a job is never `Pending`).
const BLOCKING_TASK: u8 = 1 << 7;

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

/// Records that the task of `h` parks now for `reason`. Called by the
/// holder of RUNNING.
#[inline]
pub(crate) fn store(h: &Header, reason: u8) {
    // Relaxed (both): diagnostics that publish nothing; a dump may pair a
    // new reason with an old time for one instant, which it can live with.
    h.wait_since.store(now_ms() as u32, Ordering::Relaxed);
    // `reason` comes from `set_wait_reason`, a `WaitReason`: below
    // BLOCKING_TASK (asserted in the tests).
    h.wait_reason.store(reason, Ordering::Relaxed);
}

/// Marks a fresh blocking-pool job (before its record is shared).
pub(crate) fn mark_blocking_job(h: &Header) {
    // Relaxed: the record is not shared yet; publishing it orders this.
    h.wait_reason.store(
        BLOCKING_TASK | WaitReason::Blocking as u8,
        Ordering::Relaxed,
    );
}

/// The wait fields of `h`.
pub(crate) fn load(h: &Header) -> Wait {
    // Relaxed: see `store`.
    let reason = h.wait_reason.load(Ordering::Relaxed);
    Wait {
        reason: WaitReason::from_u8(reason & !BLOCKING_TASK),
        blocking_task: reason & BLOCKING_TASK != 0,
        since_ms: h.wait_since.load(Ordering::Relaxed),
    }
}

/// A task's decoded wait fields.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wait {
    pub(crate) reason: WaitReason,
    pub(crate) blocking_task: bool,
    pub(crate) since_ms: u32,
}

impl Wait {
    /// How long ago it parked, by a clock just ticked.
    pub(crate) fn elapsed(&self, now_ms: u64) -> Duration {
        Duration::from_millis(u64::from((now_ms as u32).wrapping_sub(self.since_ms)))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn elapsed_wraps_like_the_stamp() {
        let w = Wait {
            reason: WaitReason::Sleep,
            blocking_task: false,
            since_ms: u32::MAX - 9,
        };
        assert_eq!(w.elapsed((1 << 32) + 10), Duration::from_millis(20));
        assert!(WaitReason::ALL.len() < usize::from(BLOCKING_TASK));
    }
}
