//! Timers on the reactor, driven by the single-thread harness in `support`.

mod support;

use goro_reactor::time::{
    interval, interval_at, sleep, sleep_until, timeout, Duration, Instant, MissedTickBehavior,
};
use std::cell::RefCell;
use std::rc::Rc;
use support::{run, run_with_driver, spawn, spawn_with};

#[test]
fn sleeps_complete_in_deadline_order_and_never_early() {
    let order = run(|| async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let start = Instant::now();
        let mut joins = Vec::new();
        // Deliberately spawned out of order, spanning wheel levels 0 and 1.
        for ms in [70u64, 5, 40, 1, 130, 20, 64, 65] {
            let order = order.clone();
            joins.push(spawn_with(async move {
                sleep(Duration::from_millis(ms)).await;
                let woke = start.elapsed();
                assert!(
                    woke >= Duration::from_millis(ms),
                    "{ms} ms sleep woke at {woke:?}"
                );
                order.borrow_mut().push(ms);
            }));
        }
        for j in joins {
            j.join().await;
        }
        let v = order.borrow().clone();
        v
    });
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
}

#[test]
fn ten_ms_sleep_median_is_close_to_ten_ms() {
    let mut samples = run(|| async {
        let mut v = Vec::new();
        for _ in 0..31 {
            let t = Instant::now();
            sleep(Duration::from_millis(10)).await;
            v.push(t.elapsed());
        }
        v
    });
    samples.sort();
    let median = samples[samples.len() / 2];
    eprintln!(
        "10 ms sleep: median {median:?}, min {:?}, max {:?}",
        samples[0], samples[30]
    );
    assert!(samples[0] >= Duration::from_millis(10));
    // Generous: the CI machine is two shared cores.
    assert!(median < Duration::from_millis(25), "median {median:?}");
}

#[test]
fn timeout_cancels_the_timer_when_the_future_wins_and_elapses_otherwise() {
    let ((), handle) = run_with_driver(|handle| {
        let handle = handle.clone();
        async move {
            let v = timeout(Duration::from_secs(60), async { 7 }).await;
            assert_eq!(v, Ok(7));
            assert_eq!(
                handle.pending_timers(),
                0,
                "the winner must cancel the timer"
            );

            let slow = timeout(Duration::from_millis(5), std::future::pending::<()>()).await;
            let e = slow.unwrap_err();
            assert_eq!(e.to_string(), "deadline has elapsed");
            let io: std::io::Error = e.into();
            assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);

            // A long sleep inside a short timeout: the inner sleep is
            // dropped with the timeout and leaves nothing behind.
            let r = timeout(Duration::from_millis(5), sleep(Duration::from_secs(3600))).await;
            assert!(r.is_err());
            assert_eq!(handle.pending_timers(), 0);
        }
    });
    assert_eq!(handle.pending_timers(), 0);
}

#[test]
fn dropping_and_resetting_sleeps() {
    run_with_driver(|handle| {
        let handle = handle.clone();
        async move {
            let waker = futures::task::noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(!handle.needs_polling(), "no timer armed yet");
            let mut s = Box::pin(sleep(Duration::from_secs(100)));
            assert!(
                !handle.needs_polling(),
                "a sleep arms its timer when polled"
            );
            assert!(s.as_mut().poll(&mut cx).is_pending());
            assert_eq!(handle.pending_timers(), 1);
            assert!(handle.needs_polling(), "an armed timer needs the reactor");
            // Reset earlier: the next poll waits for the new deadline only.
            let t = Instant::now();
            s.as_mut().reset(Instant::now() + Duration::from_millis(15));
            assert_eq!(handle.pending_timers(), 0);
            assert!(
                !handle.needs_polling(),
                "the reset cancelled the only timer"
            );
            s.as_mut().await;
            assert!(t.elapsed() >= Duration::from_millis(15));
            assert!(s.is_elapsed());
            // Reset after completion re-arms it.
            s.as_mut().reset(Instant::now() + Duration::from_millis(2));
            assert!(!s.is_elapsed());
            s.as_mut().await;
            // A sleep in the past completes (at once, or at the next park
            // if the wheel has not yet seen its tick) and leaves nothing.
            let t = Instant::now();
            sleep_until(Instant::now() - Duration::from_millis(1)).await;
            assert!(t.elapsed() < Duration::from_secs(5));
            assert_eq!(handle.pending_timers(), 0);
            // One the wheel already passed is ready on the first poll.
            let mut past = sleep_until(Instant::now() - Duration::from_secs(3600));
            assert!(std::pin::Pin::new(&mut past).poll(&mut cx).is_ready());
        }
    });
}

#[test]
fn a_million_pending_sleeps_register_and_cancel_quickly() {
    run_with_driver(|handle| {
        let handle = handle.clone();
        async move {
            let waker = futures::task::noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            let t = Instant::now();
            let mut sleeps: Vec<_> = (0..1_000_000u64)
                .map(|i| sleep(Duration::from_millis(1000 + i % 100_000)))
                .collect();
            for s in &mut sleeps {
                assert!(std::pin::Pin::new(s).poll(&mut cx).is_pending());
            }
            assert_eq!(handle.pending_timers(), 1_000_000);
            drop(sleeps);
            assert_eq!(handle.pending_timers(), 0);
            eprintln!(
                "1M sleeps registered and cancelled in {:?} (debug build)",
                t.elapsed()
            );
        }
    });
}

#[test]
fn many_pending_timers_fire_together() {
    let n = run(|| async {
        let fired = Rc::new(RefCell::new(0usize));
        let deadline = Instant::now() + Duration::from_millis(30);
        for _ in 0..10_000 {
            let fired = fired.clone();
            spawn(async move {
                sleep_until(deadline).await;
                *fired.borrow_mut() += 1;
            });
        }
        sleep_until(deadline + Duration::from_millis(1)).await;
        // Everyone due by then has been woken; let them run.
        while *fired.borrow() < 10_000 {
            support::yield_now().await;
        }
        let n = *fired.borrow();
        n
    });
    assert_eq!(n, 10_000);
}

fn block_for(d: Duration) {
    // Simulates a task that hogs its thread (not synchronisation).
    std::thread::sleep(d);
}

#[test]
fn interval_burst_catches_up_on_schedule() {
    run(|| async {
        let p = Duration::from_millis(10);
        let start = Instant::now();
        let mut iv = interval_at(start, p);
        assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Burst);
        assert_eq!(iv.tick().await, start);
        block_for(Duration::from_millis(45));
        // Ticks due at 10..40 ms fire back to back, on their original schedule.
        for k in 1..=4 {
            let t = iv.tick().await;
            assert_eq!(t, start + p * k);
        }
        assert!(start.elapsed() < Duration::from_millis(45) + p * 3);
    });
}

#[test]
fn interval_delay_restarts_from_the_late_tick() {
    run(|| async {
        let p = Duration::from_millis(10);
        let start = Instant::now();
        let mut iv = interval_at(start, p);
        iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
        iv.tick().await;
        block_for(Duration::from_millis(35));
        let late = iv.tick().await; // due at 10 ms, observed at >= 35 ms
        assert_eq!(late, start + p);
        let observed = Instant::now();
        let next = iv.tick().await;
        // The schedule restarted from when the late tick was observed.
        assert!(
            next >= observed - Duration::from_millis(1) + p,
            "{:?}",
            next - start
        );
        assert!(next > start + p * 3);
    });
}

#[test]
fn interval_skip_drops_missed_ticks_and_stays_aligned() {
    run(|| async {
        let p = Duration::from_millis(10);
        let start = Instant::now();
        let mut iv = interval_at(start, p);
        iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
        iv.tick().await;
        block_for(Duration::from_millis(35));
        assert_eq!(iv.tick().await, start + p); // the late one, once
        let next = iv.tick().await;
        let offset = next - start;
        assert_eq!(offset.as_nanos() % p.as_nanos(), 0, "aligned to the period");
        assert!(
            offset >= Duration::from_millis(40),
            "missed ticks skipped: {offset:?}"
        );
    });
}

#[test]
fn interval_first_tick_is_immediate() {
    run(|| async {
        let t = Instant::now();
        let mut iv = interval(Duration::from_secs(3600));
        iv.tick().await;
        assert!(t.elapsed() < Duration::from_secs(1));
    });
}

#[test]
#[should_panic(expected = "period must be non-zero")]
fn zero_period_interval_panics() {
    run(|| async {
        let _ = interval(Duration::ZERO);
    });
}

#[test]
#[should_panic(expected = "no goro reactor running")]
fn sleep_outside_a_runtime_panics() {
    drop(sleep(Duration::from_millis(1)));
}

#[test]
fn a_timer_inserted_from_another_thread_unparks_the_driver() {
    // The driver parks with no deadline; a thread then registers a 5 ms
    // sleep through the handle. The park must end (the insert unparks it)
    // and the next park must fire the timer.
    let mut driver = goro_reactor::Driver::new().unwrap();
    let handle = driver.handle();
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    struct Flag(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl std::task::Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let h2 = handle.clone();
    let f2 = flag.clone();
    let t = std::thread::spawn(move || {
        let _g = h2.enter();
        let mut s = sleep(Duration::from_millis(5));
        let waker = std::task::Waker::from(std::sync::Arc::new(Flag(f2)));
        assert!(std::pin::Pin::new(&mut s)
            .poll(&mut std::task::Context::from_waker(&waker))
            .is_pending());
        s // keep it registered
    });
    let start = Instant::now();
    while !flag.load(std::sync::atomic::Ordering::SeqCst) {
        driver.park(None);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "driver never woke"
        );
    }
    drop(t.join().unwrap());
    assert_eq!(handle.pending_timers(), 0);
}

use std::future::Future;

#[test]
fn shutdown_drops_pending_timers_and_their_wakers() {
    struct Counted;
    impl std::task::Wake for Counted {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let mut driver = goro_reactor::Driver::new().unwrap();
    let handle = driver.handle();
    let _g = handle.enter();
    let token = std::sync::Arc::new(Counted);
    let mut sleeps: Vec<_> = (0..1000)
        .map(|i| sleep(Duration::from_secs(10 + i)))
        .collect();
    {
        let waker = std::task::Waker::from(token.clone());
        let mut cx = std::task::Context::from_waker(&waker);
        for s in &mut sleeps {
            assert!(std::pin::Pin::new(s).poll(&mut cx).is_pending());
        }
    }
    assert_eq!(std::sync::Arc::strong_count(&token), 1 + 1000);
    driver.shutdown();
    assert_eq!(handle.pending_timers(), 0);
    assert_eq!(
        std::sync::Arc::strong_count(&token),
        1,
        "shutdown must release every stored waker"
    );
    // Dropping the sleeps afterwards is harmless; polling one panics with
    // a message that names the cause.
    let mut one = sleeps.pop().unwrap();
    drop(sleeps);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let _ = std::pin::Pin::new(&mut one).poll(&mut cx);
    }));
    let msg = *r.unwrap_err().downcast::<String>().unwrap();
    assert!(msg.contains("has shut down"), "{msg}");
}
