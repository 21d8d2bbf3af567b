//! shutdown: how long `shutdown_timeout(200 ms)` and `shutdown_background()`
//! take on goro and on tokio (2 worker threads each) when one task is stuck
//! inside a poll: a loop that never yields (stopped through an atomic once
//! the call has returned, so no thread keeps spinning) or a 3 s blocking
//! sleep. goro and tokio alternate run by run in one process; the medians
//! are printed.
//!
//! Run: `cargo bench --bench shutdown [-- RUNS]` (default 5 runs each).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_millis(200);

#[derive(Clone, Copy)]
enum Stuck {
    Spin,
    Sleep3s,
}

#[derive(Clone, Copy)]
enum How {
    Timeout,
    Background,
}

/// The stuck poll's body; `stop` ends a spin.
fn stuck_body(stuck: Stuck, stop: &AtomicBool, started: &mpsc::Sender<()>) {
    let _ = started.send(());
    match stuck {
        Stuck::Spin => {
            while !stop.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
        }
        Stuck::Sleep3s => std::thread::sleep(Duration::from_secs(3)),
    }
}

fn goro_run(stuck: Stuck, how: How) -> Duration {
    let rt = goro::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let s = stop.clone();
    drop(rt.spawn(async move { stuck_body(stuck, &s, &tx) }));
    rx.recv().unwrap();
    let start = Instant::now();
    match how {
        How::Timeout => rt.shutdown_timeout(TIMEOUT),
        How::Background => rt.shutdown_background(),
    }
    let took = start.elapsed();
    stop.store(true, Ordering::SeqCst);
    took
}

fn tokio_run(stuck: Stuck, how: How) -> Duration {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let s = stop.clone();
    drop(rt.spawn(async move { stuck_body(stuck, &s, &tx) }));
    rx.recv().unwrap();
    let start = Instant::now();
    match how {
        How::Timeout => rt.shutdown_timeout(TIMEOUT),
        How::Background => rt.shutdown_background(),
    }
    let took = start.elapsed();
    stop.store(true, Ordering::SeqCst);
    took
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    println!("shutdown with one task stuck in a poll, 2 workers, median of {runs} runs");
    for (name, stuck, how) in [
        ("shutdown_timeout(200ms), spin", Stuck::Spin, How::Timeout),
        (
            "shutdown_timeout(200ms), 3 s sleep",
            Stuck::Sleep3s,
            How::Timeout,
        ),
        ("shutdown_background, spin", Stuck::Spin, How::Background),
        (
            "shutdown_background, 3 s sleep",
            Stuck::Sleep3s,
            How::Background,
        ),
    ] {
        let (mut g, mut t) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            g.push(goro_run(stuck, how));
            t.push(tokio_run(stuck, how));
        }
        println!(
            "{name:<36} goro {:>10.3?}  tokio {:>10.3?}",
            median(&mut g),
            median(&mut t)
        );
    }
}
