//! `goro::time::after` and `goro::time::tick` on the goro runtime.

use goro::select;
use goro::time::{after, tick};
use goro::time::{Duration, Instant};

/// Timers armed in the current runtime's reactor.
fn pending_timers() -> usize {
    goro_reactor::Handle::current().pending_timers()
}

/// Yields until `f` holds, failing after a generous bound.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(20), "never: {what}");
        goro::task::yield_now().await;
    }
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sends_once_then_closes() {
    let start = Instant::now();
    let rx = after(Duration::from_millis(30));
    let t = rx.recv().await.expect("one value");
    assert!(t >= start + Duration::from_millis(30));
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(rx.recv().await, None, "closed after its one value");
}

#[goro::test]
async fn after_is_a_recv_arm_that_bounds_a_wait() {
    let (_tx, rx) = goro::chan::bounded::<u8>(0);
    let timeout = after(Duration::from_millis(20));
    let got = select! {
        recv(rx) -> _ => "value",
        recv(timeout) -> t => { assert!(t.is_some()); "timeout" }
    };
    assert_eq!(got, "timeout");
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn tick_repeats_with_the_period() {
    let start = Instant::now();
    let rx = tick(Duration::from_millis(10));
    let mut last = start;
    for n in 1..=5u32 {
        let t = rx.recv().await.unwrap();
        assert!(t >= start + Duration::from_millis(10) * n, "tick {n} early");
        assert!(t >= last);
        last = t;
    }
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[goro::test]
async fn a_slow_tick_receiver_misses_ticks_instead_of_a_burst() {
    let rx = tick(Duration::from_millis(50));
    // Six and a half periods pass without a receive. The ticks are on a
    // 50 ms grid, so the sleep ends half-way between two of them.
    goro::time::sleep(Duration::from_millis(325)).await;
    rx.try_recv().expect("the last tick waits in the channel");
    for _ in 0..10 {
        goro::task::yield_now().await;
    }
    // A ticker catching up would have refilled the channel at once.
    assert!(
        rx.try_recv().is_err(),
        "missed ticks were delivered in a burst"
    );
}

#[goro::test]
async fn dropping_the_receiver_removes_the_timer() {
    let base = pending_timers();
    let rx = after(Duration::from_secs(3600));
    eventually("after's timer is armed", || pending_timers() == base + 1).await;
    drop(rx);
    eventually("after's timer is removed", || pending_timers() == base).await;

    let rx = tick(Duration::from_secs(3600));
    eventually("tick's timer is armed", || pending_timers() == base + 1).await;
    drop(rx);
    eventually("tick's timer is removed", || pending_timers() == base).await;
}

#[goro::test]
#[should_panic(expected = "period must be greater than zero")]
async fn a_zero_tick_period_is_refused() {
    let _ = tick(Duration::ZERO);
}

#[test]
#[should_panic(expected = "outside a goro runtime")]
fn after_outside_a_runtime_panics_saying_so() {
    let _ = after(Duration::from_millis(1));
}
