//! goro::sync against tokio::sync, interleaved in one run (each pair is
//! measured twice, goro then tokio, so drift on the shared machine shows
//! up as a difference between rounds rather than as a false ratio).
//!
//! `cargo bench --bench sync -- --warm-up-time 1 --measurement-time 3`
//! (`-- oneshot` for the oneshot rows alone)

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use criterion::{criterion_group, Criterion};
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

/// The oneshot rows' rounds over goro's oneshot, in whatever task runs
/// them (see [`oneshot_park_send_recv`]).
async fn goro_rounds() {
    for i in 0..ITERS {
        let (tx, mut rx) = goro_sync::oneshot::channel::<usize>();
        std::future::poll_fn(|cx| {
            assert!(Pin::new(&mut rx).poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        tx.send(i).unwrap();
        assert_eq!(rx.await, Ok(i));
    }
}

/// The same rounds over tokio's oneshot.
async fn tokio_rounds() {
    for i in 0..ITERS {
        let (tx, mut rx) = tokio::sync::oneshot::channel::<usize>();
        std::future::poll_fn(|cx| {
            assert!(Pin::new(&mut rx).poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        tx.send(i).unwrap();
        assert_eq!(rx.await, Ok(i));
    }
}

/// One spawned task runs `ITERS` rounds of: make a channel, poll the
/// receiver once (it parks: the task's waker goes into the channel), send
/// (which takes the waker out and wakes the task, already running), and
/// receive. So each round is a channel's life with one park: allocation,
/// waker registration, wake, free. The rows: goro's oneshot in a goro
/// task (its waker kept as one word), goro's in a tokio task (a foreign
/// waker, boxed), and tokio's in a tokio task; each runtime has two
/// workers.
fn oneshot_park_send_recv(c: &mut Criterion) {
    let goro_rt = goro::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();

    let mut g = c.benchmark_group("oneshot_park_send_recv_2000");
    for round in 0..2 {
        g.bench_function(format!("goro_on_goro/r{round}"), |b| {
            b.iter(|| goro_rt.block_on(goro_rt.spawn(goro_rounds())).unwrap())
        });
        g.bench_function(format!("goro_on_tokio/r{round}"), |b| {
            b.iter(|| tokio_rt.block_on(tokio_rt.spawn(goro_rounds())).unwrap())
        });
        g.bench_function(format!("tokio_on_tokio/r{round}"), |b| {
            b.iter(|| tokio_rt.block_on(tokio_rt.spawn(tokio_rounds())).unwrap())
        });
    }
    g.finish();
}

/// `SYNC_ONESHOT_ROUNDS=<n> sync-<hash> <row>` runs `n` times the
/// oneshot row's rounds on a current-thread runtime and exits, without
/// criterion: a fixed amount of work for an instruction count
/// (`valgrind --tool=callgrind`). Rows: `goro_on_goro`, `goro_on_tokio`,
/// `tokio_on_tokio`.
fn oneshot_rounds_alone(rounds: usize, row: &str) {
    match row {
        "goro_on_goro" => {
            let rt = goro::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            for _ in 0..rounds {
                rt.block_on(rt.spawn(goro_rounds())).unwrap();
            }
        }
        "goro_on_tokio" | "tokio_on_tokio" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            for _ in 0..rounds {
                if row == "goro_on_tokio" {
                    rt.block_on(rt.spawn(goro_rounds())).unwrap();
                } else {
                    rt.block_on(rt.spawn(tokio_rounds())).unwrap();
                }
            }
        }
        other => panic!("unknown oneshot row {other:?}"),
    }
}

criterion_group!(
    benches,
    mutex_uncontended,
    mutex_contended,
    semaphore_uncontended,
    oneshot_park_send_recv
);

fn main() {
    if let Ok(rounds) = std::env::var("SYNC_ONESHOT_ROUNDS") {
        let rounds = rounds.parse().expect("SYNC_ONESHOT_ROUNDS: a number");
        let row = std::env::args().nth(1).expect("a oneshot row to run");
        oneshot_rounds_alone(rounds, &row);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
