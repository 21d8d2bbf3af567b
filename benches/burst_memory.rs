//! burst_memory: resident memory after a burst of 1,000,000 tasks that
//! each sleep 10 ms, on goro and on tokio (2 worker threads each).
//!
//! Each measurement runs in a fresh child process (this binary re-executed
//! with `GORO_BURST_MEMORY_CHILD=goro|tokio`), so neither runtime starts
//! with memory the other freed. A child prints four resident-set figures
//! (`/proc/self/statm`): before the burst (runtime built and warmed), the
//! peak seen while the tasks ran, 1 s after the last task finished with
//! the runtime alive, and 1 s after the runtime was dropped. The target
//! for goro is `alive` and `dropped` ≤ 2 × `before` + 16 MiB.
//!
//! The tasks are spawned from inside the runtime (`block_on`), as a
//! server's accept loop would, and counted out through an atomic, so the
//! benchmark holds no per-task memory of its own.
//!
//! Run: `cargo bench --bench burst_memory [-- ROUNDS]` (default 3 rounds,
//! goro and tokio interleaved; the medians are printed).

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod memory;
use memory::rss;

const TASKS: usize = 1_000_000;
const SLEEP: Duration = Duration::from_millis(10);
const SETTLE: Duration = Duration::from_secs(1);
const CHILD_ENV: &str = "GORO_BURST_MEMORY_CHILD";
const ARMS: [&str; 2] = ["goro", "tokio"];
const MIB: f64 = 1024.0 * 1024.0;

fn main() {
    if let Ok(which) = std::env::var(CHILD_ENV) {
        let figures = match which.as_str() {
            "goro" => goro_child(),
            "tokio" => tokio_child(),
            other => panic!("{CHILD_ENV}={other:?}: expected one of {ARMS:?}"),
        };
        println!("{}", figures.map(|f| f.to_string()).join(" "));
        return;
    }
    let rounds: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let exe = std::env::current_exe().expect("path of this benchmark");
    let mut results: Vec<Vec<[usize; 4]>> = vec![Vec::new(); ARMS.len()];
    for round in 0..rounds {
        for (which, samples) in ARMS.iter().zip(&mut results) {
            let out = Command::new(&exe)
                .env(CHILD_ENV, which)
                .output()
                .expect("run a measurement child");
            let text = String::from_utf8_lossy(&out.stdout);
            let figs: Vec<usize> = text
                .split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect();
            match <[usize; 4]>::try_from(figs) {
                Ok(f) if out.status.success() => {
                    println!(
                        "round {round} {which:<5} before {:6.1} MiB  peak {:6.1}  alive+1s {:6.1}  dropped+1s {:6.1}",
                        f[0] as f64 / MIB,
                        f[1] as f64 / MIB,
                        f[2] as f64 / MIB,
                        f[3] as f64 / MIB
                    );
                    samples.push(f);
                }
                _ => eprintln!(
                    "burst_memory: {which} failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            }
        }
    }
    println!(
        "burst of {TASKS} tasks sleeping {SLEEP:?}, RSS in MiB, median of {rounds} fresh processes"
    );
    println!(
        "{:<6} {:>8} {:>8} {:>10} {:>12} {:>8}",
        "", "before", "peak", "alive+1s", "dropped+1s", "target"
    );
    for (which, samples) in ARMS.iter().zip(&results) {
        if samples.is_empty() {
            println!("{which:<6} failed");
            continue;
        }
        let med = |i: usize| {
            let mut v: Vec<usize> = samples.iter().map(|s| s[i]).collect();
            v.sort_unstable();
            v[v.len() / 2] as f64 / MIB
        };
        let target = 2.0 * med(0) + 16.0;
        let ok = |x: f64| if x <= target { "ok" } else { "over" };
        println!(
            "{which:<6} {:>8.1} {:>8.1} {:>7.1} {:<2} {:>9.1} {:<2} {:>8.1}",
            med(0),
            med(1),
            med(2),
            ok(med(2)),
            med(3),
            ok(med(3)),
            target
        );
    }
}

/// Watches `done` until every task finished, sampling the peak RSS.
fn wait_done(done: &AtomicUsize) -> usize {
    let mut peak = rss();
    let start = Instant::now();
    while done.load(Ordering::Acquire) < TASKS {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the burst did not finish"
        );
        peak = peak.max(rss());
        std::thread::sleep(Duration::from_millis(2));
    }
    peak.max(rss())
}

fn goro_child() -> [usize; 4] {
    let rt = goro::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("goro runtime");
    rt.block_on(async {
        for _ in 0..1_000 {
            goro::spawn(goro::time::sleep(Duration::from_micros(10)))
                .await
                .unwrap();
        }
    });
    let before = rss();
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    rt.block_on(async move {
        for _ in 0..TASKS {
            let d = d.clone();
            drop(goro::spawn(async move {
                goro::time::sleep(SLEEP).await;
                d.fetch_add(1, Ordering::Release);
            }));
        }
    });
    let peak = wait_done(&done);
    std::thread::sleep(SETTLE);
    let alive = rss();
    drop(rt);
    std::thread::sleep(SETTLE);
    [before, peak, alive, rss()]
}

fn tokio_child() -> [usize; 4] {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        for _ in 0..1_000 {
            tokio::spawn(tokio::time::sleep(Duration::from_micros(10)))
                .await
                .unwrap();
        }
    });
    let before = rss();
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    rt.block_on(async move {
        for _ in 0..TASKS {
            let d = d.clone();
            drop(tokio::spawn(async move {
                tokio::time::sleep(SLEEP).await;
                d.fetch_add(1, Ordering::Release);
            }));
        }
    });
    let peak = wait_done(&done);
    std::thread::sleep(SETTLE);
    let alive = rss();
    drop(rt);
    std::thread::sleep(SETTLE);
    [before, peak, alive, rss()]
}
