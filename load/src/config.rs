//! What a run is asked to do: [`Config`], its rate and stop condition, and the parsers the CLI
//! uses for durations, rates, headers and URLs. Every parser returns an error that names the bad
//! input, so a typo is reported before a single request is sent.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

use crate::Error;

/// How requests are paced.
#[derive(Clone, Debug, PartialEq)]
pub enum Rate {
    /// Closed loop: each connection sends its next request when the previous answer arrives.
    Closed,
    /// Open loop at a constant rate, in requests per second over all connections.
    Constant(f64),
    /// Open loop ramping linearly from `from` to `to` requests per second over `over`, then
    /// staying at `to`.
    Ramp {
        /// Rate at the start of the run.
        from: f64,
        /// Rate reached at `over` and kept afterwards.
        to: f64,
        /// Length of the ramp.
        over: Duration,
    },
}

impl Rate {
    /// Whether requests have intended send times (open loop).
    pub fn is_open(&self) -> bool {
        !matches!(self, Rate::Closed)
    }
}

/// When a run stops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Limit {
    /// Stop sending at this elapsed time (after the warm-up).
    Duration(Duration),
    /// Send exactly this many requests (fewer only if the run is stopped).
    Requests(u64),
}

/// A stop switch shared between a run and whoever may end it early (the CLI's Ctrl-C handler,
/// a test). Setting it ends the run at the next check (every 50 ms) and the report covers what
/// was done until then.
#[derive(Clone, Debug, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// A switch that is not set.
    pub fn new() -> StopHandle {
        StopHandle::default()
    }

    /// Asks the run to stop. Async-signal-safe: one atomic store.
    pub fn stop(&self) {
        // Relaxed: the flag carries no data; the run reads it on its next 50 ms check.
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        // Relaxed: see `stop`.
        self.0.load(Ordering::Relaxed)
    }
}

/// The HTTP target, parsed and checked.
#[derive(Clone, Debug)]
pub struct Target {
    /// The URL as given.
    pub uri: Uri,
    /// `host[:port]` for the Host header / `:authority`.
    pub authority: String,
    /// Host name (or address) and port to connect to.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Target {
    /// Parses an `http://` URL. `https` is refused with a clear error (no TLS stack here).
    pub fn parse(url: &str) -> Result<Target, Error> {
        let bad = |why: &str| Error::Config(format!("invalid URL '{url}': {why}"));
        let uri: Uri = url.parse().map_err(|e| bad(&format!("{e}")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(bad("https is not supported (no TLS); use http://")),
            Some(other) => return Err(bad(&format!("unsupported scheme '{other}'"))),
            None => return Err(bad("missing scheme, expected http://HOST[:PORT]/PATH")),
        }
        let auth = uri.authority().ok_or_else(|| bad("missing host"))?;
        let host = auth.host().trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("missing host"));
        }
        Ok(Target {
            authority: auth.as_str().to_string(),
            host: host.to_string(),
            port: auth.port_u16().unwrap_or(80),
            uri,
        })
    }

    /// Resolves the host once, before the run: every connection dials the same address.
    pub fn resolve(&self) -> Result<SocketAddr, Error> {
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| Error::Config(format!("cannot resolve host '{}': {e}", self.host)))?
            .next()
            .ok_or_else(|| Error::Config(format!("host '{}' has no address", self.host)))
    }

    /// The request path and query (`/` when the URL has none).
    pub fn path_and_query(&self) -> &str {
        self.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    }
}

/// Everything a run is told; the CLI fills one in from its flags.
#[derive(Clone)]
pub struct Config {
    /// The URL to load.
    pub target: Target,
    /// Number of connections (each one goro task).
    pub connections: usize,
    /// When to stop.
    pub limit: Limit,
    /// Closed or open loop.
    pub rate: Rate,
    /// Speak HTTP/2 (prior knowledge, h2c) instead of HTTP/1.1.
    pub http2: bool,
    /// Concurrent streams per HTTP/2 connection (1 for HTTP/1.1).
    pub streams: usize,
    /// Request method.
    pub method: Method,
    /// Extra request headers.
    pub headers: HeaderMap,
    /// Request body (empty for none).
    pub body: Bytes,
    /// How long one request may take before it counts as a timeout and its connection is
    /// replaced; also bounds a connect attempt.
    pub timeout: Duration,
    /// Run this long before recording: the report covers only what follows.
    pub warmup: Duration,
    /// Write an HdrHistogram interval log (1 s intervals) here.
    pub hdr_log: Option<PathBuf>,
    /// Draw live progress on stderr (only when stderr is a terminal).
    pub progress: bool,
    /// Set to end the run early.
    pub stop: StopHandle,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("url", &self.target.uri)
            .field("connections", &self.connections)
            .field("limit", &self.limit)
            .field("rate", &self.rate)
            .field("http2", &self.http2)
            .field("streams", &self.streams)
            .field("method", &self.method)
            .field("timeout", &self.timeout)
            .field("warmup", &self.warmup)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// A closed-loop GET run of 10 s over 50 connections, as the CLI's defaults.
    pub fn new(url: &str) -> Result<Config, Error> {
        Ok(Config {
            target: Target::parse(url)?,
            connections: 50,
            limit: Limit::Duration(Duration::from_secs(10)),
            rate: Rate::Closed,
            http2: false,
            streams: 1,
            method: Method::GET,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            timeout: Duration::from_secs(10),
            warmup: Duration::ZERO,
            hdr_log: None,
            progress: false,
            stop: StopHandle::new(),
        })
    }

    /// Checks the combination of settings; `run` calls it before sending anything.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |s: String| Err(Error::Config(s));
        if self.connections == 0 {
            return bad("--connections must be at least 1".into());
        }
        if self.streams == 0 {
            return bad("--streams must be at least 1".into());
        }
        if self.streams > 1 && !self.http2 {
            return bad("--streams needs --http2".into());
        }
        match self.limit {
            Limit::Duration(d) if d.is_zero() => return bad("--duration must be > 0".into()),
            Limit::Requests(0) => return bad("--requests must be at least 1".into()),
            _ => {}
        }
        if !self.warmup.is_zero() && matches!(self.limit, Limit::Requests(_)) {
            return bad("--warmup needs a --duration run, not --requests".into());
        }
        if self.timeout.is_zero() {
            return bad("--timeout must be > 0".into());
        }
        match self.rate {
            Rate::Closed => {}
            Rate::Constant(r) if !(r > 0.0 && r.is_finite()) => {
                return bad(format!("--rate {r}: must be > 0"));
            }
            Rate::Ramp { from, to, over } => {
                if !(from >= 0.0 && to > 0.0 && from.is_finite() && to.is_finite()) {
                    return bad(format!("--rate {from}..{to}: rates must be >= 0, end > 0"));
                }
                if over.is_zero() {
                    return bad("--ramp must be > 0".into());
                }
            }
            Rate::Constant(_) => {}
        }
        Ok(())
    }
}

/// Parses `250ms`, `10s`, `2m`, `1h`, `1.5s` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration '{s}' (expected e.g. 500ms, 10s, 2m)"))?;
    let secs = match unit {
        "" | "s" => v,
        "ms" => v / 1e3,
        "us" | "µs" => v / 1e6,
        "m" | "min" => v * 60.0,
        "h" => v * 3600.0,
        _ => return Err(format!("invalid duration '{s}': unknown unit '{unit}'")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration '{s}'"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `-R`/`--rate`: `N` (constant) or `A..B` (a ramp; needs `--ramp`). Returns `(A, B)`.
pub fn parse_rate(s: &str) -> Result<(f64, f64), String> {
    let num = |x: &str| {
        x.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("invalid rate '{s}' (expected N or A..B requests/s)"))
    };
    match s.split_once("..") {
        Some((a, b)) => Ok((num(a)?, num(b)?)),
        None => {
            let r = num(s)?;
            Ok((r, r))
        }
    }
}

/// Parses `-H 'Name: value'`.
pub fn parse_header(s: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (k, v) = s
        .split_once(':')
        .ok_or_else(|| format!("invalid header '{s}' (expected 'Name: value')"))?;
    let name = HeaderName::from_bytes(k.trim().as_bytes())
        .map_err(|_| format!("invalid header name in '{s}'"))?;
    let value =
        HeaderValue::from_str(v.trim()).map_err(|_| format!("invalid header value in '{s}'"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("10x").unwrap_err().contains("10x"));
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn rates_and_headers() {
        assert_eq!(parse_rate("1000").unwrap(), (1000.0, 1000.0));
        assert_eq!(parse_rate("10..500").unwrap(), (10.0, 500.0));
        assert!(parse_rate("fast").unwrap_err().contains("fast"));
        let (k, v) = parse_header("X-Test:  yes ").unwrap();
        assert_eq!((k.as_str(), v.to_str().unwrap()), ("x-test", "yes"));
        assert!(parse_header("nocolon").is_err());
    }

    #[test]
    fn urls() {
        let t = Target::parse("http://127.0.0.1:8080/a?b=1").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 8080));
        assert_eq!(t.path_and_query(), "/a?b=1");
        assert_eq!(Target::parse("http://localhost").unwrap().port, 80);
        for bad in [
            "127.0.0.1:80/x",
            "https://x/",
            "ftp://x/",
            "http://",
            "::::",
        ] {
            let e = Target::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }
}
