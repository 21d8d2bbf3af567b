//! The paused clock: `pause`, `advance`, `resume`, auto-advance and
//! `#[goro::test(start_paused = true)]`.

use goro::time::{self, Duration, Instant};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[goro::test(start_paused = true)]
async fn a_one_hour_timeout_completes_in_well_under_a_second() {
    let wall = std::time::Instant::now();
    let start = Instant::now();
    let res = time::timeout(Duration::from_secs(3600), std::future::pending::<()>()).await;
    assert!(res.is_err());
    // The paused clock moved an hour; the real one did not.
    assert!(Instant::now() - start >= Duration::from_secs(3600));
    assert!(
        wall.elapsed() < Duration::from_secs(1),
        "{:?}",
        wall.elapsed()
    );
}

#[goro::test]
async fn sleeps_fire_in_order_under_advance() {
    time::pause();
    assert!(time::is_paused());
    let log = Rc::new(RefCell::new(Vec::new()));
    let set = goro::task::LocalSet::new();
    set.run_until(async {
        for ms in [30u64, 10, 20] {
            let log = log.clone();
            goro::task::spawn_local(async move {
                time::sleep(Duration::from_millis(ms)).await;
                log.borrow_mut().push(ms);
            });
        }
        goro::task::yield_now().await; // let them register
        time::advance(Duration::from_millis(15)).await;
        assert_eq!(*log.borrow(), vec![10]);
        time::advance(Duration::from_millis(10)).await;
        assert_eq!(*log.borrow(), vec![10, 20]);
        time::advance(Duration::from_millis(10)).await;
        assert_eq!(*log.borrow(), vec![10, 20, 30]);
    })
    .await;
}

#[goro::test(start_paused = true)]
async fn interval_ticks_on_the_paused_clock() {
    let wall = std::time::Instant::now();
    let start = Instant::now();
    let mut iv = time::interval(Duration::from_secs(60));
    let mut ticks = Vec::new();
    for _ in 0..5 {
        ticks.push(iv.tick().await - start);
    }
    let expect: Vec<Duration> = (0..5).map(|i| Duration::from_secs(60 * i)).collect();
    assert_eq!(ticks, expect);
    assert!(wall.elapsed() < Duration::from_secs(1));
}

#[goro::test(start_paused = true)]
async fn auto_advance_waits_for_busy_tasks() {
    let steps = Arc::new(AtomicUsize::new(0));
    let s = steps.clone();
    let busy = goro::spawn(async move {
        for _ in 0..10_000 {
            s.fetch_add(1, Ordering::SeqCst);
            goro::task::yield_now().await;
        }
    });
    // The clock may only jump once nothing can run: the busy task has
    // finished every step by then.
    time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(steps.load(Ordering::SeqCst), 10_000);
    busy.await.unwrap();
}

#[goro::test]
async fn std_instant_does_not_follow_the_paused_clock_and_resume_continues() {
    time::pause();
    let t0 = Instant::now();
    let s0 = std::time::Instant::now();
    time::advance(Duration::from_secs(100)).await;
    assert_eq!(Instant::now() - t0, Duration::from_secs(100));
    assert!(s0.elapsed() < Duration::from_secs(100));
    time::resume();
    assert!(!time::is_paused());
    // Running again, from where the paused clock stood.
    assert!(Instant::now() - t0 >= Duration::from_secs(100));
    time::sleep(Duration::from_millis(1)).await;
}

#[goro::test]
#[should_panic(expected = "advance called on a clock that is not paused")]
async fn advance_on_an_unpaused_clock_panics() {
    time::advance(Duration::from_secs(1)).await;
}

#[test]
#[should_panic(expected = "pause needs a current-thread runtime")]
fn pause_on_a_multi_thread_runtime_panics() {
    let rt = goro::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    rt.block_on(async { time::pause() });
}

#[test]
fn start_paused_is_refused_on_a_multi_thread_builder() {
    let Err(err) = goro::runtime::Builder::new_multi_thread()
        .start_paused(true)
        .build()
    else {
        panic!("a multi-thread runtime cannot start paused");
    };
    assert!(err.to_string().contains("start_paused"), "{err}");
}
