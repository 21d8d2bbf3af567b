//! A single-runtime probe of the scheduler's hot paths, for tuning: goro
//! only, no criterion, one workload per process, so that its instructions
//! can be counted under callgrind and its time compared between two builds
//! run alternately.
//!
//!     cargo bench --bench probe -- yield_many      # median ns per yield_now
//!     PROBE_ROUNDS=2 valgrind --tool=callgrind target/release/deps/probe-<hash> yield_many
//!
//! The workloads are the scheduler bench's goro arms (`benches/workloads`,
//! 2 workers): `spawn_local`, `spawn_remote`, `yield_many`, `chained_spawn`
//! (run 40 times per round, as in the scheduler bench's interleaved pass,
//! so that a round lasts milliseconds) and `ping_pong`. `PROBE_ROUNDS`
//! (default 25) sets how many rounds run; the median ns per operation is
//! printed. With `PROBE_METRICS=1` it also prints the runtime's counters
//! per round (polls, parks, steals, overflows of each worker), which show
//! how a change moved the scheduling rather than the work.
//! `PROBE_EMPTY_HOOKS=1` installs both poll hooks, doing nothing, and
//! `GORO_DEBUG=schedtrace=1000` works as on any runtime: what each costs.

use std::time::Instant;

#[allow(dead_code)]
mod slot;
mod workloads;
use workloads::{goro_arms, WORKLOADS};

fn main() {
    // `cargo bench` passes `--bench`; the first other argument names the workload.
    let workload = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "yield_many".to_string());
    let Some(&(workload, ops)) = WORKLOADS.iter().find(|(w, _)| *w == workload) else {
        let names: Vec<&str> = WORKLOADS.iter().map(|(w, _)| *w).collect();
        eprintln!("probe: unknown workload {workload:?}; expected one of {names:?}");
        std::process::exit(2);
    };
    let reps = if workload == "chained_spawn" { 40 } else { 1 };
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
    let mut builder = goro::runtime::Builder::new_multi_thread();
    builder.worker_threads(2);
    if std::env::var_os("PROBE_EMPTY_HOOKS").is_some_and(|v| v == "1") {
        builder
            .on_before_task_poll(|_| {})
            .on_after_task_poll(|_| {});
    }
    let rt = builder.build().expect("a 2-worker runtime");
    let mut ns: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                goro_arms::run(&rt, workload);
            }
            start.elapsed().as_nanos() as f64 / (reps * ops) as f64
        })
        .collect();
    if std::env::var_os("PROBE_METRICS").is_some() {
        let m = rt.handle().metrics();
        let per_round = |n: u64| n as f64 / rounds as f64;
        for (i, w) in m.workers.iter().enumerate() {
            println!(
                "  worker {i}: per round {:.0} polls, {:.1} parks, {:.1} unparks, {:.1} steal ops ({:.0} tasks), {:.1} overflows",
                per_round(w.poll_count),
                per_round(w.park_count),
                per_round(w.unpark_count),
                per_round(w.steal_operations),
                per_round(w.steal_count),
                per_round(w.overflow_count),
            );
        }
    }
    ns.sort_by(f64::total_cmp);
    println!(
        "{workload}: median {:.1} ns per op over {rounds} rounds (min {:.1}, max {:.1})",
        ns[ns.len() / 2],
        ns[0],
        ns[ns.len() - 1]
    );
}
