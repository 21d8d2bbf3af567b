//! HdrHistogram interval logs: written by a run (`--hdr-log`), read back by `goro-load merge`.
//!
//! The file is the standard V2 interval log that HdrHistogram's own tools read
//! (`HistogramLogProcessor`, HdrHistogram.js, hdr-plot): a `#[StartTime: ...]` and
//! `#[BaseTime: ...]` header, the legend line, then one line per histogram per 1 s interval,
//! `Tag=NAME,START,LENGTH,MAX,BASE64` with a deflate-compressed V2 histogram. Tags are
//! `corrected`, `uncorrected`, `lag` and `step:NAME`. Counters that are not latencies (status
//! codes, errors, bytes) go in one comment line at the end, `#goro-load-summary: {json}`, which
//! other tools skip as a comment.
//!
//! Merging logs from several machines adds the histograms tag by tag (HDR histograms with equal
//! bounds add exactly) and the counters field by field. The runs are taken to be concurrent:
//! the merged window is the longest of the runs' windows, so the merged rate is the sum of the
//! machines' rates.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::hist::{ErrorCounts, Tally};
use crate::{Error, Report};

const SUMMARY: &str = "#goro-load-summary: ";

/// The counters of a run, as written in the log's summary comment.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Open loop.
    pub open_loop: bool,
    /// Asked rate (open loop).
    pub asked_rps: Option<f64>,
    /// Measured window, seconds.
    pub duration_s: f64,
    /// Requests sent.
    pub sent: u64,
    /// Responses.
    pub requests: u64,
    /// Body bytes.
    pub bytes: u64,
    /// Responses by status.
    pub status: BTreeMap<String, u64>,
    /// Errors by kind.
    pub errors: ErrorCounts,
    /// Reconnects.
    pub reconnects: u64,
    /// Stopped early.
    pub stopped: bool,
}

/// Writes a run's interval log.
pub struct LogWriter {
    out: BufWriter<File>,
    ser: V2DeflateSerializer,
    path: PathBuf,
}

fn tag_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, ',' | ' ' | '\r' | '\n') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

impl LogWriter {
    /// Creates the file and writes the header. `start` is the wall-clock time of the start of the
    /// measured window; interval timestamps are seconds from it.
    pub fn create(path: &Path, start: SystemTime) -> Result<LogWriter, Error> {
        let err = |e: io::Error| Error::Io(format!("--hdr-log {}: {e}", path.display()));
        let mut out = BufWriter::new(File::create(path).map_err(err)?);
        let mut ser = V2DeflateSerializer::new();
        IntervalLogWriterBuilder::new()
            .add_comment("goro-load interval log; latencies in microseconds")
            .with_start_time(start)
            .with_base_time(start)
            .begin_log_with(&mut out, &mut ser)
            .map_err(err)?;
        writeln!(
            out,
            "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
        )
        .map_err(err)?;
        Ok(LogWriter {
            out,
            ser,
            path: path.to_owned(),
        })
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::Io(format!("--hdr-log {}: {e}", self.path.display()))
    }

    /// Writes one interval: `start` from the base time, `len` long.
    pub fn interval(
        &mut self,
        t: &Tally,
        open_loop: bool,
        start: Duration,
        len: Duration,
    ) -> Result<(), Error> {
        // A writer with no header items writes nothing but the histograms it is given, so one
        // can be made per interval over the same file.
        let mut w = IntervalLogWriterBuilder::new()
            .begin_log_with(&mut self.out, &mut self.ser)
            .map_err(|e| Error::Io(e.to_string()))?;
        let mut hists: Vec<(String, &Histogram<u64>)> = Vec::new();
        if open_loop {
            hists.push(("corrected".into(), &t.corrected));
        }
        hists.push(("uncorrected".into(), &t.uncorrected));
        if open_loop {
            hists.push(("lag".into(), &t.lag));
        }
        for (name, h) in &t.steps {
            hists.push((format!("step:{}", tag_name(name)), h));
        }
        let mut result = Ok(());
        for (tag, h) in hists {
            if let Err(e) = w.write_histogram(h, start, len, Tag::new(&tag)) {
                result = Err(e.to_string());
                break;
            }
        }
        result.map_err(|e| self.err(e))
    }

    /// Writes the summary comment and flushes.
    pub fn finish(&mut self, summary: &Summary) -> Result<(), Error> {
        let json = serde_json::to_string(summary).expect("plain data serialises");
        let res = writeln!(self.out, "{SUMMARY}{json}").and_then(|_| self.out.flush());
        res.map_err(|e| self.err(e))
    }
}

/// What one log holds.
#[derive(Debug)]
pub struct LogContents {
    /// Histograms by tag, summed over intervals; counters from the summary when present.
    pub tally: Tally,
    /// The summary comment, if the run got to write it.
    pub summary: Option<Summary>,
    /// From the first interval's start to the last one's end.
    pub span: Duration,
}

/// Parses one interval log (as written by [`LogWriter`] or by any V2 HdrHistogram writer; an
/// untagged histogram counts as `uncorrected`).
pub fn read_log(text: &[u8], name: &str) -> Result<LogContents, Error> {
    let bad = |why: String| Error::Config(format!("{name}: {why}"));
    let mut tally = Tally::default();
    let mut deser = Deserializer::new();
    let mut first: Option<Duration> = None;
    let mut last_end = Duration::ZERO;
    let mut intervals = 0usize;
    for entry in IntervalLogIterator::new(text) {
        let entry = entry.map_err(|e| bad(format!("not an HdrHistogram interval log ({e:?})")))?;
        let LogEntry::Interval(iv) = entry else {
            continue;
        };
        intervals += 1;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(iv.encoded_histogram())
            .map_err(|e| bad(format!("bad base64 in interval {intervals}: {e}")))?;
        let h: Histogram<u64> = deser
            .deserialize(&mut raw.as_slice())
            .map_err(|e| bad(format!("bad histogram in interval {intervals}: {e:?}")))?;
        let start = iv.start_timestamp();
        first = Some(first.map_or(start, |f| f.min(start)));
        last_end = last_end.max(start + iv.duration());
        let tag = iv.tag().map(|t| t.as_str().to_string());
        let add = |into: &mut Histogram<u64>| {
            into.add(&h)
                .map_err(|e| bad(format!("histogram out of range: {e:?}")))
        };
        match tag.as_deref() {
            Some("corrected") => add(&mut tally.corrected)?,
            Some("lag") => add(&mut tally.lag)?,
            Some("uncorrected") | None => add(&mut tally.uncorrected)?,
            Some(other) => {
                let name = other.strip_prefix("step:").unwrap_or(other);
                if tally.step(name).is_none() {
                    tally
                        .steps
                        .push((name.to_string(), crate::hist::new_histogram()));
                }
                let (_, into) = tally
                    .steps
                    .iter_mut()
                    .find(|(n, _)| n == name)
                    .expect("inserted above");
                add(into)?;
            }
        }
    }
    let summary = text
        .split(|b| *b == b'\n')
        .filter_map(|l| l.strip_prefix(SUMMARY.as_bytes()))
        .next_back()
        .map(|json| {
            serde_json::from_slice::<Summary>(json).map_err(|e| bad(format!("bad summary: {e}")))
        })
        .transpose()?;
    if intervals == 0 && summary.is_none() {
        return Err(bad("no interval histograms".into()));
    }
    match &summary {
        Some(s) => {
            tally.requests = s.requests;
            tally.bytes = s.bytes;
            tally.errors = s.errors;
            tally.reconnects = s.reconnects;
            for (k, v) in &s.status {
                let code = k.parse().map_err(|_| bad(format!("bad status '{k}'")))?;
                tally.status.insert(code, *v);
            }
        }
        None => tally.requests = tally.uncorrected.len(),
    }
    Ok(LogContents {
        tally,
        summary,
        span: last_end.saturating_sub(first.unwrap_or_default()),
    })
}

/// Reads every log and merges them into one report (runs taken as concurrent, see the module
/// docs).
pub fn merge(paths: &[PathBuf]) -> Result<Report, Error> {
    if paths.is_empty() {
        return Err(Error::Config("merge: no log files given".into()));
    }
    let mut total = Tally::default();
    let mut duration = Duration::ZERO;
    let mut sent = 0;
    let mut open_loop = false;
    let mut asked: Option<f64> = None;
    let mut stopped = false;
    for p in paths {
        let name = p.display().to_string();
        let text = std::fs::read(p).map_err(|e| Error::Config(format!("{name}: {e}")))?;
        let log = read_log(&text, &name)?;
        total.add(&log.tally);
        match &log.summary {
            Some(s) => {
                duration = duration.max(Duration::from_secs_f64(s.duration_s.max(0.0)));
                sent += s.sent;
                open_loop |= s.open_loop;
                stopped |= s.stopped;
                if let Some(r) = s.asked_rps {
                    asked = Some(asked.unwrap_or(0.0) + r);
                }
            }
            None => {
                duration = duration.max(log.span);
                sent += log.tally.requests;
                open_loop |= !log.tally.corrected.is_empty();
            }
        }
    }
    Ok(Report {
        open_loop,
        asked_rps: asked,
        duration,
        sent,
        tally: total,
        stopped,
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::Times;

    fn fill(t: &mut Tally, n: u64, scale: u64) {
        for i in 1..=n {
            let times = Times {
                intended: Some(Duration::ZERO),
                sent: Duration::from_micros(i * scale / 2),
                done: Duration::from_micros(i * scale),
            };
            t.record_response(times, 200, 7);
            t.record_step("checkout page", Duration::from_micros(i));
        }
    }

    #[test]
    fn round_trip_keeps_percentiles_and_counters() {
        let dir = std::env::temp_dir().join(format!("goro-load-hlog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.hlog");
        let mut w = LogWriter::create(&path, SystemTime::now()).unwrap();
        let mut whole = Tally::default();
        for sec in 0..3u64 {
            let mut iv = Tally::default();
            fill(&mut iv, 1000, 10 + sec * 100);
            iv.errors.reset = 1;
            w.interval(&iv, true, Duration::from_secs(sec), Duration::from_secs(1))
                .unwrap();
            whole.add(&iv);
        }
        let summary = Summary {
            open_loop: true,
            asked_rps: Some(1000.0),
            duration_s: 3.0,
            sent: 3003,
            requests: whole.requests,
            bytes: whole.bytes,
            status: [("200".to_string(), whole.requests)].into(),
            errors: whole.errors,
            reconnects: 4,
            stopped: false,
        };
        w.finish(&summary).unwrap();
        drop(w);

        let text = std::fs::read(&path).unwrap();
        assert!(text.starts_with(b"#goro-load interval log"));
        let log = read_log(&text, "a.hlog").unwrap();
        assert_eq!(log.span, Duration::from_secs(3));
        for (mine, back) in [
            (&whole.corrected, &log.tally.corrected),
            (&whole.uncorrected, &log.tally.uncorrected),
            (&whole.lag, &log.tally.lag),
            (
                whole.step("checkout page").unwrap(),
                log.tally.step("checkout_page").unwrap(),
            ),
        ] {
            assert_eq!(mine.len(), back.len());
            for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
                assert_eq!(
                    mine.value_at_quantile(q),
                    back.value_at_quantile(q),
                    "q {q}"
                );
            }
        }
        assert_eq!(log.tally.requests, 3000);
        assert_eq!(log.tally.errors.reset, 3);
        assert_eq!(log.tally.status.get(&200), Some(&3000));

        // Two machines' logs merge into one report with summed counts.
        let copy = dir.join("b.hlog");
        std::fs::copy(&path, &copy).unwrap();
        let r = merge(&[path.clone(), copy]).unwrap();
        assert_eq!(r.tally.requests, 6000);
        assert_eq!(r.sent, 6006);
        assert_eq!(r.duration, Duration::from_secs(3));
        assert_eq!(r.asked_rps, Some(2000.0));
        assert_eq!(r.tally.corrected.len(), 6000);
        assert_eq!(
            r.tally.corrected.value_at_quantile(0.99),
            whole.corrected.value_at_quantile(0.99)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let e = read_log(b"hello\nworld\n", "x.hlog")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.hlog: "), "{e}");
        assert!(merge(&[]).is_err());
    }
}
