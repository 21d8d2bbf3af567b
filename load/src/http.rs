//! The HTTP driver: one hyper client connection per goro task, not a pooled client, so the
//! number of connections is exactly `-c` and each one's life (connect, close, reset, timeout) is
//! visible in the counters.
//!
//! A connection task loops: connect (errors counted as `connect`, retried with exponential
//! back-off from 10 ms to 1 s), handshake, then send one request at a time (HTTP/1.1) or run
//! `-p` stream loops on the one connection (HTTP/2). It reconnects when the server closes the
//! connection (keep-alive close, counted as a reconnect), when a request fails on it (reset,
//! parse error) and, for HTTP/1.1, when a response times out: the connection is dropped, so
//! a late answer can never be taken for the next request's. An HTTP/2 stream that times out is
//! reset on its own; the connection and its other streams go on.
//!
//! A request that hyper hands back unsent (the connection closed between `ready` and the
//! send) keeps its slot and goes out on the next connection, uncounted as an error.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use goro::hyper::{GoroExecutor, GoroIo};
use goro::net::TcpStream;
use goro::task::JoinHandle;

use crate::deadline::Deadline;
use crate::engine::{Driver, Run};
use crate::hist::{ErrorKind, Times};
use crate::Config;

const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// What every connection task of one run shares.
pub struct Http {
    addr: SocketAddr,
    cfg: Config,
    /// Origin-form URI for HTTP/1.1 (`/path?query`).
    origin: Uri,
    /// Absolute URI for HTTP/2 (`:scheme` and `:authority` come from it).
    absolute: Uri,
    /// Every request's headers (`Host` included for HTTP/1.1), built once.
    headers: http::HeaderMap,
}

impl Http {
    /// A driver for `cfg`, dialing `addr`.
    pub fn new(cfg: &Config, addr: SocketAddr) -> Http {
        let origin = cfg
            .target
            .path_and_query()
            .parse()
            .unwrap_or_else(|_| Uri::from_static("/"));
        let mut headers = http::HeaderMap::new();
        if !cfg.http2 {
            let host = header::HeaderValue::from_str(&cfg.target.authority)
                .unwrap_or_else(|_| header::HeaderValue::from_static("localhost"));
            headers.insert(header::HOST, host);
        }
        for (k, v) in &cfg.headers {
            headers.insert(k, v.clone());
        }
        Http {
            addr,
            cfg: cfg.clone(),
            origin,
            absolute: cfg.target.uri.clone(),
            headers,
        }
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.cfg.body.clone()));
        *req.method_mut() = self.cfg.method.clone();
        if self.cfg.http2 {
            *req.uri_mut() = self.absolute.clone();
        } else {
            *req.uri_mut() = self.origin.clone();
        }
        *req.headers_mut() = self.headers.clone();
        *req.version_mut() = if self.cfg.http2 {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        };
        req
    }
}

/// Sorts a hyper error into the report's kinds.
pub fn classify(e: &hyper::Error) -> ErrorKind {
    if e.is_timeout() {
        return ErrorKind::Timeout;
    }
    if e.is_parse() || e.is_parse_status() {
        return ErrorKind::Http;
    }
    if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        return ErrorKind::Reset;
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return io_kind(io);
        }
        src = s.source();
    }
    ErrorKind::Other
}

/// Sorts an IO error into the report's kinds.
pub fn io_kind(e: &std::io::Error) -> ErrorKind {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            ErrorKind::Reset
        }
        K::TimedOut => ErrorKind::Timeout,
        K::InvalidData => ErrorKind::Http,
        _ => ErrorKind::Other,
    }
}

/// What one request came to.
enum Outcome {
    /// A complete response.
    Done,
    /// Not sent: the connection was closed first. The slot is still ours.
    Unsent,
    /// Failed; the connection is not to be reused (HTTP/1.1).
    Failed,
}

/// Reads a response body to the end, returning its size.
async fn drain(resp: http::Response<Incoming>) -> Result<(u16, u64), hyper::Error> {
    let status = resp.status().as_u16();
    let mut body = resp.into_body();
    let mut bytes = 0u64;
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            bytes += data.len() as u64;
        }
    }
    Ok((status, bytes))
}

/// Connects with back-off until a connection is up (or the run ends).
async fn connect(run: &Run, http: &Http) -> Option<TcpStream> {
    let mut backoff = BACKOFF_MIN;
    loop {
        if run.is_stopping() {
            return None;
        }
        let at = run.now();
        let kind = match goro::time::timeout(http.cfg.timeout, TcpStream::connect(http.addr)).await
        {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                return Some(s);
            }
            Ok(Err(_)) | Err(_) => ErrorKind::Connect,
        };
        run.record_error(kind, at);
        run.sleep_within(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Sends one request on `send` (either protocol's sender) and records it.
macro_rules! one_request {
    ($run:expr, $http:expr, $deadline:expr, $sender:expr, $intended:expr) => {{
        let run: &Run = $run;
        let http: &Http = $http;
        let deadline: &mut Deadline = $deadline;
        let req = http.request();
        let sent = run.now();
        let at = $intended.unwrap_or(sent);
        let fut = async {
            match $sender.try_send_request(req).await {
                Ok(resp) => drain(resp).await.map_err(Some),
                Err(mut e) => {
                    if e.take_message().is_some() {
                        Err(None)
                    } else {
                        Err(Some(e.into_error()))
                    }
                }
            }
        };
        let outcome = match run.instant(sent).checked_add(http.cfg.timeout) {
            Some(expiry) => deadline.within(expiry, fut).await,
            None => Ok(fut.await),
        };
        match outcome {
            Ok(Ok((status, bytes))) => {
                let times = Times {
                    intended: $intended,
                    sent,
                    done: run.now(),
                };
                run.record_response(times, status, bytes);
                Outcome::Done
            }
            Ok(Err(None)) => Outcome::Unsent,
            Ok(Err(Some(e))) => {
                run.record_error(classify(&e), at);
                Outcome::Failed
            }
            Err(_) => {
                run.record_error(ErrorKind::Timeout, at);
                Outcome::Failed
            }
        }
    }};
}

/// Runs `work` and polls the connection future `conn` in the same task, dropping `conn` when
/// `work` ends. A spawned connection task would cost two task wake-ups per request (request
/// to connection, response back), often across workers; here hyper's internal channel wakes
/// the one task that is already running. `conn` is polled first so that an answer it reads is
/// there when `work` looks, and dropped once it has ended (the server closed: `work` then
/// finds its sender closed).
async fn with_conn<C: Future, W: Future>(conn: C, work: W) -> W::Output {
    let mut conn = pin!(Some(conn));
    let mut work = pin!(work);
    std::future::poll_fn(|cx| {
        if let Some(c) = conn.as_mut().as_pin_mut() {
            if c.poll(cx).is_ready() {
                // Dropped at once, as a spawned task would be: that closes hyper's request
                // channel, which is how the sender learns that the connection is gone.
                conn.set(None);
            }
        }
        work.as_mut().poll(cx)
    })
    .await
}

async fn http1_task(run: Arc<Run>, http: Arc<Http>) {
    let mut first = true;
    let mut pending: Option<Option<Duration>> = None;
    let mut deadline = Deadline::default();
    while let Some(stream) = connect(&run, &http).await {
        if !first {
            run.record_reconnect();
        }
        first = false;
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(GoroIo::new(stream)).await
        else {
            run.record_error(ErrorKind::Other, run.now());
            continue;
        };
        // `true`: the slots are used up and the task is done; `false`: connect again.
        let finished = with_conn(conn, async {
            loop {
                if sender.ready().await.is_err() {
                    return false;
                }
                let intended = match pending.take() {
                    Some(slot) => slot,
                    None => match run.next_slot().await {
                        Some(slot) => slot,
                        None => return true,
                    },
                };
                match one_request!(&run, &http, &mut deadline, sender, intended) {
                    Outcome::Done => {}
                    Outcome::Unsent => {
                        pending = Some(intended);
                        return false;
                    }
                    Outcome::Failed => return false,
                }
            }
        })
        .await;
        if finished {
            return;
        }
    }
}

async fn http2_stream(
    run: Arc<Run>,
    http: Arc<Http>,
    mut sender: hyper::client::conn::http2::SendRequest<Full<Bytes>>,
) -> bool {
    let mut deadline = Deadline::default();
    loop {
        if sender.ready().await.is_err() {
            return true;
        }
        let Some(intended) = run.next_slot().await else {
            return false;
        };
        // A timed-out stream is reset by dropping its future; other outcomes end the
        // connection's use.
        match one_request!(&run, &http, &mut deadline, sender, intended) {
            Outcome::Done => {}
            Outcome::Unsent => return true,
            Outcome::Failed => {
                if sender.is_closed() {
                    return true;
                }
            }
        }
    }
}

async fn http2_task(run: Arc<Run>, http: Arc<Http>) {
    let mut first = true;
    while let Some(stream) = connect(&run, &http).await {
        if !first {
            run.record_reconnect();
        }
        first = false;
        let Ok((sender, conn)) = hyper::client::conn::http2::handshake::<_, _, Full<Bytes>>(
            GoroExecutor::new(),
            GoroIo::new(stream),
        )
        .await
        else {
            run.record_error(ErrorKind::Other, run.now());
            run.sleep_within(BACKOFF_MIN).await;
            continue;
        };
        // The streams run inside this task (not spawned), so aborting the connection task at
        // the end of the run drops them all.
        let streams =
            (0..http.cfg.streams).map(|_| http2_stream(run.clone(), http.clone(), sender.clone()));
        let ends = with_conn(conn, futures_util::future::join_all(streams)).await;
        drop(sender);
        if !ends.into_iter().any(|again| again) {
            return;
        }
    }
}

impl Driver for Http {
    fn spawn(self: Arc<Self>, run: Arc<Run>, _id: usize) -> JoinHandle<()> {
        if self.cfg.http2 {
            goro::spawn(http2_task(run, self))
        } else {
            goro::spawn(http1_task(run, self))
        }
    }
}
