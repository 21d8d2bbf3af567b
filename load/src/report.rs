//! The result of a run (or of merged logs): [`Report`], printed as text or as one JSON document.
//! The JSON schema is in `docs/load.md`; [`JsonReport`] is its definition in code.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::hist::{ErrorCounts, Tally};

/// Percentiles printed and serialised, in this order.
pub const PERCENTILES: [(f64, &str); 7] = [
    (50.0, "p50"),
    (75.0, "p75"),
    (90.0, "p90"),
    (99.0, "p99"),
    (99.9, "p99.9"),
    (99.99, "p99.99"),
    (100.0, "max"),
];

/// What a run measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// Open loop (requests had intended send times) or closed loop.
    pub open_loop: bool,
    /// The asked mean rate over the measured window (open loop).
    pub asked_rps: Option<f64>,
    /// Length of the measured window (after the warm-up).
    pub duration: Duration,
    /// Requests sent in the measured window, answered or not.
    pub sent: u64,
    /// Figures.
    pub tally: Tally,
    /// The run was ended early (Ctrl-C or [`StopHandle`](crate::StopHandle)).
    pub stopped: bool,
    /// Warnings about the run itself (the generator fell short of the asked rate, ...).
    pub warnings: Vec<String>,
}

/// Summary of one latency histogram, in microseconds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Smallest sample.
    pub min: u64,
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub stdev: f64,
    /// Median.
    pub p50: u64,
    /// 75th percentile.
    pub p75: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    #[serde(rename = "p99.9")]
    pub p99_9: u64,
    /// 99.99th percentile.
    #[serde(rename = "p99.99")]
    pub p99_99: u64,
    /// Largest sample.
    pub max: u64,
}

impl LatencySummary {
    /// Summarises a histogram (all zeros when it is empty). Values are the highest value
    /// equivalent to the bucket (the HdrHistogram convention).
    pub fn of(h: &Histogram<u64>) -> LatencySummary {
        let q = |p: f64| h.value_at_percentile(p);
        LatencySummary {
            count: h.len(),
            min: if h.is_empty() { 0 } else { h.min() },
            mean: h.mean(),
            stdev: h.stdev(),
            p50: q(50.0),
            p75: q(75.0),
            p90: q(90.0),
            p99: q(99.0),
            p99_9: q(99.9),
            p99_99: q(99.99),
            max: h.max(),
        }
    }
}

/// The latency objects of the JSON document.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct JsonLatency {
    /// Intended send → response end (open loop only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub corrected: Option<LatencySummary>,
    /// Actual send → response end.
    pub uncorrected: LatencySummary,
    /// Intended → actual send (open loop only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lag: Option<LatencySummary>,
}

/// The `--json` document.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct JsonReport {
    /// `"open"` or `"closed"`.
    pub mode: String,
    /// Responses received.
    pub requests: u64,
    /// Requests sent (answered or failed).
    pub sent: u64,
    /// Measured window, seconds.
    pub duration_s: f64,
    /// Responses per second.
    pub rps: f64,
    /// Asked rate (open loop).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub asked_rps: Option<f64>,
    /// Response body bytes per second.
    pub bytes_per_s: f64,
    /// Latency summaries, µs.
    pub latency_us: JsonLatency,
    /// Scenario step latencies, µs.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub steps_us: BTreeMap<String, LatencySummary>,
    /// Responses by status code.
    pub status: BTreeMap<String, u64>,
    /// Errors by kind.
    pub errors: ErrorCounts,
    /// Connections re-established.
    pub reconnects: u64,
    /// The run was stopped early.
    pub stopped: bool,
    /// Warnings about the run.
    pub warnings: Vec<String>,
}

impl Report {
    /// Responses per second over the measured window.
    pub fn rps(&self) -> f64 {
        per_s(self.tally.requests as f64, self.duration)
    }

    /// The figures as the `--json` document.
    pub fn to_json(&self) -> JsonReport {
        let t = &self.tally;
        let open = self.open_loop;
        JsonReport {
            mode: if open { "open" } else { "closed" }.into(),
            requests: t.requests,
            sent: self.sent,
            duration_s: self.duration.as_secs_f64(),
            rps: self.rps(),
            asked_rps: self.asked_rps,
            bytes_per_s: per_s(t.bytes as f64, self.duration),
            latency_us: JsonLatency {
                corrected: open.then(|| LatencySummary::of(&t.corrected)),
                uncorrected: LatencySummary::of(&t.uncorrected),
                lag: open.then(|| LatencySummary::of(&t.lag)),
            },
            steps_us: t
                .steps
                .iter()
                .map(|(n, h)| (n.clone(), LatencySummary::of(h)))
                .collect(),
            status: t.status.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            errors: t.errors,
            reconnects: t.reconnects,
            stopped: self.stopped,
            warnings: self.warnings.clone(),
        }
    }

    /// The JSON document as a string.
    pub fn json_string(&self) -> String {
        serde_json::to_string_pretty(&self.to_json()).expect("plain data serialises")
    }
}

fn per_s(n: f64, d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        n / d.as_secs_f64()
    }
}

/// `1.23ms`-style latency.
pub fn fmt_us(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.2}s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.2}ms", us / 1e3)
    } else {
        format!("{us:.0}us")
    }
}

fn fmt_bytes(b: f64) -> String {
    if b >= 1024.0 * 1024.0 {
        format!("{:.2} MiB", b / 1024.0 / 1024.0)
    } else if b >= 1024.0 {
        format!("{:.2} KiB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
}

fn latency_block(out: &mut String, name: &str, h: &Histogram<u64>) {
    let s = LatencySummary::of(h);
    let _ = writeln!(
        out,
        "  {name:<12} min {:>9}  mean {:>9}  stdev {:>9}  max {:>9}",
        fmt_us(s.min as f64),
        fmt_us(s.mean),
        fmt_us(s.stdev),
        fmt_us(s.max as f64)
    );
    let mut line = String::from("               ");
    for (p, label) in PERCENTILES.iter().take(6) {
        let _ = write!(
            line,
            "{label} {:<9} ",
            fmt_us(h.value_at_percentile(*p) as f64)
        );
    }
    let _ = writeln!(out, "{}", line.trim_end());
}

/// A text histogram: ten log-spaced latency buckets between the minimum and the maximum.
fn distribution(out: &mut String, h: &Histogram<u64>) {
    if h.is_empty() {
        return;
    }
    let (lo, hi) = (h.min().max(1) as f64, h.max().max(1) as f64);
    let rows = 10;
    let ratio = (hi / lo).max(1.0).powf(1.0 / rows as f64);
    let mut edges = vec![lo];
    for _ in 0..rows {
        let next = edges.last().copied().unwrap_or(lo) * ratio;
        edges.push(next);
    }
    let mut counts = vec![0u64; rows];
    for v in h.iter_recorded() {
        let x = v.value_iterated_to() as f64;
        let i = edges[1..]
            .iter()
            .position(|e| x <= e * (1.0 + 1e-9))
            .unwrap_or(rows - 1);
        counts[i] += v.count_at_value();
    }
    let most = counts.iter().copied().max().unwrap_or(1).max(1);
    for (i, c) in counts.iter().enumerate() {
        let bar = (*c as f64 / most as f64 * 40.0).round() as usize;
        let _ = writeln!(
            out,
            "  {:>9} {:>10} |{}",
            fmt_us(edges[i + 1]),
            c,
            "■".repeat(bar)
        );
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.tally;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} requests ({} sent) in {:.2}s{}, {} loop",
            t.requests,
            self.sent,
            self.duration.as_secs_f64(),
            if self.stopped { " (stopped early)" } else { "" },
            if self.open_loop { "open" } else { "closed" },
        );
        let asked = self
            .asked_rps
            .map(|r| format!(" (asked {r:.1})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  requests/s   {:.1}{asked}\n  transfer/s   {}",
            self.rps(),
            fmt_bytes(per_s(t.bytes as f64, self.duration))
        );
        let _ = writeln!(out, "latency:");
        if self.open_loop {
            latency_block(&mut out, "corrected", &t.corrected);
            latency_block(&mut out, "uncorrected", &t.uncorrected);
            latency_block(&mut out, "lag", &t.lag);
        } else {
            latency_block(&mut out, "latency", &t.uncorrected);
        }
        for (name, h) in &t.steps {
            latency_block(&mut out, &format!("step {name}"), h);
        }
        let main = if self.open_loop {
            &t.corrected
        } else {
            &t.uncorrected
        };
        if !main.is_empty() {
            let which = if self.open_loop { " (corrected)" } else { "" };
            let _ = writeln!(out, "distribution{which}:");
            distribution(&mut out, main);
        }
        let _ = write!(out, "status:");
        if t.status.is_empty() {
            let _ = write!(out, " none");
        }
        for (code, n) in &t.status {
            let _ = write!(out, " {code}={n}");
        }
        let e = &t.errors;
        let _ = writeln!(
            out,
            "\nerrors: {} (connect {}, reset {}, timeout {}, http {}, other {}); reconnects {}",
            e.total(),
            e.connect,
            e.reset,
            e.timeout,
            e.http,
            e.other,
            t.reconnects
        );
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::Times;

    fn report(open: bool) -> Report {
        let mut tally = Tally::default();
        for i in 1..=1000u64 {
            let times = Times {
                intended: open.then_some(Duration::ZERO),
                sent: Duration::from_micros(i),
                done: Duration::from_micros(3 * i),
            };
            tally.record_response(times, if i % 10 == 0 { 500 } else { 200 }, 100);
        }
        tally.errors.timeout = 2;
        Report {
            open_loop: open,
            asked_rps: open.then_some(500.0),
            duration: Duration::from_secs(2),
            sent: 1002,
            tally,
            stopped: false,
            warnings: vec![],
        }
    }

    #[test]
    fn json_has_the_documented_shape() {
        let v: serde_json::Value = serde_json::from_str(&report(true).json_string()).unwrap();
        assert_eq!(v["requests"], 1000);
        assert_eq!(v["rps"], 500.0);
        assert_eq!(v["bytes_per_s"], 50_000.0);
        assert_eq!(v["status"]["200"], 900);
        assert_eq!(v["status"]["500"], 100);
        assert_eq!(v["errors"]["timeout"], 2);
        for key in [
            "min", "mean", "stdev", "p50", "p75", "p90", "p99", "p99.9", "p99.99", "max",
        ] {
            for which in ["corrected", "uncorrected", "lag"] {
                assert!(v["latency_us"][which][key].is_number(), "{which}.{key}");
            }
        }
        // Corrected = 3i, uncorrected = 2i, lag = i (µs): medians 1500, 1000, 500.
        assert_eq!(v["latency_us"]["corrected"]["p50"], 1500);
        assert_eq!(v["latency_us"]["uncorrected"]["p50"], 1000);
        assert_eq!(v["latency_us"]["lag"]["p50"], 500);
        let closed: serde_json::Value = serde_json::from_str(&report(false).json_string()).unwrap();
        assert!(closed["latency_us"].get("corrected").is_none());
        assert!(closed["latency_us"].get("lag").is_none());
        assert_eq!(closed["mode"], "closed");
    }

    #[test]
    fn text_names_every_section() {
        let text = report(true).to_string();
        for needle in [
            "1000 requests",
            "requests/s   500.0 (asked 500.0)",
            "corrected",
            "uncorrected",
            "lag",
            "p99.99",
            "distribution (corrected)",
            "status: 200=900 500=100",
            "timeout 2",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        assert_eq!(text.matches('|').count(), 10, "{text}");
    }
}
