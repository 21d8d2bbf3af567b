//! Loom models of the task state machine: the races that matter (wake
//! while running, wake after complete, abort while running, drop the
//! JoinHandle while running) plus a JoinHandle poll racing completion.
//! Each model ends by checking that the record was freed (the scheduler's
//! Arc is unique again) and that futures/outputs were dropped exactly once.

use super::test_sched::TestSched;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Mutex;
use crate::loom::thread;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Ready once `flag` is set; otherwise stores its waker in `slot`.
struct WaitFlag {
    flag: Arc<AtomicBool>,
    slot: Arc<Mutex<Option<Waker>>>,
}

impl Future for WaitFlag {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        if self.flag.load(SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

struct FlagWaker(AtomicBool);
impl Wake for FlagWaker {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

fn check_freed(s: Arc<TestSched>) {
    s.run_all();
    assert_eq!(s.owned.len(), 0);
    assert_eq!(Arc::strong_count(&s), 1, "a task record leaked");
}

#[test]
fn wake_while_running() {
    loom::model(|| {
        let s = TestSched::new();
        let flag = Arc::new(AtomicBool::new(false));
        let slot = Arc::new(Mutex::new(None));
        let h = s.spawn(WaitFlag {
            flag: flag.clone(),
            slot: slot.clone(),
        });
        s.run_all(); // first poll: pending, waker stored
        let waker = slot.lock().unwrap().clone().unwrap();
        waker.wake_by_ref(); // queue a second poll
        let s2 = s.clone();
        let runner = thread::spawn(move || {
            s2.run_all();
        });
        flag.store(true, SeqCst);
        waker.wake();
        runner.join().unwrap();
        s.run_all();
        assert!(h.is_finished(), "the wake was lost");
        drop(h);
        drop(slot);
        check_freed(s);
    });
}

#[test]
fn wake_after_complete() {
    loom::model(|| {
        let s = TestSched::new();
        let flag = Arc::new(AtomicBool::new(false));
        let slot = Arc::new(Mutex::new(None));
        let h = s.spawn(WaitFlag {
            flag: flag.clone(),
            slot: slot.clone(),
        });
        s.run_all();
        let waker = slot.lock().unwrap().take().unwrap();
        flag.store(true, SeqCst);
        waker.wake_by_ref();
        let s2 = s.clone();
        let runner = thread::spawn(move || {
            s2.run_all();
        });
        waker.wake_by_ref();
        drop(waker);
        runner.join().unwrap();
        assert!(h.is_finished());
        drop(h);
        drop(slot);
        check_freed(s);
    });
}

#[test]
fn abort_while_running() {
    loom::model(|| {
        let s = TestSched::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let d = Counted(drops.clone());
        let h = s.spawn(async move {
            let _d = d;
            crate::task::yield_now().await;
            std::future::pending::<()>().await;
        });
        let s2 = s.clone();
        let runner = thread::spawn(move || {
            s2.run_all();
        });
        h.abort();
        runner.join().unwrap();
        s.run_all();
        assert_eq!(drops.load(SeqCst), 1);
        assert!(h.is_finished());
        drop(h);
        check_freed(s);
    });
}

#[test]
fn drop_join_handle_while_running() {
    loom::model(|| {
        let s = TestSched::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        let h = s.spawn(async move { Counted(d) });
        let s2 = s.clone();
        let runner = thread::spawn(move || {
            s2.run_all();
        });
        drop(h);
        runner.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1, "output dropped once");
        check_freed(s);
    });
}

#[test]
fn join_handle_poll_races_completion() {
    loom::model(|| {
        let s = TestSched::new();
        let mut h = s.spawn(async { 9 });
        let s2 = s.clone();
        let runner = thread::spawn(move || {
            s2.run_all();
        });
        let flag = Arc::new(FlagWaker(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let first = Pin::new(&mut h).poll(&mut cx);
        runner.join().unwrap();
        match first {
            Poll::Ready(v) => assert_eq!(v.unwrap(), 9),
            Poll::Pending => {
                assert!(flag.0.load(SeqCst), "join waker not woken");
                let v = Pin::new(&mut h).poll(&mut cx);
                assert!(matches!(v, Poll::Ready(Ok(9))));
            }
        }
        drop(h);
        check_freed(s);
    });
}
