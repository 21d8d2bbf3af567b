//! goro::sync against tokio::sync, interleaved in one run (each pair is
//! measured twice, goro then tokio, so drift on the shared machine shows
//! up as a difference between rounds rather than as a false ratio).
//!
//! `cargo bench --bench sync -- --warm-up-time 1 --measurement-time 3`

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use futures::executor::block_on;

const TASKS: usize = 4;
const ITERS: usize = 2_000;

fn mutex_uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("mutex_uncontended_lock_unlock");
    let goro = goro_sync::Mutex::new(0u64);
    let tokio = tokio::sync::Mutex::new(0u64);
    for round in 0..2 {
        g.bench_function(format!("goro/r{round}"), |b| {
            b.iter(|| *block_on(goro.lock()) += 1)
        });
        g.bench_function(format!("tokio/r{round}"), |b| {
            b.iter(|| *block_on(tokio.lock()) += 1)
        });
    }
    g.finish();
}

/// `TASKS` tasks each lock and increment `ITERS` times, on a two-worker
/// tokio runtime (both mutexes on the same executor).
fn mutex_contended(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let mut g = c.benchmark_group("mutex_contended_4x2000_tokio_mt");
    g.sample_size(20);
    for round in 0..2 {
        g.bench_function(format!("goro/r{round}"), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let m = Arc::new(goro_sync::Mutex::new(0usize));
                    let tasks: Vec<_> = (0..TASKS)
                        .map(|_| {
                            let m = m.clone();
                            tokio::spawn(async move {
                                for _ in 0..ITERS {
                                    *m.lock().await += 1;
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                    assert_eq!(*m.lock().await, TASKS * ITERS);
                })
            })
        });
        g.bench_function(format!("tokio/r{round}"), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let m = Arc::new(tokio::sync::Mutex::new(0usize));
                    let tasks: Vec<_> = (0..TASKS)
                        .map(|_| {
                            let m = m.clone();
                            tokio::spawn(async move {
                                for _ in 0..ITERS {
                                    *m.lock().await += 1;
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                    assert_eq!(*m.lock().await, TASKS * ITERS);
                })
            })
        });
    }
    g.finish();
}

fn semaphore_uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("semaphore_uncontended_acquire_release");
    let goro = goro_sync::Semaphore::new(4);
    let tokio = tokio::sync::Semaphore::new(4);
    for round in 0..2 {
        g.bench_function(format!("goro/r{round}"), |b| {
            b.iter(|| drop(block_on(goro.acquire()).unwrap()))
        });
        g.bench_function(format!("tokio/r{round}"), |b| {
            b.iter(|| drop(block_on(tokio.acquire()).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    mutex_uncontended,
    mutex_contended,
    semaphore_uncontended
);
criterion_main!(benches);
