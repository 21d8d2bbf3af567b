//! hyper-util's client on goro (`Connector`, `GoroExecutor`, `GoroTimer`),
//! upgrades, and the adapters' error paths.

mod support;

use bytes::Bytes;
use futures::{AsyncReadExt, AsyncWriteExt};
use goro::hyper::{Connector, GoroExecutor, GoroIo, GoroTimer};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::rt::{Executor, Timer};
use hyper::Request;
use hyper_util::client::legacy::Client;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use support::*;

fn client() -> Client<Connector, Empty<Bytes>> {
    Client::builder(GoroExecutor::new())
        .timer(GoroTimer::new())
        .build(Connector::new())
}

/// The `io::Error` at the bottom of an error's source chain.
fn io_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cur = e.source();
    }
    None
}

#[test]
fn client_pool_reuses_one_connection() {
    rt(2).block_on(async {
        let server = serve(builder(None)).await;
        let client = client();
        let uri: hyper::Uri = format!("http://{}/", server.addr).parse().unwrap();
        for _ in 0..10 {
            let res = client.get(uri.clone()).await.unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(body_bytes(res).await, "hello");
        }
        // hyper-util checks a connection back into its pool from the
        // connection's own task once the body is done, so a request can
        // race that check-in and open a second connection; reuse means far
        // fewer connections than requests, not exactly one.
        let accepted = server.stats.accepted.load(Ordering::Relaxed);
        assert!(
            (1..=3).contains(&accepted),
            "10 sequential requests opened {accepted} connections"
        );
        // By host name too: "localhost" resolves on the blocking pool.
        let uri: hyper::Uri = format!("http://localhost:{}/", server.addr.port())
            .parse()
            .unwrap();
        let res = client.get(uri).await.unwrap();
        assert_eq!(body_bytes(res).await, "hello");
    });
}

#[test]
fn refused_port_is_connection_refused_not_a_hang() {
    rt(2).block_on(async {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let uri: hyper::Uri = format!("http://127.0.0.1:{port}/").parse().unwrap();
        let err = goro::time::timeout(Duration::from_secs(20), client().get(uri))
            .await
            .expect("a refused connect hung")
            .unwrap_err();
        assert!(err.is_connect(), "{err}");
        let io = io_cause(&err).expect("an io::Error under the client error");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused, "{io}");
    });
}

#[test]
fn https_gives_a_clear_error() {
    rt(1).block_on(async {
        let uri: hyper::Uri = "https://127.0.0.1:1/".parse().unwrap();
        let err = client().get(uri).await.unwrap_err();
        let io = io_cause(&err).expect("an io::Error under the client error");
        assert_eq!(io.kind(), std::io::ErrorKind::Unsupported);
        assert!(io.to_string().contains("TLS"), "{io}");
    });
}

#[test]
fn upgraded_connection_is_goro_io() {
    rt(2).block_on(async {
        let server = serve(builder(None)).await;
        let mut send = h1(server.addr).await;
        let req = Request::get("/upgrade")
            .header("connection", "upgrade")
            .header("upgrade", "echo")
            .body(full(""))
            .unwrap();
        let res = send.send_request(req).await.unwrap();
        assert_eq!(res.status(), 101);
        let upgraded = hyper::upgrade::on(res).await.unwrap();
        let mut io = GoroIo::new(upgraded);
        for msg in [&b"ping"[..], &[7u8; 100_000][..]] {
            io.write_all(msg).await.unwrap();
            let mut back = vec![0u8; msg.len()];
            io.read_exact(&mut back).await.unwrap();
            assert!(back == msg);
        }
    });
}

#[test]
fn executor_outside_a_runtime_panics_saying_so() {
    let err = std::panic::catch_unwind(|| GoroExecutor::new().execute(async {})).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap();
    assert!(msg.contains("outside a goro runtime"), "{msg}");
}

#[test]
fn timer_reset_rearms_the_same_sleep() {
    rt(1).block_on(async {
        let timer = GoroTimer::new();
        let mut sleep = timer.sleep(Duration::from_secs(3600));
        let before: *const () = (&*sleep as *const dyn hyper::rt::Sleep).cast();
        timer.reset(&mut sleep, Instant::now() + Duration::from_millis(20));
        let after: *const () = (&*sleep as *const dyn hyper::rt::Sleep).cast();
        assert_eq!(before, after, "reset allocated a new sleep");
        goro::time::timeout(Duration::from_secs(20), sleep)
            .await
            .expect("the reset sleep did not fire");
    });
}

#[test]
fn client_over_http2_streams_10_mib_and_multiplexes_one_connection() {
    rt(2).block_on(async {
        let server = serve(builder(None)).await;
        // HTTP/2 in the pooled client: hyper spawns the connection and its
        // streams through `GoroExecutor` (`Http2ClientConnExec`).
        let client: Client<Connector, Body> = Client::builder(GoroExecutor::new())
            .timer(GoroTimer::new())
            .http2_only(true)
            .build(Connector::new());
        let uri = format!("http://{}/echo", server.addr);
        let len = 10 << 20;
        let res = client
            .request(Request::post(&uri).body(streamed(len)).unwrap())
            .await
            .unwrap();
        assert_eq!(res.version(), hyper::Version::HTTP_2);
        let body = body_bytes(res).await;
        assert!(body[..] == pattern(len)[..], "the 10 MiB body differs");
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (client, uri) = (client.clone(), uri.clone());
            tasks.push(goro::spawn(async move {
                let req = Request::post(&uri).body(full(format!("{i}"))).unwrap();
                body_bytes(client.request(req).await.unwrap()).await
            }));
        }
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), format!("{i}"));
        }
        // The connection was pooled before the concurrent requests began,
        // and HTTP/2 shares it: every request rode the first connection.
        assert_eq!(server.stats.accepted.load(Ordering::Relaxed), 1);
    });
}

#[test]
fn http1_over_a_unix_stream() {
    rt(2).block_on(async {
        let (a, b) = goro::net::UnixStream::pair().unwrap();
        let server = goro::spawn(async move {
            let echo = hyper::service::service_fn(|req: Request<Incoming>| async move {
                Ok::<_, std::convert::Infallible>(hyper::Response::new(req.into_body()))
            });
            hyper::server::conn::http1::Builder::new()
                .serve_connection(GoroIo::new(a), echo)
                .await
        });
        let (mut send, conn) = hyper::client::conn::http1::handshake(GoroIo::new(b))
            .await
            .unwrap();
        let conn = goro::spawn(conn);
        for len in [1, 1 << 20] {
            send.ready().await.unwrap();
            let req = Request::post("/").body(streamed(len)).unwrap();
            let body = body_bytes(send.send_request(req).await.unwrap()).await;
            assert!(body[..] == pattern(len)[..], "body of {len} bytes differs");
        }
        // Closing the client side ends both connections cleanly.
        drop(send);
        conn.await.unwrap().unwrap();
        server.await.unwrap().unwrap();
    });
}
