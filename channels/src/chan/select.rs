//! `select!`: Go's select over channel operations and futures.
//!
//! ## Choosing exactly one arm
//!
//! A poll of a [`Select`] that is registered nowhere runs two phases:
//!
//! 1. *Try.* Visit the arms in a fresh uniformly random order (Go's
//!    `selectgo` shuffles its `pollorder` the same way) and perform the first
//!    operation that can complete now, under its channel's lock alone. The
//!    first ready arm of a uniform random permutation is uniform among the
//!    ready arms, which is the fairness the tests check. Future arms are
//!    polled in the same order. Two refinements keep the pass cheap: a
//!    channel whose readiness hint ("Readiness hint" in `hchan.rs`) says it
//!    cannot complete is skipped without locking it, and a channel whose
//!    lock is held at that instant is passed over and retried, waiting for
//!    the lock, only if no other arm completes (its holder may be a sender
//!    on another core; waiting would cost the lock's microsecond backoff).
//!    With a `default` arm and nothing ready, the select ends here.
//! 2. *Register.* Reset the context to `WAITING`, then queue a waiter on each
//!    channel arm's channel, one lock at a time (no lock ordering is needed
//!    because no two locks are ever held together). If a channel turns out
//!    to be ready while registering, the select aborts its own context and
//!    starts over at phase 1 — unless a counterparty committed it first, in
//!    which case that commit stands. See "Commit protocol" in `waiter.rs`.
//!
//! A later poll finds the context `DONE(arm)` (a counterparty committed one
//! arm: remove the other waiters, report that arm) or `WAITING` (a spurious
//! poll: keep waiting if the waker is unchanged and there are no future
//! arms; otherwise abort, unregister and run both phases again, so that
//! future arms are polled only while no channel arm can be committed).
//!
//! Dropping a registered select aborts it; if it was committed meanwhile, a
//! received value goes back to its channel (as for a dropped `recv`), and a
//! send that a receiver already took stays sent — it took effect before the
//! drop.

use std::cell::Cell;
use std::future::{Future, IntoFuture};
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::hchan::wake;
use super::waiter::{Ctx, State, Waiter};
use super::{Receiver, SendError, Sender, TryRecvError, TrySendError};

/// Most arms one `select!` may have (the shuffle uses a stack array).
const MAX_ARMS: usize = 64;

/// One arm of a select. Implemented for channel operations and futures.
pub trait Arm {
    /// Whether this arm is a future (polled) rather than a channel operation.
    fn is_future(&self) -> bool;
    /// Complete now if possible (the select is registered nowhere), writing
    /// the arm's output. With `wait` false, a channel whose lock is held
    /// right now is not waited for (`Try::Busy`).
    fn try_now(self: Pin<&mut Self>, cx: &mut Context<'_>, wait: bool) -> Try;
    /// Queue a waiter bound to `ctx` as arm `index`, unless the channel is
    /// ready now; returns `true` (not queued) in that case.
    fn register(self: Pin<&mut Self>, ctx: &Ctx, index: usize) -> bool;
    /// Remove the queued waiter if it is still queued. Afterwards no
    /// counterparty is committing this arm.
    fn unregister(self: Pin<&mut Self>);
    /// The arm's waiter was popped by the committer, which has finished
    /// with it (the context is `DONE` at this arm): forget the registration
    /// without locking the channel.
    fn popped(self: Pin<&mut Self>);
    /// The context was committed at this arm: write the arm's output.
    fn complete(self: Pin<&mut Self>);
    /// The context was committed at this arm, but the select is being
    /// dropped: give a received value back to its channel.
    fn undo(self: Pin<&mut Self>);
}

/// What one arm's attempt in the try phase found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Try {
    /// The operation took effect (or a future completed).
    Done,
    /// Not ready now.
    NotReady,
    /// The channel's lock was held and the attempt did not wait for it.
    Busy,
}

/// The arms of one select as a cons list `(A0, (A1, (A2, ())))`, which the
/// macro builds one arm at a time.
pub trait ArmList {
    /// Number of arms.
    const LEN: usize;
    /// Arm `i` (`i < LEN`).
    fn arm(self: Pin<&mut Self>, i: usize) -> Pin<&mut dyn Arm>;
}

impl ArmList for () {
    const LEN: usize = 0;
    fn arm(self: Pin<&mut Self>, _: usize) -> Pin<&mut dyn Arm> {
        unreachable!("select arm index out of range")
    }
}

impl<A: Arm, R: ArmList> ArmList for (A, R) {
    const LEN: usize = 1 + R::LEN;
    fn arm(self: Pin<&mut Self>, i: usize) -> Pin<&mut dyn Arm> {
        // SAFETY: structural pinning of both tuple fields; neither is moved.
        let this = unsafe { self.get_unchecked_mut() };
        if i == 0 {
            // SAFETY: `this.0` is inside the pinned tuple and is never moved
            // out of it, so re-pinning the reference is sound.
            unsafe { Pin::new_unchecked(&mut this.0 as &mut dyn Arm) }
        } else {
            // SAFETY: `this.1`, the rest of the list, is inside the pinned
            // tuple too and is never moved out of it.
            unsafe { Pin::new_unchecked(&mut this.1) }.arm(i - 1)
        }
    }
}

/// The future a `select!` awaits. Its output is `()`: the chosen arm has
/// written its output slot, and no slot is written when `default` runs.
pub struct Select<L: ArmList> {
    arms: L,
    ctx: Ctx,
    /// Owner-only: whether waiters may be queued.
    registered: bool,
    has_default: bool,
    has_futures: Option<bool>,
    _pin: PhantomPinned,
}

// SAFETY: the context's raw pointers are only into this select; the arms
// decide whether the select may move between threads (by their own Send).
unsafe impl<L: ArmList + Send> Send for Select<L> {}

/// Builds the select future (used by the macros).
pub fn select<L: ArmList>(arms: L, has_default: bool) -> Select<L> {
    assert!(
        L::LEN <= MAX_ARMS,
        "select!: at most {MAX_ARMS} arms are supported"
    );
    Select {
        arms,
        ctx: Ctx::new(false),
        registered: false,
        has_default,
        has_futures: None,
        _pin: PhantomPinned,
    }
}

impl<L: ArmList> Select<L> {
    /// What a task parked in this select waits for (Go's `select` and
    /// `select (no cases)`).
    const WAIT_REASON: goro_coop::WaitReason = if L::LEN == 0 {
        goro_coop::WaitReason::SelectNoCases
    } else {
        goro_coop::WaitReason::Select
    };

    fn arms(&mut self) -> Pin<&mut L> {
        // SAFETY: `self` is only reached through a pin (poll/drop), and the
        // arms are never moved out of it.
        unsafe { Pin::new_unchecked(&mut self.arms) }
    }

    fn unregister_all(&mut self) {
        for i in 0..L::LEN {
            self.arms().arm(i).unregister();
        }
        self.registered = false;
    }

    /// The context was committed at `arm`: clean up and report it.
    fn finish(&mut self, arm: usize) {
        // Unregistering also waits out a committer that is between CLAIMED
        // and DONE (it holds the lock we take). Once DONE, the committed
        // arm's waiter is out of its queue and its committer is finished
        // with it: that channel need not be locked.
        if self.ctx.state() == State::Done(arm) {
            self.arms().arm(arm).popped();
        }
        self.unregister_all();
        debug_assert_eq!(self.ctx.state(), State::Done(arm));
        self.arms().arm(arm).complete();
    }
}

impl<L: ArmList> Future for Select<L> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let spent = ready!(goro_coop::poll_proceed(cx));
        // SAFETY: nothing is moved out of the pinned select.
        let this = unsafe { self.get_unchecked_mut() };
        if this.registered {
            match this.ctx.state() {
                State::Claimed(arm) | State::Done(arm) => {
                    this.finish(arm);
                    spent.made_progress();
                    return Poll::Ready(());
                }
                State::Waiting => {
                    // Computed on the first spurious poll only: a select
                    // that completes on its first poll never needs it.
                    let has_futures = *this.has_futures.get_or_insert_with(|| {
                        let mut arms = unsafe_arms(&mut this.arms);
                        (0..L::LEN).any(|i| arms.as_mut().arm(i).is_future())
                    });
                    if !has_futures && this.ctx.waker_will_wake(cx.waker()) {
                        goro_coop::set_wait_reason(Self::WAIT_REASON);
                        return Poll::Pending;
                    }
                    if let Err(arm) = this.ctx.try_abort() {
                        this.finish(arm);
                        spent.made_progress();
                        return Poll::Ready(());
                    }
                    this.unregister_all();
                }
                State::Aborted => unreachable!("a registered select is never aborted"),
            }
        }
        loop {
            // Phase 1: try every arm in random order.
            let mut order = [0u8; MAX_ARMS];
            let order = shuffled(&mut order[..L::LEN]);
            // A channel whose lock is held right now is passed over at
            // first and only waited for if no other arm completes: the
            // holder is often a producer parking on the other core, and its
            // lock's backoff is microseconds long.
            let mut busy = 0u64;
            for &i in order.iter() {
                match this.arms().arm(i as usize).try_now(cx, false) {
                    Try::Done => {
                        spent.made_progress();
                        return Poll::Ready(());
                    }
                    Try::Busy => busy |= 1 << i,
                    Try::NotReady => {}
                }
            }
            if busy != 0 {
                for &i in order.iter() {
                    if busy & (1 << i) != 0
                        && this.arms().arm(i as usize).try_now(cx, true) == Try::Done
                    {
                        spent.made_progress();
                        return Poll::Ready(());
                    }
                }
            }
            if this.has_default {
                return Poll::Ready(());
            }
            // Phase 2: register on every channel arm.
            // SAFETY: registered nowhere (fresh, or unregistered above).
            unsafe { this.ctx.reset(cx.waker()) };
            this.registered = true;
            let mut retry = false;
            for i in 0..L::LEN {
                let ctx: &Ctx = &this.ctx;
                // SAFETY: the select is pinned and its arms are never moved
                // out of it; borrowing `arms` beside `ctx` is sound because
                // they are disjoint fields.
                let ready = unsafe { Pin::new_unchecked(&mut this.arms) }
                    .arm(i)
                    .register(ctx, i);
                if ready {
                    match this.ctx.try_abort() {
                        Ok(()) => {
                            this.unregister_all();
                            retry = true;
                        }
                        Err(arm) => {
                            this.finish(arm);
                            spent.made_progress();
                            return Poll::Ready(());
                        }
                    }
                    break;
                }
            }
            if retry {
                continue;
            }
            if let State::Claimed(arm) | State::Done(arm) = this.ctx.state() {
                this.finish(arm);
                spent.made_progress();
                return Poll::Ready(());
            }
            goro_coop::set_wait_reason(Self::WAIT_REASON);
            return Poll::Pending;
        }
    }
}

fn unsafe_arms<L>(arms: &mut L) -> Pin<&mut L> {
    // SAFETY: only called on the arms of a pinned select.
    unsafe { Pin::new_unchecked(arms) }
}

impl<L: ArmList> Drop for Select<L> {
    fn drop(&mut self) {
        if !self.registered {
            return;
        }
        if let Err(arm) = self.ctx.try_abort() {
            // Committed after the last poll: the operation took effect.
            self.unregister_all();
            self.arms().arm(arm).undo();
        } else {
            self.unregister_all();
        }
    }
}

/// A `recv(rx) -> v` arm. Its output is the received value, `None` if the
/// channel is closed.
pub struct RecvArm<'a, T> {
    rx: &'a Receiver<T>,
    out: &'a mut Option<Option<T>>,
    waiter: Waiter<T>,
    /// Owner-only: whether `waiter` may be queued.
    registered: bool,
    _pin: PhantomPinned,
}

// SAFETY: the waiter's pointers point into the select that owns this arm,
// and only `T`s move between threads.
unsafe impl<T: Send> Send for RecvArm<'_, T> {}

/// Builds a `recv` arm (used by the macros).
pub fn recv_arm<'a, T>(rx: &'a Receiver<T>, out: &'a mut Option<Option<T>>) -> RecvArm<'a, T> {
    RecvArm {
        rx,
        out,
        waiter: Waiter::new(None),
        registered: false,
        _pin: PhantomPinned,
    }
}

impl<T> Arm for RecvArm<'_, T> {
    fn is_future(&self) -> bool {
        false
    }

    fn try_now(self: Pin<&mut Self>, _: &mut Context<'_>, wait: bool) -> Try {
        // SAFETY: nothing is moved out of the pinned arm.
        let this = unsafe { self.get_unchecked_mut() };
        let chan = &*this.rx.chan;
        // `never` keeps its hint clear.
        if !chan.recv_hint() {
            return Try::NotReady;
        }
        let mut g = if wait {
            chan.lock()
        } else {
            match chan.try_lock() {
                Some(g) => g,
                None => return Try::Busy,
            }
        };
        match g.try_recv() {
            Ok((v, w)) => {
                drop(g);
                wake(w);
                *this.out = Some(Some(v));
                Try::Done
            }
            Err(TryRecvError::Closed) => {
                *this.out = Some(None);
                Try::Done
            }
            Err(TryRecvError::Empty) => Try::NotReady,
        }
    }

    fn register(self: Pin<&mut Self>, ctx: &Ctx, index: usize) -> bool {
        // SAFETY: nothing is moved out of the pinned arm.
        let this = unsafe { self.get_unchecked_mut() };
        let chan = &*this.rx.chan;
        if chan.never {
            return false;
        }
        let mut g = chan.lock();
        if g.recv_ready(ctx) {
            return true;
        }
        this.waiter.bind(ctx, index);
        g.push_recv(this.waiter.ptr());
        this.registered = true;
        false
    }

    fn unregister(self: Pin<&mut Self>) {
        // SAFETY: nothing is moved out of the pinned arm.
        let this = unsafe { self.get_unchecked_mut() };
        if std::mem::take(&mut this.registered) {
            this.rx.chan.lock().remove_recv(this.waiter.ptr());
        }
    }

    fn popped(self: Pin<&mut Self>) {
        // SAFETY: nothing is moved out of the pinned arm.
        unsafe { self.get_unchecked_mut() }.registered = false;
    }

    fn complete(self: Pin<&mut Self>) {
        // SAFETY: nothing is moved out of the pinned arm.
        let this = unsafe { self.get_unchecked_mut() };
        *this.out = Some(this.waiter.take_slot());
    }

    fn undo(self: Pin<&mut Self>) {
        // SAFETY: nothing is moved out of the pinned arm.
        let this = unsafe { self.get_unchecked_mut() };
        if let Some(v) = this.waiter.take_slot() {
            let w = this.rx.chan.lock().reinject(v);
            wake(w);
        }
    }
}

/// A `send(tx, value) -> res` arm. Its output is the send's result.
pub struct SendArm<'a, T> {
    tx: &'a Sender<T>,
    out: &'a mut Option<Result<(), SendError<T>>>,
    /// Holds the value until a receiver takes it.
    waiter: Waiter<T>,
    /// Owner-only: whether `waiter` may be queued.
    registered: bool,
    _pin: PhantomPinned,
}

// SAFETY: the waiter's pointers point into the select that owns this arm,
// and only `T`s (the value being sent) move between threads.
unsafe impl<T: Send> Send for SendArm<'_, T> {}

/// Builds a `send` arm (used by the macros).
pub fn send_arm<'a, T>(
    tx: &'a Sender<T>,
    value: T,
    out: &'a mut Option<Result<(), SendError<T>>>,
) -> SendArm<'a, T> {
    SendArm {
        tx,
        out,
        waiter: Waiter::new(Some(value)),
        registered: false,
        _pin: PhantomPinned,
    }
}

impl<T> Arm for SendArm<'_, T> {
    fn is_future(&self) -> bool {
        false
    }

    fn try_now(self: Pin<&mut Self>, _: &mut Context<'_>, wait: bool) -> Try {
        // SAFETY: nothing is moved out of the pinned arm.
        let this = unsafe { self.get_unchecked_mut() };
        let chan = &*this.tx.chan;
        if !chan.send_hint() {
            return Try::NotReady;
        }
        let mut g = if wait {
            chan.lock()
        } else {
            match chan.try_lock() {
                Some(g) => g,
                None => return Try::Busy,
            }
        };
        let Some(v) = this.waiter.take_slot() else {
            unreachable!("a send arm holds its value until it completes")
        };
        match g.try_send(v) {
            Ok(w) => {
                drop(g);
                wake(w);
                *this.out = Some(Ok(()));
                Try::Done
            }
            Err(TrySendError::Closed(v)) => {
                *this.out = Some(Err(SendError(v)));
                Try::Done
            }
            Err(TrySendError::Full(v)) => {
                this.waiter.put_slot(v);
                Try::NotReady
            }
        }
    }

    fn register(self: Pin<&mut Self>, ctx: &Ctx, index: usize) -> bool {
        // SAFETY: nothing is moved out of the pinned arm.
        let this = unsafe { self.get_unchecked_mut() };
        let mut g = this.tx.chan.lock();
        if g.send_ready(ctx) {
            return true;
        }
        this.waiter.bind(ctx, index);
        g.push_send(this.waiter.ptr());
        this.registered = true;
        false
    }

    fn unregister(self: Pin<&mut Self>) {
        // SAFETY: nothing is moved out of the pinned arm.
        let this = unsafe { self.get_unchecked_mut() };
        if std::mem::take(&mut this.registered) {
            this.tx.chan.lock().remove_send(this.waiter.ptr());
        }
    }

    fn popped(self: Pin<&mut Self>) {
        // SAFETY: nothing is moved out of the pinned arm.
        unsafe { self.get_unchecked_mut() }.registered = false;
    }

    fn complete(self: Pin<&mut Self>) {
        // SAFETY: nothing is moved out of the pinned arm.
        let this = unsafe { self.get_unchecked_mut() };
        *this.out = Some(match this.waiter.take_slot() {
            None => Ok(()),
            Some(v) => Err(SendError(v)),
        });
    }

    fn undo(self: Pin<&mut Self>) {
        // A receiver took the value before the drop: the send happened. On
        // a close the value is still in the slot and drops with the arm.
    }
}

/// A `pat = future` arm. Its output is the future's.
pub struct FutArm<'a, F: Future> {
    fut: F,
    out: &'a mut Option<F::Output>,
}

/// Builds a future arm (used by the macros).
pub fn fut_arm<F: IntoFuture>(fut: F, out: &mut Option<F::Output>) -> FutArm<'_, F::IntoFuture> {
    FutArm {
        fut: fut.into_future(),
        out,
    }
}

impl<F: Future> Arm for FutArm<'_, F> {
    fn is_future(&self) -> bool {
        true
    }

    fn try_now(self: Pin<&mut Self>, cx: &mut Context<'_>, _wait: bool) -> Try {
        // SAFETY: structural pinning of `fut`; it is never moved.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: `fut` lives inside the pinned arm and is never moved out
        // of it (the arm has no method that takes or replaces it).
        let fut = unsafe { Pin::new_unchecked(&mut this.fut) };
        match fut.poll(cx) {
            Poll::Ready(v) => {
                *this.out = Some(v);
                Try::Done
            }
            Poll::Pending => Try::NotReady,
        }
    }

    fn register(self: Pin<&mut Self>, _: &Ctx, _: usize) -> bool {
        false
    }

    fn unregister(self: Pin<&mut Self>) {}

    fn popped(self: Pin<&mut Self>) {}

    fn complete(self: Pin<&mut Self>) {
        unreachable!("a future arm is never committed by a channel")
    }

    fn undo(self: Pin<&mut Self>) {}
}

thread_local! {
    /// xorshift64* state for the arm shuffle; 0 until the thread's first
    /// select seeds it (a `const` initialiser keeps each access a plain
    /// thread-local load, with no lazy-initialisation check).
    static RNG: Cell<u64> = const { Cell::new(0) };
}

#[cold]
fn seed() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    // Relaxed: the counter only has to hand out distinct numbers.
    static NEXT: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let n = NEXT.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    let local = 0u8;
    (n ^ (&local as *const u8 as u64).rotate_left(32)) | 1
}

/// The next 64 random bits of this thread's xorshift64* generator.
#[inline]
fn next_u64() -> u64 {
    RNG.with(|r| {
        let mut x = r.get();
        if x == 0 {
            x = seed();
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        r.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// Fills `order` with a uniformly random permutation of its indices
/// (Fisher–Yates). The swap indices come from as few 64-bit draws as
/// possible: `j = (x * (i + 1)) >> 64` is uniform below `i + 1`
/// (Lemire's multiply-shift), and the low half of the product is again a
/// near-uniform 64-bit number for the next step. A fresh draw is taken
/// before the product of the ranges used passes 2^32, so every index keeps
/// at least 32 bits of entropy (bias below 2^-26 for 64 arms); a select
/// over up to 12 arms needs a single draw.
#[inline]
fn shuffled(order: &mut [u8]) -> &[u8] {
    for (i, o) in order.iter_mut().enumerate() {
        *o = i as u8;
    }
    // Loom needs every execution of a model to be deterministic: keep the
    // arms in order there (the shuffle has no atomics to explore anyway).
    if cfg!(not(loom)) && order.len() > 1 {
        let mut x = next_u64();
        let mut used: u64 = 1;
        for i in (1..order.len()).rev() {
            let n = i as u64 + 1;
            if used * n > 1 << 32 {
                x = next_u64();
                used = 1;
            }
            used *= n;
            let wide = u128::from(x) * u128::from(n);
            order.swap(i, (wide >> 64) as usize);
            x = wide as u64;
        }
    }
    order
}
