//! A hyper-on-goro test server with knobs for the faults the tests need, and a runtime helper.

#![allow(dead_code)] // each test file uses its own part

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use goro::hyper::{GoroExecutor, GoroIo, GoroTimer};
use goro::net::TcpListener;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};

/// How the test server behaves.
#[derive(Clone, Debug, Default)]
pub struct Opts {
    /// Speak HTTP/2 (prior knowledge) instead of HTTP/1.1.
    pub http2: bool,
    /// HTTP/1.1: close the connection after every response.
    pub close_each: bool,
    /// Hold every response for this long.
    pub delay: Duration,
    /// Freeze: `(period, phase, length)`. A response due inside
    /// `[phase + k * period, phase + k * period + length)` (time since the server started) is
    /// held until that window ends.
    pub freeze: Option<(Duration, Duration, Duration)>,
    /// The first this-many requests are never answered.
    pub hang_first: u64,
}

/// What the server saw.
#[derive(Debug, Default)]
pub struct Stats {
    pub accepted: AtomicU64,
    pub requests: AtomicU64,
    pub http2_requests: AtomicU64,
    inflight: AtomicU64,
    pub max_inflight: AtomicU64,
}

impl Stats {
    pub fn get(v: &AtomicU64) -> u64 {
        v.load(Ordering::SeqCst)
    }
}

/// A goro runtime with `workers` worker threads.
pub fn runtime(workers: usize) -> goro::runtime::Runtime {
    goro::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .expect("goro runtime")
}

async fn handle(
    req: Request<Incoming>,
    opts: Arc<Opts>,
    stats: Arc<Stats>,
    start: Instant,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let n = stats.requests.fetch_add(1, Ordering::SeqCst);
    if req.version() == http::Version::HTTP_2 {
        stats.http2_requests.fetch_add(1, Ordering::SeqCst);
    }
    let now = stats.inflight.fetch_add(1, Ordering::SeqCst) + 1;
    stats.max_inflight.fetch_max(now, Ordering::SeqCst);
    if n < opts.hang_first {
        std::future::pending::<()>().await;
    }
    if !opts.delay.is_zero() {
        goro::time::sleep(opts.delay).await;
    }
    if let Some((period, phase, len)) = opts.freeze {
        let e = start.elapsed();
        if e >= phase {
            let into = Duration::from_nanos(((e - phase).as_nanos() % period.as_nanos()) as u64);
            if into < len {
                goro::time::sleep(len - into).await;
            }
        }
    }
    stats.inflight.fetch_sub(1, Ordering::SeqCst);
    Ok(Response::new(Full::new(Bytes::from_static(b"hello\n"))))
}

/// Starts a server on 127.0.0.1 in the current goro runtime; it runs until the runtime ends.
pub async fn serve(opts: Opts) -> (SocketAddr, Arc<Stats>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let stats = Arc::new(Stats::default());
    let opts = Arc::new(opts);
    let start = Instant::now();
    let s = stats.clone();
    drop(goro::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            s.accepted.fetch_add(1, Ordering::SeqCst);
            let _ = stream.set_nodelay(true);
            let (opts, s) = (opts.clone(), s.clone());
            drop(goro::spawn(async move {
                let svc = {
                    let (opts, s) = (opts.clone(), s.clone());
                    hyper::service::service_fn(move |req| {
                        handle(req, opts.clone(), s.clone(), start)
                    })
                };
                let io = GoroIo::new(stream);
                if opts.http2 {
                    let _ = hyper::server::conn::http2::Builder::new(GoroExecutor::new())
                        .timer(GoroTimer::new())
                        .serve_connection(io, svc)
                        .await;
                } else {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(GoroTimer::new())
                        .keep_alive(!opts.close_each)
                        .serve_connection(io, svc)
                        .await;
                }
            }));
        }
    }));
    (addr, stats)
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn refused_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
