//! goro's main demo: 100,000 tasks that talk, the way goroutines do.
//!
//! 1. Whispers (the daisy chain from Rob Pike's "Go Concurrency Patterns"):
//!    100,000 tasks in a line, each joined to the next by an unbuffered
//!    channel; a number enters at one end and every task adds one.
//! 2. Ping-pong: 50,000 pairs of tasks bat a counter back and forth ten
//!    times over unbuffered channels (1,000,000 rendezvous in all).
//! 3. Fan-in with select: 100,000 tasks report to one collector, which
//!    `select!`s between their results and a channel that a `WaitGroup`
//!    watcher closes when all of them are done.
//!
//! Every phase checks its own answer and prints what it measured.
//!
//!     cargo run --release --example demo

use std::sync::Arc;
use std::time::{Duration, Instant};

use goro::chan;
use goro::sync::WaitGroup;

const TASKS: usize = 100_000;

#[goro::main]
async fn main() {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("goro demo: {TASKS} tasks on {workers} worker thread(s)\n");

    whispers().await;
    ping_pong().await;
    fan_in().await;

    if let Some(kib) = peak_rss_kib() {
        println!("\npeak resident memory: {:.1} MiB", kib as f64 / 1024.0);
    }
}

async fn whispers() {
    let start = Instant::now();
    let (first, mut left) = chan::bounded::<u64>(0);
    let mut handles = Vec::with_capacity(TASKS);
    for _ in 0..TASKS {
        let (tx, rx) = chan::bounded::<u64>(0);
        let from = std::mem::replace(&mut left, rx);
        handles.push(goro::spawn(async move {
            let v = from.recv().await.expect("left neighbour hung up");
            tx.send(v + 1).await.expect("right neighbour hung up");
        }));
    }
    let spawned = start.elapsed();

    let start = Instant::now();
    first.send(0).await.expect("the chain is alive");
    let out = left.recv().await.expect("the chain delivers");
    let travelled = start.elapsed();
    for h in handles {
        h.await.expect("no whisperer panics");
    }
    assert_eq!(out, TASKS as u64, "every whisperer added exactly one");

    println!("whispers: {TASKS} tasks chained by unbuffered channels");
    println!(
        "  spawned in {:>8.2?} ({:.0} ns/task); the number crossed the chain in {:>8.2?} ({:.0} ns/hop); result {out}",
        spawned,
        per(spawned, TASKS),
        travelled,
        per(travelled, TASKS),
    );
}

async fn ping_pong() {
    const PAIRS: usize = TASKS / 2;
    const ROUNDS: u64 = 10;
    let start = Instant::now();
    let mut handles = Vec::with_capacity(PAIRS);
    for _ in 0..PAIRS {
        let (ping_tx, ping_rx) = chan::bounded::<u64>(0);
        let (pong_tx, pong_rx) = chan::bounded::<u64>(0);
        goro::spawn(async move {
            while let Some(v) = ping_rx.recv().await {
                if pong_tx.send(v + 1).await.is_err() {
                    break;
                }
            }
        });
        handles.push(goro::spawn(async move {
            let mut v = 0;
            for _ in 0..ROUNDS {
                ping_tx.send(v).await.expect("ponger alive");
                v = pong_rx.recv().await.expect("ponger answers");
            }
            v
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.expect("no pinger panics");
    }
    let took = start.elapsed();
    assert_eq!(total, PAIRS as u64 * ROUNDS, "every round trip added one");
    let messages = PAIRS * ROUNDS as usize * 2;
    println!("ping-pong: {PAIRS} pairs x {ROUNDS} round trips");
    println!(
        "  {messages} rendezvous in {took:>8.2?} ({:.0} ns/message, {:.2} M messages/s)",
        per(took, messages),
        messages as f64 / took.as_secs_f64() / 1e6
    );
}

async fn fan_in() {
    let start = Instant::now();
    let (results_tx, results_rx) = chan::bounded::<u64>(1024);
    let (done_tx, done_rx) = chan::bounded::<()>(0);
    let wg = Arc::new(WaitGroup::new());
    wg.add(TASKS as isize);
    for i in 0..TASKS as u64 {
        let (results, wg) = (results_tx.clone(), wg.clone());
        goro::spawn(async move {
            results.send(digit_sum(i)).await.expect("collector alive");
            wg.done();
        });
    }
    // Go's idiom: a task waits for the group and then closes `done`.
    goro::spawn(async move {
        wg.wait().await;
        done_tx.close();
    });

    let (mut received, mut sum) = (0usize, 0u64);
    loop {
        goro::select! {
            recv(results_rx) -> v => {
                let d = v.expect("the collector holds a sender clone, so results stays open");
                received += 1;
                sum += d;
            },
            recv(done_rx) -> _closed => {
                // Every sender finished; what is still buffered is ours.
                while let Ok(d) = results_rx.try_recv() {
                    received += 1;
                    sum += d;
                }
                break;
            },
        }
    }
    let took = start.elapsed();
    let expected: u64 = (0..TASKS as u64).map(digit_sum).sum();
    assert_eq!(received, TASKS, "every task reported once");
    assert_eq!(sum, expected, "no result lost or counted twice");
    println!("fan-in: {TASKS} tasks -> 1 collector, select over results and a WaitGroup's done");
    println!(
        "  {received} results (digit sum {sum}) in {took:>8.2?} ({:.0} ns/task, spawn included)",
        per(took, TASKS)
    );
    drop(results_tx);
}

fn digit_sum(mut i: u64) -> u64 {
    let mut s = 0;
    while i > 0 {
        s += i % 10;
        i /= 10;
    }
    s
}

fn per(d: Duration, n: usize) -> f64 {
    d.as_nanos() as f64 / n as f64
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
