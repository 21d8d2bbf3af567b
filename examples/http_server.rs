//! An HTTP/1.1 + HTTP/2 server: hyper on goro through `goro::hyper`.
//!
//!     cargo run --release --features hyper --example http_server [ADDR]
//!
//! Listens on ADDR (default 127.0.0.1:3000) and prints the address it
//! got. Both protocols on one port (hyper-util's `auto::Builder` tells
//! them apart by the HTTP/2 preface), keep-alive on. Routes: `GET /` says
//! hello; `POST /echo` streams the request body back.
//!
//! Ctrl-C (SIGINT) or SIGTERM shuts it down gracefully: it stops
//! accepting, lets every connection finish the request it is serving
//! (idle keep-alive connections are closed), waits up to 10 s, prints
//! "served N requests" (every request routed) and "shut down", and exits
//! 0. The signal handler only writes a byte into a
//! pipe; a task turns that byte into a message on a goro channel, which
//! the accept loop listens to.

use bytes::Bytes;
use futures::future::{select, Either};
use goro::hyper::{GoroExecutor, GoroIo, GoroTimer};
use goro::net::{TcpListener, UnixStream};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::{body::Incoming, Method, Request, Response, StatusCode};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::pin::pin;
use std::time::Duration;

type Body = BoxBody<Bytes, hyper::Error>;

/// Requests routed, printed at shutdown (`scripts/soak.sh` compares it with
/// the client's count). Relaxed: a statistic read once, after every
/// connection has finished.
static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

async fn route(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let full = |b: &'static [u8]| {
        Full::new(Bytes::from_static(b))
            .map_err(|e| match e {})
            .boxed()
    };
    Ok(match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => Response::new(full(b"Hello, world!\n")),
        (&Method::POST, "/echo") => Response::new(req.into_body().boxed()),
        _ => {
            let mut res = Response::new(full(b"not found\n"));
            *res.status_mut() = StatusCode::NOT_FOUND;
            res
        }
    })
}

/// The write end of the signal pipe, for the handler (an fd number is all
/// an async-signal-safe handler may use).
static SIGNAL_FD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// A goro channel that yields once when SIGINT or SIGTERM arrives.
fn shutdown_signal() -> std::io::Result<goro::chan::Receiver<()>> {
    let (read, write) = std::os::unix::net::UnixStream::pair()?;
    // The handler reads the fd; SeqCst is the plain choice for a one-time
    // store made before the handler is installed.
    SIGNAL_FD.store(write.as_raw_fd(), std::sync::atomic::Ordering::SeqCst);
    std::mem::forget(write); // the fd stays open for the process's life
    fn on_signal() {
        let fd = SIGNAL_FD.load(std::sync::atomic::Ordering::SeqCst);
        // SAFETY: one byte from a static buffer to an fd that is never
        // closed.
        let _ = unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) };
    }
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler calls only an atomic load and `write(2)`,
        // both async-signal-safe.
        unsafe { signal_hook_registry::register(sig, on_signal)? };
    }
    read.set_nonblocking(true)?;
    let read = UnixStream::from_std(read)?;
    let (tx, rx) = goro::chan::bounded(1);
    goro::spawn(async move {
        let mut byte = [0u8; 1];
        let _ = futures::AsyncReadExt::read(&mut &read, &mut byte).await;
        let _ = tx.send(()).await;
    });
    Ok(rx)
}

#[goro::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = match TcpListener::bind(addr.as_str()).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("http_server: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    let stop = shutdown_signal().expect("http_server: cannot install the signal handler");
    println!("listening on http://{}", listener.local_addr().unwrap());
    let _ = std::io::stdout().flush();

    let mut builder = Builder::new(GoroExecutor::new());
    builder
        .http1()
        .timer(GoroTimer::new())
        .keep_alive(true)
        .header_read_timeout(Duration::from_secs(30));
    builder.http2().timer(GoroTimer::new());
    let graceful = GracefulShutdown::new();

    let mut stopped = pin!(stop.recv());
    loop {
        let accept = pin!(listener.accept());
        let (stream, _) = match select(accept, stopped.as_mut()).await {
            Either::Left((Ok(conn), _)) => conn,
            Either::Left((Err(e), _)) => {
                // Out of fds and the like: report and go on.
                eprintln!("http_server: accept: {e}");
                continue;
            }
            Either::Right(_) => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = builder
            .serve_connection_with_upgrades(GoroIo::new(stream), hyper::service::service_fn(route))
            .into_owned();
        let conn = graceful.watch(conn);
        goro::spawn(async move {
            // A client that sends garbage or vanishes ends only its own
            // connection.
            let _ = conn.await;
        });
    }
    drop(listener);
    let finished = goro::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
    let served = REQUESTS.load(std::sync::atomic::Ordering::Relaxed);
    println!("served {served} requests");
    match finished {
        Ok(()) => println!("shut down"),
        Err(_) => println!("shut down (connections still open after 10 s were dropped)"),
    }
}
