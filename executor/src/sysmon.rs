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
//!
//! # Backing off
//!
//! On an IO-heavy runtime the Ms poll the reactor themselves many times a
//! millisecond (every `event_interval` ticks and whenever one parks), so
//! the flag is not needed, and a thread waking 1,000 times a second only
//! costs a futex time-out and a context switch on a core a worker wants.
//! Like Go's sysmon, which doubles its sleep while it finds nothing to do,
//! goro's looks at the reactor's poll counter (`Handle::polls`): if it
//! moved since the last look, nobody needs the flag, and the next look
//! comes twice as late, up to `MAX_INTERVAL`; the first look that finds no
//! new poll raises the flag and returns to `INTERVAL`. IO is therefore
//! noticed within `2 × MAX_INTERVAL` of the Ms stopping polling, and then
//! every `INTERVAL` again.
//!
//! # Blocked workers
//!
//! Each look also runs the handoff's `Retaker` (`handoff.rs`): Ps lent by
//! `block_in_place` for longer than a look go to another M, a P stuck in
//! one poll for `blocking_threshold` has its work moved to a spare M, and
//! the stuck poll is reported when it ends, or while it runs once it has
//! lasted `handoff::still_running_bound`.
//!
//! # Sleeping deeply
//!
//! When every M is parked (one of them in the reactor, so IO and timers
//! wake it, not sysmon), nothing is lent or rescued, no trace is due and
//! no burst's memory is waiting to go back, sysmon sleeps until an M
//! unparks: an idle program has no periodic wake-up. The M's side is one
//! load in the (already locked) unpark transitions of `idle.rs`;
//! `Idle::sysmon_may_sleep` states the StoreLoad pair that keeps the
//! wake-up from being lost (and `Thread::unpark` before `park` is kept as
//! a token, so the order of the two calls does not matter).

use crate::shared::Shared;
use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::Duration;

/// How often a busy runtime's reactor is polled at the latest (plus the
/// length of the poll that is running when the flag goes up), once sysmon
/// has seen that the Ms do not poll it themselves.
const INTERVAL: Duration = Duration::from_millis(1);
/// The longest sleep while the Ms poll the reactor on their own (see
/// "Backing off").
const MAX_INTERVAL: Duration = Duration::from_millis(4);
/// How often sysmon looks again while every M is parked.
const IDLE_INTERVAL: Duration = Duration::from_millis(10);

/// The sysmon thread's body; exits when the runtime shuts down or is gone.
/// Woken early by `Thread::unpark` at shutdown.
///
/// With `GORO_DEBUG=schedtrace=N` (`debug`), it also prints the trace
/// lines of `trace.rs`, waking for them if it would sleep past one.
pub(crate) fn run(shared: Weak<Shared>, debug: crate::trace::DebugConfig) {
    let mut tracer = crate::trace::Tracer::new(debug);
    let mut last_polls = None;
    let mut busy_interval = INTERVAL;
    let mut after_burst = crate::task::free_list::AfterBurst::default();
    let mut retaker = crate::handoff::Retaker::new();
    if let Some(s) = shared.upgrade() {
        s.idle.set_sysmon(std::thread::current());
    }
    loop {
        let Some(s) = shared.upgrade() else { return };
        crate::task::wait::tick();
        if s.is_shutdown() {
            retaker.finish(&s);
            return;
        }
        retaker.tick(&s);
        let polls = s.reactor.polls();
        let all_parked = s.idle.all_parked();
        let sleep = if all_parked {
            IDLE_INTERVAL
        } else if last_polls != Some(polls) || !s.reactor.needs_polling() {
            // The Ms polled the reactor since the last look, or there is
            // nothing in it to poll for (no socket, no timer).
            busy_interval = (busy_interval * 2).min(MAX_INTERVAL);
            busy_interval
        } else {
            // Relaxed: a hint; the M that sees it polls the reactor, whose
            // own locking orders everything that matters.
            s.poll_due.store(true, Ordering::Relaxed);
            busy_interval = INTERVAL;
            INTERVAL
        };
        last_polls = Some(polls);
        // Memory a burst of tasks left goes back once it is over. (The
        // count takes the owned list's shard locks: a few uncontended
        // locks a millisecond at most.)
        after_burst.tick(s.num_alive_tasks(), all_parked);
        if all_parked
            && tracer.is_none()
            && !after_burst.waiting()
            && s.handoff.is_quiet()
            && s.idle.sysmon_may_sleep()
        {
            // See "Sleeping deeply". Shutdown unparks this thread too.
            std::thread::park();
            s.idle.sysmon_woke();
            continue;
        }
        let sleep = match tracer.as_mut() {
            Some(t) => sleep.min(t.tick(&s)),
            None => sleep,
        };
        drop(s);
        std::thread::park_timeout(sleep);
    }
}
