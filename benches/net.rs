//! tcp_echo: 64 connections, each 2,000 round trips of 64 bytes, server and
//! clients in the same runtime (2 worker threads), goro against tokio's
//! multi-thread runtime in one criterion group. Throughput is reported in
//! round trips per second.
//!
//! The two sides are written the same way: an accept loop that spawns one
//! echo task per connection, and one spawned client task per connection
//! doing write-64 / read-64 in lockstep with TCP_NODELAY.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

const CONNS: usize = 64;
const ROUNDS: usize = 2_000;
const MSG: usize = 64;
const WORKERS: usize = 2;

// ----------------------------------------------------------------- tokio --

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
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

fn goro_runtime() -> goro::runtime::Runtime {
    goro::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
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

// ----------------------------------------------------------------- bench --

fn tcp_echo(c: &mut Criterion) {
    let mut g = c.benchmark_group("tcp_echo");
    g.throughput(Throughput::Elements((CONNS * ROUNDS) as u64));
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(8));
    let goro_rt = goro_runtime();
    let tokio_rt = tokio_runtime();
    g.bench_function("goro", |b| b.iter(|| goro_rt.block_on(goro_echo_round())));
    g.bench_function("tokio", |b| b.iter(|| tokio_rt.block_on(tokio_echo_round())));
    g.finish();
}

criterion_group!(benches, tcp_echo);
criterion_main!(benches);
