//! The channel core: a lock over two queues of parked operations (and,
//! for rendezvous and unbounded channels, a `VecDeque` buffer), in the
//! shape of Go's `hchan` (runtime/chan.go); bounded buffered channels keep
//! their values in a lock-free ring (`ring.rs`) instead.
//!
//! ## Two flavours
//!
//! * *Locked* (capacity 0, and unbounded): every operation takes the lock.
//!   Values go straight to a parked receiver (Go's `sendDirect`), and a
//!   receiver takes a parked sender's value; this is what makes a
//!   rendezvous a rendezvous, and what lets a select commit one rendezvous
//!   atomically ("Commit protocol" in `waiter.rs`).
//! * *Ring* (capacity 1 and up, bounded): values only ever pass through the
//!   ring, pushed and popped without the lock. The lock is taken only to
//!   park, to wake a parked operation, and to close. A committed waiter of a
//!   ring channel has been *woken*, not served: its value stays in its own
//!   slot (a send) or it receives nothing (a receive), and it tries the ring
//!   again. A receive future dropped at any point has therefore taken
//!   nothing, with no need to give a value back.
//!
//! ## Invariants
//!
//! Guarded by `Chan::inner`:
//!
//! * At least one of `sendq` and `recvq` holds no live waiter (a live
//!   waiter's context is `WAITING`). A sender that finds a live receiver
//!   hands it the value (locked) or wakes it (ring); likewise receivers.
//! * Locked flavour: `buf` non-empty implies `recvq` holds no live waiter:
//!   a receiver parks only on an empty buffer, and values go to a parked
//!   receiver first. A sender parks only when `buf.len() >= cap`. On a
//!   rendezvous channel `buf` holds only values given back by a dropped
//!   receive (see `reinject`), which may briefly exceed the capacity.
//! * Ring flavour: `recv_waiting` is true whenever `recvq` is non-empty,
//!   and `send_waiting` whenever `sendq` is (both are written only under
//!   the lock; see "Parking on a ring" for why that suffices).
//! * Once `closed` is set no waiter is ever queued again, and every waiter
//!   queued at that moment has been committed with the "closed" result.
//! * Stale waiters (context no longer `WAITING`) may sit in a queue until a
//!   counterparty pops them or their owner removes them; they are skipped.
//!
//! The lock is held only for these queue and buffer operations: wakers are
//! called after it is released, and no user code runs under it (values are
//! moved, never dropped, inside the critical section).
//!
//! ## Parking on a ring
//!
//! The classic lost wake-up: a receiver finds the ring empty and parks
//! while a sender pushes and finds nobody parked. Both sides follow a
//! four-step protocol (Dekker's), each a SeqCst access:
//!
//! ```text
//! sender (`notify_recv`)          parking receiver (`recv_or_park`)
//!   CAS ring.tail (the push)        lock; recv_waiting = true
//!   load recv_waiting               load ring.tail / ring.head (a pop)
//!   if true: lock, wake one         if still empty: queue waiter; unlock
//! ```
//!
//! All four accesses sit in one total order, so either the receiver's
//! re-check sees the pushed tail (and it takes the value, waiting out a
//! sender that has claimed a slot but not written it yet), or the sender's
//! load sees the flag — and then it takes the lock, which it can only get
//! after the waiter is queued. Senders parking on a full ring mirror this
//! with `send_waiting` and the pop's CAS on `ring.head`. `close` marks the
//! ring's tail before it takes the lock, and a parking operation re-checks
//! the ring under the lock, so it either sees the mark or is failed by the
//! close. (`crate::loom::sc_fence` marks each StoreLoad point for loom.)
//!
//! Each push wakes at most one receiver. A woken receiver that ends up not
//! taking from this channel — its future is dropped, or a select took
//! another arm — *forwards* the wake-up (`forward_recv`) if the ring still
//! holds a value, so a value never sits in the ring while a receiver sleeps.
//! Senders forward the same way.

use std::collections::VecDeque;
use std::ptr::NonNull;
use std::task::{Poll, Waker};

use super::lock::{Guard, Lock};
use super::ring::Ring;
use super::waiter::{claim, Claim, Ctx, State, Waiter};
use super::{SendError, TryRecvError, TrySendError};
use crate::loom::sc_fence;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A channel's shared state: what every `Sender` and `Receiver` points at.
pub(crate) struct Chan<T> {
    /// The ring flavour's buffer (see "Two flavours"); `None` for the
    /// locked flavour, whose values live in `Inner::buf`.
    ring: Option<Ring<T>>,
    /// Wait queues (and the locked flavour's buffer). Never held across a
    /// wake or user code.
    inner: Lock<Inner<T>>,
    /// Ring flavour: `recvq` may hold waiters. Written under the lock only;
    /// read without it after every push. See "Parking on a ring".
    recv_waiting: AtomicBool,
    /// Ring flavour: `sendq` may hold waiters. As `recv_waiting`, for pops.
    send_waiting: AtomicBool,
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
}

pub(crate) struct Inner<T> {
    /// Locked flavour only (empty for the ring flavour).
    buf: VecDeque<T>,
    cap: usize,
    closed: bool,
    /// Parked receivers, oldest first.
    recvq: VecDeque<NonNull<Waiter<T>>>,
    /// Parked senders (each holding its value), oldest first.
    sendq: VecDeque<NonNull<Waiter<T>>>,
}

// SAFETY: the queued pointers refer to waiters whose values are `T`s owned
// by other threads' futures; moving them between threads is moving `T`s, and
// every access to them happens under the mutex that owns this `Inner`.
unsafe impl<T: Send> Send for Inner<T> {}

impl<T> Chan<T> {
    pub(crate) fn new(cap: usize, never: bool) -> Self {
        let ring = (cap > 0 && cap != usize::MAX && !never).then(|| Ring::new(cap));
        Chan {
            inner: Lock::new(Inner {
                // Rendezvous channels only ever buffer re-injected values;
                // the ring flavour buffers nothing here.
                buf: VecDeque::with_capacity(if ring.is_some() { 0 } else { cap.min(1024) }),
                cap,
                closed: false,
                recvq: VecDeque::new(),
                sendq: VecDeque::new(),
            }),
            ring,
            recv_waiting: AtomicBool::new(false),
            send_waiting: AtomicBool::new(false),
            cap,
            closed: AtomicBool::new(false),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            never,
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> Guard<'_, Inner<T>> {
        self.inner.lock()
    }

    /// Whether this is the ring flavour, where a commit only wakes.
    #[inline]
    pub(crate) fn is_ring(&self) -> bool {
        self.ring.is_some()
    }

    pub(crate) fn is_closed(&self) -> bool {
        // Acquire: a `true` seen here orders after the close that set it.
        self.closed.load(Ordering::Acquire)
    }

    /// Values buffered right now.
    pub(crate) fn len(&self) -> usize {
        match &self.ring {
            Some(ring) => ring.len(),
            None => self.lock().buf.len(),
        }
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
            if let Some(ring) = &self.ring {
                ring.close();
            }
            // Release: pairs with `is_closed`; written under the lock too.
            self.closed.store(true, Ordering::Release);
            let wakers = g.fail_all_waiters();
            self.publish_waiting(&g);
            wakers
        };
        wakers.into_iter().for_each(Waker::wake);
        true
    }

    /// Sends without waiting.
    #[inline]
    pub(crate) fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        match &self.ring {
            Some(ring) => {
                ring.push(v)?;
                self.notify_recv();
                Ok(())
            }
            None => {
                let w = self.lock().try_send(v)?;
                wake(w);
                Ok(())
            }
        }
    }

    /// Receives without waiting.
    #[inline]
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        if self.never {
            return Err(TryRecvError::Empty);
        }
        match &self.ring {
            Some(ring) => {
                let v = ring.pop()?;
                self.notify_send();
                Ok(v)
            }
            None => {
                let (v, w) = self.lock().try_recv()?;
                wake(w);
                Ok(v)
            }
        }
    }

    /// Sends `v` now, or — if the channel is full — calls `park(g, v)`
    /// under the lock so the caller queues a waiter holding `v`, and
    /// returns `Pending`. The caller must not be queued anywhere.
    #[inline]
    pub(crate) fn send_or_park(
        &self,
        v: T,
        park: impl FnOnce(&mut Inner<T>, T),
    ) -> Poll<Result<(), SendError<T>>> {
        let Some(ring) = &self.ring else {
            let mut g = self.lock();
            return match g.try_send(v) {
                Ok(w) => {
                    drop(g);
                    wake(w);
                    Poll::Ready(Ok(()))
                }
                Err(TrySendError::Closed(v)) => Poll::Ready(Err(SendError(v))),
                Err(TrySendError::Full(v)) => {
                    park(&mut g, v);
                    Poll::Pending
                }
            };
        };
        let v = match ring.push(v) {
            Ok(()) => {
                self.notify_recv();
                return Poll::Ready(Ok(()));
            }
            Err(TrySendError::Closed(v)) => return Poll::Ready(Err(SendError(v))),
            Err(TrySendError::Full(v)) => v,
        };
        // Slow path: announce ourselves, then look again ("Parking on a ring").
        let mut g = self.lock();
        announce(&self.send_waiting);
        match ring.push(v) {
            Ok(()) => {
                self.publish_waiting(&g);
                drop(g);
                self.notify_recv();
                Poll::Ready(Ok(()))
            }
            Err(TrySendError::Closed(v)) => {
                self.publish_waiting(&g);
                Poll::Ready(Err(SendError(v)))
            }
            Err(TrySendError::Full(v)) => {
                park(&mut g, v);
                Poll::Pending
            }
        }
    }

    /// Receives now (`None`: closed and drained), or — if the channel is
    /// empty — calls `park(g)` under the lock so the caller queues a
    /// waiter, and returns `Pending`. The caller must not be queued anywhere.
    #[inline]
    pub(crate) fn recv_or_park(&self, park: impl FnOnce(&mut Inner<T>)) -> Poll<Option<T>> {
        let Some(ring) = &self.ring else {
            let mut g = self.lock();
            return match g.try_recv() {
                Ok((v, w)) => {
                    drop(g);
                    wake(w);
                    Poll::Ready(Some(v))
                }
                Err(TryRecvError::Closed) => Poll::Ready(None),
                Err(TryRecvError::Empty) => {
                    park(&mut g);
                    Poll::Pending
                }
            };
        };
        match ring.pop() {
            Ok(v) => {
                self.notify_send();
                return Poll::Ready(Some(v));
            }
            Err(TryRecvError::Closed) => return Poll::Ready(None),
            Err(TryRecvError::Empty) => {}
        }
        // Slow path: announce ourselves, then look again ("Parking on a ring").
        let mut g = self.lock();
        announce(&self.recv_waiting);
        match ring.pop() {
            Ok(v) => {
                self.publish_waiting(&g);
                drop(g);
                self.notify_send();
                Poll::Ready(Some(v))
            }
            Err(TryRecvError::Closed) => {
                self.publish_waiting(&g);
                Poll::Ready(None)
            }
            Err(TryRecvError::Empty) => {
                park(&mut g);
                Poll::Pending
            }
        }
    }

    /// Queues a select's receive waiter unless the channel is ready for a
    /// receive by that select now; returns whether it was ready (and so not
    /// queued).
    pub(crate) fn register_recv(&self, w: NonNull<Waiter<T>>, me: *const Ctx) -> bool {
        let mut g = self.lock();
        match &self.ring {
            None => {
                if g.recv_ready(me) {
                    return true;
                }
            }
            Some(ring) => {
                announce(&self.recv_waiting);
                if ring.recv_ready() {
                    self.publish_waiting(&g);
                    return true;
                }
            }
        }
        g.push_recv(w);
        false
    }

    /// As `register_recv`, for a select's send waiter (its value loaded).
    pub(crate) fn register_send(&self, w: NonNull<Waiter<T>>, me: *const Ctx) -> bool {
        let mut g = self.lock();
        match &self.ring {
            None => {
                if g.send_ready(me) {
                    return true;
                }
            }
            Some(ring) => {
                announce(&self.send_waiting);
                if ring.send_ready() {
                    self.publish_waiting(&g);
                    return true;
                }
            }
        }
        g.push_send(w);
        false
    }

    /// Takes a receive waiter out of the queue (if still there). Returns the
    /// guard, so that the caller can inspect its waiter under the lock.
    pub(crate) fn unregister_recv(&self, w: NonNull<Waiter<T>>) -> Guard<'_, Inner<T>> {
        let mut g = self.lock();
        Inner::remove(&mut g.recvq, w);
        self.publish_waiting(&g);
        g
    }

    /// As `unregister_recv`, for a send waiter.
    pub(crate) fn unregister_send(&self, w: NonNull<Waiter<T>>) -> Guard<'_, Inner<T>> {
        let mut g = self.lock();
        Inner::remove(&mut g.sendq, w);
        self.publish_waiting(&g);
        g
    }

    /// Ring flavour: refreshes the "someone is parked" flags from the
    /// queues. Called under the lock whenever a queue may have shrunk.
    #[inline]
    fn publish_waiting(&self, g: &Inner<T>) {
        if self.ring.is_some() {
            // Relaxed loads: the flags are written only under the lock we
            // hold, so these read our own latest values. A flag is stored
            // only when it changes (a SeqCst store is an `xchg` on x86).
            let r = !g.recvq.is_empty();
            if self.recv_waiting.load(Ordering::Relaxed) != r {
                self.recv_waiting.store(r, Ordering::SeqCst);
            }
            let s = !g.sendq.is_empty();
            if self.send_waiting.load(Ordering::Relaxed) != s {
                self.send_waiting.store(s, Ordering::SeqCst);
            }
        }
    }

    /// After a push to the ring: wakes one parked receiver, if any.
    #[inline]
    fn notify_recv(&self) {
        sc_fence();
        if self.recv_waiting.load(Ordering::SeqCst) {
            self.wake_one(true);
        }
    }

    /// After a pop from the ring: wakes one parked sender, if any.
    #[inline]
    fn notify_send(&self) {
        sc_fence();
        if self.send_waiting.load(Ordering::SeqCst) {
            self.wake_one(false);
        }
    }

    #[cold]
    fn wake_one(&self, receiver: bool) {
        let w = {
            let mut g = self.lock();
            let q = if receiver { &mut g.recvq } else { &mut g.sendq };
            let w = Inner::pop_live(q).and_then(Claim::finish);
            self.publish_waiting(&g);
            w
        };
        wake(w);
    }

    /// A woken receiver of the ring flavour is not going to take from this
    /// channel: passes its wake-up on if a value is waiting.
    pub(crate) fn forward_recv(&self) {
        if let Some(ring) = &self.ring {
            if ring.recv_ready() {
                self.notify_recv();
            }
        }
    }

    /// As `forward_recv`, for a woken sender that will not send here.
    pub(crate) fn forward_send(&self) {
        if let Some(ring) = &self.ring {
            if ring.send_ready() {
                self.notify_send();
            }
        }
    }
}

/// Sets a "someone is parked" flag before the re-check of "Parking on a
/// ring". Called under the channel lock.
#[inline]
fn announce(flag: &AtomicBool) {
    // SeqCst (a read-modify-write, so it orders even when the flag is
    // already set): the first half of the StoreLoad pair.
    flag.swap(true, Ordering::SeqCst);
    sc_fence();
}

/// Wakes a waker returned by a core operation (after the lock is released).
#[inline]
pub(crate) fn wake(w: Option<Waker>) {
    if let Some(w) = w {
        w.wake();
    }
}

impl<T> Inner<T> {
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

    /// Whether `q` holds a live waiter of a context other than `me`.
    fn has_live_other(q: &VecDeque<NonNull<Waiter<T>>>, me: *const Ctx) -> bool {
        q.iter().any(|w| {
            // SAFETY: queued waiters and their contexts are alive while we
            // hold the lock (owners unqueue them under it before freeing).
            let w = unsafe { w.as_ref() };
            // SAFETY: as above.
            w.ctx() != me && unsafe { &*w.ctx() }.state() == State::Waiting
        })
    }

    /// Sends without waiting. On success returns a waker to call after
    /// unlocking. Go's `chansend` fast paths: direct hand-off to a parked
    /// receiver (`sendDirect`), else the buffer.
    #[inline]
    fn try_send(&mut self, v: T) -> Result<Option<Waker>, TrySendError<T>> {
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
    #[inline]
    fn try_recv(&mut self) -> Result<(T, Option<Waker>), TryRecvError> {
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
    fn recv_ready(&self, me: *const Ctx) -> bool {
        !self.buf.is_empty() || self.closed || Self::has_live_other(&self.sendq, me)
    }

    /// Whether a send by a select owning `me` could complete now.
    fn send_ready(&self, me: *const Ctx) -> bool {
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

    fn remove(q: &mut VecDeque<NonNull<Waiter<T>>>, w: NonNull<Waiter<T>>) {
        // Usually the newest entry: search from the back.
        if let Some(i) = q.iter().rposition(|p| *p == w) {
            q.remove(i);
        }
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
