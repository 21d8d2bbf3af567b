//! `Sender` and `Receiver`: the handles, their futures, `Stream`, `Sink`
//! and the blocking calls.

use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::{FusedStream, Stream};
use futures_sink::Sink;

use super::block_on::block_on;
use super::hchan::{wake, Chan, ChanGuard};
use super::ops::{RecvOp, SendOp};
use super::{SendError, TryRecvError, TrySendError};
use crate::loom::sync::atomic::Ordering;
use crate::loom::sync::Arc;

/// The sending side of a channel. Clone it for more producers; the channel
/// closes when the last sender is dropped.
pub struct Sender<T> {
    pub(crate) chan: Arc<Chan<T>>,
    /// This handle's `Sink` state: one reusable send, boxed so the handle
    /// stays `Unpin`. Allocated on the first `start_send`.
    sink: Option<Pin<Box<SendOp<T>>>>,
}

/// The receiving side of a channel. Clone it for more consumers; the
/// channel closes when the last receiver is dropped.
pub struct Receiver<T> {
    pub(crate) chan: Arc<Chan<T>>,
    /// This handle's `Stream` state: one reusable receive, boxed so the
    /// handle stays `Unpin`. Allocated on the first `poll_next`.
    stream: Option<Pin<Box<RecvOp<T>>>>,
}

impl<T> Sender<T> {
    pub(crate) fn from_chan(chan: Arc<Chan<T>>) -> Self {
        Sender { chan, sink: None }
    }

    /// Sends `value`, waiting for buffer space (or, on a rendezvous
    /// channel, for a receiver to take it). Fails, giving the value back,
    /// if the channel is or becomes closed. Dropping the future before it
    /// completes withdraws the value: a dropped send did not send.
    #[inline]
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            chan: &self.chan,
            value: Some(value),
            op: None,
            _pin: PhantomPinned,
        }
    }

    /// Waits until the channel is closed: by `close`, or because every
    /// receiver is gone. A producer uses it to stop work nobody will read
    /// (tokio's `mpsc::Sender::closed`).
    pub fn closed(&self) -> Closed<'_, T> {
        Closed { chan: &self.chan }
    }

    /// Sends without waiting.
    #[inline]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let w = self.chan.lock().try_send(value)?;
        wake(w);
        Ok(())
    }

    /// Sends, blocking this thread while the channel is full. Do not call
    /// it from async code (it blocks the executor's thread).
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        match self.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(v)) => Err(SendError(v)),
            Err(TrySendError::Full(v)) => block_on(self.send(v)),
        }
    }

    /// Closes the channel: receivers drain what is buffered and then get
    /// `None`; every waiting and later send fails. Returns whether this call
    /// closed it (false if it already was).
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Values buffered right now.
    pub fn len(&self) -> usize {
        self.chan.lock().len()
    }

    /// Whether nothing is buffered right now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer size; `None` for an unbounded channel.
    pub fn capacity(&self) -> Option<usize> {
        capacity(&self.chan)
    }

    /// Whether two handles belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Receiver<T> {
    pub(crate) fn from_chan(chan: Arc<Chan<T>>) -> Self {
        Receiver { chan, stream: None }
    }

    /// Receives the next value, waiting for one; `None` once the channel is
    /// closed and drained. Dropping the future before it completes never
    /// takes a value (one already handed to it goes back to the channel).
    #[inline]
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture {
            chan: &self.chan,
            op: None,
            _pin: PhantomPinned,
        }
    }

    /// Receives without waiting.
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        if self.chan.never {
            return Err(TryRecvError::Empty);
        }
        let (v, w) = self.chan.lock().try_recv()?;
        wake(w);
        Ok(v)
    }

    /// Receives, blocking this thread while the channel is empty. Do not
    /// call it from async code (it blocks the executor's thread).
    pub fn recv_blocking(&self) -> Option<T> {
        match self.try_recv() {
            Ok(v) => Some(v),
            Err(TryRecvError::Closed) => None,
            Err(TryRecvError::Empty) => block_on(self.recv()),
        }
    }

    /// Closes the channel (see [`Sender::close`]).
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed (it may still hold values).
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Values buffered right now.
    pub fn len(&self) -> usize {
        self.chan.lock().len()
    }

    /// Whether nothing is buffered right now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer size; `None` for an unbounded channel.
    pub fn capacity(&self) -> Option<usize> {
        capacity(&self.chan)
    }

    /// Whether two handles belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

fn capacity<T>(chan: &Chan<T>) -> Option<usize> {
    (chan.cap != usize::MAX).then_some(chan.cap)
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        // Relaxed: we hold a handle, so the count cannot concurrently reach
        // zero; the increment needs no ordering (as in `Arc::clone`).
        self.chan.senders.fetch_add(1, Ordering::Relaxed);
        Sender::from_chan(self.chan.clone())
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        // Relaxed: as for `Sender::clone`.
        self.chan.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver::from_chan(self.chan.clone())
    }
}

impl<T> Drop for Sender<T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(op) = self.sink.as_mut() {
            op.as_mut().cancel(&self.chan);
        }
        // AcqRel: the last handle's close must come after every other
        // handle's last use (as in `Arc::drop`).
        if self.chan.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.close();
        }
    }
}

impl<T> Drop for Receiver<T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(op) = self.stream.as_mut() {
            op.as_mut().cancel(&self.chan);
        }
        // AcqRel: as for `Sender::drop`.
        if self.chan.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.close();
        }
    }
}

/// The future of [`Sender::closed`].
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, T> {
    chan: &'a Chan<T>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.chan.poll_closed(cx.waker()) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").finish_non_exhaustive()
    }
}

/// A future's op, pinned in place, if it has one.
type PinnedOp<'f, Op> = Option<Pin<&'f mut Op>>;

/// The future of [`Sender::send`].
///
/// The parking machinery (`SendOp`: context, waiter) is created in place
/// only when the first attempt finds the channel full, so the common case
/// builds and moves a three-word future.
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    chan: &'a Chan<T>,
    /// The value, until the first poll moves it into the channel or `op`.
    value: Option<T>,
    /// Present once this send had to park.
    op: Option<SendOp<T>>,
    _pin: PhantomPinned,
}

impl<T> SendFuture<'_, T> {
    #[inline]
    fn parts(self: Pin<&mut Self>) -> (PinnedOp<'_, SendOp<T>>, &Chan<T>, &mut Option<T>) {
        // SAFETY: structural pinning of `op`; it is never moved out, and
        // it is only ever replaced while `None`. `value` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let op = this
            .op
            .as_mut()
            // SAFETY: the op lives inside the pinned future and stays at
            // this address until it drops: it is never moved out, and the
            // `Option` is only written while it is `None`.
            .map(|op| unsafe { Pin::new_unchecked(op) });
        (op, this.chan, &mut this.value)
    }
}

impl<'a, T> Future for SendFuture<'a, T> {
    type Output = Result<(), SendError<T>>;

    /// The first attempt is inlined into the caller; parking and every
    /// later poll are out of line.
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let chan: &'a Chan<T> = self.chan;
        // SAFETY: `op` is structurally pinned (see `parts`) and is only
        // assigned (in `send_slow`) while it is `None`.
        let this = unsafe { self.get_unchecked_mut() };
        if this.op.is_some() {
            return this.poll_op(cx);
        }
        let spent = ready!(goro_coop::poll_proceed(cx));
        let v = this
            .value
            .take()
            .expect("send future polled after it completed");
        let mut g = chan.lock();
        match g.send_buffered(v) {
            Ok(()) => {
                drop(g);
                spent.made_progress();
                Poll::Ready(Ok(()))
            }
            Err(v) => this.send_slow(g, v, spent, cx),
        }
    }
}

impl<'a, T> SendFuture<'a, T> {
    /// A later poll: the op exists.
    #[inline(never)]
    fn poll_op(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let chan: &'a Chan<T> = self.chan;
        let op = self.op.as_mut().expect("called only with an op");
        // SAFETY: `self` is pinned (we came from `poll`), and `op` is
        // structurally pinned.
        unsafe { Pin::new_unchecked(op) }.poll_send(chan, cx)
    }

    /// The first attempt could not simply buffer the value: hand it to a
    /// parked receiver, report the close, or park.
    #[inline(never)]
    fn send_slow(
        &mut self,
        mut g: ChanGuard<'a, T>,
        v: T,
        spent: goro_coop::Spent,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SendError<T>>> {
        match g.send_any(v) {
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
                // Build the op in place and park it under the lock we
                // already hold (the guard borrows the channel, not the
                // future).
                let op = self.op.insert(SendOp::parking(v, cx.waker()));
                // SAFETY: the op now lives in the pinned future for good.
                unsafe { Pin::new_unchecked(op) }.enqueue(&mut g);
                goro_coop::set_wait_reason(goro_coop::WaitReason::ChanSend);
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for SendFuture<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `self` is pinned (drop is the last use of a pinned value).
        let (op, chan, _) = unsafe { Pin::new_unchecked(self) }.parts();
        if let Some(op) = op {
            op.cancel(chan);
        }
    }
}

/// The future of [`Receiver::recv`]. Like [`SendFuture`], it creates its
/// parking machinery only when it has to wait.
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    chan: &'a Chan<T>,
    /// Present once this receive had to park.
    op: Option<RecvOp<T>>,
    _pin: PhantomPinned,
}

impl<T> RecvFuture<'_, T> {
    #[inline]
    fn parts(self: Pin<&mut Self>) -> (Option<Pin<&mut RecvOp<T>>>, &Chan<T>) {
        // SAFETY: structural pinning of `op`; it is never moved out, and
        // it is only ever replaced while `None`.
        let this = unsafe { self.get_unchecked_mut() };
        let op = this
            .op
            .as_mut()
            // SAFETY: the op lives inside the pinned future and stays at
            // this address until it drops: it is never moved out, and the
            // `Option` is only written while it is `None`.
            .map(|op| unsafe { Pin::new_unchecked(op) });
        (op, this.chan)
    }
}

impl<'a, T> Future for RecvFuture<'a, T> {
    type Output = Option<T>;

    /// The first attempt is inlined into the caller; parking and every
    /// later poll are out of line.
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let chan: &'a Chan<T> = self.chan;
        // SAFETY: `op` is structurally pinned (see `parts`) and is only
        // assigned (in `recv_slow`) while it is `None`.
        let this = unsafe { self.get_unchecked_mut() };
        if this.op.is_some() || chan.never {
            return this.poll_op(cx);
        }
        let spent = ready!(goro_coop::poll_proceed(cx));
        let mut g = chan.lock();
        match g.recv_buffered() {
            Some(v) => {
                drop(g);
                spent.made_progress();
                Poll::Ready(Some(v))
            }
            None => this.recv_slow(g, spent, cx),
        }
    }
}

impl<'a, T> RecvFuture<'a, T> {
    /// A later poll (the op exists), or a receive from `never`.
    #[inline(never)]
    fn poll_op(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let chan: &'a Chan<T> = self.chan;
        match self.op.as_mut() {
            // SAFETY: `self` is pinned (we came from `poll`), and `op` is
            // structurally pinned.
            Some(op) => unsafe { Pin::new_unchecked(op) }.poll_recv(chan, cx),
            None => {
                // `never`
                goro_coop::set_wait_reason(goro_coop::WaitReason::ChanRecv);
                Poll::Pending
            }
        }
    }

    /// The first attempt found no plain buffered value: take a parked
    /// sender's value, report the close, or park.
    #[inline(never)]
    fn recv_slow(
        &mut self,
        mut g: ChanGuard<'a, T>,
        spent: goro_coop::Spent,
        cx: &mut Context<'_>,
    ) -> Poll<Option<T>> {
        match g.recv_any() {
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
                // Build the op in place and park it under the lock we
                // already hold.
                let op = self.op.insert(RecvOp::parking(cx.waker()));
                // SAFETY: the op now lives in the pinned future for good.
                unsafe { Pin::new_unchecked(op) }.enqueue(&mut g);
                goro_coop::set_wait_reason(goro_coop::WaitReason::ChanRecv);
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `self` is pinned (drop is the last use of a pinned value).
        let (op, chan) = unsafe { Pin::new_unchecked(self) }.parts();
        if let Some(op) = op {
            op.cancel(chan);
        }
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let op = this.stream.get_or_insert_with(|| Box::pin(RecvOp::new()));
        op.as_mut().poll_recv(&this.chan, cx)
    }
}

impl<T> FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.chan.is_closed() && self.chan.lock().len() == 0
    }
}

/// `Sink`: `start_send` loads the value, `poll_flush` (and `poll_ready`)
/// drive it into the channel, `poll_close` flushes and closes the channel
/// (as `futures::channel::mpsc` does).
impl<T> Sink<T> for Sender<T> {
    type Error = SendError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll_flush(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        let this = self.get_mut();
        if this.chan.is_closed() {
            return Err(SendError(item));
        }
        let op = this.sink.get_or_insert_with(|| Box::pin(SendOp::new(None)));
        op.as_mut().set_value(item);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        match this.sink.as_mut() {
            Some(op) => {
                if op.as_mut().is_loaded() {
                    op.as_mut().poll_send(&this.chan, cx)
                } else {
                    Poll::Ready(Ok(()))
                }
            }
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        std::task::ready!(Pin::new(&mut *this).poll_flush(cx))?;
        this.chan.close();
        Poll::Ready(Ok(()))
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendFuture")
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecvFuture")
    }
}
