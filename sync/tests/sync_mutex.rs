//! goro::sync::Mutex on `futures::executor` and plain threads: no lost
//! increment under contention, cancellation at random points, FIFO order.

#![cfg(not(loom))]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread;

use futures::executor::{block_on, LocalPool};
use futures::task::LocalSpawnExt;
use goro_sync::Mutex;

/// A small xorshift for test randomness (no `rand` dependency).
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn counter_under_contention_loses_nothing() {
    const THREADS: usize = 4;
    const ITERS: usize = if cfg!(miri) { 50 } else { 5_000 };
    let m = Arc::new(Mutex::new(0usize));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let m = m.clone();
            thread::spawn(move || {
                let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (t as u64 + 1);
                for _ in 0..ITERS {
                    // Sometimes start a lock and abandon it after one poll.
                    if xorshift(&mut rng) % 4 == 0 {
                        let mut abandoned = pin!(m.lock());
                        if let Poll::Ready(mut g) = abandoned
                            .as_mut()
                            .poll(&mut Context::from_waker(Waker::noop()))
                        {
                            *g += 1;
                            continue;
                        }
                    }
                    if t % 2 == 0 {
                        *block_on(m.lock()) += 1;
                    } else {
                        *m.blocking_lock() += 1;
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*m.try_lock().unwrap(), THREADS * ITERS);
}

/// Returns `Pending` once, waking itself, so the executor runs others.
async fn yield_now() {
    let mut yielded = false;
    futures::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

#[test]
fn guard_held_across_await_on_a_local_pool() {
    let m = Arc::new(Mutex::new(Vec::new()));
    let mut pool = LocalPool::new();
    for i in 0..50 {
        let m = m.clone();
        pool.spawner()
            .spawn_local(async move {
                let mut g = m.lock().await;
                let before = g.len();
                yield_now().await; // let the others run while we hold the lock
                g.push(i);
                assert_eq!(
                    g.len(),
                    before + 1,
                    "someone entered while we held the lock"
                );
            })
            .unwrap();
    }
    pool.run();
    let v = m.try_lock().unwrap();
    // FIFO hand-off: tasks acquire in the order they first waited.
    assert_eq!(*v, (0..50).collect::<Vec<_>>());
}

#[test]
fn owned_guards_cross_threads() {
    let m = Arc::new(Mutex::new(0u64));
    let (tx, rx) = std::sync::mpsc::channel();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (m, tx) = (m.clone(), tx.clone());
            thread::spawn(move || {
                let mut g = block_on(m.lock_owned());
                *g += 1;
                // The guard is dropped (unlocked) by the main thread.
                tx.send(g).unwrap();
            })
        })
        .collect();
    for _ in 0..8 {
        drop(rx.recv().unwrap());
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*block_on(m.lock()), 8);
}

static TOTAL: Mutex<u64> = Mutex::const_new(0);
static GATE: goro_sync::Semaphore = goro_sync::Semaphore::const_new(1);

#[test]
fn usable_in_statics() {
    let handles: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(|| {
                for _ in 0..100 {
                    let _permit = block_on(GATE.acquire()).unwrap();
                    *TOTAL.blocking_lock() += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*block_on(TOTAL.lock()), 400);
    assert_eq!(GATE.available_permits(), 1);
}
