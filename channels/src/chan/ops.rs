//! The single send and receive operations behind `send().await`,
//! `recv().await`, the `Stream`/`Sink` impls and the blocking calls.
//!
//! Each is a one-arm select specialised for speed: the first poll locks the
//! channel once and either completes or parks in that same critical section
//! (an operation registered nowhere else may commit a counterparty — see
//! "Commit protocol" in `waiter.rs`). The waiter lives inside the pinned
//! operation, so parking allocates nothing.

use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use super::hchan::{wake, Chan, Inner};
use super::waiter::{Ctx, State, Waiter};
use super::{SendError, TryRecvError, TrySendError};

/// A receive in progress. Call [`RecvOp::cancel`] before dropping it.
pub(crate) struct RecvOp<T> {
    ctx: Ctx,
    waiter: Waiter<T>,
    /// Owner-only: whether `waiter` may be in the channel's `recvq`.
    registered: bool,
    _pin: PhantomPinned,
}

// SAFETY: the raw pointers inside (waiter to ctx) point into the op itself,
// and the slot holds a `T`; sending the op sends a `T`.
unsafe impl<T: Send> Send for RecvOp<T> {}
// SAFETY: all methods that touch shared state take `Pin<&mut Self>`.
unsafe impl<T: Send> Sync for RecvOp<T> {}

impl<T> RecvOp<T> {
    #[inline]
    pub(crate) fn new() -> Self {
        RecvOp {
            ctx: Ctx::new(true),
            waiter: Waiter::new(None),
            registered: false,
            _pin: PhantomPinned,
        }
    }

    /// An op for a receive that parks right away: its context already
    /// holds `waker`. Queue it with [`RecvOp::enqueue`] once pinned.
    #[inline]
    pub(crate) fn parking(waker: &Waker) -> Self {
        RecvOp {
            ctx: Ctx::single_waiting(waker),
            waiter: Waiter::new(None),
            registered: false,
            _pin: PhantomPinned,
        }
    }

    /// Queues an op made by [`RecvOp::parking`] on the channel whose lock
    /// `g` is (the caller found nothing to receive under it).
    #[inline]
    pub(crate) fn enqueue(self: Pin<&mut Self>, g: &mut Inner<T>) {
        // SAFETY: nothing is moved out of the pinned op.
        let this = unsafe { self.get_unchecked_mut() };
        this.waiter.bind(&this.ctx, 0);
        g.push_recv(this.waiter.ptr());
        this.registered = true;
    }

    #[inline]
    pub(crate) fn poll_recv(
        self: Pin<&mut Self>,
        chan: &Chan<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<T>> {
        let spent = ready!(goro_coop::poll_proceed(cx));
        // SAFETY: nothing is moved out of the pinned op.
        let this = unsafe { self.get_unchecked_mut() };
        if this.registered {
            if !settle(&this.ctx, chan, cx) {
                goro_coop::set_wait_reason(goro_coop::WaitReason::ChanRecv);
                return Poll::Pending;
            }
            this.registered = false;
            spent.made_progress();
            // Done: the committer either delivered a value or closed.
            return Poll::Ready(this.waiter.take_slot());
        }
        if chan.never {
            goro_coop::set_wait_reason(goro_coop::WaitReason::ChanRecv);
            return Poll::Pending;
        }
        let mut g = chan.lock();
        match g.try_recv() {
            Ok((v, w)) => {
                drop(g);
                wake(w);
                spent.made_progress();
                Poll::Ready(Some(v))
            }
            Err(TryRecvError::Closed) => {
                drop(g);
                spent.made_progress();
                Poll::Ready(None)
            }
            Err(TryRecvError::Empty) => {
                // SAFETY: nothing is moved out of the pinned op.
                unsafe { Pin::new_unchecked(this) }.park(&mut g, cx);
                goro_coop::set_wait_reason(goro_coop::WaitReason::ChanRecv);
                Poll::Pending
            }
        }
    }

    /// Queues this (idle) receive on the channel whose lock `g` is, after
    /// the caller found nothing to receive under that same lock.
    #[inline]
    pub(crate) fn park(self: Pin<&mut Self>, g: &mut Inner<T>, cx: &mut Context<'_>) {
        // SAFETY: nothing is moved out of the pinned op.
        let this = unsafe { self.get_unchecked_mut() };
        debug_assert!(!this.registered);
        // SAFETY: the waiter is queued nowhere yet.
        unsafe { this.ctx.reset(cx.waker()) };
        this.waiter.bind(&this.ctx, 0);
        g.push_recv(this.waiter.ptr());
        this.registered = true;
    }

    /// Withdraws a pending receive. A value already handed to it goes back
    /// to the channel, so a dropped receive never takes a value.
    #[inline(always)]
    pub(crate) fn cancel(self: Pin<&mut Self>, chan: &Chan<T>) {
        if self.registered {
            self.cancel_registered(chan);
        }
    }

    #[inline(never)]
    fn cancel_registered(self: Pin<&mut Self>, chan: &Chan<T>) {
        // SAFETY: nothing is moved out of the pinned op.
        let this = unsafe { self.get_unchecked_mut() };
        this.registered = false;
        let mut g = chan.lock();
        g.remove_recv(this.waiter.ptr());
        // Under the lock the state is WAITING (and we just unqueued it) or
        // DONE; a delivered value is in the slot.
        if let Some(v) = this.waiter.take_slot() {
            let w = g.reinject(v);
            drop(g);
            wake(w);
        }
    }
}

/// A send in progress. Call [`SendOp::cancel`] before dropping it.
pub(crate) struct SendOp<T> {
    ctx: Ctx,
    /// Holds the value until it is sent.
    waiter: Waiter<T>,
    /// Owner-only: whether `waiter` may be in the channel's `sendq`.
    registered: bool,
    _pin: PhantomPinned,
}

// SAFETY: the raw pointers inside (waiter to ctx) point into the op itself,
// and the slot holds the `T` being sent; sending the op sends a `T`.
unsafe impl<T: Send> Send for SendOp<T> {}
// SAFETY: all methods that touch shared state take `Pin<&mut Self>`, so a
// shared `&SendOp` gives no access to the slot or the context.
unsafe impl<T: Send> Sync for SendOp<T> {}

impl<T> SendOp<T> {
    #[inline]
    pub(crate) fn new(value: Option<T>) -> Self {
        SendOp {
            ctx: Ctx::new(true),
            waiter: Waiter::new(value),
            registered: false,
            _pin: PhantomPinned,
        }
    }

    /// Loads the next value (the `Sink` reuses one op).
    pub(crate) fn set_value(self: Pin<&mut Self>, value: T) {
        // SAFETY: nothing is moved out of the pinned op.
        let this = unsafe { self.get_unchecked_mut() };
        assert!(!this.registered, "a send is already in flight");
        this.waiter.put_slot(value);
    }

    /// Whether a value is loaded and not yet sent.
    pub(crate) fn is_loaded(self: Pin<&mut Self>) -> bool {
        // SAFETY: nothing is moved out of the pinned op.
        let this = unsafe { self.get_unchecked_mut() };
        if this.registered {
            return true;
        }
        match this.waiter.take_slot() {
            Some(v) => {
                this.waiter.put_slot(v);
                true
            }
            None => false,
        }
    }

    /// An op for a send that parks right away with `value`: its context
    /// already holds `waker`. Queue it with [`SendOp::enqueue`] once pinned.
    #[inline]
    pub(crate) fn parking(value: T, waker: &Waker) -> Self {
        SendOp {
            ctx: Ctx::single_waiting(waker),
            waiter: Waiter::new(Some(value)),
            registered: false,
            _pin: PhantomPinned,
        }
    }

    /// Queues an op made by [`SendOp::parking`] on the channel whose lock
    /// `g` is (the caller found it full under it).
    #[inline]
    pub(crate) fn enqueue(self: Pin<&mut Self>, g: &mut Inner<T>) {
        // SAFETY: nothing is moved out of the pinned op.
        let this = unsafe { self.get_unchecked_mut() };
        this.waiter.bind(&this.ctx, 0);
        g.push_send(this.waiter.ptr());
        this.registered = true;
    }

    #[inline]
    pub(crate) fn poll_send(
        self: Pin<&mut Self>,
        chan: &Chan<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SendError<T>>> {
        let spent = ready!(goro_coop::poll_proceed(cx));
        // SAFETY: nothing is moved out of the pinned op.
        let this = unsafe { self.get_unchecked_mut() };
        if this.registered {
            if !settle(&this.ctx, chan, cx) {
                goro_coop::set_wait_reason(goro_coop::WaitReason::ChanSend);
                return Poll::Pending;
            }
            this.registered = false;
            spent.made_progress();
            // Done: a receiver took the value, or the close left it here.
            return Poll::Ready(match this.waiter.take_slot() {
                None => Ok(()),
                Some(v) => Err(SendError(v)),
            });
        }
        let v = this
            .waiter
            .take_slot()
            .expect("send future polled after it completed");
        let mut g = chan.lock();
        match g.try_send(v) {
            Ok(w) => {
                drop(g);
                wake(w);
                spent.made_progress();
                Poll::Ready(Ok(()))
            }
            Err(TrySendError::Closed(v)) => {
                drop(g);
                spent.made_progress();
                Poll::Ready(Err(SendError(v)))
            }
            Err(TrySendError::Full(v)) => {
                this.waiter.put_slot(v);
                // SAFETY: nothing is moved out of the pinned op.
                unsafe { Pin::new_unchecked(this) }.park(&mut g, cx);
                goro_coop::set_wait_reason(goro_coop::WaitReason::ChanSend);
                Poll::Pending
            }
        }
    }

    /// Queues this send (its value loaded) on the channel whose lock `g`
    /// is, after the caller found it full under that same lock.
    #[inline]
    pub(crate) fn park(self: Pin<&mut Self>, g: &mut Inner<T>, cx: &mut Context<'_>) {
        // SAFETY: nothing is moved out of the pinned op.
        let this = unsafe { self.get_unchecked_mut() };
        debug_assert!(!this.registered);
        // SAFETY: the waiter is queued nowhere yet.
        unsafe { this.ctx.reset(cx.waker()) };
        this.waiter.bind(&this.ctx, 0);
        g.push_send(this.waiter.ptr());
        this.registered = true;
    }

    /// Withdraws a pending send. If no receiver took the value yet, it stays
    /// in the op (and is dropped with it): a dropped send did not send.
    #[inline(always)]
    pub(crate) fn cancel(self: Pin<&mut Self>, chan: &Chan<T>) {
        if self.registered {
            self.cancel_registered(chan);
        }
    }

    #[inline(never)]
    fn cancel_registered(self: Pin<&mut Self>, chan: &Chan<T>) {
        // SAFETY: nothing is moved out of the pinned op.
        let this = unsafe { self.get_unchecked_mut() };
        this.registered = false;
        chan.lock().remove_send(this.waiter.ptr());
    }
}

/// For an op registered with `chan` alone: returns true once it has been
/// committed (state `Done`), else refreshes the waker and returns false.
#[inline]
fn settle<T>(ctx: &Ctx, chan: &Chan<T>, cx: &mut Context<'_>) -> bool {
    match ctx.state() {
        State::Done(_) => true,
        // The committer holds the lock until it publishes DONE.
        State::Claimed(_) => {
            drop(chan.lock());
            true
        }
        State::Waiting => {
            // Under the lock: a committer may be taking the waker.
            let _g = chan.lock();
            if ctx.state() != State::Waiting {
                return true;
            }
            // SAFETY: we hold the lock of the only channel we are queued on.
            unsafe { ctx.set_waker(cx.waker()) };
            false
        }
        State::Aborted => unreachable!("a single operation never aborts"),
    }
}
