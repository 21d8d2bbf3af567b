//! A thread `block_on`: drives a channel future on a plain thread (the
//! `*_blocking` calls and `select_blocking!`); the thread parks, and the
//! waker unparks it.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    /// One waker per thread, made once: blocking calls allocate nothing.
    static WAKER: Waker = Waker::from(Arc::new(Unparker(thread::current())));
}

/// Runs `future` to completion on this thread, parking between polls.
/// `park` may return spuriously; the channel futures treat an extra poll as
/// a no-op, so no flag is needed.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
                return v;
            }
            thread::park();
        }
    })
}
