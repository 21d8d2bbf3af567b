//! The channel core: one lock, a ring buffer and two queues of parked
//! operations, in the shape of Go's `hchan` (runtime/chan.go).
//!
//! ## Invariants
//!
//! Guarded by `Chan::inner`:
//!
//! * At least one of `sendq` and `recvq` holds no live waiter (a live
//!   waiter's context is `WAITING`). A sender that finds a live receiver
//!   hands it the value; a receiver that finds a live sender takes its value.
//!   One exception, Go's too (chan.go states it the same way): a single
//!   `select!` with both a send arm and a receive arm on one unbuffered
//!   channel. Its two waiters share one context and may both be live, one
//!   in each queue, because a select cannot rendezvous with itself. Every
//!   live waiter in the two queues then belongs to that one context: a
//!   select registering an arm checks readiness with `has_live_other`,
//!   which skips waiters of its own context and sees everyone else's, so
//!   it aborts and retries rather than park opposite another live party.
//!   (With a buffer the case cannot arise: a receiver parks only on an
//!   empty buffer and a sender only on a full one.)
//! * `buf` non-empty implies `recvq` holds no live waiter: a receiver parks
//!   only on an empty buffer, and values go to a parked receiver first.
//! * A sender parks only when `buf.len() >= cap`. `buf` may briefly hold more
//!   than `cap` values: a value handed to a receiver whose future was then
//!   dropped goes back to the *front* of the buffer rather than being lost
//!   (see `reinject`).
//! * Once `closed` is set no waiter is ever queued again, and every waiter
//!   queued at that moment has been committed with the "closed" result.
//! * Stale waiters (context no longer `WAITING`) may sit in a queue until a
//!   counterparty pops them or their owner removes them; they are skipped.
//!
//! ## What runs under the lock
//!
//! The lock is held only for these queue and buffer operations. Values are
//! moved, never dropped, inside the critical section, and no waker is
//! *woken* under it: the operations return the waker to wake, and callers
//! wake it after unlocking. The one piece of foreign code that does run
//! under the lock is the waker's vtable `clone` and `drop`:
//!
//! * a single `send`/`recv` clones its task's waker into its op when it
//!   parks (`SendOp::parking`, `RecvOp::parking`, `park` in `ops.rs`), and
//!   on a re-poll with a different waker clones the new one and drops the
//!   one it replaces (`settle`);
//! * a committer clones a select's waker (`Claim::finish`), since the
//!   select may read its stored waker at any time.
//!
//! So a waker whose `clone` or `drop` touches this channel (sends on it,
//! or drops its last handle) deadlocks. Executors' wakers are reference
//! counts and do neither. Doing these clones before taking the lock would
//! cost a clone on every operation that does not park (or a second lock
//! round trip on every one that does), to move code that is, in practice,
//! one atomic increment.
//!
//! ## Readiness hint
//!
//! `Chan::ready` holds two bits, "a receive would complete" and "a send
//! would complete", recomputed from `Inner` at every unlock (the guard's
//! `Drop`). A select's first pass reads them without the lock and skips
//! the arms whose bit is clear, so a select over mostly empty channels locks
//! only the ones worth trying. The bits are only a hint: a stale "not
//! ready" costs nothing but a round of the register phase, which checks
//! under each lock and retries; a stale "ready" costs one lock. A reader
//! that has synchronised with an unlock (by any means) sees that unlock's
//! bits or newer ones, so a send that happens-before a `select!` with
//! `default` is never missed.

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::task::Waker;

use super::lock::{Guard, Lock};
use super::waiter::{claim, Claim, Ctx, State, Waiter};
use super::{TryRecvError, TrySendError};
use crate::loom::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

/// A channel's shared state: what every `Sender` and `Receiver` points at.
pub(crate) struct Chan<T> {
    /// Buffer and wait queues. Never held across a wake; see "What runs
    /// under the lock" for the waker clones and drops that happen under it.
    inner: Lock<Inner<T>>,
    /// `usize::MAX` for unbounded, 0 for rendezvous.
    pub(crate) cap: usize,
    /// Mirror of `Inner::closed` for `is_closed` without the lock; written
    /// under the lock.
    closed: AtomicBool,
    /// Live `Sender` handles; the last one to go closes the channel.
    pub(crate) senders: AtomicUsize,
    /// Live `Receiver` handles; the last one to go closes the channel.
    pub(crate) receivers: AtomicUsize,
    /// `chan::never()`: nothing is ever sent, and the channel never closes.
    pub(crate) never: bool,
    /// `RECV_READY | SEND_READY`: what a receive or a send would find right
    /// now, as of the last unlock (see "Readiness hint").
    ready: AtomicU8,
}

/// A receive would complete now (a value, a parked sender, or closed).
const RECV_READY: u8 = 1;
/// A send would complete now (room, a parked receiver, or closed).
const SEND_READY: u8 = 2;

pub(crate) struct Inner<T> {
    buf: VecDeque<T>,
    cap: usize,
    closed: bool,
    /// Parked receivers, oldest first.
    recvq: VecDeque<NonNull<Waiter<T>>>,
    /// Parked senders (each holding its value), oldest first.
    sendq: VecDeque<NonNull<Waiter<T>>>,
    /// Tasks waiting in `Sender::closed`, one waker per task; woken and
    /// emptied by `close`.
    closed_wakers: Vec<Waker>,
}

// SAFETY: the queued pointers refer to waiters whose values are `T`s owned
// by other threads' futures; moving them between threads is moving `T`s, and
// every access to them happens under the mutex that owns this `Inner`.
unsafe impl<T: Send> Send for Inner<T> {}

impl<T> Chan<T> {
    pub(crate) fn new(cap: usize, never: bool) -> Self {
        let inner = Inner {
            // Rendezvous channels only ever buffer re-injected values.
            buf: VecDeque::with_capacity(cap.min(1024)),
            cap,
            closed: false,
            recvq: VecDeque::new(),
            sendq: VecDeque::new(),
            closed_wakers: Vec::new(),
        };
        Chan {
            ready: AtomicU8::new(if never { 0 } else { inner.readiness() }),
            inner: Lock::new(inner),
            cap,
            closed: AtomicBool::new(false),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            never,
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> ChanGuard<'_, T> {
        ChanGuard {
            inner: self.inner.lock(),
            ready: &self.ready,
        }
    }

    /// The lock, if nobody holds it right now.
    #[inline]
    pub(crate) fn try_lock(&self) -> Option<ChanGuard<'_, T>> {
        Some(ChanGuard {
            inner: self.inner.try_lock()?,
            ready: &self.ready,
        })
    }

    /// Whether a receive might complete now: false means it would not have
    /// as of the last unlock this thread has synchronised with.
    #[inline]
    pub(crate) fn recv_hint(&self) -> bool {
        // Relaxed: a hint only ("Readiness hint"); coherence gives us the
        // last store that happens-before this load, or a newer one.
        self.ready.load(Ordering::Relaxed) & RECV_READY != 0
    }

    /// As `recv_hint`, for a send.
    #[inline]
    pub(crate) fn send_hint(&self) -> bool {
        // Relaxed: as in `recv_hint`.
        self.ready.load(Ordering::Relaxed) & SEND_READY != 0
    }

    pub(crate) fn is_closed(&self) -> bool {
        // Acquire: a `true` seen here orders after the close that set it.
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the channel; returns whether this call did it.
    pub(crate) fn close(&self) -> bool {
        if self.never {
            return false;
        }
        let wakers = {
            let mut g = self.lock();
            if g.closed {
                return false;
            }
            g.closed = true;
            // Release: pairs with `is_closed`; written under the lock too.
            self.closed.store(true, Ordering::Release);
            let mut wakers = g.fail_all_waiters();
            wakers.append(&mut g.closed_wakers);
            wakers
        };
        wakers.into_iter().for_each(Waker::wake);
        true
    }
}

impl<T> Chan<T> {
    /// `Ready` once the channel is closed; otherwise keeps `waker` (one
    /// per task: a waker that would wake the same task replaces nothing).
    pub(crate) fn poll_closed(&self, waker: &Waker) -> bool {
        if self.is_closed() {
            return true;
        }
        if self.never {
            return false;
        }
        let mut g = self.lock();
        if g.closed {
            return true;
        }
        if !g.closed_wakers.iter().any(|w| w.will_wake(waker)) {
            g.closed_wakers.push(waker.clone());
        }
        false
    }
}

/// The channel lock's guard. Unlocking first publishes the readiness hint
/// ("Readiness hint"), so every change to the buffer, the queues or
/// `closed` is reflected in it by the time the lock is free.
pub(crate) struct ChanGuard<'a, T> {
    inner: Guard<'a, Inner<T>>,
    ready: &'a AtomicU8,
}

impl<T> Deref for ChanGuard<'_, T> {
    type Target = Inner<T>;
    #[inline(always)]
    fn deref(&self) -> &Inner<T> {
        &self.inner
    }
}

impl<T> DerefMut for ChanGuard<'_, T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Inner<T> {
        &mut self.inner
    }
}

impl<T> Drop for ChanGuard<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        // Relaxed: the lock's own release (right after, when `inner`
        // drops) orders this store for the next holder, and lock-free
        // readers only take it as a hint.
        self.ready.store(self.inner.readiness(), Ordering::Relaxed);
    }
}

/// Wakes a waker returned by a core operation (after the lock is released).
#[inline]
pub(crate) fn wake(w: Option<Waker>) {
    if let Some(w) = w {
        w.wake();
    }
}

impl<T> Inner<T> {
    /// `RECV_READY | SEND_READY` for the current state. Stale waiters count
    /// as live: the hint may say "ready" when a locked attempt would not.
    #[inline(always)]
    fn readiness(&self) -> u8 {
        let mut r = 0;
        if self.closed || !self.buf.is_empty() || !self.sendq.is_empty() {
            r |= RECV_READY;
        }
        if self.closed || self.buf.len() < self.cap || !self.recvq.is_empty() {
            r |= SEND_READY;
        }
        r
    }

    /// Pops waiters until one can be claimed; stale ones are dropped.
    #[inline]
    fn pop_live(q: &mut VecDeque<NonNull<Waiter<T>>>) -> Option<Claim<T>> {
        while let Some(w) = q.pop_front() {
            // SAFETY: popped under the lock the caller holds (we are inside
            // `Inner`, reached only through the guard).
            if let Some(c) = unsafe { claim(w) } {
                return Some(c);
            }
        }
        None
    }

    /// Whether `q` holds a live waiter of a context other than `me`. Skipping
    /// `me` is what lets one select wait on both sides of an unbuffered
    /// channel (the exception in "Invariants").
    fn has_live_other(q: &VecDeque<NonNull<Waiter<T>>>, me: *const Ctx) -> bool {
        q.iter().any(|w| {
            // SAFETY: queued waiters and their contexts are alive while we
            // hold the lock (owners unqueue them under it before freeing).
            let w = unsafe { w.as_ref() };
            // SAFETY: a queued waiter's context outlives its queueing: the
            // owner unqueues every waiter under this lock before it frees
            // or rebinds the context.
            w.ctx() != me && unsafe { &*w.ctx() }.state() == State::Waiting
        })
    }

    /// Sends without waiting. On success returns a waker to call after
    /// unlocking. Go's `chansend` fast paths: direct hand-off to a parked
    /// receiver (`sendDirect`), else the buffer.
    #[inline(always)]
    pub(crate) fn try_send(&mut self, v: T) -> Result<Option<Waker>, TrySendError<T>> {
        // The common cases, inlined into every send: nobody to hand the
        // value to, so the buffer alone decides.
        if !self.closed && self.recvq.is_empty() {
            if self.buf.len() < self.cap {
                self.buf.push_back(v);
                return Ok(None);
            }
            return Err(TrySendError::Full(v));
        }
        self.try_send_slow(v)
    }

    #[inline(never)]
    fn try_send_slow(&mut self, v: T) -> Result<Option<Waker>, TrySendError<T>> {
        self.send_any(v)
    }

    /// Buffers `v` if that is all a send has to do (room, and nobody
    /// parked to hand it to); else gives it back. Inlined into every send.
    #[inline(always)]
    pub(crate) fn send_buffered(&mut self, v: T) -> Result<(), T> {
        if !self.closed && self.recvq.is_empty() && self.buf.len() < self.cap {
            self.buf.push_back(v);
            return Ok(());
        }
        Err(v)
    }

    /// Every case of `try_send`, for callers that are already out of line.
    #[inline(always)]
    pub(crate) fn send_any(&mut self, v: T) -> Result<Option<Waker>, TrySendError<T>> {
        if self.closed {
            return Err(TrySendError::Closed(v));
        }
        if let Some(c) = Self::pop_live(&mut self.recvq) {
            c.put(v);
            return Ok(c.finish());
        }
        if self.buf.len() < self.cap {
            self.buf.push_back(v);
            return Ok(None);
        }
        Err(TrySendError::Full(v))
    }

    /// Receives without waiting. Go's `chanrecv`: from a full buffer, the
    /// head is taken and the oldest parked sender's value moves to the tail;
    /// with no buffer, the oldest parked sender's value is taken directly.
    #[inline(always)]
    pub(crate) fn try_recv(&mut self) -> Result<(T, Option<Waker>), TryRecvError> {
        // The common cases, inlined: no parked sender to pull in behind a
        // buffered value, so the buffer alone decides.
        if self.sendq.is_empty() {
            return match self.buf.pop_front() {
                Some(v) => Ok((v, None)),
                None if self.closed => Err(TryRecvError::Closed),
                None => Err(TryRecvError::Empty),
            };
        }
        self.try_recv_slow()
    }

    #[inline(never)]
    fn try_recv_slow(&mut self) -> Result<(T, Option<Waker>), TryRecvError> {
        self.recv_any()
    }

    /// Takes the oldest buffered value if that is all a receive has to do
    /// (no parked sender to pull in behind it). Inlined into every receive.
    #[inline(always)]
    pub(crate) fn recv_buffered(&mut self) -> Option<T> {
        if self.sendq.is_empty() {
            self.buf.pop_front()
        } else {
            None
        }
    }

    /// Every case of `try_recv`, for callers that are already out of line.
    #[inline(always)]
    pub(crate) fn recv_any(&mut self) -> Result<(T, Option<Waker>), TryRecvError> {
        if let Some(v) = self.buf.pop_front() {
            let mut waker = None;
            if self.buf.len() < self.cap {
                if let Some(c) = Self::pop_live(&mut self.sendq) {
                    self.buf.push_back(c.take());
                    waker = c.finish();
                }
            }
            return Ok((v, waker));
        }
        if let Some(c) = Self::pop_live(&mut self.sendq) {
            let v = c.take();
            return Ok((v, c.finish()));
        }
        if self.closed {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Whether a receive by a select owning `me` could complete now.
    pub(crate) fn recv_ready(&self, me: *const Ctx) -> bool {
        !self.buf.is_empty() || self.closed || Self::has_live_other(&self.sendq, me)
    }

    /// Whether a send by a select owning `me` could complete now.
    pub(crate) fn send_ready(&self, me: *const Ctx) -> bool {
        self.closed || self.buf.len() < self.cap || Self::has_live_other(&self.recvq, me)
    }

    /// Parks a receiver. The waiter must stay put until `remove_recv` (or a
    /// commit) takes it out again.
    #[inline]
    pub(crate) fn push_recv(&mut self, w: NonNull<Waiter<T>>) {
        debug_assert!(!self.closed);
        self.recvq.push_back(w);
    }

    /// Parks a sender whose slot holds its value.
    #[inline]
    pub(crate) fn push_send(&mut self, w: NonNull<Waiter<T>>) {
        debug_assert!(!self.closed);
        self.sendq.push_back(w);
    }

    #[inline]
    pub(crate) fn remove_recv(&mut self, w: NonNull<Waiter<T>>) {
        Self::remove(&mut self.recvq, w)
    }

    #[inline]
    pub(crate) fn remove_send(&mut self, w: NonNull<Waiter<T>>) {
        Self::remove(&mut self.sendq, w)
    }

    fn remove(q: &mut VecDeque<NonNull<Waiter<T>>>, w: NonNull<Waiter<T>>) {
        // Usually the newest entry: search from the back.
        if let Some(i) = q.iter().rposition(|p| *p == w) {
            q.remove(i);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Gives back a value that was delivered to a receiver whose future was
    /// dropped before it saw the value: to another parked receiver, else to
    /// the front of the buffer (it is the oldest value in flight).
    pub(crate) fn reinject(&mut self, v: T) -> Option<Waker> {
        if let Some(c) = Self::pop_live(&mut self.recvq) {
            c.put(v);
            return c.finish();
        }
        self.buf.push_front(v);
        None
    }

    /// Commits every parked operation with the "closed" result: receivers
    /// get an empty slot (`None`), senders keep their value (an error).
    fn fail_all_waiters(&mut self) -> Vec<Waker> {
        let mut wakers = Vec::new();
        while let Some(c) = Self::pop_live(&mut self.recvq) {
            wakers.extend(c.finish());
        }
        while let Some(c) = Self::pop_live(&mut self.sendq) {
            wakers.extend(c.finish());
        }
        wakers
    }
}
