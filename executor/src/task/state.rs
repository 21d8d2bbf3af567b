//! The task state word: status bits and a reference count in one atomic.
//!
//! Every transition is a verb that returns what the caller must do next (an
//! outcome enum, `#[must_use]`; `set_join_waker` and `unset_join_waker`
//! fail only when the task has completed), so the rules live here and the
//! harness (`raw.rs`) only follows orders. The
//! word can be read at any time with [`State::load`]; task dumps and deadlock
//! detection read it without taking any lock.
//!
//! ```text
//!   bit 0  RUNNING        a thread owns the future (polling, cancelling)
//!   bit 1  COMPLETE       the future is gone; never cleared again
//!   bit 2  NOTIFIED       a `Notified` for this task exists (queued), or the
//!                         task was woken while RUNNING
//!   bit 3  CANCELLED      abort or shutdown asked the task to stop
//!   bit 4  JOIN_INTEREST  the JoinHandle is alive
//!   bit 5  JOIN_WAKER     the join waker slot holds a waker and belongs to
//!                         the runtime side (see `raw.rs`, "Join waker")
//!   bits 6..  reference count
//! ```
//!
//! Transitions (everything else is a no-op or a bug):
//!
//! ```text
//!   spawn                  -> NOTIFIED | JOIN_INTEREST, refs = 3 (list, queue, handle)
//!   idle --wake-->            NOTIFIED (+1 ref: the queued Notified)
//!   NOTIFIED --run-->         RUNNING (the Notified's ref moves to the poller);
//!                             if CANCELLED, the poller drops the future instead
//!   RUNNING --wake-->         RUNNING | NOTIFIED (no ref: the poller requeues)
//!   RUNNING --Pending-->      idle (-1 ref) or NOTIFIED (ref kept for the requeue)
//!   RUNNING | CANCELLED
//!           --Pending-->      RUNNING kept: the poller drops the future, then COMPLETE
//!   RUNNING --Ready-->        COMPLETE
//!   idle --abort-->           CANCELLED | NOTIFIED (+1 ref: a Notified is submitted)
//!   NOTIFIED --abort-->       + CANCELLED (whoever dequeues it drops the future)
//!   RUNNING --abort-->        + CANCELLED | NOTIFIED (no ref; the poller sees
//!                             CANCELLED when the poll returns Pending)
//!   CANCELLED or COMPLETE
//!           --abort-->        unchanged
//!   idle --shutdown-->        RUNNING | CANCELLED (the caller drops the future)
//!   otherwise --shutdown-->   + CANCELLED (the current owner sees it)
//! ```
//!
//! Orderings: transitions that hand the future from one thread to another
//! (to running, to idle, to complete) are `AcqRel`, so everything the
//! previous owner wrote to the future and the output is visible to the next.
//! Pure reference increments are `Relaxed` (the caller already holds a
//! reference, as `Arc::clone` argues); decrements are `AcqRel` so that the
//! thread that frees the task sees every other thread's last use of it.

use crate::loom::sync::atomic::{AtomicUsize, Ordering};

/// A thread owns the future: it is polling it, or dropping it on cancel.
/// Only the holder of this bit touches the `Stage` while the task is not
/// complete. Never set together with COMPLETE.
pub(crate) const RUNNING: usize = 1 << 0;
/// The future has finished or been dropped and the output (if any) is in
/// the stage. Set once, by the RUNNING holder, and never cleared.
pub(crate) const COMPLETE: usize = 1 << 1;
/// The task is in a run queue (some `Notified` owns a reference for that),
/// or was woken while running and must be requeued by its poller. At most
/// one `Notified` exists at a time; that is what this bit guarantees.
pub(crate) const NOTIFIED: usize = 1 << 2;
/// Abort or runtime shutdown asked the task to stop. The next thread that
/// takes RUNNING drops the future instead of polling it.
pub(crate) const CANCELLED: usize = 1 << 3;
/// The `JoinHandle` still exists; when clear, the runtime drops the output
/// itself on completion.
pub(crate) const JOIN_INTEREST: usize = 1 << 4;
/// The join waker slot holds a waker owned by the runtime side: the
/// `JoinHandle` may only write the slot while this bit is clear.
pub(crate) const JOIN_WAKER: usize = 1 << 5;

#[cfg(all(test, not(loom)))]
const STATUS_MASK: usize = (1 << 6) - 1;
const REF_SHIFT: u32 = 6;
const REF_ONE: usize = 1 << REF_SHIFT;

/// A new task: queued once, watched by its JoinHandle, and referenced by the
/// owned-task list, the queued `Notified` and the JoinHandle.
const INITIAL: usize = NOTIFIED | JOIN_INTEREST | (3 * REF_ONE);

/// The state word of one task.
pub(crate) struct State(AtomicUsize);

/// A copy of the state word at one moment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) usize);

impl Snapshot {
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn has_join_interest(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn has_join_waker(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
    /// Neither running nor complete: whoever sets RUNNING owns the future.
    fn is_idle(self) -> bool {
        self.0 & (RUNNING | COMPLETE) == 0
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.has_join_interest())
            .field("join_waker", &self.has_join_waker())
            .field("refs", &self.ref_count())
            .finish()
    }
}

/// What the thread that dequeued a `Notified` must do.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum ToRunning {
    /// Poll the future.
    Poll,
    /// Drop the future: the task was cancelled while queued.
    Cancel,
    /// Someone else owns or finished the task; the queue's reference was
    /// dropped. Nothing to do.
    Skip,
    /// As `Skip`, and that was the last reference: free the task.
    Dealloc,
}

/// What the poller must do after a `Pending` poll.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum ToIdle {
    /// Nothing: the task waits for a wake.
    Idle,
    /// Woken during the poll: requeue it (the poller's reference moves to
    /// the new `Notified`).
    Requeue,
    /// Cancelled during the poll: drop the future (RUNNING is still held).
    Cancel,
}

/// What `wake_by_ref` must do (its reference is borrowed, so it never
/// frees the task).
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum ToNotifiedByRef {
    /// Nothing (already queued, running or complete).
    Nothing,
    /// Submit a `Notified`, which owns the reference the transition took.
    Submit,
}

/// What `wake` must do (it gives up its reference).
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum ToNotifiedByVal {
    /// Nothing more: the caller's reference was dropped (already queued,
    /// running or complete).
    Nothing,
    /// Submit a `Notified`, which now owns the caller's reference.
    Submit,
    /// The caller's reference was the last one: free the task.
    Dealloc,
}

/// What the thread that completed the task must do with its output and
/// the join waker (see "Join waker" in `raw.rs`).
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum ToComplete {
    /// The JoinHandle is gone: nobody will read the output; drop it.
    DropOutput,
    /// The JoinHandle waits with a published waker: wake it, then hand the
    /// slot back with `unset_join_waker_after_complete`.
    WakeJoiner,
    /// The JoinHandle exists but has published no waker: it finds the
    /// output the next time it is polled. Nothing to do.
    LeaveOutput,
}

/// What `JoinHandle::abort` must do.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum ToCancel {
    /// Nothing: already cancelled or complete, or a thread that owns or
    /// will dequeue the task sees CANCELLED.
    Nothing,
    /// The task was idle: submit a `Notified` (owning the reference the
    /// transition took) so a worker drops the future.
    Submit,
}

/// What runtime shutdown must do with one listed task.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum ToShutdown {
    /// The task was idle: the caller now holds RUNNING and drops the future.
    Cancel,
    /// Running or complete: its current owner sees CANCELLED (or it is done).
    /// The caller only drops the list's reference.
    Nothing,
}

/// What a dropped JoinHandle must clean up (see "Join waker" in `raw.rs`).
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum ToJoinHandleDropped {
    /// Not complete: the completing thread will drop the output. The join
    /// waker slot is the handle's (the transition cleared JOIN_WAKER): clear
    /// it.
    ClearWaker,
    /// Complete and the slot handed back: drop the output and clear the slot.
    DropOutputAndWaker,
    /// Complete, but the completing thread still owns the slot (it is waking
    /// the waker): drop the output only; that thread drops the waker.
    DropOutput,
}

impl State {
    pub(crate) fn new() -> State {
        State(AtomicUsize::new(INITIAL))
    }

    /// The current state. `Acquire` so a reader that sees COMPLETE also
    /// sees the output written before it.
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::Acquire))
    }

    /// Runs `f` in a compare-exchange loop; `f` returns the new word (or
    /// `None` to leave it alone) and a value to return.
    #[inline]
    fn update<R>(&self, mut f: impl FnMut(Snapshot) -> (Option<usize>, R)) -> (Snapshot, R) {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let (next, r) = f(Snapshot(cur));
            let Some(next) = next else {
                return (Snapshot(cur), r);
            };
            // AcqRel: see the module docs.
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return (Snapshot(cur), r),
                Err(actual) => cur = actual,
            }
        }
    }

    /// A worker dequeued the task's `Notified` and wants to poll it.
    #[inline]
    pub(crate) fn transition_to_running(&self) -> ToRunning {
        self.update(|s| {
            debug_assert!(s.is_notified(), "a queued task must be NOTIFIED: {s:?}");
            if !s.is_idle() {
                // Shutdown took the task (RUNNING) or finished it: drop the
                // queue's reference and walk away.
                debug_assert!(s.ref_count() > 0);
                let next = s.0 - REF_ONE;
                let out = if next >> REF_SHIFT == 0 {
                    ToRunning::Dealloc
                } else {
                    ToRunning::Skip
                };
                return (Some(next), out);
            }
            let next = (s.0 | RUNNING) & !NOTIFIED;
            let out = if s.is_cancelled() {
                ToRunning::Cancel
            } else {
                ToRunning::Poll
            };
            (Some(next), out)
        })
        .1
    }

    /// The poll returned `Pending`. The poller holds RUNNING and one
    /// reference (the one its `Notified` carried). `yielded` says the task
    /// called `yield_now` through the harness's fast path (see
    /// `task::current`): it counts as a wake during the poll, without the
    /// wake's own read-modify-write.
    #[inline]
    pub(crate) fn transition_to_idle(&self, yielded: bool) -> ToIdle {
        self.update(|s| {
            debug_assert!(s.is_running() && !s.is_complete(), "{s:?}");
            if s.is_cancelled() {
                return (None, ToIdle::Cancel);
            }
            if s.is_notified() || yielded {
                // Keep (or set) NOTIFIED and keep the reference: both pass
                // to the requeue.
                (Some((s.0 & !RUNNING) | NOTIFIED), ToIdle::Requeue)
            } else {
                // The owned-task list always holds a reference while the
                // task is not complete, so this never reaches zero.
                debug_assert!(s.ref_count() >= 2, "{s:?}");
                (Some((s.0 & !RUNNING) - REF_ONE), ToIdle::Idle)
            }
        })
        .1
    }

    /// The future returned `Ready` (or was dropped). Clears RUNNING and sets
    /// COMPLETE; says what to do with the output and the join waker.
    pub(crate) fn transition_to_complete(&self) -> ToComplete {
        // AcqRel: publishes the output to the JoinHandle (Release) and
        // sees its latest JOIN_* bits (Acquire).
        let prev = Snapshot(self.0.fetch_xor(RUNNING | COMPLETE, Ordering::AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete(), "{prev:?}");
        if !prev.has_join_interest() {
            ToComplete::DropOutput
        } else if prev.has_join_waker() {
            ToComplete::WakeJoiner
        } else {
            ToComplete::LeaveOutput
        }
    }

    /// `wake_by_ref`: the caller's reference is borrowed.
    pub(crate) fn transition_to_notified_by_ref(&self) -> ToNotifiedByRef {
        self.update(|s| {
            if s.is_complete() || s.is_notified() {
                (None, ToNotifiedByRef::Nothing)
            } else if s.is_running() {
                (Some(s.0 | NOTIFIED), ToNotifiedByRef::Nothing)
            } else {
                (Some((s.0 | NOTIFIED) + REF_ONE), ToNotifiedByRef::Submit)
            }
        })
        .1
    }

    /// `wake`: the caller gives up its reference.
    pub(crate) fn transition_to_notified_by_val(&self) -> ToNotifiedByVal {
        self.update(|s| {
            if s.is_complete() || s.is_notified() || s.is_running() {
                let mut next = s.0 - REF_ONE;
                if s.is_running() && !s.is_complete() {
                    next |= NOTIFIED;
                }
                let out = if next >> REF_SHIFT == 0 {
                    ToNotifiedByVal::Dealloc
                } else {
                    ToNotifiedByVal::Nothing
                };
                (Some(next), out)
            } else {
                // The caller's reference becomes the Notified's.
                (Some(s.0 | NOTIFIED), ToNotifiedByVal::Submit)
            }
        })
        .1
    }

    /// `JoinHandle::abort`: sets CANCELLED, and says whether the caller
    /// must submit a `Notified` so a worker drops the future.
    pub(crate) fn transition_to_notified_and_cancel(&self) -> ToCancel {
        self.update(|s| {
            if s.is_cancelled() || s.is_complete() {
                (None, ToCancel::Nothing)
            } else if s.is_running() || s.is_notified() {
                // The poller, or whoever dequeues it, sees CANCELLED.
                (Some(s.0 | CANCELLED | NOTIFIED), ToCancel::Nothing)
            } else {
                (
                    Some((s.0 | CANCELLED | NOTIFIED) + REF_ONE),
                    ToCancel::Submit,
                )
            }
        })
        .1
    }

    /// Runtime shutdown: sets CANCELLED, and RUNNING too if the task was
    /// idle, in which case the caller must drop the future.
    pub(crate) fn transition_to_shutdown(&self) -> ToShutdown {
        self.update(|s| {
            if s.is_idle() {
                (Some(s.0 | RUNNING | CANCELLED), ToShutdown::Cancel)
            } else {
                (Some(s.0 | CANCELLED), ToShutdown::Nothing)
            }
        })
        .1
    }

    /// The JoinHandle is dropped: clears JOIN_INTEREST (and JOIN_WAKER if the
    /// task is not complete, taking the slot back); says what the handle must
    /// clean up.
    pub(crate) fn transition_to_join_handle_dropped(&self) -> ToJoinHandleDropped {
        self.update(|s| {
            debug_assert!(s.has_join_interest());
            let mut next = s.0 & !JOIN_INTEREST;
            let out = if !s.is_complete() {
                next &= !JOIN_WAKER;
                ToJoinHandleDropped::ClearWaker
            } else if s.has_join_waker() {
                ToJoinHandleDropped::DropOutput
            } else {
                ToJoinHandleDropped::DropOutputAndWaker
            };
            (Some(next), out)
        })
        .1
    }

    /// JoinHandle drop, fast path: if the task is not complete and no join
    /// waker is published, clears JOIN_INTEREST and drops the handle's
    /// reference in one compare-exchange (a dropped spawn handle is the
    /// common case). Fails, changing nothing, if the task completed, a join
    /// waker is set, or the handle holds the last reference; the caller
    /// then takes the slow path.
    #[must_use]
    pub(crate) fn drop_join_handle_fast(&self) -> bool {
        // Relaxed: only a guess for the compare-exchange, which decides.
        let cur = self.0.load(Ordering::Relaxed);
        let s = Snapshot(cur);
        debug_assert!(s.has_join_interest());
        if s.is_complete() || s.has_join_waker() || s.ref_count() < 2 {
            return false;
        }
        // Release: our earlier accesses to the record (a join-waker slot we
        // cleared, the id) happen before whoever frees it acquires the
        // count. Failure Relaxed: we then take the slow path.
        self.0
            .compare_exchange(
                cur,
                (cur & !JOIN_INTEREST) - REF_ONE,
                Ordering::Release,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// JoinHandle: publish a freshly written join waker. Fails (returning
    /// the snapshot) if the task completed meanwhile.
    pub(crate) fn set_join_waker(&self) -> Result<(), Snapshot> {
        let (prev, ok) = self.update(|s| {
            debug_assert!(s.has_join_interest() && !s.has_join_waker());
            if s.is_complete() {
                (None, false)
            } else {
                (Some(s.0 | JOIN_WAKER), true)
            }
        });
        if ok {
            Ok(())
        } else {
            Err(prev)
        }
    }

    /// JoinHandle: take the join waker slot back to replace the waker.
    /// Fails if the task completed meanwhile.
    pub(crate) fn unset_join_waker(&self) -> Result<(), Snapshot> {
        let (prev, ok) = self.update(|s| {
            debug_assert!(s.has_join_interest() && s.has_join_waker());
            if s.is_complete() {
                (None, false)
            } else {
                (Some(s.0 & !JOIN_WAKER), true)
            }
        });
        if ok {
            Ok(())
        } else {
            Err(prev)
        }
    }

    /// Runtime side, after waking the join waker on completion: gives the
    /// slot back. Returns true if the JoinHandle was dropped meanwhile and
    /// left the waker to the caller, who must then drop it.
    #[must_use]
    pub(crate) fn unset_join_waker_after_complete(&self) -> bool {
        // AcqRel: Release hands the slot back after our read of the waker;
        // Acquire sees a JoinHandle drop that left the waker to us.
        let prev = Snapshot(self.0.fetch_and(!JOIN_WAKER, Ordering::AcqRel));
        !prev.has_join_interest()
    }

    /// Takes one more reference. `Relaxed`: the caller holds one already.
    pub(crate) fn ref_inc(&self) {
        let prev = self.0.fetch_add(REF_ONE, Ordering::Relaxed);
        if prev >> (usize::BITS - 1) != 0 {
            std::process::abort(); // reference count overflow
        }
    }

    /// Drops `n` references; returns true if they were the last (the caller
    /// must then free the task).
    #[must_use]
    pub(crate) fn ref_dec(&self, n: usize) -> bool {
        let prev = self.0.fetch_sub(n * REF_ONE, Ordering::AcqRel);
        debug_assert!(prev >> REF_SHIFT >= n, "reference count underflow");
        prev >> REF_SHIFT == n
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn status_bits(&self) -> usize {
        self.load().0 & STATUS_MASK
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn spawn_run_complete() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert!(s.load().is_running() && !s.load().is_notified());
        assert_eq!(s.transition_to_complete(), ToComplete::LeaveOutput);
        let now = s.load();
        assert!(now.is_complete() && !now.is_running());
        assert_eq!(now.ref_count(), 3);
    }

    #[test]
    fn join_handle_fast_drop_only_when_nothing_else_to_do() {
        // Fresh task: interest cleared and one reference dropped in one go.
        let s = State::new();
        assert!(s.drop_join_handle_fast());
        assert!(!s.load().has_join_interest());
        assert_eq!(s.load().ref_count(), 2);
        // A published join waker must be cleaned up: slow path.
        let s = State::new();
        s.set_join_waker().unwrap();
        assert!(!s.drop_join_handle_fast());
        assert!(s.load().has_join_interest() && s.load().ref_count() == 3);
        // Complete: the output is the handle's to drop: slow path.
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_complete(), ToComplete::LeaveOutput);
        assert!(!s.drop_join_handle_fast());
        assert!(s.load().has_join_interest());
        // The handle holds the last reference: slow path (it must free).
        let s = State::new();
        assert!(!s.ref_dec(2));
        assert!(!s.drop_join_handle_fast());
        assert_eq!(s.load().ref_count(), 1);
    }

    #[test]
    fn wake_while_running_requeues() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_notified_by_ref(), ToNotifiedByRef::Nothing);
        assert_eq!(s.transition_to_idle(false), ToIdle::Requeue);
        assert!(s.load().is_notified());
        assert_eq!(s.load().ref_count(), 3);
    }

    #[test]
    fn yield_fast_path_requeues_like_a_wake() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert!(!s.load().is_notified());
        assert_eq!(s.transition_to_idle(true), ToIdle::Requeue);
        let after = s.load();
        assert!(after.is_notified() && !after.is_running(), "{after:?}");
        // The poller's reference passed to the requeued Notified.
        assert_eq!(after.ref_count(), 3);
        // A later wake before the requeued task runs submits nothing more.
        assert_eq!(s.transition_to_notified_by_ref(), ToNotifiedByRef::Nothing);
    }

    #[test]
    fn wake_idle_submits_once() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_idle(false), ToIdle::Idle);
        assert_eq!(s.load().ref_count(), 2);
        assert_eq!(s.transition_to_notified_by_ref(), ToNotifiedByRef::Submit);
        assert_eq!(s.transition_to_notified_by_ref(), ToNotifiedByRef::Nothing);
        assert_eq!(s.load().ref_count(), 3);
    }

    #[test]
    fn wake_after_complete_does_nothing() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_complete(), ToComplete::LeaveOutput);
        assert_eq!(s.transition_to_notified_by_ref(), ToNotifiedByRef::Nothing);
        s.ref_inc();
        assert_eq!(s.transition_to_notified_by_val(), ToNotifiedByVal::Nothing);
        assert_eq!(s.load().ref_count(), 3);
    }

    #[test]
    fn abort_idle_and_running() {
        // RUNNING: no Notified; the poller cancels when the poll is Pending.
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_notified_and_cancel(), ToCancel::Nothing);
        assert!(s.load().is_running() && s.load().is_cancelled());
        assert_eq!(s.transition_to_idle(false), ToIdle::Cancel);
        assert!(
            s.load().is_running(),
            "Pending while CANCELLED keeps RUNNING"
        );
        // Idle: submit once; the dequeuer cancels instead of polling.
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_idle(false), ToIdle::Idle);
        assert_eq!(s.transition_to_notified_and_cancel(), ToCancel::Submit);
        assert_eq!(s.transition_to_notified_and_cancel(), ToCancel::Nothing);
        assert_eq!(s.transition_to_running(), ToRunning::Cancel);
    }

    #[test]
    fn complete_says_who_drops_the_output() {
        // No JoinHandle: the completing thread drops the output.
        let s = State::new();
        assert!(s.drop_join_handle_fast());
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_complete(), ToComplete::DropOutput);
        // A published join waker: wake it, then hand the slot back.
        let s = State::new();
        s.set_join_waker().unwrap();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_complete(), ToComplete::WakeJoiner);
        assert!(
            !s.unset_join_waker_after_complete(),
            "the handle still owns it"
        );
    }

    #[test]
    fn shutdown_takes_idle_task_and_queue_skips_it() {
        let s = State::new();
        assert_eq!(s.transition_to_shutdown(), ToShutdown::Cancel);
        assert_eq!(s.transition_to_running(), ToRunning::Skip);
        assert_eq!(s.status_bits() & (RUNNING | CANCELLED), RUNNING | CANCELLED);
    }

    #[test]
    fn join_handle_drop_before_and_after_complete() {
        let s = State::new();
        s.set_join_waker().unwrap();
        assert_eq!(
            s.transition_to_join_handle_dropped(),
            ToJoinHandleDropped::ClearWaker
        );
        assert_eq!(s.status_bits() & (JOIN_INTEREST | JOIN_WAKER), 0);
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_complete(), ToComplete::LeaveOutput);
        assert!(s.set_join_waker().is_err());
        assert_eq!(
            s.transition_to_join_handle_dropped(),
            ToJoinHandleDropped::DropOutputAndWaker
        );
        // Dropped while the completing thread still owns the slot.
        let s = State::new();
        s.set_join_waker().unwrap();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_complete(), ToComplete::WakeJoiner);
        assert_eq!(
            s.transition_to_join_handle_dropped(),
            ToJoinHandleDropped::DropOutput
        );
        assert!(s.unset_join_waker_after_complete(), "left to the runtime");
    }
}
