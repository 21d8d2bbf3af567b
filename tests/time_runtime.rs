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
    eprintln!("10 ms sleep on goro runtime: min {:?} median {median:?} max {:?}", v[0], v[v.len() - 1]);
    assert!(v[0] >= Duration::from_millis(10));
    assert!(median <= Duration::from_millis(25), "median {median:?}");
}

#[test]
fn sleeps_from_many_tasks_fire_in_order() {
    let rt = rt(2);
    let order = rt.block_on(async {
        let start = Instant::now();
        let (tx, rx) = std::sync::mpsc::channel();
        let mut hs = Vec::new();
        for ms in [90u64, 10, 50, 30, 70, 20, 80, 40, 60] {
            let tx = tx.clone();
            hs.push(goro::spawn(async move {
                sleep_until(start + Duration::from_millis(ms)).await;
                assert!(start.elapsed() >= Duration::from_millis(ms));
                tx.send((Instant::now(), ms)).unwrap();
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
        drop(tx);
        let mut got: Vec<_> = rx.iter().collect();
        got.sort_by_key(|(t, _)| *t);
        got.into_iter().map(|(_, ms)| ms).collect::<Vec<_>>()
    });
    // 10 ms apart: generous enough that two workers' wake order is stable.
    assert_eq!(order, vec![10, 20, 30, 40, 50, 60, 70, 80, 90]);
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
