//! goro::sync::WaitGroup: Go's usage pattern across threads and tasks.

#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use futures::executor::{block_on, LocalPool};
use futures::task::LocalSpawnExt;
use goro_sync::WaitGroup;

#[test]
fn wait_sees_every_worker_finish() {
    for round in 0..if cfg!(miri) { 2 } else { 20 } {
        let wg = WaitGroup::new();
        let finished = Arc::new(AtomicUsize::new(0));
        wg.add(8);
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (wg, finished) = (wg.clone(), finished.clone());
                thread::spawn(move || {
                    finished.fetch_add(1, Ordering::SeqCst);
                    wg.done();
                })
            })
            .collect();
        // Half the rounds wait asynchronously, half block the thread.
        if round % 2 == 0 {
            block_on(wg.wait());
        } else {
            wg.wait_blocking();
        }
        assert_eq!(finished.load(Ordering::SeqCst), 8, "wait returned early");
        for h in handles {
            h.join().unwrap();
        }
    }
}

#[test]
fn many_waiters_released_together() {
    let wg = WaitGroup::new();
    wg.add(1);
    let released = Arc::new(AtomicUsize::new(0));
    let mut pool = LocalPool::new();
    for _ in 0..10 {
        let (wg, released) = (wg.clone(), released.clone());
        pool.spawner()
            .spawn_local(async move {
                wg.wait().await;
                released.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
    }
    pool.run_until_stalled();
    assert_eq!(released.load(Ordering::SeqCst), 0);
    wg.done();
    pool.run();
    assert_eq!(released.load(Ordering::SeqCst), 10);
}

#[test]
#[should_panic(expected = "negative counter")]
fn done_without_add_panics() {
    WaitGroup::new().done();
}
