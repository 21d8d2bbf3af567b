//! UDP and Unix-domain sockets on the reactor (single-thread harness).

mod support;

use futures::{AsyncReadExt, AsyncWriteExt};
use goro_reactor::net::{UdpSocket, UnixDatagram, UnixListener, UnixStream};
use std::io::ErrorKind;
use support::{run, spawn, spawn_with};

fn temp_path(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("goro-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn udp_echo_round_trips() {
    let n = run(|| async {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let saddr = server.local_addr().unwrap();
        spawn(async move {
            let mut buf = [0u8; 1500];
            loop {
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                server.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.connect(saddr).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), saddr);
        let mut ok = 0;
        for i in 0..500u32 {
            let msg = i.to_le_bytes();
            client.send(&msg).await.unwrap();
            let mut back = [0u8; 16];
            let n = client.recv(&mut back).await.unwrap();
            assert_eq!(&back[..n], &msg);
            ok += 1;
        }
        ok
    });
    assert_eq!(n, 500);
}

#[test]
fn udp_readiness_api() {
    run(|| async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            a.try_recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        b.writable().await.unwrap();
        b.try_send_to(b"hi", a.local_addr().unwrap()).unwrap();
        loop {
            a.readable().await.unwrap();
            match a.try_recv_from(&mut buf) {
                Ok((n, from)) => {
                    assert_eq!(&buf[..n], b"hi");
                    assert_eq!(from, b.local_addr().unwrap());
                    break;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => panic!("{e}"),
            }
        }
    });
}

#[test]
fn unix_stream_echo_and_half_close() {
    let path = temp_path("echo.sock");
    let p2 = path.clone();
    run(|| async move {
        let listener = UnixListener::bind(&p2).unwrap();
        spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                spawn(async move {
                    let mut all = Vec::new();
                    s.read_to_end(&mut all).await.unwrap();
                    s.write_all(&all).await.unwrap();
                    s.close().await.unwrap();
                });
            }
        });
        let mut clients = Vec::new();
        for c in 0..4u8 {
            let p = p2.clone();
            clients.push(spawn_with(async move {
                let mut s = UnixStream::connect(&p).await.unwrap();
                let msg = vec![c; 100_000];
                s.write_all(&msg).await.unwrap();
                s.close().await.unwrap(); // half-close: server sees EOF
                let mut back = Vec::new();
                s.read_to_end(&mut back).await.unwrap();
                back == msg
            }));
        }
        for c in clients {
            assert!(c.join().await);
        }
    });
    let _ = std::fs::remove_file(path);
}

#[test]
fn unix_pair_split_halves_in_two_tasks() {
    run(|| async {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut ar, mut aw) = a.into_split();
        let (mut br, mut bw) = b.into_split();
        let t1 = spawn_with(async move {
            aw.write_all(&[1u8; 300_000]).await.unwrap();
            drop(aw); // shuts down the write side
        });
        let t2 = spawn_with(async move {
            bw.write_all(&[2u8; 300_000]).await.unwrap();
        });
        let t3 = spawn_with(async move {
            let mut v = Vec::new();
            br.read_to_end(&mut v).await.unwrap();
            v.len() == 300_000 && v.iter().all(|&x| x == 1)
        });
        let mut v = vec![0u8; 300_000];
        ar.read_exact(&mut v).await.unwrap();
        assert!(v.iter().all(|&x| x == 2));
        t1.join().await;
        t2.join().await;
        assert!(t3.join().await);
    });
}

#[test]
fn unix_datagram_round_trips() {
    let pa = temp_path("dg-a.sock");
    let pb = temp_path("dg-b.sock");
    let (pa2, pb2) = (pa.clone(), pb.clone());
    run(|| async move {
        let a = UnixDatagram::bind(&pa2).unwrap();
        let b = UnixDatagram::bind(&pb2).unwrap();
        for i in 0..100u8 {
            a.send_to(&[i, i], &pb2).await.unwrap();
            let mut buf = [0u8; 4];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[i, i]);
            assert_eq!(from.as_pathname(), Some(pa2.as_path()));
        }
        let (x, y) = UnixDatagram::pair().unwrap();
        x.send(b"pair").await.unwrap();
        let mut buf = [0u8; 8];
        let n = y.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"pair");
    });
    let _ = std::fs::remove_file(pa);
    let _ = std::fs::remove_file(pb);
}

/// Registrations and timers created and dropped from four threads while
/// the driver parks on a fifth: no deadlock, no lost wake, no leak.
#[test]
fn concurrent_registration_and_timers_from_many_threads() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let mut driver = goro_reactor::Driver::new().unwrap();
    let handle = driver.handle();
    let done = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (handle, done) = (handle.clone(), done.clone());
            std::thread::spawn(move || {
                let _g = handle.enter();
                for i in 0..200u64 {
                    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                    let s = UdpSocket::from_std(s).unwrap();
                    let mut sl = goro_reactor::time::sleep(std::time::Duration::from_millis(i % 7));
                    let w = futures::task::noop_waker();
                    let _ =
                        std::pin::Pin::new(&mut sl).poll(&mut std::task::Context::from_waker(&w));
                    drop(s);
                    drop(sl);
                }
                done.fetch_add(1, Ordering::SeqCst);
                handle.unpark();
            })
        })
        .collect();
    while done.load(Ordering::SeqCst) < 4 {
        driver.park(Some(std::time::Duration::from_millis(50)));
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(handle.io_registrations(), 0);
    assert_eq!(handle.pending_timers(), 0);
}

use std::future::Future;
