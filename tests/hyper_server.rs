//! hyper servers on goro (`goro::hyper`): both protocols, body sizes,
//! many connections, timeouts, bad input and graceful shutdown.

mod support;

use futures::{AsyncReadExt, AsyncWriteExt};
use goro::net::TcpStream;
use hyper::Request;
use std::time::{Duration, Instant};
use support::*;

const SIZES: [usize; 6] = [1, 100, 64 * 1024 + 1, 1 << 20, 3 << 20, 10 << 20];

#[test]
fn http1_echo_bodies_1_byte_to_10_mib_streamed() {
    rt(2).block_on(async {
        let server = serve(builder(None)).await;
        let mut send = h1(server.addr).await;
        for len in SIZES {
            let req = Request::post("/echo").body(streamed(len)).unwrap();
            // HTTP/1 carries one request at a time: wait for the previous
            // exchange to finish on the connection.
            send.ready().await.unwrap();
            let res = send.send_request(req).await.unwrap();
            assert_eq!(res.status(), 200);
            let body = body_bytes(res).await;
            assert_eq!(body.len(), len);
            assert!(body[..] == pattern(len)[..], "body of {len} bytes differs");
        }
        // One keep-alive connection carried all of them.
        assert_eq!(
            server
                .stats
                .accepted
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
    });
}

#[test]
fn http2_echo_bodies_1_byte_to_10_mib_streamed() {
    rt(2).block_on(async {
        let server = serve(builder(None)).await;
        let mut send = h2(server.addr).await;
        for len in SIZES {
            let req = Request::post("http://localhost/echo")
                .body(streamed(len))
                .unwrap();
            let res = send.send_request(req).await.unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(res.version(), hyper::Version::HTTP_2);
            let body = body_bytes(res).await;
            assert!(body[..] == pattern(len)[..], "body of {len} bytes differs");
        }
        // HTTP/2 streams run concurrently on one connection.
        let mut tasks = Vec::new();
        for i in 0..50 {
            let mut send = send.clone();
            tasks.push(goro::spawn(async move {
                let req = Request::post("http://localhost/echo")
                    .body(full(format!("stream {i}")))
                    .unwrap();
                body_bytes(send.send_request(req).await.unwrap()).await
            }));
        }
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), format!("stream {i}"));
        }
    });
}

#[test]
fn a_thousand_concurrent_keep_alive_connections() {
    rt(2).block_on(async {
        let server = serve(builder(None)).await;
        let addr = server.addr;
        let mut tasks = Vec::new();
        for i in 0..1000 {
            tasks.push(goro::spawn(async move {
                let mut send = h1(addr).await;
                for round in 0..2 {
                    let req = Request::post("/echo")
                        .body(full(format!("{i}/{round}")))
                        .unwrap();
                    send.ready().await.unwrap();
                    let res = send.send_request(req).await.unwrap();
                    assert_eq!(body_bytes(res).await, format!("{i}/{round}"));
                }
                send // keep the connection open until every task is done
            }));
        }
        let mut open = Vec::new();
        for t in tasks {
            open.push(t.await.unwrap());
        }
        let stats = &server.stats;
        assert_eq!(
            stats.accepted.load(std::sync::atomic::Ordering::Relaxed),
            1000
        );
        assert_eq!(
            stats.started.load(std::sync::atomic::Ordering::Relaxed),
            2000
        );
    });
}

#[test]
fn header_read_timeout_fires_through_goro_timer() {
    rt(2).block_on(async {
        let server = serve(builder(Some(Duration::from_millis(200)))).await;
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        let start = Instant::now();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap(); // no end of head
        let mut buf = Vec::new();
        // The server gives up on the head and closes: EOF (maybe after a
        // 408), or a reset.
        let read = goro::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "the header-read timeout never fired");
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(150),
            "closed after {waited:?}"
        );
        let text = String::from_utf8_lossy(&buf);
        assert!(buf.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    });
}

#[test]
fn malformed_request_gets_400_and_server_goes_on() {
    rt(2).block_on(async {
        let server = serve(builder(None)).await;
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"THIS IS NOT HTTP\r\n\r\n").await.unwrap();
        let mut buf = Vec::new();
        goro::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf))
            .await
            .expect("the server hung on a bad request")
            .unwrap();
        let text = String::from_utf8_lossy(&buf);
        assert!(text.starts_with("HTTP/1.1 400"), "{text}");
        // The server still serves.
        let mut send = h1(server.addr).await;
        let res = send
            .send_request(Request::get("/").body(full("")).unwrap())
            .await
            .unwrap();
        assert_eq!(body_bytes(res).await, "hello");
    });
}

#[test]
fn graceful_shutdown_answers_every_request_in_flight() {
    rt(2).block_on(async {
        let server = serve(builder(None)).await;
        let addr = server.addr;
        const N: usize = 20;
        let mut tasks = Vec::new();
        for i in 0..N {
            tasks.push(goro::spawn(async move {
                if i % 2 == 0 {
                    let mut send = h1(addr).await;
                    let req = Request::get("/slow").body(full("")).unwrap();
                    let res = send.send_request(req).await.unwrap();
                    body_bytes(res).await
                } else {
                    let mut send = h2(addr).await;
                    let req = Request::get("http://localhost/slow")
                        .body(full(""))
                        .unwrap();
                    let res = send.send_request(req).await.unwrap();
                    body_bytes(res).await
                }
            }));
        }
        // Wait until every request reached the handler (each is now parked
        // on the `slow` channel), then shut down and release them.
        let deadline = Instant::now() + Duration::from_secs(30);
        while server
            .stats
            .started
            .load(std::sync::atomic::Ordering::Relaxed)
            < N
        {
            assert!(Instant::now() < deadline, "requests never started");
            goro::time::sleep(Duration::from_millis(5)).await;
        }
        server.stop.send(()).await.unwrap();
        // New connections are refused once the listener is gone (one
        // that raced the close is accepted by the kernel, then reset).
        loop {
            match TcpStream::connect(addr).await {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
                Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
                Ok(_) => {}
            }
            assert!(Instant::now() < deadline, "the listener was never closed");
            goro::time::sleep(Duration::from_millis(5)).await;
        }
        drop(server.slow);
        for t in tasks {
            assert_eq!(t.await.unwrap(), "slow done");
        }
        goro::time::timeout(Duration::from_secs(20), server.done)
            .await
            .expect("graceful shutdown did not finish")
            .unwrap();
    });
}
