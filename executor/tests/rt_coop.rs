//! Fairness: yield_now interleaves tasks, and the coop budget stops a task
//! that finds every resource ready from starving its neighbours.

use goro_executor::runtime::{Builder, Runtime};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

fn one_p_flavors() -> Vec<Runtime> {
    vec![
        Builder::new_current_thread().build().unwrap(),
        Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap(),
    ]
}

#[test]
fn yield_now_round_robins() {
    for rt in one_p_flavors() {
        let log = Arc::new(Mutex::new(Vec::new()));
        rt.block_on(async {
            let tasks: Vec<_> = (0..3)
                .map(|t| {
                    let log = log.clone();
                    goro_executor::spawn(async move {
                        for _ in 0..50 {
                            log.lock().unwrap().push(t);
                            goro_executor::task::yield_now().await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 150);
        // No task runs twice in a row while the others are still going.
        let runs = log.windows(2).filter(|w| w[0] == w[1]).count();
        assert!(runs <= 3, "yield_now did not interleave: {:?}", &log[..30]);
    }
}

/// A resource that is always ready but spends budget, like a channel with
/// a message always waiting.
async fn always_ready() {
    std::future::poll_fn(|cx| match goro_coop::poll_proceed(cx) {
        std::task::Poll::Ready(spent) => {
            spent.made_progress();
            std::task::Poll::Ready(())
        }
        std::task::Poll::Pending => std::task::Poll::Pending,
    })
    .await
}

#[test]
fn busy_task_lets_neighbour_run() {
    for rt in one_p_flavors() {
        let stop = Arc::new(AtomicBool::new(false));
        let n = rt.block_on(async {
            let s = stop.clone();
            goro_executor::spawn(async move {
                // The neighbour is spawned onto this P while we keep going;
                // only the budget makes us step aside for it.
                let s2 = s.clone();
                let neighbour = goro_executor::spawn(async move {
                    s2.store(true, Ordering::SeqCst);
                });
                let mut n = 0u64;
                while !s.load(Ordering::SeqCst) {
                    always_ready().await;
                    n += 1;
                }
                neighbour.await.unwrap();
                n
            })
            .await
            .unwrap()
        });
        assert!(n >= 1, "the neighbour ran before the busy loop started");
        assert!(
            n <= 10 * goro_coop::INITIAL_BUDGET as u64,
            "busy loop ran {n} times"
        );
    }
}

#[test]
fn consume_budget_yields() {
    for rt in one_p_flavors() {
        let stop = Arc::new(AtomicBool::new(false));
        rt.block_on(async {
            let s = stop.clone();
            let busy = goro_executor::spawn(async move {
                while !s.load(Ordering::SeqCst) {
                    goro_executor::task::consume_budget().await;
                }
            });
            let s = stop.clone();
            goro_executor::spawn(async move { s.store(true, Ordering::SeqCst) })
                .await
                .unwrap();
            busy.await.unwrap();
        });
    }
}
