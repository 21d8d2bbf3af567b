//! Child-process latency and throughput: goro::process against
//! tokio::process, each on a two-worker multi-thread runtime, interleaved
//! round by round (goro, then tokio) so machine drift shows up as spread
//! between rounds rather than as a false ratio.
//!
//! * `spawn_wait`: one `true` at a time; the time from `spawn` to the end
//!   of `wait` (fork/exec, the child's run, the exit notification and the
//!   reap), averaged over `SEQ` children per round.
//! * `concurrent_100`: 100 `true` children spawned at once from 100 tasks,
//!   all awaited; the time per child.
//!
//! `flock /tmp/goro-bench.lock cargo bench --bench process`

use std::time::{Duration, Instant};

const ROUNDS: usize = 7;
const SEQ: usize = 200;
const BATCH: usize = 100;

fn goro_rt() -> goro::runtime::Runtime {
    goro::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn goro_seq(rt: &goro::runtime::Runtime) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..SEQ {
            let mut c = goro::process::Command::new("true").spawn().unwrap();
            assert!(c.wait().await.unwrap().success());
        }
        start.elapsed() / SEQ as u32
    })
}

fn tokio_seq(rt: &tokio::runtime::Runtime) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..SEQ {
            let mut c = tokio::process::Command::new("true").spawn().unwrap();
            assert!(c.wait().await.unwrap().success());
        }
        start.elapsed() / SEQ as u32
    })
}

fn goro_batch(rt: &goro::runtime::Runtime) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..BATCH)
            .map(|_| goro::spawn(async { goro::process::Command::new("true").status().await }))
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().unwrap().success());
        }
        start.elapsed() / BATCH as u32
    })
}

fn tokio_batch(rt: &tokio::runtime::Runtime) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..BATCH)
            .map(|_| tokio::spawn(async { tokio::process::Command::new("true").status().await }))
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().unwrap().success());
        }
        start.elapsed() / BATCH as u32
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn report(name: &str, goro: Vec<Duration>, tokio: Vec<Duration>) {
    let (g, t) = (median(goro), median(tokio));
    println!(
        "{name:<16} goro {:>8.1} us/child  tokio {:>8.1} us/child  goro/tokio {:.2}",
        g.as_secs_f64() * 1e6,
        t.as_secs_f64() * 1e6,
        g.as_secs_f64() / t.as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; no other option is taken.
    let (grt, trt) = (goro_rt(), tokio_rt());
    // Warm-up: page cache, both runtimes' worker and blocking threads.
    goro_seq(&grt);
    tokio_seq(&trt);
    let (mut gs, mut ts, mut gb, mut tb) = (vec![], vec![], vec![], vec![]);
    for _ in 0..ROUNDS {
        gs.push(goro_seq(&grt));
        ts.push(tokio_seq(&trt));
        gb.push(goro_batch(&grt));
        tb.push(tokio_batch(&trt));
    }
    println!("process: median of {ROUNDS} interleaved rounds, 2 workers each");
    report("spawn_wait", gs, ts);
    report("concurrent_100", gb, tb);
}
