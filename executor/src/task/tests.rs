//! The task record on its own, driven by hand (also run under Miri:
//! `cargo +nightly miri test -p goro-executor task::`).

use super::test_sched::TestSched;
use super::yield_now;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use tokio_test::{assert_pending, assert_ready};

/// Counts its drops.
struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Pending until `open` is set; parks its waker in `slot`.
#[derive(Clone, Default)]
struct Gate {
    open: Arc<Mutex<bool>>,
    slot: Arc<Mutex<Option<Waker>>>,
}

impl Gate {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        if let Some(w) = self.slot.lock().unwrap().take() {
            w.wake();
        }
    }
    fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let g = self.clone();
        std::future::poll_fn(move |cx| {
            if *g.open.lock().unwrap() {
                Poll::Ready(())
            } else {
                *g.slot.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

#[test]
fn runs_and_joins() {
    let s = TestSched::new();
    let mut h = tokio_test::task::spawn(s.spawn(async { 5 }));
    assert_pending!(h.poll());
    assert_eq!(s.run_all(), 1);
    assert!(h.is_woken());
    assert_eq!(assert_ready!(h.poll()).unwrap(), 5);
    assert_eq!(s.owned.len(), 0);
}

#[test]
fn wake_by_ref_and_wake_requeue_once() {
    let s = TestSched::new();
    let gate = Gate::default();
    let h = s.spawn(gate.wait());
    s.run_all();
    let w = gate.slot.lock().unwrap().clone().unwrap();
    w.wake_by_ref();
    w.wake_by_ref();
    assert_eq!(s.queued(), 1, "a second wake of a queued task is a no-op");
    s.run_all();
    assert!(!h.is_finished());
    gate.open();
    s.run_all();
    assert!(h.is_finished());
    drop(w);
    drop(h);
    assert_eq!(s.owned.len(), 0);
}

#[test]
fn yield_now_requeues_at_the_back() {
    let s = TestSched::new();
    let h = s.spawn(async {
        yield_now().await;
        yield_now().await;
        1
    });
    assert_eq!(s.run_all(), 3);
    assert_eq!(*s.yields.lock().unwrap(), 2);
    assert!(h.is_finished());
}

#[test]
fn wake_after_complete_is_harmless() {
    let s = TestSched::new();
    let stash: Arc<Mutex<Option<Waker>>> = Default::default();
    let st = stash.clone();
    let h = s.spawn(std::future::poll_fn(move |cx| {
        *st.lock().unwrap() = Some(cx.waker().clone());
        Poll::Ready(3)
    }));
    s.run_all();
    let w = stash.lock().unwrap().take().unwrap();
    w.wake_by_ref();
    assert_eq!(s.queued(), 0);
    drop(h);
    w.wake(); // last reference: frees the task
    assert_eq!(s.owned.len(), 0);
}

#[test]
fn abort_idle_task_drops_future() {
    let s = TestSched::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = DropCount(drops.clone());
    let gate = Gate::default();
    let g = gate.clone();
    let h = s.spawn(async move {
        let _d = d;
        g.wait().await;
    });
    s.run_all();
    h.abort();
    assert_eq!(drops.load(SeqCst), 0, "dropped by a worker, not by abort");
    s.run_all();
    assert_eq!(drops.load(SeqCst), 1);
    let mut h = tokio_test::task::spawn(h);
    assert!(assert_ready!(h.poll()).unwrap_err().is_cancelled());
}

#[test]
fn abort_before_first_poll() {
    let s = TestSched::new();
    let h = s.spawn(async { 1 });
    h.abort();
    s.run_all();
    let mut h = tokio_test::task::spawn(h);
    assert!(assert_ready!(h.poll()).unwrap_err().is_cancelled());
}

#[test]
fn abort_while_running_cancels_after_poll() {
    let s = TestSched::new();
    let handle: Arc<Mutex<Option<super::JoinHandle<()>>>> = Default::default();
    let h2 = handle.clone();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = DropCount(drops.clone());
    let h = s.spawn(async move {
        let _d = d;
        // Abort ourselves mid-poll, then stay pending.
        h2.lock().unwrap().as_ref().unwrap().abort();
        std::future::pending::<()>().await;
    });
    *handle.lock().unwrap() = Some(h);
    s.run_all();
    assert_eq!(drops.load(SeqCst), 1);
    let h = handle.lock().unwrap().take().unwrap();
    assert!(h.is_finished());
}

#[test]
fn panic_is_caught_and_future_dropped() {
    let s = TestSched::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = DropCount(drops.clone());
    let h = s.spawn(async move {
        let _d = d;
        panic!("task failed");
    });
    s.run_all();
    assert_eq!(drops.load(SeqCst), 1);
    let mut h = tokio_test::task::spawn(h);
    let err = assert_ready!(h.poll()).unwrap_err();
    assert!(err.is_panic());
    assert!(err.to_string().contains("task failed"), "{err}");
}

#[test]
fn output_dropped_once_whether_or_not_joined() {
    let s = TestSched::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let h = s.spawn(async move { DropCount(d) });
    s.run_all();
    drop(h); // output never read: the handle drops it
    assert_eq!(drops.load(SeqCst), 1);

    let d = drops.clone();
    let h = s.spawn(async move { DropCount(d) });
    drop(h); // detached before completion: the worker drops it
    s.run_all();
    assert_eq!(drops.load(SeqCst), 2);
}

#[test]
fn join_waker_replaced_and_woken() {
    let s = TestSched::new();
    let gate = Gate::default();
    let h = s.spawn(gate.wait());
    let mut t1 = tokio_test::task::spawn(h);
    assert_pending!(t1.poll());
    // Poll through a different task (different waker): the slot is updated.
    let h = t1.into_inner();
    let mut t2 = tokio_test::task::spawn(h);
    assert_pending!(t2.poll());
    s.run_all();
    gate.open();
    s.run_all();
    assert!(t2.is_woken());
    assert_ready!(t2.poll()).unwrap();
}

#[test]
fn shutdown_drops_idle_and_queued_futures() {
    let s = TestSched::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..10 {
        let d = DropCount(drops.clone());
        handles.push(s.spawn(async move {
            let _d = d;
            std::future::pending::<()>().await;
        }));
    }
    // Half have been polled (idle), half are still queued.
    for _ in 0..5 {
        s.pop().unwrap().run();
    }
    s.owned.close_and_shutdown();
    assert_eq!(drops.load(SeqCst), 10);
    assert_eq!(s.run_all(), 5, "queued Notifieds are skipped");
    for h in handles {
        let mut h = tokio_test::task::spawn(h);
        assert!(assert_ready!(h.poll()).unwrap_err().is_cancelled());
    }
    // Spawning after shutdown: cancelled at once.
    let mut h = tokio_test::task::spawn(s.spawn(async { 1 }));
    assert!(assert_ready!(h.poll()).unwrap_err().is_cancelled());
}

#[test]
fn waker_clones_keep_the_task_alive() {
    let s = TestSched::new();
    let gate = Gate::default();
    let h = s.spawn(gate.wait());
    s.run_all();
    let w = gate.slot.lock().unwrap().clone().unwrap();
    let clones: Vec<Waker> = (0..10).map(|_| w.clone()).collect();
    drop(h);
    gate.open();
    s.run_all();
    drop(clones);
    drop(w);
    assert_eq!(s.owned.len(), 0);
}

#[test]
fn panicking_destructor_becomes_panic_error() {
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("bomb");
        }
    }
    struct Hold(#[allow(dead_code)] Bomb);
    impl Future for Hold {
        type Output = u8;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u8> {
            Poll::Ready(1)
        }
    }
    let s = TestSched::new();
    let h = s.spawn(Hold(Bomb));
    s.run_all();
    let mut h = tokio_test::task::spawn(h);
    assert!(assert_ready!(h.poll()).unwrap_err().is_panic());
}
