//! Prints how long a task dump of 100,000 parked tasks takes, then the
//! first lines of the dump of a small program. Run it with
//! `cargo run --release --example task_dump`; while it waits at the end,
//! `kill -QUIT <pid>` prints the dump again (`#[goro::main]` turns that on).

use std::time::{Duration, Instant};

#[goro::main(worker_threads = 2)]
async fn main() {
    const N: usize = 100_000;
    let (tx, rx) = goro::chan::bounded::<()>(0);
    for _ in 0..N {
        let rx = rx.clone();
        goro::spawn(async move { rx.recv().await });
    }
    let handle = goro::runtime::Handle::current();
    // Wait until every task has parked on the channel.
    while handle
        .dump()
        .tasks()
        .iter()
        .any(|t| t.wait_reason().is_none())
    {
        goro::task::yield_now().await;
    }
    let mut times = Vec::new();
    for _ in 0..11 {
        let start = Instant::now();
        let dump = handle.dump();
        times.push(start.elapsed());
        assert_eq!(dump.len(), N);
    }
    times.sort();
    println!(
        "dump of {N} parked tasks: median {:?} (min {:?}, max {:?}, 11 runs)",
        times[5], times[0], times[10]
    );
    drop(tx);
    while handle.num_alive_tasks() > 0 {
        goro::task::yield_now().await;
    }

    let (_keep, rx) = goro::chan::bounded::<u8>(0);
    let acceptor = goro::task::Builder::new()
        .name("acceptor")
        .spawn(async move {
            goro::spawn(goro::time::sleep(Duration::from_secs(5)));
            rx.recv().await
        })
        .unwrap();
    goro::time::sleep(Duration::from_millis(50)).await;
    println!("{}", handle.dump());
    println!(
        "pid {}: kill -QUIT it within 2 s for a dump on stderr",
        std::process::id()
    );
    goro::time::sleep(Duration::from_secs(2)).await;
    acceptor.abort();
}
