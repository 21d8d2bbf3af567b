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
        let l = log.clone();
        // Spawned from a task, so all three share one P's local queue
        // (tasks from outside wait in the injector, which a P checks first
        // only every 61 ticks).
        rt.block_on(goro_executor_spawn_wrapper(async move {
            let log = l;
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
        }));
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 150);
        // No task runs twice in a row while the others are still going.
        let runs = log.windows(2).filter(|w| w[0] == w[1]).count();
        assert!(runs <= 3, "yield_now did not interleave: {:?}", &log[..30]);
    }
}

/// Runs `f` as a task and waits for it (from `block_on`).
async fn goro_executor_spawn_wrapper(f: impl std::future::Future<Output = ()> + Send + 'static) {
    goro_executor::spawn(f).await.unwrap()
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

/// `yield_now` skips its wake only when goro's harness polls its own task on
/// this thread. Polled by a foreign executor inside a task, it must wake
/// that executor's waker (otherwise the inner `block_on` would sleep
/// forever).
#[test]
fn yield_now_inside_a_foreign_executor_wakes_that_executor() {
    for rt in one_p_flavors() {
        let n = rt.block_on(async {
            goro_executor::spawn(async {
                futures::executor::block_on(async {
                    let mut n = 0;
                    for _ in 0..100 {
                        goro_executor::task::yield_now().await;
                        n += 1;
                    }
                    n
                })
            })
            .await
        });
        assert_eq!(n.unwrap(), 100);
    }
}

/// A future polled (inside task B) with task A's waker: the yield must wake
/// A, not requeue B, or A would never run again.
#[test]
fn yield_now_with_another_tasks_waker_wakes_that_task() {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};
    for rt in one_p_flavors() {
        rt.block_on(goro_executor_spawn_wrapper(async {
            let (tx, rx) = std::sync::mpsc::channel::<Waker>();
            let done = Arc::new(AtomicBool::new(false));
            let d = done.clone();
            // A parks until it is woken, then checks it was.
            let a = goro_executor::spawn(async move {
                let mut first = true;
                std::future::poll_fn(|cx| {
                    if first {
                        first = false;
                        tx.send(cx.waker().clone()).unwrap();
                        Poll::Pending
                    } else {
                        Poll::Ready(())
                    }
                })
                .await;
                d.store(true, Ordering::SeqCst);
            });
            // B gets A's waker (A has run by now: B yields until it has).
            let a_waker = loop {
                match rx.try_recv() {
                    Ok(w) => break w,
                    Err(_) => goro_executor::task::yield_now().await,
                }
            };
            {
                let mut y = Box::pin(goro_executor::task::yield_now());
                let mut cx = Context::from_waker(&a_waker);
                assert!(Pin::new(&mut y).as_mut().poll(&mut cx).is_pending());
            }
            a.await.unwrap();
            assert!(done.load(Ordering::SeqCst));
        }));
    }
}
