//! `goro::context` and `goro::sync::ErrGroup` on the goro runtime.

use goro::context::{self, Context, ContextError};
use goro::select;
use goro::sync::ErrGroup;
use goro::time::{Duration, Instant};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Yields until `f` holds, failing after a generous bound.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(20), "never: {what}");
        goro::task::yield_now().await;
    }
}

/// Timers armed in the current runtime's reactor.
fn pending_timers() -> usize {
    goro_reactor::Handle::current().pending_timers()
}

#[goro::test]
async fn background_is_never_done() {
    let bg = context::background();
    assert_eq!(bg.err(), None);
    assert_eq!(bg.deadline(), None);
    let got = select! {
        _ = bg.done() => "done",
        recv(bg.done_chan()) -> _ => "chan",
        default => "not done",
    };
    assert_eq!(got, "not done");
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_reaches_every_descendant_and_no_ancestor() {
    let root = context::background();
    let (top, cancel_top) = context::with_cancel(&root);
    let (mid, cancel_mid) = context::with_cancel(&top);
    let valued = context::with_value(&mid, 5u8);
    let mut leaves = Vec::new();
    for _ in 0..20 {
        let (leaf, _c) = context::with_cancel(&valued);
        let (deeper, _c2) = context::with_timeout(&leaf, Duration::from_secs(3600));
        leaves.push(leaf);
        leaves.push(deeper);
    }
    let woke = Arc::new(AtomicUsize::new(0));
    let mut set = goro::task::JoinSet::new();
    for leaf in leaves.clone() {
        let woke = woke.clone();
        set.spawn(async move {
            leaf.done().await;
            woke.fetch_add(1, Ordering::SeqCst);
            leaf.err()
        });
    }
    // A child's cancel leaves its parent alone.
    let (_other, cancel_other) = context::with_cancel(&top);
    cancel_other.cancel();
    assert_eq!(top.err(), None);
    assert_eq!(woke.load(Ordering::SeqCst), 0);

    cancel_mid.cancel();
    // Synchronous: every descendant is cancelled before cancel returns.
    for leaf in &leaves {
        assert_eq!(leaf.err(), Some(ContextError::Canceled));
    }
    assert_eq!(valued.err(), Some(ContextError::Canceled));
    assert_eq!(top.err(), None);
    while let Some(res) = set.join_next().await {
        assert_eq!(res.unwrap(), Some(ContextError::Canceled));
    }
    assert_eq!(woke.load(Ordering::SeqCst), 40);
    cancel_top.cancel();
    assert_eq!(root.err(), None);
}

#[goro::test]
async fn cancel_twice_is_idempotent_and_the_first_error_stays() {
    let (ctx, cancel) = context::with_timeout(&Context::background(), Duration::from_millis(1));
    cancel.cancel();
    cancel.clone().cancel();
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
    ctx.done().await;
    // The deadline passing later changes nothing.
    goro::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
    assert_eq!(ctx.err().unwrap().to_string(), "context canceled");
}

#[goro::test]
async fn dropping_cancel_does_not_cancel_but_a_guard_does() {
    let (ctx, cancel) = context::with_cancel(&context::background());
    drop(cancel);
    assert_eq!(ctx.err(), None);
    let (ctx, cancel) = context::with_cancel(&context::background());
    let guard = cancel.drop_guard();
    assert_eq!(ctx.err(), None);
    drop(guard);
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
    let (ctx, cancel) = context::with_cancel(&context::background());
    drop(cancel.drop_guard().disarm());
    assert_eq!(ctx.err(), None);
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_fires_deadline_exceeded_down_the_tree() {
    let start = Instant::now();
    let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_millis(50));
    let (child, _c) = context::with_cancel(&ctx);
    assert_eq!(child.deadline(), ctx.deadline());
    child.done().await;
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(50), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(
        std::io::Error::from(child.err().unwrap()).kind(),
        std::io::ErrorKind::TimedOut
    );
}

#[goro::test]
async fn deadlines_inherit_the_earliest_and_a_past_one_is_done_at_once() {
    let bg = context::background();
    let soon = Instant::now() + Duration::from_secs(60);
    let (a, _ca) = context::with_deadline(&bg, soon);
    assert_eq!(a.deadline(), Some(soon));
    let (b, _cb) = context::with_deadline(&a, soon + Duration::from_secs(60));
    assert_eq!(b.deadline(), Some(soon));
    let (c, _cc) = context::with_timeout(&a, Duration::from_secs(1));
    assert!(c.deadline().unwrap() < soon);
    let (past, _cp) = context::with_deadline(&bg, Instant::now() - Duration::from_millis(1));
    assert_eq!(past.err(), Some(ContextError::DeadlineExceeded));
    past.done().await;
}

#[goro::test]
async fn a_child_of_a_cancelled_parent_starts_cancelled() {
    let (p, cancel) = context::with_cancel(&context::background());
    cancel.cancel();
    let (c, _) = context::with_cancel(&p);
    assert_eq!(c.err(), Some(ContextError::Canceled));
    let (t, _) = context::with_timeout(&p, Duration::from_secs(5));
    assert_eq!(t.err(), Some(ContextError::Canceled));
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn done_chan_is_a_recv_arm_of_select() {
    let (ctx, cancel) = context::with_cancel(&context::background());
    let (tx, rx) = goro::chan::bounded::<u32>(0);
    let worker = goro::spawn({
        let ctx = ctx.clone();
        async move {
            let mut got = 0;
            loop {
                select! {
                    recv(rx) -> v => got += v.unwrap(),
                    recv(ctx.done_chan()) -> v => { assert!(v.is_none()); return got; }
                }
            }
        }
    });
    for i in 1..=3 {
        tx.send(i).await.unwrap();
    }
    cancel.cancel();
    assert_eq!(worker.await.unwrap(), 6);
}

#[derive(Debug, PartialEq)]
struct RequestId(u64);

#[goro::test]
async fn values_are_found_by_type_nearest_first() {
    let bg = context::background();
    let a = context::with_value(&bg, RequestId(1));
    let b = context::with_value(&a, "user");
    let (c, _cancel) = context::with_cancel(&b);
    let d = context::with_value(&c, RequestId(2));
    assert_eq!(c.value::<RequestId>(), Some(&RequestId(1)));
    assert_eq!(d.value::<RequestId>(), Some(&RequestId(2)));
    assert_eq!(d.value::<&str>(), Some(&"user"));
    assert_eq!(bg.value::<RequestId>(), None);
    assert_eq!(d.value::<u32>(), None);
}

#[goro::test]
async fn a_dropped_or_cancelled_context_releases_its_timer() {
    let base = pending_timers();
    let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_secs(3600));
    eventually("the deadline timer is armed", || {
        pending_timers() == base + 1
    })
    .await;
    drop((ctx, cancel));
    eventually("the timer of a dropped context is removed", || {
        pending_timers() == base
    })
    .await;
    let (_ctx, cancel) = context::with_timeout(&context::background(), Duration::from_secs(3600));
    eventually("armed again", || pending_timers() == base + 1).await;
    cancel.cancel();
    eventually("the timer of a cancelled context is removed", || {
        pending_timers() == base
    })
    .await;
}

#[test]
#[should_panic(expected = "outside a goro runtime")]
fn a_deadline_outside_a_runtime_panics_saying_so() {
    let _ = context::with_timeout(&context::background(), Duration::from_secs(1));
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn errgroup_returns_the_first_error_and_cancels_the_rest() {
    let mut group = ErrGroup::new();
    let stopped = Arc::new(AtomicUsize::new(0));
    for _ in 0..8 {
        let ctx = group.context().clone();
        let stopped = stopped.clone();
        group.spawn(async move {
            ctx.done().await;
            stopped.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
    }
    group.spawn(async { Err("bad input") });
    assert_eq!(group.wait().await, Err("bad input"));
    assert_eq!(stopped.load(Ordering::SeqCst), 8);
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn errgroup_limit_bounds_concurrency_and_ok_is_ok() {
    let mut group: ErrGroup<String> = ErrGroup::with_limit(3);
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..30 {
        let (running, peak, done) = (running.clone(), peak.clone(), done.clone());
        group.spawn(async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            for _ in 0..10 {
                goro::task::yield_now().await;
            }
            running.fetch_sub(1, Ordering::SeqCst);
            done.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
    }
    let ctx = group.context().clone();
    assert_eq!(group.wait().await, Ok(()));
    assert_eq!(done.load(Ordering::SeqCst), 30);
    assert!(
        peak.load(Ordering::SeqCst) <= 3,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
    // Go's rule: the group's context is done once wait returns.
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
}

#[goro::test]
async fn errgroup_with_context_follows_the_parent() {
    let (parent, cancel) = context::with_cancel(&context::background());
    let mut group: ErrGroup<()> = ErrGroup::with_context(&parent);
    let ctx = group.context().clone();
    group.spawn(async move {
        ctx.done().await;
        Ok(())
    });
    cancel.cancel();
    assert_eq!(group.wait().await, Ok(()));
}

#[goro::test]
#[should_panic(expected = "member blew up")]
async fn errgroup_resumes_a_member_panic() {
    let mut group: ErrGroup<()> = ErrGroup::new();
    group.spawn(async { panic!("member blew up") });
    let _ = group.wait().await;
}
