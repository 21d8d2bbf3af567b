//! Polling goro futures by hand with tokio-test.

use goro_executor::runtime::Builder;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use tokio_test::{assert_pending, assert_ready};

#[test]
fn join_handle_pending_then_ready() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let slot: Arc<Mutex<(bool, Option<Waker>)>> = Default::default();
    let s = slot.clone();
    let jh = rt.spawn(std::future::poll_fn(move |cx| {
        let mut g = s.lock().unwrap();
        if g.0 {
            Poll::Ready(77)
        } else {
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }));
    let mut jh = tokio_test::task::spawn(jh);
    assert_pending!(jh.poll());
    let w = {
        let mut g = slot.lock().unwrap();
        g.0 = true;
        g.1.take()
    };
    if let Some(w) = w {
        w.wake();
    }
    // Wait (without sleeping) until the join waker fires.
    let rt2 = Builder::new_current_thread().build().unwrap();
    rt2.block_on(std::future::poll_fn(|cx| {
        if jh.is_woken() || jh.is_finished_hint() {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }));
    assert_eq!(assert_ready!(jh.poll()).unwrap(), 77);
}

trait Hint {
    fn is_finished_hint(&self) -> bool;
}
impl<T> Hint for tokio_test::task::Spawn<goro_executor::JoinHandle<T>> {
    fn is_finished_hint(&self) -> bool {
        self.is_finished()
    }
}

#[test]
fn aborted_join_handle_ready_with_cancelled() {
    let rt = Builder::new_current_thread().build().unwrap();
    let jh = rt.spawn(std::future::pending::<()>());
    jh.abort();
    let mut jh = tokio_test::task::spawn(jh);
    assert_pending!(jh.poll());
    rt.block_on(goro_executor::task::yield_now());
    assert!(jh.is_woken());
    assert!(assert_ready!(jh.poll()).unwrap_err().is_cancelled());
}
