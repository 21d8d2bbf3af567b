//! One million tasks, spawned from four outside threads and from inside
//! tasks; every one must run exactly once.

use goro_executor::runtime::Builder;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

const N: usize = 1_000_000;
const SPAWNERS: usize = 4;
const PER: usize = N / (2 * SPAWNERS);

#[test]
fn million_tasks_each_run_exactly_once() {
    let rt = Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let ran: Arc<Vec<AtomicU8>> = Arc::new((0..N).map(|_| AtomicU8::new(0)).collect());

    // Half from outside threads (through the injector).
    let outside: Vec<_> = (0..SPAWNERS)
        .map(|t| {
            let handle = rt.handle().clone();
            let ran = ran.clone();
            std::thread::spawn(move || {
                (t * PER..(t + 1) * PER)
                    .map(|i| {
                        let ran = ran.clone();
                        handle.spawn(async move {
                            ran[i].fetch_add(1, Ordering::Relaxed);
                        })
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();

    // Half from inside tasks (runnext, local queues, overflow, stealing).
    let inside = {
        let ran = ran.clone();
        rt.spawn(async move {
            let parents: Vec<_> = (0..SPAWNERS)
                .map(|t| {
                    let ran = ran.clone();
                    goro_executor::spawn(async move {
                        let base = N / 2 + t * PER;
                        let children: Vec<_> = (base..base + PER)
                            .map(|i| {
                                let ran = ran.clone();
                                goro_executor::spawn(async move {
                                    ran[i].fetch_add(1, Ordering::Relaxed);
                                })
                            })
                            .collect();
                        for c in children {
                            c.await.unwrap();
                        }
                    })
                })
                .collect();
            for p in parents {
                p.await.unwrap();
            }
        })
    };

    let handles: Vec<_> = outside
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    rt.block_on(async move {
        for h in handles {
            h.await.unwrap();
        }
        inside.await.unwrap();
    });
    let bad: Vec<usize> = (0..N)
        .filter(|&i| ran[i].load(Ordering::Relaxed) != 1)
        .take(10)
        .collect();
    assert!(bad.is_empty(), "tasks not run exactly once: {bad:?}");
    assert_eq!(rt.handle().num_alive_tasks(), 0);
}
