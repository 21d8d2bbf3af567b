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
//! Two channel workloads, the channels bench's goro arms in miniature,
//! run the same way: `chan_ping_pong` (two tasks, 100,000 round trips over
//! two unbuffered `goro::chan`s) and `chan_mpsc` (4 producers x 250,000
//! values into one consumer, capacity 1,024); and the time bench's goro
//! arms, `timer_held` and `timer_one_by_one` (1,000,000 sleeps registered
//! and cancelled, all at once or one at a time).
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
    let Some(&(workload, ops)) = WORKLOADS
        .iter()
        .chain(EXTRA_WORKLOADS.iter())
        .find(|(w, _)| *w == workload)
    else {
        let names: Vec<&str> = WORKLOADS
            .iter()
            .chain(EXTRA_WORKLOADS.iter())
            .map(|(w, _)| *w)
            .collect();
        eprintln!("probe: unknown workload {workload:?}; expected one of {names:?}");
        std::process::exit(2);
    };
    let reps = workloads::reps(workload);
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
                match workload {
                    "chan_ping_pong" => rt.block_on(channels::ping_pong()),
                    "chan_mpsc" => rt.block_on(channels::mpsc()),
                    "timer_held" => rt.block_on(timers::held::<TIMER_BASE_MS>()),
                    "timer_one_by_one" => rt.block_on(timers::one_by_one::<TIMER_BASE_MS>()),
                    _ => goro_arms::run(&rt, workload),
                }
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

/// Probe-only workloads, with how many operations one iteration performs.
const EXTRA_WORKLOADS: [(&str, usize); 4] = [
    ("chan_ping_pong", channels::ROUND_TRIPS),
    ("chan_mpsc", channels::PRODUCERS * channels::PER_PRODUCER),
    ("timer_held", timers::N),
    ("timer_one_by_one", timers::N),
];

#[path = "workloads/timers.rs"]
mod timers;

/// Longer than the time bench's (1 to 101 s): under callgrind,
/// registering a million sleeps takes longer than a second.
const TIMER_BASE_MS: u64 = 600_000;

mod channels {
    pub const ROUND_TRIPS: usize = 100_000;
    pub const PRODUCERS: usize = 4;
    pub const PER_PRODUCER: usize = 250_000;

    pub async fn ping_pong() {
        let (atx, arx) = goro::chan::bounded::<usize>(0);
        let (btx, brx) = goro::chan::bounded::<usize>(0);
        let echo = goro::spawn(async move {
            for _ in 0..ROUND_TRIPS {
                let v = arx.recv().await.unwrap();
                btx.send(v).await.unwrap();
            }
        });
        let ping = goro::spawn(async move {
            for i in 0..ROUND_TRIPS {
                atx.send(i).await.unwrap();
                assert_eq!(brx.recv().await, Some(i));
            }
        });
        echo.await.unwrap();
        ping.await.unwrap();
    }

    pub async fn mpsc() {
        let (tx, rx) = goro::chan::bounded::<usize>(1024);
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|_| {
                let tx = tx.clone();
                goro::spawn(async move {
                    for i in 0..PER_PRODUCER {
                        tx.send(i).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let mut sum = 0usize;
        for _ in 0..PRODUCERS * PER_PRODUCER {
            sum += rx.recv().await.unwrap();
        }
        for p in producers {
            p.await.unwrap();
        }
        assert_eq!(sum, PRODUCERS * PER_PRODUCER * (PER_PRODUCER - 1) / 2);
    }
}
