//! A single-runtime probe of the scheduler's hot paths, for tuning: goro
//! only, no criterion, one workload per process, so that its instructions
//! can be counted under callgrind and its time compared between two builds
//! run alternately.
//!
//!     cargo bench --bench probe -- yield            # median ns per yield_now
//!     PROBE_ROUNDS=2 valgrind --tool=callgrind target/release/deps/probe-<hash> yield
//!
//! Workloads (the same shapes as `benches/scheduler.rs`, 2 workers):
//! `yield` (256 tasks × 2,000 `yield_now`, ns per yield), `chain` (40 chains
//! of 1,000 spawns, ns per spawn) and `ping` (two tasks, 100,000 round trips
//! through the bench slot, ns per round trip). `PROBE_ROUNDS` (default 25)
//! sets how many times the workload runs; the median is printed.
//!
//! docs/architecture.md, "Third session", was measured with this probe.

use std::sync::Arc;
use std::time::Instant;

#[allow(dead_code)]
mod slot;
use slot::Slot;

const YIELD_TASKS: usize = 256;
const YIELDS: usize = 2_000;
const CHAINS: usize = 40;
const CHAIN: usize = 1_000;
const ROUND_TRIPS: usize = 100_000;

fn yield_many(rt: &goro::runtime::Runtime) -> usize {
    rt.block_on(async {
        let root = goro::spawn(async {
            let tasks: Vec<_> = (0..YIELD_TASKS)
                .map(|_| {
                    goro::spawn(async {
                        for _ in 0..YIELDS {
                            goro::task::yield_now().await;
                        }
                    })
                })
                .collect();
            for task in tasks {
                assert!(task.await.is_ok());
            }
        });
        assert!(root.await.is_ok());
    });
    YIELD_TASKS * YIELDS
}

fn chained_spawn(rt: &goro::runtime::Runtime) -> usize {
    fn link(done: Arc<Slot<()>>, left: usize) {
        if left == 0 {
            done.put(());
        } else {
            goro::spawn(async move { link(done, left - 1) });
        }
    }
    for _ in 0..CHAINS {
        rt.block_on(async {
            let done = Arc::new(Slot::default());
            let end = done.clone();
            goro::spawn(async move { link(end, CHAIN) });
            done.take().await;
        });
    }
    CHAINS * CHAIN
}

fn ping_pong(rt: &goro::runtime::Runtime) -> usize {
    rt.block_on(async {
        let root = goro::spawn(async {
            let (ping, pong) = (Arc::new(Slot::default()), Arc::new(Slot::default()));
            let (ping2, pong2) = (ping.clone(), pong.clone());
            let echo = goro::spawn(async move {
                for _ in 0..ROUND_TRIPS {
                    let ball: usize = ping2.take().await;
                    pong2.put(ball + 1);
                }
            });
            let mut ball = 0;
            for _ in 0..ROUND_TRIPS {
                ping.put(ball);
                ball = pong.take().await;
            }
            assert!(echo.await.is_ok());
            assert_eq!(ball, ROUND_TRIPS);
        });
        assert!(root.await.is_ok());
    });
    ROUND_TRIPS
}

fn main() {
    // `cargo bench` passes `--bench`; the first other argument names the workload.
    let workload = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "yield".to_string());
    let run: fn(&goro::runtime::Runtime) -> usize = match workload.as_str() {
        "yield" => yield_many,
        "chain" => chained_spawn,
        "ping" => ping_pong,
        other => {
            eprintln!("probe: unknown workload {other:?}; expected yield, chain or ping");
            std::process::exit(2);
        }
    };
    let rounds: usize = match std::env::var("PROBE_ROUNDS") {
        Ok(v) => match v.parse() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("probe: PROBE_ROUNDS must be a positive integer, got {v:?}");
                std::process::exit(2);
            }
        },
        Err(_) => 25,
    };
    let rt = goro::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a 2-worker runtime");
    let mut ns: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            let ops = run(&rt);
            start.elapsed().as_nanos() as f64 / ops as f64
        })
        .collect();
    ns.sort_by(f64::total_cmp);
    println!(
        "{workload}: median {:.1} ns per op over {rounds} rounds (min {:.1}, max {:.1})",
        ns[ns.len() / 2],
        ns[0],
        ns[ns.len() - 1]
    );
}
