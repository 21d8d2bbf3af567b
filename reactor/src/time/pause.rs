//! The paused clock: [`pause`], [`advance`], [`resume`], for tests.
//!
//! ## The paused clock
//!
//! Each reactor's clock (`clock.rs`) is the real monotonic clock until a
//! test calls [`pause`]. From then on the clock has a time of its own,
//! kept under the timer lock (`TimerState::virt`): it stands still until
//! [`advance`] moves it, or until the runtime has nothing to do and the
//! driver parks with no timeout, when it jumps straight to the next timer
//! (auto-advance: a test of a one-hour timeout takes as long as its code
//! runs). [`resume`] starts it again from where it stands, at the real
//! clock's pace. Everything that reads the clock follows it: `sleep`,
//! `timeout`, `interval`, [`Instant::now`](super::Instant::now), the
//! driver's wheel.
//!
//! What the unpaused path pays: [`Clock::now`](super::clock) reads one
//! relaxed flag before the real clock; inserting, polling and cancelling
//! a timer read no clock at all, as before; the driver's park matches the
//! time source under the lock it already holds.
//!
//! Only the current-thread flavor allows it (tokio's rule). There every
//! task runs on the thread that parks in the driver, so "the driver parks
//! with no timeout" means "every task is idle"; on a multi-thread runtime
//! one idle worker parking in the driver says nothing about the others,
//! and a jump could skip past a busy task's deadlines. Work running on
//! other threads (the blocking pool, a thread the test started) does not
//! hold auto-advance back: a test that waits on such work with a timer
//! may see the timer fire first.

use super::clock::Virtual;
use crate::driver::Handle;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Pauses the current runtime's clock (see the module docs): time stands
/// still until [`advance`] moves it or every task is idle, when it jumps to
/// the next timer.
///
/// # Panics
/// Outside a goro runtime; on a multi-thread runtime (use
/// `#[goro::test]`, whose default flavor is current-thread, or
/// `Builder::new_current_thread`); if the clock is paused already.
#[track_caller]
pub fn pause() {
    pause_in(&Handle::current());
}

/// [`pause`] on `handle`'s clock.
#[track_caller]
pub(crate) fn pause_in(handle: &Handle) {
    let clock = &handle.inner.clock;
    if !clock.is_pausable() {
        panic!(
            "goro::time::pause needs a current-thread runtime: time can only be paused where \
             every task runs on one thread (use #[goro::test] or \
             Builder::new_current_thread())"
        );
    }
    let mut st = clock.lock();
    let now = clock.virtual_now(&st, Instant::now());
    if let Virtual::Paused(_) = st.virt {
        drop(st);
        panic!("goro::time::pause: the clock is already paused");
    }
    st.virt = Virtual::Paused(now);
    clock.set_virtualized();
}

/// Starts the paused clock again, from the time it shows, at the real
/// clock's pace.
///
/// # Panics
/// Outside a goro runtime, or if the clock is not paused.
#[track_caller]
pub fn resume() {
    let handle = Handle::current();
    let clock = &handle.inner.clock;
    let mut st = clock.lock();
    let Virtual::Paused(at) = st.virt else {
        drop(st);
        panic!("goro::time::resume: the clock is not paused (call goro::time::pause first)");
    };
    st.virt = Virtual::Resumed {
        real: Instant::now(),
        at,
    };
    drop(st);
    // A sleeping driver computed its timeout on the paused clock.
    handle.unpark();
}

/// Moves the paused clock forward by `duration`, fires every timer due by
/// then, and yields once so that the tasks those timers woke run before
/// the caller goes on.
///
/// # Panics
/// Outside a goro runtime, or if the clock is not paused (call [`pause`]
/// first: advancing the real clock is not possible).
pub async fn advance(duration: Duration) {
    let handle = Handle::current();
    let clock = &handle.inner.clock;
    let mut fired: Vec<Waker> = Vec::new();
    {
        let mut st = clock.lock();
        let Virtual::Paused(at) = st.virt else {
            drop(st);
            panic!(
                "goro::time::advance called on a clock that is not paused: call \
                 goro::time::pause() first (or use #[goro::test(start_paused = true)])"
            );
        };
        let at = at
            .checked_add(duration)
            .unwrap_or_else(super::far_future_std);
        st.virt = Virtual::Paused(at);
        st.wheel.advance(clock.now_tick(at), &mut fired);
    }
    // Outside the lock: see "Wakers are dropped outside the lock" in
    // clock.rs.
    fired.into_iter().for_each(Waker::wake);
    YieldOnce(false).await;
}

/// Whether the current runtime's clock is paused right now.
///
/// # Panics
/// Outside a goro runtime.
#[track_caller]
pub fn is_paused() -> bool {
    let handle = Handle::current();
    let st = handle.inner.clock.lock();
    matches!(st.virt, Virtual::Paused(_))
}

/// Pending once, waking itself: the task goes behind the ones just woken.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
