//! Scheduler benchmarks: goro against tokio, workload by workload.
//!
//! ```text
//! cargo bench --bench scheduler                 # everything (~2 minutes)
//! cargo bench --bench scheduler -- yield_many   # one group
//! ```
//!
//! Each workload is one criterion group holding the same code on three
//! runtimes, measured in the same run, one after the other:
//!
//! - `goro_mt`  — goro, multi-thread, 2 workers
//! - `tokio_mt` — tokio, multi-thread, 2 workers
//! - `tokio_ct` — tokio, current-thread (the `block_on` thread runs everything)
//!
//! The workloads (criterion's throughput is per *operation*, so it prints
//! operations per second; the summary at the end prints ns per operation
//! from criterion's medians and the goro/tokio ratios):
//!
//! - `spawn_local`   — a task spawns 200,000 no-op tasks and awaits them all.
//! - `spawn_remote`  — the bench thread (outside the runtime) spawns 200,000
//!   no-op tasks, then awaits them all.
//! - `yield_many`    — 256 tasks each call `yield_now` 2,000 times.
//! - `chained_spawn` — each task spawns the next, 1,000 deep; the last one
//!   signals the `block_on` future.
//! - `ping_pong`     — two tasks hand a value back and forth through two
//!   [`Slot`]s (the same minimal Waker-based hand-off on every runtime),
//!   100,000 round trips.
//!
//! The goro arms are kept in the `goro_arms` module, one function per
//! workload, mirroring `tokio_arms` line for line. Idle memory per parked
//! task is the separate `idle_memory` bench; Go's figures come from
//! `benches/go/sched.go`.
//!
//! The machine these run on is small and shared, so treat single runs as
//! noisy: compare the runtimes within one run, and repeat.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, SamplingMode, Throughput};

mod slot;
use slot::Slot;

// The `goro` facade does not re-export the executor yet (its src/lib.rs only
// re-exports goro-coop); until it does, `goro::` here means the executor
// crate, whose paths the facade will mirror. Delete this line when it does.
use goro_executor as goro;

/// Worker threads for both multi-thread runtimes.
const WORKERS: usize = 2;
/// Tasks spawned per iteration by `spawn_local` and `spawn_remote`.
const SPAWNS: usize = 200_000;
/// Tasks in `yield_many`, and `yield_now` calls each makes.
const YIELD_TASKS: usize = 256;
const YIELDS: usize = 2_000;
/// Length of the `chained_spawn` chain.
const CHAIN: usize = 1_000;
/// Round trips in `ping_pong`.
const ROUND_TRIPS: usize = 100_000;

/// The workloads, with how many operations one iteration performs.
const WORKLOADS: [(&str, usize); 5] = [
    ("spawn_local", SPAWNS),
    ("spawn_remote", SPAWNS),
    ("yield_many", YIELD_TASKS * YIELDS),
    ("chained_spawn", CHAIN),
    ("ping_pong", ROUND_TRIPS),
];

/// The runtimes, in the order each group runs them.
const RUNTIMES: [&str; 3] = ["goro_mt", "tokio_mt", "tokio_ct"];

/// Every arm, so the groups can be driven by one loop.
struct Arms {
    goro_mt: goro::runtime::Runtime,
    tokio_mt: tokio::runtime::Runtime,
    tokio_ct: tokio::runtime::Runtime,
}

impl Arms {
    fn new() -> Arms {
        Arms {
            goro_mt: goro::runtime::Builder::new_multi_thread()
                .worker_threads(WORKERS)
                .build()
                .expect("goro runtime"),
            tokio_mt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(WORKERS)
                .build()
                .expect("tokio multi-thread runtime"),
            tokio_ct: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("tokio current-thread runtime"),
        }
    }

    /// Runs `workload` once on `runtime`.
    fn run(&self, runtime: &str, workload: &str) {
        match runtime {
            "goro_mt" => goro_arms::run(&self.goro_mt, workload),
            "tokio_mt" => tokio_arms::run(&self.tokio_mt, workload),
            "tokio_ct" => tokio_arms::run(&self.tokio_ct, workload),
            other => unreachable!("unknown runtime {other}"),
        }
    }
}

/// The tokio arms; both flavors run the same functions.
mod tokio_arms {
    use super::*;
    use tokio::runtime::Runtime;

    pub fn run(rt: &Runtime, workload: &str) {
        match workload {
            "spawn_local" => spawn_local(rt),
            "spawn_remote" => spawn_remote(rt),
            "yield_many" => yield_many(rt),
            "chained_spawn" => chained_spawn(rt),
            "ping_pong" => ping_pong(rt),
            other => unreachable!("unknown workload {other}"),
        }
    }

    fn spawn_local(rt: &Runtime) {
        rt.block_on(async {
            tokio::spawn(async {
                let tasks: Vec<_> = (0..SPAWNS).map(|_| tokio::spawn(async {})).collect();
                for task in tasks {
                    task.await.unwrap();
                }
            })
            .await
            .unwrap();
        });
    }

    fn spawn_remote(rt: &Runtime) {
        let tasks: Vec<_> = (0..SPAWNS).map(|_| rt.spawn(async {})).collect();
        rt.block_on(async {
            for task in tasks {
                task.await.unwrap();
            }
        });
    }

    fn yield_many(rt: &Runtime) {
        rt.block_on(async {
            tokio::spawn(async {
                let tasks: Vec<_> = (0..YIELD_TASKS)
                    .map(|_| {
                        tokio::spawn(async {
                            for _ in 0..YIELDS {
                                tokio::task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
            })
            .await
            .unwrap();
        });
    }

    fn chained_spawn(rt: &Runtime) {
        fn link(done: Arc<Slot<()>>, left: usize) {
            if left == 0 {
                done.put(());
            } else {
                tokio::spawn(async move { link(done, left - 1) });
            }
        }
        rt.block_on(async {
            let done = Arc::new(Slot::default());
            let end = done.clone();
            tokio::spawn(async move { link(end, CHAIN) });
            done.take().await;
        });
    }

    fn ping_pong(rt: &Runtime) {
        rt.block_on(async {
            tokio::spawn(async {
                let (ping, pong) = (Arc::new(Slot::default()), Arc::new(Slot::default()));
                let (ping2, pong2) = (ping.clone(), pong.clone());
                let echo = tokio::spawn(async move {
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
                echo.await.unwrap();
                assert_eq!(ball, ROUND_TRIPS);
            })
            .await
            .unwrap();
        });
    }
}

// ----------------------------------------------------------------------------
// GORO ARMS: the same workloads, line for line, on goro's runtime.
// ----------------------------------------------------------------------------
mod goro_arms {
    use super::{goro, Arc, Slot, CHAIN, ROUND_TRIPS, SPAWNS, YIELDS, YIELD_TASKS};
    use goro::runtime::Runtime;

    pub fn run(rt: &Runtime, workload: &str) {
        match workload {
            "spawn_local" => spawn_local(rt),
            "spawn_remote" => spawn_remote(rt),
            "yield_many" => yield_many(rt),
            "chained_spawn" => chained_spawn(rt),
            "ping_pong" => ping_pong(rt),
            other => unreachable!("unknown workload {other}"),
        }
    }

    fn spawn_local(rt: &Runtime) {
        rt.block_on(async {
            let root = goro::spawn(async {
                let tasks: Vec<_> = (0..SPAWNS).map(|_| goro::spawn(async {})).collect();
                for task in tasks {
                    assert!(task.await.is_ok());
                }
            });
            assert!(root.await.is_ok());
        });
    }

    fn spawn_remote(rt: &Runtime) {
        let tasks: Vec<_> = (0..SPAWNS).map(|_| rt.spawn(async {})).collect();
        rt.block_on(async {
            for task in tasks {
                assert!(task.await.is_ok());
            }
        });
    }

    fn yield_many(rt: &Runtime) {
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
    }

    fn chained_spawn(rt: &Runtime) {
        fn link(done: Arc<Slot<()>>, left: usize) {
            if left == 0 {
                done.put(());
            } else {
                goro::spawn(async move { link(done, left - 1) });
            }
        }
        rt.block_on(async {
            let done = Arc::new(Slot::default());
            let end = done.clone();
            goro::spawn(async move { link(end, CHAIN) });
            done.take().await;
        });
    }

    fn ping_pong(rt: &Runtime) {
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
    }
}

fn main() {
    let started = SystemTime::now();
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let arms = Arms::new();
    for (workload, ops) in WORKLOADS {
        let mut group = criterion.benchmark_group(workload);
        group.throughput(Throughput::Elements(ops as u64));
        if ops >= SPAWNS / 2 {
            // Iterations take milliseconds: a flat sample count keeps the
            // run within its time budget.
            group.sampling_mode(SamplingMode::Flat);
        }
        for runtime in RUNTIMES {
            group.bench_function(runtime, |b| b.iter(|| arms.run(runtime, workload)));
        }
        group.finish();
    }
    criterion.final_summary();
    drop(arms);
    print_summary(started);
}

/// Prints ns per operation (criterion's median time per iteration divided by
/// the operations in one iteration) and the goro/tokio ratios, for every
/// group this run measured.
fn print_summary(started: SystemTime) {
    let Some(dir) = criterion_dir() else {
        return;
    };
    println!();
    println!("median ns/op      goro_mt   tokio_mt   tokio_ct   goro/tokio_mt   goro/tokio_ct");
    for (workload, ops) in WORKLOADS {
        let ns: Vec<Option<f64>> = RUNTIMES
            .iter()
            .map(|runtime| median_ns(&dir, workload, runtime, started).map(|t| t / ops as f64))
            .collect();
        if ns.iter().all(Option::is_none) {
            continue;
        }
        let cell = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:.2}", a / b),
            _ => "-".to_string(),
        };
        println!(
            "{workload:<15} {:>9} {:>10} {:>10} {:>15} {:>15}",
            cell(ns[0]),
            cell(ns[1]),
            cell(ns[2]),
            ratio(ns[0], ns[1]),
            ratio(ns[0], ns[2]),
        );
    }
}

/// Where criterion writes its results: `$CRITERION_HOME`, else
/// `<target>/criterion`, with the target directory taken from
/// `$CARGO_TARGET_DIR` or from this executable's path (`target/<profile>/deps/`).
fn criterion_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(home.into());
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.ancestors().nth(3)?.join("criterion"))
}

/// Criterion's median time per iteration, in ns, if this run measured it.
fn median_ns(dir: &std::path::Path, group: &str, function: &str, since: SystemTime) -> Option<f64> {
    let path = dir.join(group).join(function).join("new/estimates.json");
    if std::fs::metadata(&path).ok()?.modified().ok()? < since {
        return None; // left over from an earlier run
    }
    let json = std::fs::read_to_string(path).ok()?;
    // `{"mean":{..},"median":{"confidence_interval":{..},"point_estimate":X,..},..}`
    let median = &json[json.find("\"median\"")?..];
    let estimate = &median[median.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = estimate.find([',', '}'])?;
    estimate[..end].trim().parse().ok()
}
