//! goro::sync::Barrier across threads: every generation has exactly one
//! leader and nobody runs ahead into the next generation.

#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use futures::executor::block_on;
use goro_sync::Barrier;

#[test]
fn generations_keep_threads_in_step() {
    const THREADS: usize = 4;
    const ROUNDS: usize = if cfg!(miri) { 10 } else { 200 };
    let barrier = Arc::new(Barrier::new(THREADS));
    let leaders = Arc::new(AtomicUsize::new(0));
    // arrivals[r]: threads that reached round r.
    let arrivals: Arc<Vec<AtomicUsize>> =
        Arc::new((0..ROUNDS).map(|_| AtomicUsize::new(0)).collect());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (barrier, leaders, arrivals) = (barrier.clone(), leaders.clone(), arrivals.clone());
            thread::spawn(move || {
                for round in 0..ROUNDS {
                    arrivals[round].fetch_add(1, Ordering::SeqCst);
                    let result = if t % 2 == 0 {
                        block_on(barrier.wait())
                    } else {
                        barrier.wait_blocking()
                    };
                    // Past the barrier: everyone has arrived at this round.
                    assert_eq!(arrivals[round].load(Ordering::SeqCst), THREADS);
                    if result.is_leader() {
                        leaders.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        leaders.load(Ordering::SeqCst),
        ROUNDS,
        "one leader per generation"
    );
    assert_eq!(barrier.generation(), ROUNDS as u64);
}
