//! The engine: connection tasks that take request slots from one shared counter, and a
//! collector that turns their shards into intervals, totals, progress and the interval log.
//!
//! ## Slots
//! Every request a run sends is a *slot*: a number `k` from one atomic counter. `-n N` is the
//! rule "no slot ≥ N is sent", so `-c 100 -n 10` sends exactly 10. In a closed loop a connection
//! takes a slot as soon as its previous answer is in; in an open loop the slot has an intended
//! send time from the [`Schedule`] and the connection sleeps until then. A connection only takes a
//! slot when it is ready to send it, so when all connections are busy, due slots wait for the
//! first free one, and that wait is measured (the lag histogram) and charged to the request (the
//! corrected histogram): that is the coordinated-omission correction.
//!
//! ## Ending
//! The collector wakes at least every 50 ms. The run ends when the duration is up, when every
//! connection task has finished (the `-n` slots are used up), or when the [`StopHandle`] is set.
//! Connection tasks are then aborted: requests still in flight are dropped and not counted, so a
//! run ends on time even against a server that has stopped answering.
//!
//! ## Warm-up
//! Samples whose (intended, else actual) send time falls before `--warmup` are not recorded; the
//! measured window starts there.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use goro::task::JoinHandle;

use crate::hist::{ErrorKind, Shards, Tally, Times};
use crate::hlog::{LogWriter, Summary};
use crate::schedule::Schedule;
use crate::{Config, Error, Limit, Report};

/// How often the collector checks for the end of the run.
const CHECK: Duration = Duration::from_millis(50);
/// Length of one interval (progress line, interval-log entry).
const INTERVAL: Duration = Duration::from_secs(1);

/// State shared by a run's connection tasks and its collector.
pub struct Run {
    start: Instant,
    measure_from: Duration,
    end: Option<Duration>,
    schedule: Option<Schedule>,
    max_slots: Option<u64>,
    next_slot: AtomicU64,
    stopping: AtomicBool,
    /// Latest response end, µs from start (for the window of a `-n` run).
    last_done_us: AtomicU64,
    shards: Shards,
}

impl Run {
    fn new(cfg: &Config) -> Run {
        let workers = goro::runtime::Handle::try_current()
            .map(|h| h.num_workers())
            .unwrap_or(1);
        Run {
            start: Instant::now(),
            measure_from: cfg.warmup,
            end: match cfg.limit {
                Limit::Duration(d) => Some(cfg.warmup + d),
                Limit::Requests(_) => None,
            },
            schedule: Schedule::new(&cfg.rate),
            max_slots: match cfg.limit {
                Limit::Requests(n) => Some(n),
                Limit::Duration(_) => None,
            },
            next_slot: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            last_done_us: AtomicU64::new(0),
            // One per worker plus one for a thread outside the runtime.
            shards: Shards::new(workers + 1),
        }
    }

    /// Time since the start of the run.
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// The instant `offset` after the start of the run.
    pub fn instant(&self, offset: Duration) -> Instant {
        self.start + offset
    }

    /// Whether the run is over (connection tasks should return).
    pub fn is_stopping(&self) -> bool {
        // Relaxed: a hint; the collector aborts the tasks anyway.
        self.stopping.load(Ordering::Relaxed)
    }

    /// Takes the next slot and, in an open loop, waits for its intended time. `None`: no more
    /// requests. `Some(intended)` otherwise (`intended` is `None` in a closed loop).
    pub async fn next_slot(&self) -> Option<Option<Duration>> {
        if self.is_stopping() {
            return None;
        }
        if self.schedule.is_none() && self.max_slots.is_none() {
            // A closed loop for a duration: the slot number is not needed, and skipping the
            // counter saves a cache line that every worker would write per request.
            if self.end.is_some_and(|end| self.now() >= end) {
                return None;
            }
            return Some(None);
        }
        // Relaxed: only the uniqueness of each k matters.
        let k = self.next_slot.fetch_add(1, Ordering::Relaxed);
        if self.max_slots.is_some_and(|n| k >= n) {
            return None;
        }
        match &self.schedule {
            Some(s) => {
                let at = s.offset(k);
                if self.end.is_some_and(|end| at >= end) {
                    return None;
                }
                if at > self.now() {
                    goro::time::sleep_until((self.start + at).into()).await;
                }
                Some(Some(at))
            }
            None => {
                if self.end.is_some_and(|end| self.now() >= end) {
                    return None;
                }
                Some(None)
            }
        }
    }

    fn in_window(&self, t: Duration) -> bool {
        t >= self.measure_from
    }

    /// Keeps the latest response end, which only a `-n` run needs (it ends its window there);
    /// a run for a duration skips this write to a line every worker shares.
    fn note_done(&self, done: Duration) {
        if self.max_slots.is_some() {
            // Relaxed: a maximum read once by the collector after the tasks are done.
            self.last_done_us
                .fetch_max(done.as_micros() as u64, Ordering::Relaxed);
        }
    }

    /// Records a response.
    pub fn record_response(&self, times: Times, status: u16, bytes: u64) {
        self.note_done(times.done);
        if self.in_window(times.intended.unwrap_or(times.sent)) {
            self.shards.local().record_response(times, status, bytes);
        }
    }

    /// Records a scenario iteration (one sample, as a response is in the HTTP driver).
    pub fn record_iteration(&self, times: Times, bytes: u64) {
        self.note_done(times.done);
        if self.in_window(times.intended.unwrap_or(times.sent)) {
            self.shards.local().record_sample(times, bytes);
        }
    }

    /// Counts the status code of a request made inside a scenario iteration that started at `at`.
    pub fn record_status(&self, status: u16, at: Duration) {
        if self.in_window(at) {
            *self.shards.local().status.entry(status).or_insert(0) += 1;
        }
    }

    /// Records a failed request (or connect) that started at `at`.
    pub fn record_error(&self, kind: ErrorKind, at: Duration) {
        if self.in_window(at) {
            self.shards.local().errors.count(kind);
        }
    }

    /// Records a scenario step.
    pub fn record_step(&self, name: &str, started: Duration, took: Duration) {
        if self.in_window(started) {
            self.shards.local().record_step(name, took);
        }
    }

    /// Counts a connection opened again after a close, reset or timeout.
    pub fn record_reconnect(&self) {
        if self.in_window(self.now()) {
            self.shards.local().reconnects += 1;
        }
    }

    /// Sleeps for `d` or until the run's end, whichever is first.
    pub async fn sleep_within(&self, d: Duration) {
        let mut until = self.now() + d;
        if let Some(end) = self.end {
            until = until.min(end);
        }
        goro::time::sleep_until((self.start + until).into()).await;
    }
}

/// Something that opens one connection's worth of load: the HTTP driver or a scenario.
pub trait Driver: Send + Sync + 'static {
    /// Spawns connection task number `id`.
    fn spawn(self: Arc<Self>, run: Arc<Run>, id: usize) -> JoinHandle<()>;
}

/// Requests sent (answered or failed after being sent).
fn sent(t: &Tally) -> u64 {
    t.requests + t.errors.total() - t.errors.connect
}

struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(cfg: &Config) -> Progress {
        if !cfg.progress || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let len = match cfg.limit {
            Limit::Duration(d) => (cfg.warmup + d).as_millis() as u64,
            Limit::Requests(n) => n,
        };
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(len),
            indicatif::ProgressDrawTarget::stderr_with_hz(4),
        );
        let template = match cfg.limit {
            Limit::Duration(_) => "{elapsed:>4} [{bar:30}] {percent:>3}% {msg}",
            Limit::Requests(_) => "{elapsed:>4} [{bar:30}] {pos}/{len} {msg}",
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress { bar: Some(bar) }
    }

    fn update(
        &self,
        cfg: &Config,
        now: Duration,
        total: &Tally,
        interval: &Tally,
        iv_len: Duration,
    ) {
        let Some(bar) = &self.bar else { return };
        match cfg.limit {
            Limit::Duration(_) => bar.set_position(now.as_millis() as u64),
            Limit::Requests(_) => bar.set_position(sent(total)),
        }
        let main = if cfg.rate.is_open() {
            &total.corrected
        } else {
            &total.uncorrected
        };
        let rate = interval.requests as f64 / iv_len.as_secs_f64().max(1e-9);
        bar.set_message(format!(
            "{} req, {:.0} req/s, {} errors, p99 {}",
            total.requests,
            rate,
            total.errors.total(),
            crate::report::fmt_us(main.value_at_quantile(0.99) as f64)
        ));
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Runs `cfg` with connection tasks from `driver`.
pub async fn run_with(cfg: &Config, driver: Arc<dyn Driver>) -> Result<Report, Error> {
    let run = Arc::new(Run::new(cfg));
    let wall_start = SystemTime::now();
    let mut log = match &cfg.hdr_log {
        Some(p) => Some(LogWriter::create(p, wall_start + cfg.warmup)?),
        None => None,
    };
    let tasks: Vec<JoinHandle<()>> = (0..cfg.connections)
        .map(|id| driver.clone().spawn(run.clone(), id))
        .collect();
    let progress = Progress::new(cfg);
    let open = cfg.rate.is_open();

    let mut total = Tally::default();
    let mut interval = Tally::default();
    let mut iv_start = cfg.warmup;
    let mut stopped = false;
    let mut log_err = None;
    loop {
        let now = run.now();
        let mut wake = now + CHECK;
        if let Some(end) = run.end {
            wake = wake.min(end);
        }
        goro::time::sleep_until((run.start + wake).into()).await;
        let now = run.now();
        if cfg.stop.is_stopped() {
            stopped = true;
            break;
        }
        if run.end.is_some_and(|end| now >= end) || tasks.iter().all(|t| t.is_finished()) {
            break;
        }
        if now >= iv_start + INTERVAL {
            run.shards.drain_into(&mut interval);
            if let Some(w) = &mut log {
                if let Err(e) = w.interval(&interval, open, iv_start - cfg.warmup, now - iv_start) {
                    log_err = Some(e);
                    log = None;
                }
            }
            total.add(&interval);
            progress.update(cfg, now, &total, &interval, now - iv_start);
            interval.clear();
            iv_start = now;
        }
    }
    // Relaxed: the tasks are aborted below; the flag only lets a running one leave early.
    run.stopping.store(true, Ordering::Relaxed);
    let ended = run.now();
    for t in &tasks {
        t.abort();
    }
    let mut panics = 0u64;
    for t in tasks {
        if let Err(e) = t.await {
            if e.is_panic() {
                panics += 1;
            }
        }
    }
    progress.finish();
    run.shards.drain_into(&mut interval);
    let last_end = match run.end {
        Some(end) => ended.min(end),
        None => Duration::from_micros(run.last_done_us.load(Ordering::Relaxed)).min(ended),
    };
    let last_end = last_end.max(iv_start);
    if let Some(w) = &mut log {
        if let Err(e) = w.interval(&interval, open, iv_start - cfg.warmup, last_end - iv_start) {
            log_err = Some(e);
        }
    }
    total.add(&interval);
    total.errors.other += panics;

    let duration = last_end.saturating_sub(cfg.warmup);
    let asked_rps = run.schedule.as_ref().map(|s| {
        let due = s.due_by(last_end) - s.due_by(cfg.warmup);
        due / duration.as_secs_f64().max(1e-9)
    });
    let mut report = Report {
        open_loop: open,
        asked_rps,
        duration,
        sent: sent(&total),
        tally: total,
        stopped,
        warnings: Vec::new(),
    };
    if let Some(asked) = asked_rps {
        let achieved = report.sent as f64 / duration.as_secs_f64().max(1e-9);
        if matches!(cfg.limit, Limit::Duration(_)) && achieved < asked * 0.99 {
            report.warnings.push(format!(
                "sent {achieved:.1} req/s, {:.1}% short of the asked {asked:.1} req/s: \
                 the lag histogram shows how late the generator was (add connections with -c, \
                 or the server is too slow to free them)",
                (1.0 - achieved / asked) * 100.0
            ));
        }
    }
    if panics > 0 {
        report.warnings.push(format!(
            "{panics} connection task(s) panicked (counted as other errors)"
        ));
    }
    if let Some(w) = &mut log {
        let t = &report.tally;
        let summary = Summary {
            open_loop: open,
            asked_rps,
            duration_s: duration.as_secs_f64(),
            sent: report.sent,
            requests: t.requests,
            bytes: t.bytes,
            status: t.status.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            errors: t.errors,
            reconnects: t.reconnects,
            stopped,
        };
        if let Err(e) = w.finish(&summary) {
            log_err = Some(e);
        }
    }
    if let Some(e) = log_err {
        report.warnings.push(e.to_string());
    }
    Ok(report)
}
