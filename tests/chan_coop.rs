//! The coop budget crosses crates: a task that drains an always-ready goro
//! channel spends budget in goro-channels, and the executor (goro-executor)
//! then lets its neighbours run. Also: goro channels work on goro's runtime
//! and on `futures::executor` alike.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use goro::chan;

const VALUES: usize = 20_000;

/// Fills an unbounded channel, then returns how many values the drainer had
/// taken when it first saw the neighbour's flag (VALUES if never).
async fn drain_with_neighbour(spawn_drainer: bool) -> usize {
    let (tx, rx) = chan::unbounded::<usize>();
    for i in 0..VALUES {
        tx.try_send(i).unwrap();
    }
    let flag = Arc::new(AtomicBool::new(false));
    let neighbour = {
        let flag = flag.clone();
        goro::spawn(async move { flag.store(true, Ordering::Release) })
    };
    let drain = async move {
        let mut seen_at = VALUES;
        for n in 0..VALUES {
            assert_eq!(rx.recv().await, Some(n));
            if seen_at == VALUES && flag.load(Ordering::Acquire) {
                seen_at = n;
            }
        }
        seen_at
    };
    let seen_at = if spawn_drainer {
        goro::spawn(drain).await.unwrap()
    } else {
        drain.await
    };
    neighbour.await.unwrap();
    seen_at
}

#[goro::test]
async fn a_draining_task_lets_its_neighbour_run() {
    // current_thread: one thread, so the neighbour can only run if the
    // drainer yields. The budget is 128 operations per poll.
    let seen_at = drain_with_neighbour(true).await;
    assert!(
        seen_at <= 4 * goro_coop::INITIAL_BUDGET as usize,
        "neighbour first ran after {seen_at} receives"
    );
}

#[goro::test]
async fn a_draining_block_on_body_lets_spawned_tasks_run() {
    // The same with the block_on body itself draining, on the thread that
    // runs the spawned tasks.
    let seen_at = drain_with_neighbour(false).await;
    assert!(
        seen_at <= 4 * goro_coop::INITIAL_BUDGET as usize,
        "neighbour first ran after {seen_at} receives"
    );
}

#[test]
fn channels_run_on_futures_executor() {
    use futures::executor::{block_on, ThreadPool};
    use futures::task::SpawnExt;

    let pool = ThreadPool::builder().pool_size(2).create().unwrap();
    let (tx, rx) = chan::bounded::<usize>(0);
    let total = Arc::new(AtomicUsize::new(0));
    for p in 0..4 {
        let tx = tx.clone();
        pool.spawn(async move {
            for i in 0..1_000 {
                tx.send(p * 1_000 + i).await.unwrap();
            }
        })
        .unwrap();
    }
    drop(tx);
    let sum = block_on(async {
        let mut sum = 0;
        while let Some(v) = rx.recv().await {
            sum += v;
            total.fetch_add(1, Ordering::Relaxed);
        }
        sum
    });
    assert_eq!(total.load(Ordering::Relaxed), 4_000);
    assert_eq!(sum, (0..4_000).sum::<usize>());
}

#[test]
fn goro_handle_is_a_futures_spawner() {
    use futures::task::SpawnExt;

    let rt = goro::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    let (tx, rx) = chan::bounded::<u32>(1);
    // Through the trait, as a library generic over `Spawn` would call it.
    SpawnExt::spawn(&handle, async move { tx.send(7).await.unwrap() }).unwrap();
    assert_eq!(rx.recv_blocking(), Some(7));
}
