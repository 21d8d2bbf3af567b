//! The current-thread flavor's M, and `block_on` on a plain thread.
//!
//! A current-thread runtime has one P and no worker threads. The thread in
//! `block_on` is the M: it takes the P, runs tasks between polls of its own
//! future, and parks in the reactor when both are idle. Between `block_on`
//! calls the P waits in `Shared::idle_ps` with its queue intact.
//!
//! On a multi-thread runtime (and on a current-thread one whose P another
//! thread holds, or that has shut down) `block_on` only drives its own
//! future, sleeping on the thread's parker between polls
//! ([`block_on_thread`]).

use crate::context::{self, thread_parker, WorkerCtx};
use crate::deadlock::park_block_on;
use crate::processor::Processor;
use crate::shared::Shared;
use crate::worker::Machine;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// `block_on` on a current-thread runtime: runs as its M while this thread
/// holds the P; while another thread's `block_on` holds it, drives only
/// `future` and waits for it or for the P, whichever comes first.
pub(crate) fn block_on<F: Future>(shared: &Arc<Shared>, future: F) -> F::Output {
    let mut future = pin!(future);
    loop {
        if shared.is_shutdown() {
            return block_on_thread(future);
        }
        let p = shared.idle_ps.lock().unwrap().pop();
        if let Some(p) = p {
            return drive(shared, p, future.as_mut());
        }
        // Another thread's block_on holds the P: drive only our future and
        // wait for it or for the P.
        let (parker, waker) = thread_parker();
        shared.p_waiters.lock().unwrap().push(parker.clone());
        let p_free = !shared.idle_ps.lock().unwrap().is_empty();
        let polled = if p_free {
            Poll::Pending
        } else {
            let mut cx = Context::from_waker(&waker);
            goro_coop::unconstrained(|| poll_main(future.as_mut(), &mut cx))
        };
        if !p_free && polled.is_pending() {
            parker.park();
        }
        shared
            .p_waiters
            .lock()
            .unwrap()
            .retain(|w| !Arc::ptr_eq(w, &parker));
        if let Poll::Ready(out) = polled {
            return out;
        }
    }
}

/// Wakes the `block_on` future and the M that drives it.
struct MainWaker {
    woken: AtomicBool,
    parker: Arc<crate::park::Parker<goro_reactor::Handle>>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        // Release: the waker's writes are visible when block_on sees it.
        self.woken.store(true, Ordering::Release);
        self.parker.unpark();
    }
}

/// Gives the P back (even if the future panics) and wakes a waiting
/// `block_on`.
struct ReturnP<'a> {
    ctx: &'a WorkerCtx,
}

impl Drop for ReturnP<'_> {
    fn drop(&mut self) {
        let shared = &self.ctx.shared;
        let p = Machine::new(self.ctx).release_p();
        shared.idle_ps.lock().unwrap().push(p);
        let waiters = shared.p_waiters.lock().unwrap().clone();
        for w in waiters {
            w.unpark();
        }
    }
}

fn drive<F: Future>(shared: &Arc<Shared>, p: Box<Processor>, mut future: Pin<&mut F>) -> F::Output {
    let index = p.index;
    let ctx = WorkerCtx {
        shared: shared.clone(),
        p: RefCell::new(Some(p)),
        searching: Cell::new(false),
    };
    let _worker = context::enter_worker(&ctx);
    let _return = ReturnP { ctx: &ctx };
    let m = Machine::new(&ctx);
    let _forced = m.count_forced_yields();
    let main = Arc::new(MainWaker {
        woken: AtomicBool::new(true),
        parker: shared.remotes[index].parker.clone(),
    });
    let waker = Waker::from(main.clone());
    let mut cx = Context::from_waker(&waker);
    let watched = shared.watch.enter_block_on(&waker);
    loop {
        // Acquire: pairs with the Release in MainWaker.
        if main.woken.swap(false, Ordering::Acquire) {
            // Budgeted like a task: this thread also runs the runtime's
            // tasks, so a block_on body that drains an always-ready
            // resource must still let them run.
            if let Poll::Ready(out) = goro_coop::with_budget(|| poll_main(future.as_mut(), &mut cx))
            {
                return out;
            }
        }
        if shared.is_shutdown() {
            // Runtime dropped elsewhere: nothing will run tasks any more.
            drop(_return);
            drop(_worker);
            return block_on_thread(future);
        }
        match m.next_task() {
            Some(task) => m.run(task),
            None => park_block_on(&watched, || {
                m.park(Some(&main.woken));
            }),
        }
    }
}

/// Drives `future` on this thread, sleeping between polls.
pub(crate) fn block_on_thread<F: Future>(future: F) -> F::Output {
    block_on_thread_in(future, None)
}

/// [`block_on_thread`] on behalf of `shared`'s `block_on`, registered with
/// its deadlock detection.
pub(crate) fn block_on_thread_in<F: Future>(future: F, shared: Option<&Shared>) -> F::Output {
    let (parker, waker) = thread_parker();
    let watched = shared.and_then(|s| s.watch.enter_block_on(&waker));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        // The future is the only thing on this thread: no budget.
        if let Poll::Ready(out) = goro_coop::unconstrained(|| poll_main(future.as_mut(), &mut cx)) {
            return out;
        }
        park_block_on(&watched, || parker.park());
    }
}

/// Polls a `block_on` future, dropping the wait reason it gave: the future
/// is not a task, and the reason must not stick to the next task polled on
/// this thread.
fn poll_main<F: Future>(future: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<F::Output> {
    let polled = future.poll(cx);
    let _ = goro_coop::take_wait_reason_u8();
    polled
}
