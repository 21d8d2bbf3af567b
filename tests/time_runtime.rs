//! goro::time on the real multi-thread goro runtime.

use goro::time::{interval, sleep, sleep_until, timeout, Duration, Instant, MissedTickBehavior};

fn rt(workers: usize) -> goro::runtime::Runtime {
    goro::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

#[test]
fn ten_ms_sleep_accuracy_on_an_idle_runtime() {
    let rt = rt(2);
    let mut v = rt.block_on(async {
        let mut v = Vec::new();
        for _ in 0..41 {
            let t = Instant::now();
            goro::spawn(async move {
                sleep(Duration::from_millis(10)).await;
                t.elapsed()
            })
            .await
            .map(|d| v.push(d))
            .unwrap();
        }
        v
    });
    v.sort();
    let median = v[v.len() / 2];
    eprintln!(
        "10 ms sleep on goro runtime: min {:?} median {median:?} max {:?}",
        v[0],
        v[v.len() - 1]
    );
    assert!(v[0] >= Duration::from_millis(10));
    assert!(median <= Duration::from_millis(25), "median {median:?}");
}

/// Every worker runs a task that never stops yielding, so no M ever parks in
/// the reactor: the sleep must be fired by the busy Ms' periodic poll,
/// which they skip only while no timer is armed.
#[test]
fn a_sleep_fires_while_every_worker_is_busy() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let rt = rt(2);
    let slept = rt.block_on(async {
        let done = Arc::new(AtomicBool::new(false));
        let giving_up = Instant::now() + Duration::from_secs(30);
        let spinners: Vec<_> = (0..2)
            .map(|_| {
                let done = done.clone();
                goro::spawn(async move {
                    while !done.load(Ordering::Acquire) && Instant::now() < giving_up {
                        goro::task::yield_now().await;
                    }
                })
            })
            .collect();
        let t = Instant::now();
        let sleeper = goro::spawn(async move {
            sleep(Duration::from_millis(20)).await;
            t.elapsed()
        });
        let slept = sleeper.await.unwrap();
        done.store(true, Ordering::Release);
        for s in spinners {
            s.await.unwrap();
        }
        slept
    });
    assert!(slept >= Duration::from_millis(20));
    assert!(
        slept < Duration::from_secs(10),
        "the sleep fired only after {slept:?}: the busy workers did not poll the timers"
    );
}

#[test]
fn sleeps_from_many_tasks_fire_in_order() {
    // One worker, so completion order is wake order. If the machine stalls
    // past several deadlines they fire in one park and the executor may run
    // that batch in any order; such an inversion is tolerated only when the
    // two completions are within 5 ms of each other (same batch).
    let rt = rt(1);
    let done = rt.block_on(async {
        let start = Instant::now();
        let (tx, rx) = std::sync::mpsc::channel();
        let mut hs = Vec::new();
        for ms in [90u64, 10, 50, 30, 70, 20, 80, 40, 60] {
            let tx = tx.clone();
            hs.push(goro::spawn(async move {
                sleep_until(start + Duration::from_millis(ms)).await;
                assert!(
                    start.elapsed() >= Duration::from_millis(ms),
                    "{ms} ms fired early"
                );
                tx.send((Instant::now(), ms)).unwrap();
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
        drop(tx);
        let mut got: Vec<_> = rx.iter().collect();
        got.sort_by_key(|(t, _)| *t);
        got
    });
    assert_eq!(done.len(), 9);
    for (i, (ti, di)) in done.iter().enumerate() {
        for (tj, dj) in &done[i + 1..] {
            if dj < di {
                assert!(
                    *tj - *ti < Duration::from_millis(5),
                    "{dj} ms fired {:?} after {di} ms",
                    *tj - *ti
                );
            }
        }
    }
}

#[test]
fn timer_inserted_while_driver_sleeps_toward_a_later_one() {
    // A worker parks in the reactor toward a 10 s timer; another task then
    // sleeps 20 ms. The insert must unpark the driver.
    let rt = rt(2);
    let took = rt.block_on(async {
        let long = goro::spawn(async { sleep(Duration::from_secs(10)).await });
        goro::task::yield_now().await;
        let t = Instant::now();
        goro::spawn(async { sleep(Duration::from_millis(20)).await })
            .await
            .unwrap();
        long.abort();
        t.elapsed()
    });
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn timeout_on_the_runtime() {
    let rt = rt(2);
    rt.block_on(async {
        assert_eq!(timeout(Duration::from_secs(5), async { 3 }).await, Ok(3));
        let t = Instant::now();
        let r = timeout(Duration::from_millis(20), std::future::pending::<()>()).await;
        assert!(r.is_err());
        assert!(t.elapsed() >= Duration::from_millis(20));
        assert_eq!(goro_reactor::Handle::current().pending_timers(), 0);
    });
}

#[test]
fn intervals_on_the_runtime() {
    let rt = rt(2);
    rt.block_on(async {
        for b in [
            MissedTickBehavior::Burst,
            MissedTickBehavior::Delay,
            MissedTickBehavior::Skip,
        ] {
            let mut iv = interval(Duration::from_millis(5));
            iv.set_missed_tick_behavior(b);
            let first = iv.tick().await;
            let mut last = first;
            for _ in 0..5 {
                let t = iv.tick().await;
                assert!(t >= last + Duration::from_millis(5), "{b:?}");
                assert!(Instant::now() >= t, "ticked early ({b:?})");
                last = t;
            }
        }
    });
}
