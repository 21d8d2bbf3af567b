//! Shared by the hyper tests: an HTTP server on goro and a few clients.

#![allow(dead_code)]

use bytes::Bytes;
use futures::future::{select, Either};
use goro::hyper::{GoroExecutor, GoroIo, GoroTimer};
use goro::net::{TcpListener, TcpStream};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::{body::Incoming, Request, Response, StatusCode};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub type Body = BoxBody<Bytes, hyper::Error>;

pub fn rt(workers: usize) -> goro::runtime::Runtime {
    goro::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|e| match e {}).boxed()
}

/// What the test server counts. Relaxed everywhere: plain counters read
/// after the events they count have been observed through a response.
#[derive(Default)]
pub struct Stats {
    pub accepted: AtomicUsize,
    pub started: AtomicUsize,
}

/// `GET /` hello; `POST /echo` streams the body back; `GET /slow` answers
/// after `slow_release` gets a value (or closes); `GET /upgrade` with
/// `Upgrade: echo` switches protocols and echoes the upgraded stream.
async fn route(
    req: Request<Incoming>,
    stats: Arc<Stats>,
    slow_release: goro::chan::Receiver<()>,
) -> Result<Response<Body>, Infallible> {
    stats.started.fetch_add(1, Ordering::Relaxed);
    Ok(match req.uri().path() {
        "/" => Response::new(full("hello")),
        "/echo" => Response::new(req.into_body().boxed()),
        "/slow" => {
            let _ = slow_release.recv().await;
            Response::new(full("slow done"))
        }
        "/upgrade" => {
            goro::spawn(async move {
                let upgraded = hyper::upgrade::on(req).await.expect("upgrade");
                let io = GoroIo::new(upgraded);
                let (mut r, mut w) = futures::AsyncReadExt::split(io);
                let _ = futures::io::copy(&mut r, &mut w).await;
            });
            Response::builder()
                .status(StatusCode::SWITCHING_PROTOCOLS)
                .header("connection", "upgrade")
                .header("upgrade", "echo")
                .body(full(""))
                .unwrap()
        }
        _ => {
            let mut res = Response::new(full("not found"));
            *res.status_mut() = StatusCode::NOT_FOUND;
            res
        }
    })
}

pub struct Server {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    /// Send (or drop) to start a graceful shutdown.
    pub stop: goro::chan::Sender<()>,
    /// Drop to release every `/slow` request.
    pub slow: goro::chan::Sender<()>,
    /// Resolves after the graceful shutdown finished.
    pub done: goro::task::JoinHandle<()>,
}

pub fn builder(header_read_timeout: Option<Duration>) -> Builder<GoroExecutor> {
    let mut b = Builder::new(GoroExecutor::new());
    b.http1().timer(GoroTimer::new()).keep_alive(true);
    if let Some(t) = header_read_timeout {
        b.http1().header_read_timeout(t);
    }
    b.http2().timer(GoroTimer::new());
    b
}

/// Starts the test server on a loopback port.
pub async fn serve(builder: Builder<GoroExecutor>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stats = Arc::new(Stats::default());
    let (stop, stop_rx) = goro::chan::bounded::<()>(1);
    let (slow, slow_rx) = goro::chan::bounded::<()>(0);
    let st = stats.clone();
    let done = goro::spawn(async move {
        let graceful = GracefulShutdown::new();
        let mut stopped = pin!(stop_rx.recv());
        loop {
            let accept = pin!(listener.accept());
            let stream = match select(accept, stopped.as_mut()).await {
                Either::Left((Ok((s, _)), _)) => s,
                Either::Left((Err(_), _)) => continue,
                Either::Right(_) => break,
            };
            st.accepted.fetch_add(1, Ordering::Relaxed);
            let (st2, slow_rx) = (st.clone(), slow_rx.clone());
            let service =
                hyper::service::service_fn(move |req| route(req, st2.clone(), slow_rx.clone()));
            let conn = builder
                .serve_connection_with_upgrades(GoroIo::new(stream), service)
                .into_owned();
            let conn = graceful.watch(conn);
            goro::spawn(async move {
                let _ = conn.await;
            });
        }
        drop(listener);
        graceful.shutdown().await;
    });
    Server {
        addr,
        stats,
        stop,
        slow,
        done,
    }
}

/// One HTTP/1.1 connection: its sender (the connection runs in a task).
pub async fn h1(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Body> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (send, conn) = hyper::client::conn::http1::handshake(GoroIo::new(stream))
        .await
        .unwrap();
    goro::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    send
}

/// One HTTP/2 connection (prior knowledge).
pub async fn h2(addr: SocketAddr) -> hyper::client::conn::http2::SendRequest<Body> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (send, conn) = hyper::client::conn::http2::Builder::new(GoroExecutor::new())
        .timer(GoroTimer::new())
        .handshake(GoroIo::new(stream))
        .await
        .unwrap();
    goro::spawn(async move {
        let _ = conn.await;
    });
    send
}

/// The body of `len` bytes the size tests send: a pattern that catches
/// reordering and loss.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// `len` bytes as a streamed body of 64 KiB chunks, produced lazily.
pub fn streamed(len: usize) -> Body {
    let data = Bytes::from(pattern(len));
    let chunks = (0..len.div_ceil(64 * 1024)).map(move |i| {
        let end = ((i + 1) * 64 * 1024).min(len);
        Ok::<_, hyper::Error>(hyper::body::Frame::data(data.slice(i * 64 * 1024..end)))
    });
    http_body_util::StreamBody::new(futures::stream::iter(chunks)).boxed()
}

pub async fn body_bytes(res: Response<Incoming>) -> Bytes {
    res.into_body().collect().await.unwrap().to_bytes()
}
