//! Recording: what one request adds to a run's figures, kept in constant memory.
//!
//! Latencies go into HDR histograms (the `hdrhistogram` crate) covering 1 µs .. 1 h at 3
//! significant digits: about 190 KiB each, whatever the run length or request count. Each
//! worker thread records into its own [`Tally`] (a shard behind a mutex that only that thread and
//! the 1 s collector ever take), and the collector moves every shard's interval into the run's
//! totals, so memory is `shards × histograms`, never per request.
//!
//! What is measured, per request (all from the generator's monotonic clock):
//! - *corrected*: from the intended send time (open loop) to the last byte of the response body.
//! - *uncorrected*: from the moment the request was handed to the connection to the last byte.
//! - *lag*: from the intended send time to the actual send, i.e. how late the generator was.
//!
//! In a closed loop there is no intended time and only *uncorrected* is kept.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Lowest trackable latency, µs.
pub const LOWEST_US: u64 = 1;
/// Highest trackable latency (1 h), µs; longer samples are clamped to it.
pub const HIGHEST_US: u64 = 3_600_000_000;
/// Significant decimal digits kept.
pub const SIGFIG: u8 = 3;

/// A histogram with the run's bounds.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG).expect("static bounds are valid")
}

/// Microseconds of a duration, clamped to the histogram's range.
pub fn micros(d: Duration) -> u64 {
    (d.as_micros().min(HIGHEST_US as u128) as u64).max(LOWEST_US)
}

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The TCP connect failed (refused, unreachable, timed out while connecting).
    Connect,
    /// The connection was reset or closed while a request was on it.
    Reset,
    /// No complete response within `--timeout`.
    Timeout,
    /// The server's bytes were not valid HTTP.
    Http,
    /// Anything else.
    Other,
}

/// Error counts by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    /// Failed connects.
    pub connect: u64,
    /// Resets and closes with a request in flight.
    pub reset: u64,
    /// Responses that did not complete in time.
    pub timeout: u64,
    /// Unparseable responses.
    pub http: u64,
    /// Other errors.
    pub other: u64,
}

impl ErrorCounts {
    /// All errors.
    pub fn total(&self) -> u64 {
        self.connect + self.reset + self.timeout + self.http + self.other
    }

    /// Counts one error.
    pub fn count(&mut self, kind: ErrorKind) {
        *match kind {
            ErrorKind::Connect => &mut self.connect,
            ErrorKind::Reset => &mut self.reset,
            ErrorKind::Timeout => &mut self.timeout,
            ErrorKind::Http => &mut self.http,
            ErrorKind::Other => &mut self.other,
        } += 1;
    }

    /// Adds another set of counts.
    pub fn add(&mut self, o: &ErrorCounts) {
        self.connect += o.connect;
        self.reset += o.reset;
        self.timeout += o.timeout;
        self.http += o.http;
        self.other += o.other;
    }
}

/// The counters and histograms of one interval, one shard, or a whole run.
#[derive(Clone, Debug)]
pub struct Tally {
    /// Intended send → response end (open loop only).
    pub corrected: Histogram<u64>,
    /// Actual send → response end.
    pub uncorrected: Histogram<u64>,
    /// Intended → actual send (open loop only).
    pub lag: Histogram<u64>,
    /// Named scenario steps, each timed from its start to its end.
    pub steps: Vec<(String, Histogram<u64>)>,
    /// Responses received (any status).
    pub requests: u64,
    /// Response body bytes received.
    pub bytes: u64,
    /// Responses by status code.
    pub status: BTreeMap<u16, u64>,
    /// Failed requests by kind.
    pub errors: ErrorCounts,
    /// Connections opened after the first one of each connection task (after a close, reset or
    /// timeout).
    pub reconnects: u64,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            corrected: new_histogram(),
            uncorrected: new_histogram(),
            lag: new_histogram(),
            steps: Vec::new(),
            requests: 0,
            bytes: 0,
            status: BTreeMap::new(),
            errors: ErrorCounts::default(),
            reconnects: 0,
        }
    }
}

impl Tally {
    /// Records one response. `intended` is the open-loop intended-to-send offset, `sent` the
    /// actual send, `done` the last body byte, all on the same clock.
    pub fn record_response(&mut self, times: Times, status: u16, bytes: u64) {
        self.record_sample(times, bytes);
        *self.status.entry(status).or_insert(0) += 1;
    }

    /// Records one sample (a response, or a scenario iteration) without a status code.
    pub fn record_sample(&mut self, times: Times, bytes: u64) {
        self.uncorrected
            .saturating_record(micros(times.done - times.sent));
        if let Some(intended) = times.intended {
            self.corrected
                .saturating_record(micros(times.done.saturating_sub(intended)));
            self.lag
                .saturating_record(micros(times.sent.saturating_sub(intended)));
        }
        self.requests += 1;
        self.bytes += bytes;
    }

    /// Records one named step's duration.
    pub fn record_step(&mut self, name: &str, took: Duration) {
        let h = match self.steps.iter().position(|(n, _)| n == name) {
            Some(i) => &mut self.steps[i].1,
            None => {
                self.steps.push((name.to_string(), new_histogram()));
                &mut self.steps.last_mut().expect("just pushed").1
            }
        };
        h.saturating_record(micros(took));
    }

    /// The histogram of a step, if it was recorded.
    pub fn step(&self, name: &str) -> Option<&Histogram<u64>> {
        self.steps.iter().find(|(n, _)| n == name).map(|(_, h)| h)
    }

    /// Adds everything in `o` to `self`.
    pub fn add(&mut self, o: &Tally) {
        // The histograms share bounds, so `add` cannot fail.
        self.corrected.add(&o.corrected).expect("same bounds");
        self.uncorrected.add(&o.uncorrected).expect("same bounds");
        self.lag.add(&o.lag).expect("same bounds");
        for (name, h) in &o.steps {
            match self.steps.iter_mut().find(|(n, _)| n == name) {
                Some((_, mine)) => mine.add(h).expect("same bounds"),
                None => self.steps.push((name.clone(), h.clone())),
            }
        }
        self.requests += o.requests;
        self.bytes += o.bytes;
        for (code, n) in &o.status {
            *self.status.entry(*code).or_insert(0) += n;
        }
        self.errors.add(&o.errors);
        self.reconnects += o.reconnects;
    }

    /// Empties the tally, keeping its allocations.
    pub fn clear(&mut self) {
        self.corrected.reset();
        self.uncorrected.reset();
        self.lag.reset();
        for (_, h) in &mut self.steps {
            h.reset();
        }
        self.requests = 0;
        self.bytes = 0;
        self.status.clear();
        self.errors = ErrorCounts::default();
        self.reconnects = 0;
    }
}

/// The three instants of one request, as offsets from the run's start.
#[derive(Clone, Copy, Debug)]
pub struct Times {
    /// When the schedule meant it to go (open loop).
    pub intended: Option<Duration>,
    /// When it was handed to the connection.
    pub sent: Duration,
    /// When the last byte of its response arrived.
    pub done: Duration,
}

/// One [`Tally`] per worker thread, collected by one task.
pub struct Shards {
    shards: Box<[Mutex<Tally>]>,
}

static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Relaxed: only uniqueness matters, and fetch_add gives it at any ordering.
    static THREAD_INDEX: usize = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

impl Shards {
    /// `n` empty shards (at least one).
    pub fn new(n: usize) -> Shards {
        Shards {
            shards: (0..n.max(1))
                .map(|_| Mutex::new(Tally::default()))
                .collect(),
        }
    }

    /// The calling thread's shard. Threads are numbered in the order they first record, so the
    /// worker threads of one runtime land on distinct shards; a collision only shares a lock.
    pub fn local(&self) -> MutexGuard<'_, Tally> {
        let i = THREAD_INDEX.with(|i| *i) % self.shards.len();
        self.shards[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves every shard's contents into `into` and empties the shards.
    pub fn drain_into(&self, into: &mut Tally) {
        for s in self.shards.iter() {
            let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
            into.add(&s);
            s.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn corrected_uncorrected_and_lag() {
        let mut t = Tally::default();
        // Meant at 0, sent at 40 ms (generator late), answered at 50 ms.
        let times = Times {
            intended: Some(ms(0)),
            sent: ms(40),
            done: ms(50),
        };
        t.record_response(times, 200, 10);
        assert!(t.corrected.equivalent(t.corrected.max(), 50_000));
        assert!(t.uncorrected.equivalent(t.uncorrected.max(), 10_000));
        assert!(t.lag.equivalent(t.lag.max(), 40_000));
        let closed = Times {
            intended: None,
            sent: ms(0),
            done: ms(5),
        };
        t.record_response(closed, 503, 1);
        assert_eq!(t.corrected.len(), 1);
        assert_eq!(t.uncorrected.len(), 2);
        assert_eq!((t.requests, t.bytes), (2, 11));
        assert_eq!(t.status.get(&503), Some(&1));
    }

    #[test]
    fn merging_shards_keeps_every_sample() {
        let shards = Shards::new(3);
        std::thread::scope(|s| {
            for th in 0..3u64 {
                let shards = &shards;
                s.spawn(move || {
                    for i in 0..1000u64 {
                        let times = Times {
                            intended: None,
                            sent: ms(0),
                            done: Duration::from_micros(1 + th * 1000 + i),
                        };
                        shards.local().record_response(times, 200, 1);
                        shards.local().record_step("login", ms(1));
                    }
                    shards.local().errors.count(ErrorKind::Reset);
                });
            }
        });
        let mut total = Tally::default();
        shards.drain_into(&mut total);
        assert_eq!(total.uncorrected.len(), 3000);
        assert_eq!(total.requests, 3000);
        assert_eq!(total.errors.reset, 3);
        assert_eq!(total.step("login").map(|h| h.len()), Some(3000));
        let p50 = total.uncorrected.value_at_quantile(0.5);
        assert!(total.uncorrected.equivalent(p50, 1500), "p50 {p50}");
        // Drained shards are empty: a second drain adds nothing.
        let mut again = Tally::default();
        shards.drain_into(&mut again);
        assert_eq!(again.requests, 0);
        assert_eq!(again.uncorrected.len(), 0);
    }

    #[test]
    fn clamps_out_of_range() {
        let mut t = Tally::default();
        let times = Times {
            intended: None,
            sent: ms(0),
            done: Duration::from_secs(10_000),
        };
        t.record_response(times, 200, 0);
        assert!(t.uncorrected.equivalent(t.uncorrected.max(), HIGHEST_US));
        assert_eq!(micros(Duration::ZERO), 1);
    }
}
