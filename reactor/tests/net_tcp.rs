//! TCP on the reactor, driven by the single-thread harness in `support`.

mod support;

use futures::{AsyncReadExt, AsyncWriteExt};
use goro_reactor::net::{TcpListener, TcpStream};
use std::io::ErrorKind;
use std::net::Shutdown;
use support::{run, run_with_driver, spawn, spawn_with};

#[test]
fn echo_round_trips() {
    let total = run(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                spawn(async move {
                    let mut buf = [0u8; 1024];
                    loop {
                        let n = s.read(&mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        s.write_all(&buf[..n]).await.unwrap();
                    }
                });
            }
        });
        let mut clients = Vec::new();
        for c in 0..8u8 {
            clients.push(spawn_with(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                let mut sum = 0usize;
                for i in 0..200u32 {
                    let msg = [c, (i % 251) as u8, 7, 9];
                    s.write_all(&msg).await.unwrap();
                    let mut back = [0u8; 4];
                    s.read_exact(&mut back).await.unwrap();
                    assert_eq!(back, msg);
                    sum += 1;
                }
                sum
            }));
        }
        let mut total = 0;
        for c in clients {
            total += c.join().await;
        }
        total
    });
    assert_eq!(total, 8 * 200);
}

#[test]
fn large_transfer_crosses_many_wouldblocks() {
    let got = run(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let payload: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
        let expected = payload.clone();
        spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(&payload).await.unwrap();
            s.close().await.unwrap();
        });
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert!(got == expected, "payload corrupted");
        got.len()
    });
    assert_eq!(got, 8 * 1024 * 1024);
}

#[test]
fn half_close_lets_the_other_direction_finish() {
    run(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = spawn_with(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut req = Vec::new();
            s.read_to_end(&mut req).await.unwrap(); // EOF after client's shutdown
            s.write_all(&req.iter().rev().copied().collect::<Vec<_>>())
                .await
                .unwrap();
            req.len()
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut resp = Vec::new();
        c.read_to_end(&mut resp).await.unwrap();
        assert_eq!(resp, b"olleh");
        assert_eq!(server.join().await, 5);
    });
}

#[test]
fn split_halves_work_from_two_tasks_at_once() {
    run(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Server: echo with owned halves in two tasks.
        spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let (mut r, mut w) = s.into_split();
            let (tx, rx) = futures::channel::mpsc::unbounded::<Vec<u8>>();
            spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    let n = r.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    tx.unbounded_send(buf[..n].to_vec()).unwrap();
                }
            });
            spawn(async move {
                use futures::StreamExt;
                let mut rx = rx;
                while let Some(chunk) = rx.next().await {
                    w.write_all(&chunk).await.unwrap();
                }
            });
        });
        // Client: writer task and reader task run concurrently on one
        // stream; the writer sends more than a socket buffer holds, so
        // neither could finish without the other making progress.
        let s = TcpStream::connect(addr).await.unwrap();
        let (mut r, mut w) = s.into_split();
        const N: usize = 4 * 1024 * 1024;
        let writer = spawn_with(async move {
            let data: Vec<u8> = (0..N).map(|i| (i % 241) as u8).collect();
            w.write_all(&data).await.unwrap();
            w
        });
        let reader = spawn_with(async move {
            let mut got = vec![0u8; N];
            r.read_exact(&mut got).await.unwrap();
            assert!(got.iter().enumerate().all(|(i, b)| *b == (i % 241) as u8));
            r
        });
        let w = writer.join().await;
        let r = reader.join().await;
        let s = r.reunite(w).expect("same stream");
        assert!(s.peer_addr().is_ok());
    });
}

#[test]
fn borrowed_split_and_readiness_api() {
    run(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut c = TcpStream::connect(addr).await.unwrap();
        let (s, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        // Nothing sent yet: try_read must say WouldBlock, not block.
        let mut buf = [0u8; 16];
        assert_eq!(
            s.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        {
            // Explicit path: futures' AsyncReadExt::split (by value) would win
            // method resolution over the inherent `split(&mut self)`.
            let (_r, w) = TcpStream::split(&mut c);
            w.writable().await.unwrap();
            assert_eq!(w.try_write(b"ping").unwrap(), 4);
        }
        s.readable().await.unwrap();
        let mut peeked = [0u8; 4];
        assert_eq!(s.peek(&mut peeked).await.unwrap(), 4);
        assert_eq!(&peeked, b"ping");
        let n = loop {
            match s.try_read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => s.readable().await.unwrap(),
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(&buf[..n], b"ping");
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // closed again
    let err = run(|| async move { TcpStream::connect(("127.0.0.1", port)).await.unwrap_err() });
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn peer_reset_mid_read_is_connection_reset() {
    let err = run(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut c = TcpStream::connect(addr).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        // Closing a socket with unread data in its receive buffer makes
        // Linux answer with RST instead of FIN (RFC 2525, section 2.17).
        c.write_all(b"unread").await.unwrap();
        s.readable().await.unwrap();
        let reader = spawn_with(async move {
            let mut buf = [0u8; 8];
            c.read(&mut buf).await
        });
        drop(s);
        reader.join().await.unwrap_err()
    });
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
}

#[test]
fn host_names_resolve_on_a_blocking_thread() {
    run(|| async {
        let listener = TcpListener::bind("localhost:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let c = TcpStream::connect(format!("localhost:{port}"))
            .await
            .unwrap();
        assert_eq!(c.peer_addr().unwrap().port(), port);
        let bad = TcpStream::connect("this-host-does-not-exist.invalid:80").await;
        assert!(bad.is_err());
    });
}

#[test]
fn dropping_a_stream_with_a_pending_read_frees_its_registration() {
    let ((), handle) = run_with_driver(|handle| {
        let handle = handle.clone();
        async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let c = TcpStream::connect(addr).await.unwrap();
            let (s, _) = listener.accept().await.unwrap();
            assert_eq!(handle.io_registrations(), 3);
            assert!(handle.needs_polling(), "registered sockets must be polled");
            // A read that can never complete, abandoned mid-flight.
            let mut read = Box::pin(async move {
                let mut s = s;
                let mut buf = [0u8; 8];
                s.read(&mut buf).await
            });
            let waker = futures::task::noop_waker();
            assert!(read
                .as_mut()
                .poll(&mut std::task::Context::from_waker(&waker))
                .is_pending());
            drop(read);
            assert_eq!(handle.io_registrations(), 2);
            drop(c);
            drop(listener);
            assert_eq!(handle.io_registrations(), 0);
            assert!(!handle.needs_polling(), "nothing registered, nothing armed");
        }
    });
    assert_eq!(handle.io_registrations(), 0);
}

#[test]
fn shutdown_fails_pending_io_instead_of_hanging() {
    let mut driver = goro_reactor::Driver::new().unwrap();
    let handle = driver.handle();
    let _g = handle.enter();
    let (mut a, _b) = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let b = l.accept().unwrap().0;
        (TcpStream::from_std(a).unwrap(), b)
    };
    let woken = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    struct Flag(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl std::task::Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Flag(woken.clone())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut buf = [0u8; 4];
    let mut read = std::pin::pin!(a.read(&mut buf));
    assert!(read.as_mut().poll(&mut cx).is_pending());
    driver.shutdown();
    assert!(
        woken.load(std::sync::atomic::Ordering::SeqCst),
        "shutdown must wake"
    );
    match read.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Err(e)) => assert!(e.to_string().contains("shut down"), "{e}"),
        other => panic!("expected a shutdown error, got {other:?}"),
    }
    // New sockets are refused too.
    let err = TcpStream::from_std(
        std::net::TcpStream::connect(
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("shut down"));
}

#[test]
#[should_panic(expected = "no goro reactor running")]
fn constructing_a_socket_outside_a_runtime_panics() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let _ = TcpListener::from_std(l);
}

use std::future::Future;

#[test]
fn buffered_line_reading_through_futures_bufreader() {
    use futures::io::{AsyncBufReadExt, BufReader};
    use futures::StreamExt;
    let lines = run(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            for i in 0..1000 {
                s.write_all(format!("line {i}\n").as_bytes()).await.unwrap();
            }
        });
        let s = TcpStream::connect(addr).await.unwrap();
        let lines: Vec<String> = BufReader::new(s)
            .lines()
            .map(|l| l.unwrap())
            .collect()
            .await;
        lines
    });
    assert_eq!(lines.len(), 1000);
    assert_eq!(lines[999], "line 999");
}
