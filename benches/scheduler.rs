//! Scheduler benchmarks: goro against tokio, workload by workload.
//!
//! ```text
//! cargo bench --bench scheduler                 # everything (~3 minutes)
//! cargo bench --bench scheduler -- yield_many   # one group
//! SCHED_INTERLEAVED=21 SCHED_CRITERION=0 cargo bench --bench scheduler
//! ```
//!
//! The run starts with an *interleaved* pass (`SCHED_INTERLEAVED` rounds,
//! 11 by default, 0 skips it): every round runs each runtime once on the
//! workload, in an order rotated each round, and the pass prints the
//! medians. This machine has slow phases lasting tens of seconds; criterion
//! measures one runtime's samples after the other's, so its ratios move
//! with those phases, while the interleaved ratios do not. Read the
//! interleaved table first. A second interleaved pass runs goro alone with
//! 2, 8 and 16 workers (more workers than this machine's cores) and prints
//! the 8- and 16-worker figures over the 2-worker ones
//! (`SCHED_OVERSUBSCRIBED=0` skips it). `SCHED_CRITERION=0` skips
//! criterion's groups.
//! `SCHED_EMPTY_HOOKS=1` installs empty poll hooks on goro's runtime.
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
//! The goro arms are kept in `benches/workloads` (shared with the `probe`
//! bench), one function per workload, mirroring `tokio_arms` line for line. Idle memory per parked
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
mod workloads;
use workloads::{goro_arms, CHAIN, ROUND_TRIPS, SPAWNS, WORKLOADS, YIELDS, YIELD_TASKS};

/// Worker threads for both multi-thread runtimes.
const WORKERS: usize = 2;
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
            goro_mt: {
                let mut b = goro::runtime::Builder::new_multi_thread();
                b.worker_threads(WORKERS);
                // SCHED_EMPTY_HOOKS=1: both poll hooks installed, doing
                // nothing (their cost; see docs/benchmarks.md).
                if std::env::var_os("SCHED_EMPTY_HOOKS").is_some_and(|v| v == "1") {
                    b.on_before_task_poll(|_| {}).on_after_task_poll(|_| {});
                }
                b.build().expect("goro runtime")
            },
            tokio_mt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(WORKERS)
                .build()
                .expect("tokio multi-thread runtime"),
            tokio_ct: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("tokio current-thread runtime"),
        }
    }

    /// Runs `workload` once on every runtime (a warm-up).
    fn run_all_once(&self, workload: &str) {
        for runtime in RUNTIMES {
            self.run(runtime, workload);
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

/// The interleaved pass: `rounds` rounds, each running every runtime once
/// on each selected workload, the order rotated every round, so that a slow
/// phase of this noisy machine (they last tens of seconds) falls on all
/// runtimes alike. Criterion's groups, which run every sample of one
/// runtime before the next, cannot do that; their ratios move with the
/// phases, the interleaved medians much less. Prints ns per operation.
fn interleaved(arms: &Arms, rounds: usize, selected: &dyn Fn(&str) -> bool) {
    let workloads = selected_workloads(selected);
    if rounds == 0 || workloads.is_empty() {
        return;
    }
    println!(
        "interleaved: {rounds} rounds, runtimes rotated each round (SCHED_INTERLEAVED=n sets them)"
    );
    println!("median ns/op      goro_mt   tokio_mt   tokio_ct   goro/tokio_mt   goro/tokio_ct");
    for (workload, ops) in workloads {
        arms.run_all_once(workload);
        let med = rotated_medians(RUNTIMES.len(), rounds, workload, ops, |r| {
            arms.run(RUNTIMES[r], workload)
        });
        println!(
            "{workload:<15} {:>9.1} {:>10.1} {:>10.1} {:>15.2} {:>15.2}",
            med[0],
            med[1],
            med[2],
            med[0] / med[1],
            med[0] / med[2],
        );
    }
    println!();
}

/// The workloads the filter selects, with their operations per iteration.
fn selected_workloads(selected: &dyn Fn(&str) -> bool) -> Vec<(&'static str, usize)> {
    WORKLOADS
        .iter()
        .copied()
        .filter(|(w, _)| selected(w))
        .collect()
}

/// `rounds` rounds of `run(i)` for each of `contenders`, the order rotated
/// every round; each contender's median ns per operation of `workload`
/// (`ops` per iteration, repeated as `workloads::reps` says).
fn rotated_medians(
    contenders: usize,
    rounds: usize,
    workload: &str,
    ops: usize,
    run: impl Fn(usize),
) -> Vec<f64> {
    let reps = workloads::reps(workload);
    let mut samples = vec![Vec::with_capacity(rounds); contenders];
    for round in 0..rounds {
        for k in 0..contenders {
            let r = (round + k) % contenders;
            let start = std::time::Instant::now();
            for _ in 0..reps {
                run(r);
            }
            samples[r].push(start.elapsed().as_nanos() as f64 / (reps * ops) as f64);
        }
    }
    samples.iter_mut().map(|v| median(v)).collect()
}

/// More workers than cores: goro's multi-thread runtime with 2, 8 and 16
/// workers (this machine has 2 cores), interleaved the same way, printing
/// ns per operation and each oversubscribed figure over the 2-worker one.
/// `SCHED_OVERSUBSCRIBED=0` skips it; its rounds are the interleaved
/// pass's.
fn oversubscribed(rounds: usize, selected: &dyn Fn(&str) -> bool) {
    const COUNTS: [usize; 3] = [2, 8, 16];
    let workloads = selected_workloads(selected);
    if rounds == 0 || workloads.is_empty() {
        return;
    }
    let rts: Vec<goro::runtime::Runtime> = COUNTS
        .iter()
        .map(|&n| {
            goro::runtime::Builder::new_multi_thread()
                .worker_threads(n)
                .build()
                .expect("goro runtime")
        })
        .collect();
    println!(
        "goro_mt with more workers than cores: {rounds} rounds, worker counts rotated each round"
    );
    println!("median ns/op     2 workers  8 workers 16 workers      8/2     16/2");
    for (workload, ops) in workloads {
        for rt in &rts {
            goro_arms::run(rt, workload);
        }
        let med = rotated_medians(rts.len(), rounds, workload, ops, |r| {
            goro_arms::run(&rts[r], workload)
        });
        println!(
            "{workload:<15} {:>10.1} {:>10.1} {:>10.1} {:>8.2} {:>8.2}",
            med[0],
            med[1],
            med[2],
            med[1] / med[0],
            med[2] / med[0],
        );
    }
    println!();
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let started = SystemTime::now();
    // The same workload filter criterion gets (`-- yield_many`, or
    // `-- "spawn_local|yield_many"`), applied to the interleaved pass.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-') && a.parse::<f64>().is_err())
        .flat_map(|a| a.split('|').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let selected = |w: &str| filter.is_empty() || filter.iter().any(|f| w.contains(f.as_str()));
    let rounds = std::env::var("SCHED_INTERLEAVED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11);
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let arms = Arms::new();
    interleaved(&arms, rounds, &selected);
    if std::env::var_os("SCHED_OVERSUBSCRIBED").is_none_or(|v| v != "0") {
        oversubscribed(rounds, &selected);
    }
    if std::env::var_os("SCHED_CRITERION").is_some_and(|v| v == "0") {
        return;
    }
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
    let mut header =
        Some("\nmedian ns/op      goro_mt   tokio_mt   tokio_ct   goro/tokio_mt   goro/tokio_ct");
    for (workload, ops) in WORKLOADS {
        let ns: Vec<Option<f64>> = RUNTIMES
            .iter()
            .map(|runtime| median_ns(&dir, workload, runtime, started).map(|t| t / ops as f64))
            .collect();
        if ns.iter().all(Option::is_none) {
            continue;
        }
        if let Some(header) = header.take() {
            println!("{header}");
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
