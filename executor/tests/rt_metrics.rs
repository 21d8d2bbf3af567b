//! `Handle::metrics`: the counters add up and move when they should.

use futures::channel::oneshot;
use goro_executor::runtime::{Builder, RuntimeMetrics};
use std::time::{Duration, Instant};

fn total(m: &RuntimeMetrics, f: impl Fn(&goro_executor::runtime::WorkerMetrics) -> u64) -> u64 {
    m.workers.iter().map(f).sum()
}

fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// Waits (bounded) until `want` tasks are alive: a task publishes its
/// output, waking its JoinHandle, just before it leaves the owned-task
/// list, so a joiner may look a moment too early.
fn alive_settles(h: &goro_executor::runtime::Handle, want: usize) -> RuntimeMetrics {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = h.metrics();
        if m.num_alive_tasks == want || Instant::now() > deadline {
            return m;
        }
        std::thread::yield_now();
    }
}

fn spawned_is_completed_plus_alive(rt: goro_executor::runtime::Runtime) {
    let h = rt.handle().clone();
    let m0 = h.metrics();
    assert_eq!(m0.spawned_tasks_count, 0);
    assert_eq!(m0.num_alive_tasks, 0);
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..10).map(|_| oneshot::channel::<()>()).unzip();
    let parked: Vec<_> = rxs
        .into_iter()
        .map(|rx| rt.spawn(async move { rx.await.is_ok() }))
        .collect();
    rt.block_on(async {
        // 100 tasks spawned from a task (on a P) and 5 blocking ones.
        goro_executor::spawn(async {
            let hs: Vec<_> = (0..100)
                .map(|i| goro_executor::spawn(async move { i }))
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        })
        .await
        .unwrap();
        for _ in 0..5 {
            goro_executor::task::spawn_blocking(|| ()).await.unwrap();
        }
    });
    let m = alive_settles(&h, 10);
    // 10 parked + 1 parent + 100 children + 5 blocking.
    assert_eq!(m.spawned_tasks_count, 116, "{m:?}");
    assert_eq!(m.num_alive_tasks, 10, "{m:?}");
    assert!(
        total(&m, |w| w.poll_count) >= 111,
        "every task was polled at least once: {m:?}"
    );
    assert!(m.blocking_threads >= 1, "{m:?}");
    assert!(m.idle_blocking_threads <= m.blocking_threads, "{m:?}");
    for tx in txs {
        tx.send(()).unwrap();
    }
    for j in parked {
        assert!(rt.block_on(j).unwrap());
    }
    let m2 = alive_settles(&h, 0);
    assert_eq!(m2.num_alive_tasks, 0, "{m2:?}");
    assert_eq!(m2.spawned_tasks_count, 116);
    assert!(total(&m2, |w| w.poll_count) >= total(&m, |w| w.poll_count) + 10);
}

#[test]
fn spawned_equals_completed_plus_alive_multi_thread() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    spawned_is_completed_plus_alive(rt);
}

#[test]
fn spawned_equals_completed_plus_alive_current_thread() {
    spawned_is_completed_plus_alive(Builder::new_current_thread().build().unwrap());
}

#[test]
fn two_workers_steal_under_load() {
    // No blocked-worker handoff: on a loaded machine a descheduled 500 µs
    // poll can pass the threshold, and the spare thread would take the
    // work the second worker is meant to steal.
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .blocking_threshold(None)
        .build()
        .unwrap();
    let h = rt.handle().clone();
    // One task fills its own P's queue with CPU work (about 100 ms in all),
    // fewer tasks than the 256-slot ring holds so none overflows to the
    // injector: the other worker can only get them by stealing.
    rt.block_on(async {
        goro_executor::spawn(async {
            let hs: Vec<_> = (0..200)
                .map(|_| goro_executor::spawn(async { spin(Duration::from_micros(500)) }))
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        })
        .await
        .unwrap();
    });
    let m = h.metrics();
    let ops = total(&m, |w| w.steal_operations);
    let stolen = total(&m, |w| w.steal_count);
    assert!(ops >= 1, "no steal in 100 ms of queued work: {m:?}");
    assert!(stolen >= ops, "{m:?}");
    assert!(total(&m, |w| w.poll_count) >= 201, "{m:?}");
    let busy: Duration = m.workers.iter().map(|w| w.busy_duration).sum();
    assert!(busy >= Duration::from_millis(50), "{m:?}");
    assert!(m
        .workers
        .iter()
        .all(|w| w.mean_poll_time <= w.busy_duration));
}

#[test]
fn idle_workers_park_and_forced_yields_are_counted() {
    let rt = Builder::new_current_thread().build().unwrap();
    let h = rt.handle().clone();
    rt.block_on(async {
        goro_executor::spawn(async {
            // Spends the whole budget: the 129th consume_budget yields.
            for _ in 0..200 {
                goro_executor::task::consume_budget().await;
            }
        })
        .await
        .unwrap();
        let (tx, rx) = oneshot::channel();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send(()).unwrap();
        });
        rx.await.unwrap();
    });
    let w = &h.metrics().workers[0];
    assert!(w.budget_forced_yield_count >= 1, "{w:?}");
    assert!(w.park_count >= 1, "{w:?}");
    assert!(w.unpark_count >= 1, "{w:?}");
    assert_eq!(w.local_queue_depth, 0);
}
