//! tcp_echo: 64 connections, each 2,000 round trips of 64 bytes, server and
//! clients in the same runtime (2 worker threads), goro against tokio's
//! multi-thread runtime in one criterion group. Throughput is reported in
//! round trips per second.
//!
//! The two sides are written the same way: an accept loop that spawns one
//! echo task per connection, and one spawned client task per connection
//! doing write-64 / read-64 in lockstep with TCP_NODELAY.
//!
//! Knobs: `GORO_WORKER_THREADS=N` gives both runtimes and the floor N
//! worker threads (default 2); `TCP_ECHO_ONLY=goro|tokio|floor` runs that
//! side alone `TCP_ECHO_INTERLEAVED` times (default 9) and prints its
//! median, then exits (for `strace -c -f` and `perf stat`, which then
//! count one side only). The interleaved pass also runs goro and tokio
//! with 8 workers in the same rounds and prints them on a second line
//! (`TCP_ECHO_OVERSUBSCRIBED=0` skips them).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

const CONNS: usize = 64;
const ROUNDS: usize = 2_000;
const MSG: usize = 64;

/// Worker threads of both runtimes and of the floor: `GORO_WORKER_THREADS`
/// (the variable goro's builder reads), 2 if unset.
fn workers() -> usize {
    std::env::var("GORO_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

// ----------------------------------------------------------------- tokio --

fn tokio_runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

async fn tokio_echo_round() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        for _ in 0..CONNS {
            let (mut s, _) = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; MSG];
                while s.read_exact(&mut buf).await.is_ok() {
                    s.write_all(&buf).await.unwrap();
                }
            });
        }
    });
    let clients: Vec<_> = (0..CONNS)
        .map(|c| {
            tokio::spawn(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                let mut buf = [c as u8; MSG];
                for _ in 0..ROUNDS {
                    s.write_all(&buf).await.unwrap();
                    s.read_exact(&mut buf).await.unwrap();
                }
                assert_eq!(buf, [c as u8; MSG]);
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    server.await.unwrap();
}

// ------------------------------------------------------------------ goro --

fn goro_runtime(workers: usize) -> goro::runtime::Runtime {
    goro::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

async fn goro_echo_round() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    use goro::net::{TcpListener, TcpStream};

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = goro::spawn(async move {
        for _ in 0..CONNS {
            let (mut s, _) = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            goro::spawn(async move {
                let mut buf = [0u8; MSG];
                while s.read_exact(&mut buf).await.is_ok() {
                    s.write_all(&buf).await.unwrap();
                }
            });
        }
    });
    let clients: Vec<_> = (0..CONNS)
        .map(|c| {
            goro::spawn(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                let mut buf = [c as u8; MSG];
                for _ in 0..ROUNDS {
                    s.write_all(&buf).await.unwrap();
                    s.read_exact(&mut buf).await.unwrap();
                }
                assert_eq!(buf, [c as u8; MSG]);
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    server.await.unwrap();
}

// ---------------------------------------------------------------- floor --

/// The same round trips with no runtime at all: `workers()` plain threads,
/// each owning `CONNS / workers()` connection pairs and driving them in
/// lockstep (client send, server recv, server send, client recv), with
/// blocking sockets and no epoll, no wake-ups, no task switches. On
/// loopback a send has queued its bytes at the peer before it returns, so
/// no recv ever waits. This is the cost of the kernel's TCP path alone:
/// the ceiling of any runtime on this machine.
fn floor_round() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    let workers = workers();
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            std::thread::spawn(move || {
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap();
                let pairs: Vec<(TcpStream, TcpStream)> = (0..CONNS / workers)
                    .map(|_| {
                        let c = TcpStream::connect(addr).unwrap();
                        let (s, _) = listener.accept().unwrap();
                        c.set_nodelay(true).unwrap();
                        s.set_nodelay(true).unwrap();
                        (c, s)
                    })
                    .collect();
                let mut buf = [7u8; MSG];
                for _ in 0..ROUNDS {
                    for (c, s) in &pairs {
                        (&*c).write_all(&buf).unwrap();
                        (&*s).read_exact(&mut buf).unwrap();
                        (&*s).write_all(&buf).unwrap();
                        (&*c).read_exact(&mut buf).unwrap();
                    }
                }
                assert_eq!(buf, [7u8; MSG]);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

// ----------------------------------------------------------------- bench --

/// Worker threads of the oversubscribed pair (this machine has 2 cores).
const MANY_WORKERS: usize = 8;

/// Alternates goro, tokio and the no-runtime floor so that all see the
/// same machine noise, and prints each one's median and the throughput
/// ratios. (The criterion group below runs all goro samples, then all
/// tokio samples.) Unless `TCP_ECHO_OVERSUBSCRIBED=0` (or the main pair
/// has `MANY_WORKERS` already), each round also runs goro and tokio with
/// `MANY_WORKERS` workers, and a second line compares them with each other
/// and with goro's main figure from the same rounds.
fn interleaved(
    goro_rt: &goro::runtime::Runtime,
    tokio_rt: &tokio::runtime::Runtime,
    rounds: usize,
) {
    let many = (workers() != MANY_WORKERS
        && std::env::var("TCP_ECHO_OVERSUBSCRIBED").map_or(true, |v| v != "0"))
    .then(|| (goro_runtime(MANY_WORKERS), tokio_runtime(MANY_WORKERS)));
    let (mut gm8, mut tm8) = (Vec::new(), Vec::new());
    let (mut g, mut t, mut f) = (Vec::new(), Vec::new(), Vec::new());
    let time = |f: &mut dyn FnMut()| {
        let s = std::time::Instant::now();
        f();
        s.elapsed()
    };
    for _ in 0..rounds {
        g.push(time(&mut || goro_rt.block_on(goro_echo_round())));
        t.push(time(&mut || tokio_rt.block_on(tokio_echo_round())));
        f.push(time(&mut floor_round));
        if let Some((goro8, tokio8)) = &many {
            gm8.push(time(&mut || goro8.block_on(goro_echo_round())));
            tm8.push(time(&mut || tokio8.block_on(tokio_echo_round())));
        }
    }
    g.sort();
    t.sort();
    f.sort();
    gm8.sort();
    tm8.sort();
    let rate = |d: Duration| (CONNS * ROUNDS) as f64 / d.as_secs_f64();
    let (gm, tm, fm) = (g[rounds / 2], t[rounds / 2], f[rounds / 2]);
    println!(
        "tcp_echo interleaved x{rounds} ({} workers): goro median {gm:.2?} ({:.0} round trips/s), \
         tokio median {tm:.2?} ({:.0} round trips/s), goro/tokio throughput {:.2}; \
         no-runtime floor {fm:.2?} ({:.0} round trips/s, {:.2} x tokio)",
        workers(),
        rate(gm),
        rate(tm),
        rate(gm) / rate(tm),
        rate(fm),
        rate(fm) / rate(tm),
    );
    if many.is_some() {
        let (g8, t8) = (gm8[rounds / 2], tm8[rounds / 2]);
        println!(
            "tcp_echo interleaved x{rounds} ({MANY_WORKERS} workers, same rounds): goro median \
             {g8:.2?} ({:.0} round trips/s), tokio median {t8:.2?} ({:.0} round trips/s), \
             goro/tokio throughput {:.2}; goro {MANY_WORKERS} workers / goro {} workers {:.2}",
            rate(g8),
            rate(t8),
            rate(g8) / rate(t8),
            workers(),
            rate(g8) / rate(gm),
        );
    }
}

/// `TCP_ECHO_ONLY`: one side alone, `rounds` times, median printed.
fn one_side(
    only: &str,
    goro_rt: &goro::runtime::Runtime,
    tokio_rt: &tokio::runtime::Runtime,
    rounds: usize,
) {
    let mut d: Vec<Duration> = (0..rounds)
        .map(|_| {
            let s = std::time::Instant::now();
            match only {
                "goro" => goro_rt.block_on(goro_echo_round()),
                "tokio" => tokio_rt.block_on(tokio_echo_round()),
                "floor" => floor_round(),
                other => panic!("TCP_ECHO_ONLY={other}: expected goro, tokio or floor"),
            }
            s.elapsed()
        })
        .collect();
    d.sort();
    let m = d[rounds / 2];
    println!(
        "tcp_echo {only} x{rounds} ({} workers): median {m:.2?} ({:.0} round trips/s)",
        workers(),
        (CONNS * ROUNDS) as f64 / m.as_secs_f64()
    );
}

fn tcp_echo(c: &mut Criterion) {
    let mut g = c.benchmark_group("tcp_echo");
    g.throughput(Throughput::Elements((CONNS * ROUNDS) as u64));
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(8));
    let goro_rt = goro_runtime(workers());
    let tokio_rt = tokio_runtime(workers());
    // TCP_ECHO_INTERLEAVED=0 skips the interleaved pass (for profiling one
    // side with criterion's --profile-time).
    let rounds = std::env::var("TCP_ECHO_INTERLEAVED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9);
    if let Ok(only) = std::env::var("TCP_ECHO_ONLY") {
        one_side(&only, &goro_rt, &tokio_rt, rounds.max(1));
        std::process::exit(0);
    }
    if rounds > 0 {
        interleaved(&goro_rt, &tokio_rt, rounds);
    }
    g.bench_function("goro", |b| b.iter(|| goro_rt.block_on(goro_echo_round())));
    g.bench_function("tokio", |b| {
        b.iter(|| tokio_rt.block_on(tokio_echo_round()))
    });
    g.finish();
}

criterion_group!(benches, tcp_echo);
criterion_main!(benches);
