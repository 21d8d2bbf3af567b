//! timer_churn: create and cancel 1,000,000 sleeps, goro against tokio
//! (multi-thread runtimes, 2 workers) in one criterion group.
//!
//! * `held`: register all 1M sleeps (poll each once, so each is really in
//!   the timer wheel), then drop them all: a million pending timers at once.
//! * `one_by_one`: create, register and cancel one sleep at a time.
//!
//! Both sides poll without coop budget (each runtime's `unconstrained`),
//! so every poll really registers its timer. Each side uses its natural
//! idiom: tokio's `Sleep` is `!Unpin` and is boxed to be held; goro's is
//! `Unpin` (its entry lives in the wheel's slab).

use criterion::{criterion_group, criterion_main, Criterion};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

#[path = "workloads/timers.rs"]
mod timers;
use timers::N;

const WORKERS: usize = 2;
/// Deadlines 1 to 101 s: spread over the wheel's levels 1-3, like real
/// timeouts.
const BASE_MS: u64 = 1_000;

fn delay(i: usize) -> Duration {
    timers::delay::<BASE_MS>(i)
}

// ----------------------------------------------------------------- tokio --

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .unwrap()
}

async fn tokio_held() {
    let mut v: Vec<Pin<Box<tokio::time::Sleep>>> = (0..N)
        .map(|i| Box::pin(tokio::time::sleep(delay(i))))
        .collect();
    poll_fn(|cx| {
        for s in &mut v {
            assert!(s.as_mut().poll(cx).is_pending());
        }
        Poll::Ready(())
    })
    .await;
    drop(v);
}

async fn tokio_one_by_one() {
    poll_fn(|cx| {
        for i in 0..N {
            let mut s = std::pin::pin!(tokio::time::sleep(delay(i)));
            assert!(s.as_mut().poll(cx).is_pending());
        }
        Poll::Ready(())
    })
    .await;
}

// ------------------------------------------------------------------ goro --

fn goro_runtime() -> goro::runtime::Runtime {
    goro::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()
        .unwrap()
}

async fn goro_held() {
    timers::held::<BASE_MS>().await
}

async fn goro_one_by_one() {
    timers::one_by_one::<BASE_MS>().await
}

// ----------------------------------------------------------------- bench --

/// Alternates goro and tokio so both see the same machine noise; prints
/// medians and the time ratio for each variant.
fn interleaved(
    goro_rt: &goro::runtime::Runtime,
    tokio_rt: &tokio::runtime::Runtime,
    rounds: usize,
) {
    let time = |f: &mut dyn FnMut()| {
        let s = std::time::Instant::now();
        f();
        s.elapsed()
    };
    for variant in ["held", "one_by_one"] {
        let (mut g, mut t) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            if variant == "held" {
                g.push(time(&mut || goro_rt.block_on(goro_held())));
                t.push(time(&mut || {
                    tokio_rt.block_on(tokio::task::unconstrained(tokio_held()))
                }));
            } else {
                g.push(time(&mut || goro_rt.block_on(goro_one_by_one())));
                t.push(time(&mut || {
                    tokio_rt.block_on(tokio::task::unconstrained(tokio_one_by_one()))
                }));
            }
        }
        g.sort();
        t.sort();
        let (gm, tm) = (g[rounds / 2], t[rounds / 2]);
        println!(
            "timer_churn/{variant} interleaved x{rounds}: goro median {gm:.1?}, tokio median {tm:.1?}, \
             goro/tokio time {:.2}",
            gm.as_secs_f64() / tm.as_secs_f64()
        );
    }
}

fn timer_churn(c: &mut Criterion) {
    let mut g = c.benchmark_group("timer_churn");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(5));
    let goro_rt = goro_runtime();
    let tokio_rt = tokio_runtime();
    // TIMER_CHURN_INTERLEAVED=0 skips the interleaved pass (for profiling
    // one side with criterion's --profile-time).
    let rounds = std::env::var("TIMER_CHURN_INTERLEAVED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11);
    if rounds > 0 {
        interleaved(&goro_rt, &tokio_rt, rounds);
    }
    g.bench_function("goro/held", |b| b.iter(|| goro_rt.block_on(goro_held())));
    g.bench_function("tokio/held", |b| {
        b.iter(|| tokio_rt.block_on(tokio::task::unconstrained(tokio_held())))
    });
    g.bench_function("goro/one_by_one", |b| {
        b.iter(|| goro_rt.block_on(goro_one_by_one()))
    });
    g.bench_function("tokio/one_by_one", |b| {
        b.iter(|| tokio_rt.block_on(tokio::task::unconstrained(tokio_one_by_one())))
    });
    g.finish();
}

criterion_group!(benches, timer_churn);
criterion_main!(benches);
