//! `GORO_DEBUG`: scheduler tracing printed by sysmon (Go's
//! `GODEBUG=schedtrace=X,scheddetail=1`).
//!
//! The variable is read once, when a runtime is built: a comma-separated
//! list of `key=value`. `schedtrace=N` makes sysmon print one summary line
//! to stderr every N milliseconds; `scheddetail=1` adds one line per P and
//! one per M, the handoff's spare Ps (while out of their idle pool) and
//! spare Ms included. Unknown keys and bad values give one warning line each on
//! stderr and are otherwise ignored (a typo in a debugging switch must not
//! stop the program). The fields are described in `docs/debugging.md`,
//! "schedtrace".
//!
//! Everything is read from the per-P counters (`metrics.rs`), the queues'
//! racy lengths and the handoff's record of which M runs which P
//! (`Handoff::view`, one short lock the handoff's own transitions take,
//! never the run loop), so the trace costs the workers nothing but the
//! cache misses of sysmon's reads.
//! A line is built in a `String` and written with one call, so lines from
//! two runtimes do not interleave mid-line.

use crate::shared::Shared;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// The environment variable read at runtime start.
pub(crate) const ENV: &str = "GORO_DEBUG";

/// What `GORO_DEBUG` asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DebugConfig {
    /// Print a summary line this often.
    pub(crate) schedtrace: Option<Duration>,
    /// Add a line per P and per M.
    pub(crate) scheddetail: bool,
}

/// Parses a `GORO_DEBUG` value; returns the config and one warning per
/// entry it did not understand.
pub(crate) fn parse(value: &str) -> (DebugConfig, Vec<String>) {
    let mut config = DebugConfig::default();
    let mut warnings = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (key, val) = entry.split_once('=').unwrap_or((entry, ""));
        match key {
            "schedtrace" => match val.parse::<u64>() {
                Ok(0) => config.schedtrace = None,
                Ok(ms) => config.schedtrace = Some(Duration::from_millis(ms)),
                Err(_) => warnings.push(format!(
                    "goro: {ENV}: schedtrace={val:?} is not a number of milliseconds; ignored"
                )),
            },
            "scheddetail" => match val {
                "0" => config.scheddetail = false,
                "1" => config.scheddetail = true,
                _ => warnings.push(format!(
                    "goro: {ENV}: scheddetail={val:?} is not 0 or 1; ignored"
                )),
            },
            _ => warnings.push(format!(
                "goro: {ENV}: unknown key {key:?} ignored (known: schedtrace, scheddetail)"
            )),
        }
    }
    (config, warnings)
}

/// Reads `GORO_DEBUG` and prints its warnings.
pub(crate) fn from_env() -> DebugConfig {
    let Ok(value) = std::env::var(ENV) else {
        return DebugConfig::default();
    };
    let (config, warnings) = parse(&value);
    for w in warnings {
        eprintln!("{w}");
    }
    config
}

/// Sysmon's schedtrace state: when the runtime started and when the next
/// line is due.
pub(crate) struct Tracer {
    config: DebugConfig,
    period: Duration,
    start: Instant,
    next: Instant,
}

impl Tracer {
    /// `None` when no trace was asked for.
    pub(crate) fn new(config: DebugConfig) -> Option<Tracer> {
        let period = config.schedtrace?;
        let start = Instant::now();
        Some(Tracer {
            config,
            period,
            start,
            next: start + period,
        })
    }

    /// Prints a line if one is due; returns how long until the next.
    pub(crate) fn tick(&mut self, shared: &Shared) -> Duration {
        let now = Instant::now();
        if now >= self.next {
            let report = render(shared, now - self.start, self.config.scheddetail);
            eprint!("{report}");
            // Skip periods missed while sysmon was descheduled: one line
            // per period at most, never a burst.
            while self.next <= now {
                self.next += self.period;
            }
        }
        self.next - now
    }
}

/// The summary line and, with `detail`, the per-P and per-M lines.
pub(crate) fn render(shared: &Shared, uptime: Duration, detail: bool) -> String {
    use crate::handoff::{MState, PPlace};
    let workers = shared.num_workers;
    // Which M runs which P, and what the Ms without a P do: one look
    // under the handoff's lock, so the P and M lines agree.
    let view = shared.handoff.view(shared.remotes.len());
    // Relaxed: a report; see metrics.rs. Each flag is read once, so the
    // summary's counts and the per-M lines of one report agree.
    let parked_p = |i: usize| {
        let c = &shared.counters[i];
        c.parks.load(Relaxed) > c.unparks.load(Relaxed)
    };
    // Per M: (parked, spinning).
    let flags: Vec<(bool, bool)> = view
        .ms
        .iter()
        .map(|&(_, m)| match m {
            MState::Holds(i) => (parked_p(i), shared.counters[i].searching.load(Relaxed)),
            MState::Waiting => (true, false),
            _ => (false, false),
        })
        .collect();
    let idle = flags.iter().filter(|f| f.0).count();
    let searching = flags.iter().filter(|f| f.1).count();
    let (pool, pool_idle) = shared.blocking.thread_counts();
    // Ms (workers, spare Ms, block_in_place callers), sysmon, and the
    // blocking pool's threads.
    let threads = view.threads + 1 + pool;
    // Each ring's length is read once, so the summary's `[...]` and the
    // per-P lines of one report agree with each other.
    let queues: Vec<usize> = shared.remotes.iter().map(|r| r.steal.len()).collect();
    let mut out = String::with_capacity(128 + (workers + view.ms.len()) * 96);
    let _ = write!(
        out,
        "SCHED {}ms: workers={workers} idle={idle} threads={threads} searching={searching} \
         blocking={} injector={} [",
        uptime.as_millis(),
        pool - pool_idle,
        shared.injector.len(),
    );
    for (i, len) in queues[..workers].iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        let _ = write!(out, "{sep}{len}");
    }
    let _ = writeln!(out, "] tasks={}", shared.num_alive_tasks());
    if detail {
        for (i, r) in shared.remotes.iter().enumerate() {
            let runnext = !r.runnext.is_empty();
            // A spare P in the idle pool has no M and no work: no line
            // (unless the look finds work in it, which must not happen and
            // is then worth seeing).
            let spare = i >= workers;
            if spare && view.ps[i] == PPlace::Idle && queues[i] == 0 && !runnext {
                continue;
            }
            let _ = write!(out, "  P{i}: {}m=", if spare { "spare " } else { "" });
            match view.ps[i] {
                PPlace::Held(m) => _ = write!(out, "{m}"),
                _ => out.push('-'),
            }
            let _ = writeln!(
                out,
                " queue={} runnext={} tick={}",
                queues[i],
                u8::from(runnext),
                shared.counters[i].polls.load(Relaxed),
            );
        }
        for (&(id, m), &(parked, spinning)) in view.ms.iter().zip(&flags) {
            let _ = write!(out, "  M{id}: p=");
            match m {
                MState::Holds(i) => {
                    _ = write!(out, "{i}{}", if i >= workers { " spare" } else { "" })
                }
                MState::Blocking => out.push_str("- blocking"),
                _ => out.push_str("- spare"),
            }
            let _ = writeln!(
                out,
                " parked={} spinning={}",
                u8::from(parked),
                u8::from(spinning),
            );
        }
    }
    out
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_warns_once_per_bad_entry() {
        let (c, w) = parse("schedtrace=1000,scheddetail=1");
        assert_eq!(c.schedtrace, Some(Duration::from_millis(1000)));
        assert!(c.scheddetail);
        assert!(w.is_empty());
        let (c, w) = parse(" schedtrace=250 , bogus=3,scheddetail=yes,schedtrace=x");
        assert_eq!(c.schedtrace, Some(Duration::from_millis(250)));
        assert!(!c.scheddetail);
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("unknown key \"bogus\""), "{w:?}");
        assert!(w
            .iter()
            .all(|l| !l.contains('\n') && l.starts_with("goro: GORO_DEBUG: ")));
        assert_eq!(parse("").0, DebugConfig::default());
        assert_eq!(parse("schedtrace=0").0.schedtrace, None);
    }
}
