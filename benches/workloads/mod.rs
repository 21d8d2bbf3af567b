//! The scheduler workloads' sizes and their goro arms, shared by the
//! `scheduler` bench (goro beside tokio) and the `probe` bench (goro alone,
//! for counting instructions). Both benches declare `mod slot;` at their
//! root, which the arms use.

/// Tasks spawned per iteration by `spawn_local` and `spawn_remote`.
pub const SPAWNS: usize = 200_000;
/// Tasks in `yield_many`, and `yield_now` calls each makes.
pub const YIELD_TASKS: usize = 256;
pub const YIELDS: usize = 2_000;
/// Length of the `chained_spawn` chain.
pub const CHAIN: usize = 1_000;
/// Round trips in `ping_pong`.
pub const ROUND_TRIPS: usize = 100_000;

/// The workloads, with how many operations one iteration performs.
pub const WORKLOADS: [(&str, usize); 5] = [
    ("spawn_local", SPAWNS),
    ("spawn_remote", SPAWNS),
    ("yield_many", YIELD_TASKS * YIELDS),
    ("chained_spawn", CHAIN),
    ("ping_pong", ROUND_TRIPS),
];

/// Iterations per timed sample: the short `chained_spawn` repeats 40
/// times, so that a sample lasts milliseconds.
pub fn reps(workload: &str) -> usize {
    if workload == "chained_spawn" {
        40
    } else {
        1
    }
}

// ----------------------------------------------------------------------------
// GORO ARMS: the same workloads, line for line, on goro's runtime.
// ----------------------------------------------------------------------------
pub mod goro_arms {
    use super::*;
    use crate::slot::Slot;
    use goro::runtime::Runtime;
    use std::sync::Arc;

    pub fn run(rt: &Runtime, workload: &str) {
        match workload {
            "spawn_local" => spawn_local(rt),
            "spawn_remote" => spawn_remote(rt),
            "yield_many" => yield_many(rt),
            "chained_spawn" => chained_spawn(rt),
            "ping_pong" => ping_pong(rt),
            other => unreachable!("unknown workload {other}"),
        }
    }

    fn spawn_local(rt: &Runtime) {
        rt.block_on(async {
            let root = goro::spawn(async {
                let tasks: Vec<_> = (0..SPAWNS).map(|_| goro::spawn(async {})).collect();
                for task in tasks {
                    assert!(task.await.is_ok());
                }
            });
            assert!(root.await.is_ok());
        });
    }

    fn spawn_remote(rt: &Runtime) {
        let tasks: Vec<_> = (0..SPAWNS).map(|_| rt.spawn(async {})).collect();
        rt.block_on(async {
            for task in tasks {
                assert!(task.await.is_ok());
            }
        });
    }

    fn yield_many(rt: &Runtime) {
        rt.block_on(async {
            let root = goro::spawn(async {
                let tasks: Vec<_> = (0..YIELD_TASKS)
                    .map(|_| {
                        goro::spawn(async {
                            for _ in 0..YIELDS {
                                goro::task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    assert!(task.await.is_ok());
                }
            });
            assert!(root.await.is_ok());
        });
    }

    fn chained_spawn(rt: &Runtime) {
        fn link(done: Arc<Slot<()>>, left: usize) {
            if left == 0 {
                done.put(());
            } else {
                goro::spawn(async move { link(done, left - 1) });
            }
        }
        rt.block_on(async {
            let done = Arc::new(Slot::default());
            let end = done.clone();
            goro::spawn(async move { link(end, CHAIN) });
            done.take().await;
        });
    }

    fn ping_pong(rt: &Runtime) {
        rt.block_on(async {
            let root = goro::spawn(async {
                let (ping, pong) = (Arc::new(Slot::default()), Arc::new(Slot::default()));
                let (ping2, pong2) = (ping.clone(), pong.clone());
                let echo = goro::spawn(async move {
                    for _ in 0..ROUND_TRIPS {
                        let ball: usize = ping2.take().await;
                        pong2.put(ball + 1);
                    }
                });
                let mut ball = 0;
                for _ in 0..ROUND_TRIPS {
                    ping.put(ball);
                    ball = pong.take().await;
                }
                assert!(echo.await.is_ok());
                assert_eq!(ball, ROUND_TRIPS);
            });
            assert!(root.await.is_ok());
        });
    }
}
