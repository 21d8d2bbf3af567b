//! `goro::task::JoinSet` on the goro runtime.

use goro::sync::Notify;
use goro::task::JoinSet;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts drops of the futures it is moved into.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Yields until `count` reaches `n`, failing after a generous bound.
async fn wait_for(count: &AtomicUsize, n: usize) {
    let start = Instant::now();
    while count.load(Ordering::SeqCst) < n {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "only {} of {n} reached",
            count.load(Ordering::SeqCst)
        );
        goro::task::yield_now().await;
    }
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_every_output_once() {
    let mut set = JoinSet::new();
    assert!(set.is_empty());
    for i in 0..100u32 {
        set.spawn(async move {
            goro::task::yield_now().await;
            i
        });
    }
    assert_eq!(set.len(), 100);
    let mut seen = HashSet::new();
    while let Some(res) = set.join_next().await {
        assert!(seen.insert(res.unwrap()));
    }
    assert_eq!(seen.len(), 100);
    assert!(set.is_empty());
    assert!(set.join_next().await.is_none());
}

#[goro::test]
async fn completion_order_not_spawn_order() {
    let gate = Arc::new(Notify::new());
    let mut set = JoinSet::new();
    let g = gate.clone();
    set.spawn(async move {
        g.notified().await;
        "slow"
    });
    set.spawn(async { "fast" });
    assert_eq!(set.join_next().await.unwrap().unwrap(), "fast");
    gate.notify_one();
    assert_eq!(set.join_next().await.unwrap().unwrap(), "slow");
}

#[goro::test]
async fn try_join_next_does_not_wait() {
    let gate = Arc::new(Notify::new());
    let mut set = JoinSet::new();
    let g = gate.clone();
    set.spawn(async move { g.notified().await });
    assert!(set.try_join_next().is_none());
    assert_eq!(set.len(), 1);
    gate.notify_one();
    let start = Instant::now();
    loop {
        if let Some(res) = set.try_join_next() {
            res.unwrap();
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20));
        goro::task::yield_now().await;
    }
    assert!(set.is_empty());
    assert!(set.try_join_next().is_none());
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_all_yields_cancelled_errors() {
    let mut set = JoinSet::new();
    for _ in 0..10 {
        set.spawn(std::future::pending::<()>());
    }
    set.abort_all();
    assert_eq!(set.len(), 10);
    let mut n = 0;
    while let Some(res) = set.join_next().await {
        assert!(res.unwrap_err().is_cancelled());
        n += 1;
    }
    assert_eq!(n, 10);
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_every_task_to_stop() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for _ in 0..50 {
        let guard = DropCount(drops.clone());
        set.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        });
    }
    set.shutdown().await;
    assert!(set.is_empty());
    // shutdown returned after every task was joined, so every future is
    // already dropped: no waiting here.
    assert_eq!(drops.load(Ordering::SeqCst), 50);
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_set_aborts_every_task() {
    let drops = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for _ in 0..64 {
        let guard = DropCount(drops.clone());
        let started = started.clone();
        set.spawn(async move {
            let _guard = guard;
            started.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>().await
        });
    }
    wait_for(&started, 64).await;
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(set);
    wait_for(&drops, 64).await;
    assert_eq!(drops.load(Ordering::SeqCst), 64);
}

#[goro::test]
async fn a_panicking_task_is_reported_and_the_others_still_join() {
    let mut set = JoinSet::new();
    set.spawn(async { panic!("boom") });
    set.spawn(async { 7 });
    let mut ok = 0;
    let mut panicked = 0;
    while let Some(res) = set.join_next().await {
        match res {
            Ok(v) => ok += v,
            Err(e) => {
                assert!(e.is_panic());
                assert!(e.to_string().contains("boom"), "{e}");
                panicked += 1;
            }
        }
    }
    assert_eq!((ok, panicked), (7, 1));
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_blocking_members_and_ids() {
    let mut set = JoinSet::new();
    let a = set.spawn_blocking(|| 1u64);
    let b = set.spawn(async { 2u64 });
    assert_ne!(a, b);
    let mut got = Vec::new();
    while let Some(res) = set.join_next_with_id().await {
        got.push(res.unwrap());
    }
    got.sort();
    let mut want = vec![(a, 1), (b, 2)];
    want.sort();
    assert_eq!(got, want);
}

#[goro::test]
async fn join_all_and_collect() {
    let set: JoinSet<u32> = (1..=4u32).map(|i| async move { i }).collect();
    let mut all = set.join_all().await;
    all.sort();
    assert_eq!(all, vec![1, 2, 3, 4]);
}

#[test]
#[should_panic(expected = "outside a goro runtime")]
fn spawn_outside_a_runtime_panics_clearly() {
    let mut set = JoinSet::new();
    set.spawn(async {});
}
