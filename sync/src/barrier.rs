//! A barrier: `n` tasks wait until all `n` have arrived, then all go on.
//!
//! It is reusable: each time the `n`th task arrives a *generation* ends,
//! every waiter of that generation is released, and the next `n` arrivals
//! form the next one. Exactly one task per generation (the last to arrive)
//! is told it is the leader.
//!
//! # Cancellation
//!
//! A task arrives when its `wait()` future is first polled. Dropping the
//! future before its generation completes takes the arrival back, so the
//! barrier then waits for one more task (tokio's barrier instead keeps
//! counting a cancelled arrival). Dropping it after the generation
//! completed changes nothing: the others have been released already.
//!
//! # Invariants (all under `Barrier::state`'s lock)
//!
//! * `arrived < n` between operations, and `arrived == waiters.len()`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::loom::sync::Mutex as StateLock;

use super::waiters::{lock, Key, Removed, WaitList, WakeList};

/// Lets `n` tasks wait for each other.
pub struct Barrier {
    n: usize,
    state: StateLock<State>,
}

struct State {
    /// Tasks waiting in the current generation.
    arrived: usize,
    /// Completed generations.
    generation: u64,
    waiters: WaitList<()>,
}

/// What [`Barrier::wait`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// True for exactly one task per generation: the one whose arrival
    /// released the others.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` tasks. `n == 0` behaves like `n == 1` (every
    /// `wait` returns at once, as leader).
    pub fn new(n: usize) -> Self {
        Barrier {
            n: n.max(1),
            state: StateLock::new(State {
                arrived: 0,
                generation: 0,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Arrives (on first poll) and waits for the rest of the generation.
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            key: None,
            done: false,
        }
    }

    /// Blocks the thread at the barrier (plain threads only).
    #[cfg(not(loom))]
    pub fn wait_blocking(&self) -> BarrierWaitResult {
        super::block_on(self.wait())
    }

    /// Number of generations completed so far.
    pub fn generation(&self) -> u64 {
        lock(&self.state).generation
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("arrived", &state.arrived)
            .field("generation", &state.generation)
            .finish()
    }
}

/// The future returned by [`Barrier::wait`].
#[must_use = "futures do nothing unless polled"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    key: Option<Key>,
    done: bool,
}

impl Future for BarrierWait<'_> {
    type Output = BarrierWaitResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let this = self.get_mut();
        assert!(!this.done, "BarrierWait polled after completion");
        let spent = ready!(goro_coop::poll_proceed(cx));
        let mut wakers = WakeList::new();
        let mut state = lock(&this.barrier.state);
        let result = match this.key.take() {
            None if state.arrived + 1 == this.barrier.n => {
                state.arrived = 0;
                state.generation += 1;
                state.waiters.wake_all(&mut wakers, |_| {});
                Some(BarrierWaitResult(true))
            }
            None => {
                state.arrived += 1;
                this.key = Some(state.waiters.push_back((), cx.waker().clone()));
                None
            }
            Some(key) => match state.waiters.poll_key(key, cx.waker()) {
                Ok(()) => Some(BarrierWaitResult(false)),
                Err(key) => {
                    this.key = Some(key);
                    None
                }
            },
        };
        drop(state);
        wakers.wake_all();
        match result {
            Some(result) => {
                this.done = true;
                spent.made_progress();
                Poll::Ready(result)
            }
            None => {
                goro_coop::set_wait_reason(goro_coop::WaitReason::Notify);
                Poll::Pending
            }
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut state = lock(&self.barrier.state);
        match state.waiters.remove(key) {
            // Take our arrival back; the generation now needs one more.
            Removed::Queued(()) => state.arrived -= 1,
            // Our generation completed; nothing to undo.
            Removed::Woken(()) => {}
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("arrived", &self.key.is_some())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::Task;

    #[test]
    fn last_arrival_leads_and_releases_the_rest() {
        let b = Barrier::new(3);
        let mut x = Task::new(b.wait());
        let mut y = Task::new(b.wait());
        x.pending();
        y.pending();
        assert!(Task::new(b.wait()).ready().is_leader());
        assert!(x.woken() && y.woken());
        assert!(!x.ready().is_leader());
        assert!(!y.ready().is_leader());
        assert_eq!(b.generation(), 1);
    }

    #[test]
    fn generations_are_independent() {
        let b = Barrier::new(2);
        for generation in 1..=3 {
            let mut first = Task::new(b.wait());
            first.pending();
            assert!(Task::new(b.wait()).ready().is_leader());
            assert!(!first.ready().is_leader());
            assert_eq!(b.generation(), generation);
        }
    }

    #[test]
    fn cancelled_arrival_is_taken_back() {
        let b = Barrier::new(2);
        let mut gone = Task::new(b.wait());
        gone.pending();
        drop(gone);
        let mut x = Task::new(b.wait());
        x.pending();
        assert!(Task::new(b.wait()).ready().is_leader());
        x.ready();
    }

    #[test]
    fn cancelled_after_release_changes_nothing() {
        let b = Barrier::new(2);
        let mut x = Task::new(b.wait());
        x.pending();
        assert!(Task::new(b.wait()).ready().is_leader());
        drop(x);
        let mut y = Task::new(b.wait());
        y.pending();
        assert!(Task::new(b.wait()).ready().is_leader());
        y.ready();
    }

    #[test]
    fn zero_behaves_like_one() {
        let b = Barrier::new(0);
        assert!(Task::new(b.wait()).ready().is_leader());
    }
}
