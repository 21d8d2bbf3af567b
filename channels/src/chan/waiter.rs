//! Waiters and the select context: the two records a parked operation
//! leaves in a channel's queues, and the one-word state that decides which
//! of a select's operations takes effect.
//!
//! ## Commit protocol
//!
//! Every waiting operation — a plain `recv().await`, a `send().await`, or a
//! whole `select!` — owns one [`Ctx`]. Each of its channel operations puts a
//! [`Waiter`] in one channel's queue; all the waiters of one select point at
//! the same `Ctx`. A counterparty (a sender finding a parked receiver, a
//! receiver finding a parked sender, or `close`) that pops a waiter *commits*
//! it in three steps, all while it holds the lock of that waiter's channel:
//!
//! 1. `claim`: CAS `state` from `WAITING` to `CLAIMED(arm)`. Failure means
//!    the owner already committed elsewhere or aborted: the waiter is stale,
//!    and the counterparty drops it and tries the next one. A single
//!    operation (not a select) is claimed without the CAS: it never aborts
//!    and leaves its queue only under this lock, so a queued single waiter
//!    is always live, and only lock holders write its state.
//! 2. Move the value: put it in the waiter's slot (recv) or take it (send).
//! 3. `finish`: take or clone the owner's waker ("Waker ownership"), then
//!    store `DONE(arm)` (Release).
//!
//! The owner reads its slot only after it has seen `DONE` (Acquire), or
//! after it has itself locked the channel. Because steps 1–3 happen under
//! one channel lock, the owner can turn a `CLAIMED` it happens to see into a
//! `DONE` by taking and releasing that lock (see `Arm::unregister`), and it
//! never has to spin.
//!
//! A select that finds one of its channels ready *while registering* does
//! not commit itself (that would need two CASes to succeed together, its own
//! and the counterparty's); it aborts (`WAITING` to `ABORTED`), unregisters
//! and retries. Only an operation that is registered nowhere commits another
//! one, so every commit is one CAS. This is crossbeam-channel's rule for its
//! select `Context` (a `selected` word CAS'd once per select), and Go's
//! `selectDone` flag plays the same role in `selectgo`.
//!
//! ## Waker ownership
//!
//! `Ctx::waker` is written by the owner only while it is registered nowhere,
//! or while it holds the lock of the single channel it is registered with.
//! Committers use it under the lock of a channel where the owner is
//! registered: a select's committer clones it (the select's owner may read
//! it at any time, and reads do not race); a single operation's committer
//! takes it, saving a reference-count round trip per wake, which is sound
//! because a single operation's owner reads it only under that lock.

use std::cell::Cell;
use std::marker::PhantomPinned;
use std::ptr::NonNull;
use std::task::Waker;

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};

/// Nobody has committed the owner yet; counterparties may claim it.
const WAITING: usize = 0;
/// The owner gave up (dropped, or found a channel ready while registering).
/// Never claimed again until the owner resets it while registered nowhere.
const ABORTED: usize = 1;
/// Low two bits of a committed state; the arm index is `state >> 2`.
const TAG_CLAIMED: usize = 2;
const TAG_DONE: usize = 3;

/// The state of a [`Ctx`], read through [`Ctx::state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Waiting,
    Aborted,
    /// A committer is moving the value for this arm (holding its channel's lock).
    Claimed(usize),
    /// The operation of this arm took effect.
    Done(usize),
}

/// One waiting operation (or select): the word that decides which of its
/// waiters is committed, and the waker to call when one is.
pub struct Ctx {
    /// See "Commit protocol" above.
    state: AtomicUsize,
    /// See "Waker ownership" above.
    waker: UnsafeCell<Option<Waker>>,
    /// Whether this is a single operation (not a select). A committer of a
    /// single operation may *take* the waker rather than clone it, since
    /// its owner reads the waker only under the channel lock while
    /// registered (a select's owner reads it without a lock, so a take
    /// would race with that read); and claims it without a CAS (see
    /// `claim`).
    take_waker: bool,
    /// Queued waiters point here.
    _pin: PhantomPinned,
}

impl Ctx {
    #[inline]
    /// A context for one operation (`take_waker`) or a select.
    pub(crate) fn new(take_waker: bool) -> Self {
        Ctx {
            state: AtomicUsize::new(WAITING),
            waker: UnsafeCell::new(None),
            take_waker,
            _pin: PhantomPinned,
        }
    }

    #[inline]
    pub(crate) fn state(&self) -> State {
        // Acquire: pairs with the Release store of DONE in `Claim::finish`,
        // so a `Done` seen here makes the committer's slot write visible.
        decode(self.state.load(Ordering::Acquire))
    }

    /// A context for a single operation that is about to be queued for
    /// the first time, with its waker already stored (saves the separate
    /// `reset` on the park path).
    #[inline]
    pub(crate) fn single_waiting(waker: &Waker) -> Self {
        Ctx {
            state: AtomicUsize::new(WAITING),
            waker: UnsafeCell::new(Some(waker.clone())),
            take_waker: true,
            _pin: PhantomPinned,
        }
    }

    /// Makes the context claimable again.
    ///
    /// # Safety
    ///
    /// No waiter pointing at this context may be queued anywhere.
    #[inline]
    pub(crate) unsafe fn reset(&self, waker: &Waker) {
        // Relaxed: nobody else can see the context until a waiter is
        // queued, and queueing happens under a channel lock (a release).
        self.state.store(WAITING, Ordering::Relaxed);
        // SAFETY: registered nowhere, so no committer reads the waker.
        unsafe { self.set_waker(waker) };
    }

    /// Stores `waker` unless the stored one already wakes the same task.
    ///
    /// # Safety
    ///
    /// The caller is registered nowhere, or holds the lock of the only
    /// channel where it is registered ("Waker ownership").
    #[inline]
    pub(crate) unsafe fn set_waker(&self, waker: &Waker) {
        self.waker.with_mut(|w| {
            // SAFETY: the caller excludes every other access (`# Safety`).
            let w = unsafe { &mut *w };
            match w {
                Some(old) if old.will_wake(waker) => {}
                _ => *w = Some(waker.clone()),
            }
        })
    }

    /// Whether the stored waker wakes the same task as `waker`.
    #[inline]
    pub(crate) fn waker_will_wake(&self, waker: &Waker) -> bool {
        self.waker.with(|w| {
            // SAFETY: only the owner (the caller) writes the waker, so a
            // read here can only overlap other reads.
            let w = unsafe { &*w };
            w.as_ref().is_some_and(|old| old.will_wake(waker))
        })
    }

    /// WAITING to ABORTED. On failure returns the arm that was committed.
    pub(crate) fn try_abort(&self) -> Result<(), usize> {
        // AcqRel: on failure we will read the committed slot (after locking
        // its channel, which also synchronises); on success nothing is read.
        match self
            .state
            .compare_exchange(WAITING, ABORTED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            Err(s) => match decode(s) {
                State::Claimed(arm) | State::Done(arm) => Err(arm),
                State::Waiting | State::Aborted => unreachable!("only the owner aborts"),
            },
        }
    }
}

#[inline]
fn decode(s: usize) -> State {
    match s & 3 {
        0 => State::Waiting,
        1 => State::Aborted,
        TAG_CLAIMED => State::Claimed(s >> 2),
        _ => State::Done(s >> 2),
    }
}

/// One channel operation waiting in one channel's queue. It lives inside the
/// owner's pinned future; the queue holds a pointer to it.
pub(crate) struct Waiter<T> {
    /// The owner's context. Written by the owner only while this waiter is
    /// queued nowhere; read by committers under the channel lock.
    ctx: Cell<*const Ctx>,
    /// Which arm of the owner this is (0 for plain send/recv).
    arm: Cell<usize>,
    /// recv: `None` until a committer puts the value here.
    /// send: the value to send, until a committer takes it.
    /// Touched by committers (under the lock, after a successful claim) and
    /// by the owner (after seeing `Done`, or under the lock, or while the
    /// waiter is queued nowhere).
    slot: UnsafeCell<Option<T>>,
    _pin: PhantomPinned,
}

impl<T> Waiter<T> {
    #[inline]
    pub(crate) fn new(value: Option<T>) -> Self {
        Waiter {
            ctx: Cell::new(std::ptr::null()),
            arm: Cell::new(0),
            slot: UnsafeCell::new(value),
            _pin: PhantomPinned,
        }
    }

    /// Points the waiter at its owner before it is queued.
    #[inline]
    pub(crate) fn bind(&self, ctx: &Ctx, arm: usize) {
        self.ctx.set(ctx);
        self.arm.set(arm);
    }

    pub(crate) fn ctx(&self) -> *const Ctx {
        self.ctx.get()
    }

    /// Takes whatever the slot holds. Only for the owner (see `slot`).
    #[inline]
    pub(crate) fn take_slot(&self) -> Option<T> {
        // SAFETY: the owner calls this only when no committer can touch the
        // slot (see the field's rules).
        self.slot.with_mut(|s| unsafe { (*s).take() })
    }

    /// Puts a value in the slot. Only for the owner (see `slot`).
    #[inline]
    pub(crate) fn put_slot(&self, value: T) {
        // SAFETY: the owner calls this only when no committer can touch the
        // slot: before queueing the waiter, or after unqueueing it under
        // the lock (see the field's rules).
        self.slot.with_mut(|s| unsafe { *s = Some(value) })
    }

    #[inline]
    pub(crate) fn ptr(&self) -> NonNull<Waiter<T>> {
        NonNull::from(self)
    }
}

/// A waiter a committer has claimed: the right to move its value.
pub(crate) struct Claim<T> {
    waiter: NonNull<Waiter<T>>,
}

/// Tries to claim a waiter just popped from a queue.
///
/// # Safety
///
/// The caller holds the lock of the channel whose queue held `waiter`, and
/// popped it under that same lock (so the owner cannot have freed it).
#[inline]
pub(crate) unsafe fn claim<T>(waiter: NonNull<Waiter<T>>) -> Option<Claim<T>> {
    // SAFETY: the owner frees a waiter only after removing it from the
    // queue under the lock the caller holds.
    let w = unsafe { waiter.as_ref() };
    // SAFETY: a queued waiter's context outlives its queueing (same reason).
    let ctx = unsafe { &*w.ctx.get() };
    if ctx.take_waker {
        // A single operation never aborts, and it unqueues its waiter under
        // this lock before it touches its state: while the waiter is queued
        // its state is WAITING and only a committer holding this lock may
        // change it. No CAS is needed to claim it, and no CLAIMED store
        // either: `finish` publishes DONE directly (the owner, seeing
        // WAITING, takes this lock before it trusts that, see `settle`).
        debug_assert_eq!(ctx.state(), State::Waiting);
        return Some(Claim { waiter });
    }
    // Acquire on success: the owner bound the waiter and filled the slot
    // before queueing it under this lock, so the lock already orders those
    // writes; Acquire costs nothing extra on a CAS and keeps this local.
    ctx.state
        .compare_exchange(
            WAITING,
            (w.arm.get() << 2) | TAG_CLAIMED,
            Ordering::Acquire,
            Ordering::Relaxed,
        )
        .ok()
        .map(|_| Claim { waiter })
}

impl<T> Claim<T> {
    /// Delivers a value to a claimed receiver.
    #[inline]
    pub(crate) fn put(&self, value: T) {
        // SAFETY: claimed under the lock: only we touch the slot now.
        self.slot(|s| *s = Some(value))
    }

    /// Takes the value of a claimed sender.
    #[inline]
    pub(crate) fn take(&self) -> T {
        // SAFETY: claimed under the lock: only we touch the slot now.
        self.slot(|s| s.take())
            .expect("a waiting sender always holds its value")
    }

    #[inline]
    fn slot<R>(&self, f: impl FnOnce(&mut Option<T>) -> R) -> R {
        // SAFETY: the waiter is alive: its owner frees it only after seeing
        // DONE (which `finish` stores when it consumes this claim) or after
        // taking the lock it was popped under, which we hold.
        let w = unsafe { self.waiter.as_ref() };
        // SAFETY: the claim gives us exclusive access to the slot: the owner
        // touches it only after seeing DONE or under this channel's lock
        // (which we hold), and no other committer can claim the waiter.
        w.slot.with_mut(|s| f(unsafe { &mut *s }))
    }

    /// Publishes the commit; returns the waker to call once the channel lock
    /// is released.
    #[inline]
    pub(crate) fn finish(self) -> Option<Waker> {
        // SAFETY: the waiter is alive: DONE is not stored yet, and until it
        // is the owner frees the waiter only after taking the lock it was
        // popped under, which we hold.
        let w = unsafe { self.waiter.as_ref() };
        // SAFETY: the context outlives its waiters for the same reason: the
        // owner frees or resets it only after seeing DONE or under the lock.
        let ctx = unsafe { &*w.ctx.get() };
        let waker = if ctx.take_waker {
            // SAFETY: a single operation's owner touches the waker only
            // under this lock while registered (see `take_waker`), and
            // after DONE it never reads the taken slot before resetting it.
            ctx.waker.with_mut(|k| unsafe { (*k).take() })
        } else {
            // SAFETY: the owner does not write the waker while registered
            // here without our lock ("Waker ownership"); this is a read.
            ctx.waker.with(|k| unsafe { (*k).clone() })
        };
        // Release: pairs with the owner's Acquire in `Ctx::state`, making the
        // slot write above visible before the owner reads the slot.
        ctx.state
            .store((w.arm.get() << 2) | TAG_DONE, Ordering::Release);
        waker
    }
}
