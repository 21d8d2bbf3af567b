//! goro::net on the real multi-thread goro runtime.

use futures::{AsyncReadExt, AsyncWriteExt};
use goro::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
use std::time::{Duration, Instant};

fn rt(workers: usize) -> goro::runtime::Runtime {
    goro::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

async fn echo_server(listener: TcpListener) {
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            continue;
        };
        goro::spawn(async move {
            let mut buf = [0u8; 4096];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
    }
}

#[test]
fn tcp_echo_many_clients_on_four_workers() {
    let rt = rt(4);
    let total = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        goro::spawn(echo_server(listener));
        let clients: Vec<_> = (0..32u8)
            .map(|c| {
                goro::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    s.set_nodelay(true).unwrap();
                    for i in 0..300u32 {
                        let msg = [c, i as u8, (i >> 8) as u8, 0xAB];
                        s.write_all(&msg).await.unwrap();
                        let mut back = [0u8; 4];
                        s.read_exact(&mut back).await.unwrap();
                        assert_eq!(back, msg);
                    }
                    300usize
                })
            })
            .collect();
        let mut total = 0;
        for c in clients {
            total += c.await.unwrap();
        }
        total
    });
    assert_eq!(total, 32 * 300);
}

#[test]
fn thousand_concurrent_loopback_connections() {
    raise_nofile_limit(4096);
    let rt = rt(2);
    let n = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        goro::spawn(echo_server(listener));
        // Open all 1,000 first (all concurrently alive), then talk on each.
        let conns: Vec<_> = (0..1000u32)
            .map(|i| {
                goro::spawn(async move {
                    let s = TcpStream::connect(addr).await.unwrap();
                    (i, s)
                })
            })
            .collect();
        let mut streams = Vec::new();
        for c in conns {
            streams.push(c.await.unwrap());
        }
        let talks: Vec<_> = streams
            .into_iter()
            .map(|(i, mut s)| {
                goro::spawn(async move {
                    let msg = i.to_le_bytes();
                    s.write_all(&msg).await.unwrap();
                    let mut back = [0u8; 4];
                    s.read_exact(&mut back).await.unwrap();
                    u32::from_le_bytes(back) == i
                })
            })
            .collect();
        let mut ok = 0;
        for t in talks {
            ok += t.await.unwrap() as usize;
        }
        ok
    });
    assert_eq!(n, 1000);
}

fn raise_nofile_limit(want: u64) {
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        }
        assert!(lim.rlim_cur >= 2100, "need >= 2100 fds, hard limit is {}", lim.rlim_max);
    }
}

#[test]
fn split_halves_read_and_write_from_two_tasks_at_once() {
    let rt = rt(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        goro::spawn(echo_server(listener));
        let (mut r, mut w) = TcpStream::connect(addr).await.unwrap().into_split();
        const N: usize = 8 * 1024 * 1024;
        // The writer sends far more than the socket buffers hold, so it
        // can only finish if the reader drains concurrently.
        let writer = goro::spawn(async move {
            let chunk: Vec<u8> = (0..65536u32).map(|i| (i % 251) as u8).collect();
            for _ in 0..N / chunk.len() {
                w.write_all(&chunk).await.unwrap();
            }
            w
        });
        let reader = goro::spawn(async move {
            let mut buf = vec![0u8; 65536];
            let mut got = 0usize;
            while got < N {
                let n = r.read(&mut buf).await.unwrap();
                assert!(n > 0);
                for (k, b) in buf[..n].iter().enumerate() {
                    assert_eq!(*b, ((got + k) % 65536 % 251) as u8);
                }
                got += n;
            }
            r
        });
        let w = writer.await.unwrap();
        let r = reader.await.unwrap();
        r.reunite(w).unwrap();
    });
}

#[test]
fn half_close_on_the_runtime() {
    let rt = rt(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = goro::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut all = Vec::new();
            s.read_to_end(&mut all).await.unwrap();
            s.write_all(&all).await.unwrap();
            all.len()
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(&[9u8; 100_000]).await.unwrap();
        c.close().await.unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).await.unwrap();
        assert_eq!(back.len(), 100_000);
        assert_eq!(server.await.unwrap(), 100_000);
    });
}

#[test]
fn udp_and_unix_echo_on_the_runtime() {
    let rt = rt(2);
    let path = std::env::temp_dir().join(format!("goro-rt-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let p2 = path.clone();
    rt.block_on(async move {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let saddr = server.local_addr().unwrap();
        goro::spawn(async move {
            let mut buf = [0u8; 64];
            loop {
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                server.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let c = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        c.connect(saddr).await.unwrap();
        for i in 0..200u8 {
            c.send(&[i]).await.unwrap();
            let mut b = [0u8; 4];
            assert_eq!(c.recv(&mut b).await.unwrap(), 1);
            assert_eq!(b[0], i);
        }

        let l = UnixListener::bind(&p2).unwrap();
        goro::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut v = Vec::new();
            s.read_to_end(&mut v).await.unwrap();
            s.write_all(&v).await.unwrap();
        });
        let mut s = UnixStream::connect(&p2).await.unwrap();
        s.write_all(b"unix echo").await.unwrap();
        s.close().await.unwrap();
        let mut v = Vec::new();
        s.read_to_end(&mut v).await.unwrap();
        assert_eq!(v, b"unix echo");
    });
    let _ = std::fs::remove_file(path);
}

/// CPU-bound tasks that never block (only yield through the coop budget)
/// share two workers with an IO ping-pong; the ping-pong must keep going.
#[test]
fn io_stays_responsive_next_to_cpu_bound_tasks() {
    let rt = rt(2);
    let stats = rt.block_on(async {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut hogs = Vec::new();
        for _ in 0..8 {
            let stop = stop.clone();
            hogs.push(goro::spawn(async move {
                let mut x = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    for i in 0..20_000u64 {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
                    }
                    goro::coop::consume_budget().await;
                }
                x
            }));
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        goro::spawn(echo_server(listener));
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        let mut lat = Vec::new();
        for i in 0..200u8 {
            let t = Instant::now();
            s.write_all(&[i]).await.unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
            assert_eq!(b[0], i);
            lat.push(t.elapsed());
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for h in hogs {
            h.await.unwrap();
        }
        lat.sort();
        (lat[lat.len() / 2], lat[lat.len() * 99 / 100])
    });
    eprintln!("IO round trip next to 8 CPU hogs: median {:?}, p99 {:?}", stats.0, stats.1);
    assert!(stats.0 < Duration::from_millis(100), "median {:?}", stats.0);
}

#[test]
fn runtime_drop_with_open_sockets_and_pending_io_completes() {
    let rt = rt(2);
    let handle = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let c = TcpStream::connect(addr).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        // Tasks parked on IO and on a long sleep, never to be woken.
        goro::spawn(async move {
            let mut s = s;
            let mut b = [0u8; 1];
            let _ = s.read(&mut b).await;
        });
        goro::spawn(async move {
            let _keep = (c, listener);
            goro::time::sleep(Duration::from_secs(3600)).await;
        });
        goro_reactor::Handle::current()
    });
    let t = Instant::now();
    drop(rt);
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(handle.io_registrations(), 0, "sockets leaked past shutdown");
    assert_eq!(handle.pending_timers(), 0);
}
