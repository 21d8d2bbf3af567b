//! A tiny sysmon: makes sure the reactor is polled often while every M is
//! busy.
//!
//! Busy Ms poll the reactor every `event_interval` (61) ticks, but a tick
//! is one task poll, and a poll of a CPU-heavy task can take milliseconds:
//! 61 of them would leave a socket's readiness unnoticed for a large
//! fraction of a second. Go's sysmon polls the network itself when nobody
//! has for 10 ms. goro's does less: every `INTERVAL` it raises
//! `Shared::poll_due`, and the next M to pick a task polls the reactor
//! first (without blocking), so the woken tasks land in that M's runnext
//! and run right after the current poll. When every M is parked one of
//! them sits in the reactor already, and sysmon only checks back every
//! `IDLE_INTERVAL`.

use crate::shared::Shared;
use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::Duration;

/// How often a busy runtime's reactor is polled at the latest (plus the
/// length of the poll that is running when the flag goes up).
const INTERVAL: Duration = Duration::from_millis(1);
/// How often sysmon looks again while every M is parked.
const IDLE_INTERVAL: Duration = Duration::from_millis(10);

/// The sysmon thread's body; exits when the runtime shuts down or is gone.
/// Woken early by `Thread::unpark` at shutdown.
pub(crate) fn run(shared: Weak<Shared>) {
    loop {
        let Some(s) = shared.upgrade() else { return };
        if s.is_shutdown() {
            return;
        }
        let all_parked = s.idle.all_parked();
        if !all_parked {
            // Relaxed: a hint; the M that sees it polls the reactor, whose
            // own locking orders everything that matters.
            s.poll_due.store(true, Ordering::Relaxed);
        }
        drop(s);
        std::thread::park_timeout(if all_parked { IDLE_INTERVAL } else { INTERVAL });
    }
}
