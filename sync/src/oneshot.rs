//! A channel for exactly one value.
//!
//! `Sender::send` never waits: it stores the value (or gives it back if the
//! receiver is gone). The `Receiver` is itself the future of the value; it
//! is polled through `&mut`, so dropping one `select!` arm that polled it
//! loses nothing: the value stays in the channel until the `Receiver`
//! itself is dropped, which drops the value too.
//!
//! # Layout
//!
//! One allocation shared by the two ends, no reference count of its own:
//!
//! ```text
//!   state     one word: a lock bit and the flags below (8 bytes)
//!   rx_waker  the receiving task, woken by `send` or by the sender's drop
//!             (one word)
//!   tx_waker  the task in `Sender::closed`, woken when the receiver closes
//!             (one word)
//!   value     the value, present while HAS_VALUE is set (0 bytes for `()`)
//! ```
//!
//! 24 bytes for `oneshot::channel::<()>()` on 64-bit targets: glibc's
//! 32-byte chunk. Each waker slot is one word ([`WakerSlot`]): a goro
//! task's Waker is kept as its record pointer alone, any other waker in a
//! box of its own (allocated when a waiter on another executor first
//! parks, reused while it keeps parking). Two-word `Option<Waker>` slots
//! made it 40 bytes (a 48-byte chunk), and an `Arc` around a
//! `std::sync::Mutex` of the same fields 64 (an 80-byte chunk). The two
//! `*_GONE` flags stand in for the `Arc`'s counts: the end that sets its
//! flag while the other one's is already set frees the allocation.
//!
//! # The lock
//!
//! `LOCKED` in the state word is a spin lock (test-and-test-and-set,
//! yielding the thread after a few rounds, like the channel lock in
//! `goro-channels`). Its holder owns every other field, flags included:
//! the others only try to set `LOCKED` with a compare-exchange that fails
//! while it is set, so the holder unlocks with one plain `Release` store of
//! the new flags. The critical sections are a few moves (and a waker clone
//! or drop, with its box's allocation or free for a foreign waker); no
//! waker is woken and no value dropped under the lock.
//!
//! # Invariants (all under the lock)
//!
//! * `value` is set at most once, by `send`, and only while `!RX_CLOSED`.
//! * `TX_GONE` is set when the sender is consumed by `send` or dropped;
//!   from then on `HAS_VALUE` only ever goes from set to clear.
//! * `RX_GONE` (with `RX_CLOSED`) is set when the receiver is dropped; it
//!   takes the value with it, so a value is never left in a channel whose
//!   receiver is gone.
//! * The end that sets its `*_GONE` flag while the other's is set frees
//!   the allocation, after its unlock; neither end touches the channel
//!   after setting its own flag otherwise.

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{ready, Context, Poll};

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::waker_slot::WakerSlot;

/// Creates a oneshot channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Box::new(Inner {
        state: AtomicUsize::new(0),
        rx_waker: UnsafeCell::new(WakerSlot::new()),
        tx_waker: UnsafeCell::new(WakerSlot::new()),
        value: UnsafeCell::new(MaybeUninit::uninit()),
    });
    let inner = NonNull::from(Box::leak(inner));
    (Sender { inner: Some(inner) }, Receiver { inner })
}

/// The spin lock (see "The lock").
const LOCKED: usize = 1;
/// `value` holds the sent value.
const HAS_VALUE: usize = 1 << 1;
/// The sender sent or was dropped.
const TX_GONE: usize = 1 << 2;
/// The receiver refuses values (`close`, or dropped).
const RX_CLOSED: usize = 1 << 3;
/// The receiver was dropped.
const RX_GONE: usize = 1 << 4;

struct Inner<T> {
    /// `LOCKED` and the flags; see "The lock".
    state: AtomicUsize,
    /// Under the lock.
    rx_waker: UnsafeCell<WakerSlot>,
    /// Under the lock.
    tx_waker: UnsafeCell<WakerSlot>,
    /// Under the lock; initialised exactly while `HAS_VALUE` is set.
    value: UnsafeCell<MaybeUninit<T>>,
}

/// The lock held: the flags as they will be stored at unlock, and access
/// to the fields.
struct Locked<'a, T> {
    inner: &'a Inner<T>,
    flags: usize,
}

impl<T> Inner<T> {
    fn lock(&self) -> Locked<'_, T> {
        let mut rounds = 0u32;
        loop {
            // Relaxed: only a hint; the compare-exchange does the Acquire.
            let s = self.state.load(Ordering::Relaxed);
            if s & LOCKED == 0 {
                // Acquire: pairs with the Release store of `unlock`, so the
                // previous holder's writes to the fields are visible.
                if self
                    .state
                    .compare_exchange_weak(s, s | LOCKED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return Locked {
                        inner: self,
                        flags: s,
                    };
                }
            }
            rounds += 1;
            if cfg!(loom) || rounds >= 16 {
                // The holder is probably preempted (and under loom, the
                // model must let it run): give it the thread.
                crate::loom::thread::yield_now();
            } else {
                crate::loom::hint::spin_loop();
            }
        }
    }
}

impl<T> Locked<'_, T> {
    fn rx_waker(&mut self) -> &mut WakerSlot {
        // SAFETY: we hold the lock, which owns the field; `&mut self` keeps
        // this the only reference handed out.
        unsafe { &mut *self.inner.rx_waker.get() }
    }

    fn tx_waker(&mut self) -> &mut WakerSlot {
        // SAFETY: as in `rx_waker`.
        unsafe { &mut *self.inner.tx_waker.get() }
    }

    fn take_value(&mut self) -> Option<T> {
        if self.flags & HAS_VALUE == 0 {
            return None;
        }
        self.flags &= !HAS_VALUE;
        // SAFETY: we hold the lock, and HAS_VALUE said the value is
        // initialised; clearing it hands the value out exactly once.
        Some(unsafe { (*self.inner.value.get()).assume_init_read() })
    }

    fn put_value(&mut self, value: T) {
        debug_assert!(self.flags & HAS_VALUE == 0);
        // SAFETY: we hold the lock, and the slot is empty (HAS_VALUE clear).
        unsafe { (*self.inner.value.get()).write(value) };
        self.flags |= HAS_VALUE;
    }

    /// Stores the flags and releases the lock (what dropping the guard
    /// does, so a waker clone that panics under the lock still unlocks).
    fn unlock(self) {}

    /// Sets `gone` (this end's `*_GONE` flag) and unlocks. Returns whether
    /// the other end was gone already: the caller then frees the channel
    /// (with [`free`]) once it is done with what it took out of it, and
    /// nobody else will touch it.
    fn unlock_gone(mut self, gone: usize, other: usize) -> bool {
        self.flags |= gone;
        let last = self.flags & other != 0;
        self.unlock();
        last
    }
}

impl<T> Drop for Locked<'_, T> {
    fn drop(&mut self) {
        // Release: publishes our writes to the fields to the next holder.
        // A plain store: nobody else writes the word while LOCKED is set.
        self.inner.state.store(self.flags, Ordering::Release);
    }
}

/// Frees a channel both ends have left.
///
/// # Safety
/// `inner` came from `channel`, and both `*_GONE` flags are set: neither
/// end uses it any more.
unsafe fn free<T>(inner: NonNull<Inner<T>>) {
    // SAFETY: the caller's contract: the allocation is ours alone.
    let mut inner = unsafe { Box::from_raw(inner.as_ptr()) };
    // Acquire: pairs with the other end's Release unlock, so its last writes
    // happen before we drop the fields (we saw its flag through that store).
    let s = inner.state.load(Ordering::Acquire);
    if s & HAS_VALUE != 0 {
        // SAFETY: HAS_VALUE: initialised, and nobody else can take it.
        unsafe { inner.value.get_mut().assume_init_drop() };
    }
}

/// The sender gave up without sending (it was dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecvError(());

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oneshot sender dropped without sending")
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] returned no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing sent yet.
    Empty,
    /// The sender was dropped without sending, or the value was already
    /// taken.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("oneshot channel empty"),
            TryRecvError::Closed => f.write_str("oneshot channel closed"),
        }
    }
}

impl std::error::Error for TryRecvError {}

/// Sends the one value. See [`channel`].
pub struct Sender<T> {
    /// `None` once `send` consumed it (so `Drop` does nothing).
    inner: Option<NonNull<Inner<T>>>,
}

// SAFETY: the sender moves a `T` to the receiver's thread (hence `T:
// Send`); its access to the shared fields goes through the lock.
unsafe impl<T: Send> Send for Sender<T> {}
// SAFETY: `&Sender` only reads the flags, under the lock.
unsafe impl<T: Send> Sync for Sender<T> {}

impl<T> Sender<T> {
    fn inner(&self) -> Option<&Inner<T>> {
        // SAFETY: while the sender holds the pointer, TX_GONE is clear, so
        // the channel is not freed.
        self.inner.map(|p| unsafe { &*p.as_ptr() })
    }

    /// Sends `value`, waking the receiver. Fails, giving the value back, if
    /// the receiver was dropped or closed.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let ptr = self.inner.take().expect("sender used after send");
        // SAFETY: we held the pointer until now (see `inner`).
        let inner = unsafe { ptr.as_ref() };
        let mut state = inner.lock();
        let tx_waker = state.tx_waker().take();
        if state.flags & RX_CLOSED != 0 {
            if state.unlock_gone(TX_GONE, RX_GONE) {
                // SAFETY: both ends are gone.
                unsafe { free(ptr) };
            }
            drop(tx_waker);
            return Err(value);
        }
        state.put_value(value);
        let waker = state.rx_waker().take();
        // The receiver is not gone (RX_CLOSED is clear), so this is not last.
        let _ = state.unlock_gone(TX_GONE, RX_GONE);
        drop(tx_waker);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Whether the receiver was dropped or closed (a `send` would fail).
    pub fn is_closed(&self) -> bool {
        self.inner().is_none_or(|inner| {
            let state = inner.lock();
            let closed = state.flags & RX_CLOSED != 0;
            state.unlock();
            closed
        })
    }

    /// Completes when the receiver is dropped or closed: lets a producer
    /// stop computing a value nobody wants.
    pub fn closed(&mut self) -> Closed<'_, T> {
        Closed { sender: self }
    }

    /// Polls for the receiver's departure (see [`Sender::closed`]).
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(inner) = self.inner() else {
            return Poll::Ready(());
        };
        let mut state = inner.lock();
        if state.flags & RX_CLOSED != 0 {
            state.unlock();
            return Poll::Ready(());
        }
        state.tx_waker().register(cx.waker());
        state.unlock();
        goro_coop::set_wait_reason(goro_coop::WaitReason::Oneshot);
        Poll::Pending
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(ptr) = self.inner.take() else {
            return;
        };
        // SAFETY: we held the pointer until now (see `inner`).
        let mut state = unsafe { ptr.as_ref() }.lock();
        let waker = state.rx_waker().take();
        let tx_waker = state.tx_waker().take();
        if state.unlock_gone(TX_GONE, RX_GONE) {
            // SAFETY: both ends are gone.
            unsafe { free(ptr) };
        }
        drop(tx_waker);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future returned by [`Sender::closed`].
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, T> {
    sender: &'a mut Sender<T>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().sender.poll_closed(cx)
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").finish()
    }
}

/// Receives the one value: `.await` it (or poll `&mut receiver`).
pub struct Receiver<T> {
    inner: NonNull<Inner<T>>,
}

// SAFETY: the receiver takes a `T` sent from another thread (hence `T:
// Send`); its access to the shared fields goes through the lock.
unsafe impl<T: Send> Send for Receiver<T> {}
// SAFETY: `&Receiver` only reads the flags, under the lock.
unsafe impl<T: Send> Sync for Receiver<T> {}

impl<T> Receiver<T> {
    fn inner(&self) -> &Inner<T> {
        // SAFETY: until the receiver's drop sets RX_GONE the channel is not
        // freed.
        unsafe { self.inner.as_ref() }
    }

    /// Takes the value if it has been sent.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.inner().lock();
        let result = match state.take_value() {
            Some(value) => Ok(value),
            None if state.flags & TX_GONE != 0 => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        };
        state.unlock();
        result
    }

    /// Blocks the thread until the value arrives (plain threads only).
    #[cfg(not(loom))]
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        super::block_on(self)
    }

    /// Refuses the value: a later `send` fails and gives it back. A value
    /// sent before this call can still be taken with `try_recv`.
    pub fn close(&mut self) {
        let mut state = self.inner().lock();
        state.flags |= RX_CLOSED;
        let waker = state.tx_waker().take();
        state.unlock();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Whether the sender is gone with nothing left to receive.
    pub fn is_terminated(&self) -> bool {
        let state = self.inner().lock();
        let done = state.flags & (TX_GONE | HAS_VALUE) == TX_GONE;
        state.unlock();
        done
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let spent = ready!(goro_coop::poll_proceed(cx));
        let mut state = self.inner().lock();
        let result = match state.take_value() {
            Some(value) => Ok(value),
            None if state.flags & TX_GONE != 0 => Err(RecvError(())),
            None => {
                state.rx_waker().register(cx.waker());
                state.unlock();
                goro_coop::set_wait_reason(goro_coop::WaitReason::Oneshot);
                return Poll::Pending;
            }
        };
        state.unlock();
        spent.made_progress();
        Poll::Ready(result)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let ptr = self.inner;
        let mut state = self.inner().lock();
        state.flags |= RX_CLOSED;
        let value = state.take_value();
        let waker = state.tx_waker().take();
        let rx_waker = state.rx_waker().take();
        if state.unlock_gone(RX_GONE, TX_GONE) {
            // SAFETY: both ends are gone.
            unsafe { free(ptr) };
        }
        // The value's destructor runs here, outside the lock.
        drop(value);
        drop(rx_waker);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("terminated", &self.is_terminated())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::Task;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Waker;

    /// The figure the module docs quote: one 24-byte allocation for a
    /// channel of `()` on 64-bit targets.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn channel_size() {
        assert_eq!(std::mem::size_of::<Inner<()>>(), 24);
    }

    #[test]
    fn send_then_receive() {
        let (tx, rx) = channel();
        let mut rx = Task::new(rx);
        rx.pending();
        tx.send(5).unwrap();
        assert!(rx.woken());
        assert_eq!(rx.ready(), Ok(5));
    }

    #[test]
    fn dropped_sender_is_an_error() {
        let (tx, rx) = channel::<i32>();
        let mut rx = Task::new(rx);
        rx.pending();
        drop(tx);
        assert!(rx.woken());
        assert_eq!(rx.ready(), Err(RecvError(())));
    }

    #[test]
    fn try_recv_states() {
        let (tx, mut rx) = channel();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        tx.send("v").unwrap();
        assert!(!rx.is_terminated());
        assert_eq!(rx.try_recv(), Ok("v"));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert!(rx.is_terminated());
    }

    #[test]
    fn send_to_closed_receiver_gives_value_back() {
        let (tx, mut rx) = channel();
        rx.close();
        assert!(tx.is_closed());
        assert_eq!(tx.send(3), Err(3));
        let (tx, rx) = channel();
        drop(rx);
        assert_eq!(tx.send(4), Err(4));
    }

    /// Both ends waiting at once (the receiver for the value, the sender
    /// in `closed`): the receiver's drop wakes the sender, and the
    /// sender's later drop frees the channel.
    #[test]
    fn both_ends_waiting_then_leaving() {
        let (mut tx, rx) = channel::<Arc<()>>();
        let mut rx = Task::new(rx);
        rx.pending();
        {
            let mut closed = Task::new(tx.closed());
            closed.pending();
            drop(rx);
            assert!(closed.woken());
            closed.ready();
        }
        let value = Arc::new(());
        assert!(tx.send(value.clone()).is_err());
        assert_eq!(Arc::strong_count(&value), 1);
    }

    #[test]
    fn closed_wakes_when_receiver_goes() {
        let (mut tx, rx) = channel::<()>();
        {
            let mut closed = Task::new(tx.closed());
            closed.pending();
            drop(rx);
            assert!(closed.woken());
            closed.ready();
        }
        assert!(tx.is_closed());
    }

    #[test]
    fn abandoned_poll_keeps_the_value_and_drop_frees_it() {
        struct Tracked(Arc<AtomicUsize>);
        impl Drop for Tracked {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx) = channel();
        {
            // A select! arm polling `&mut rx`, then dropped.
            let mut arm = Task::new(&mut rx);
            arm.pending();
            tx.send(Tracked(drops.clone())).ok().unwrap();
            assert!(arm.woken());
        }
        assert!(rx.try_recv().is_ok_and(|t| t.0.load(Ordering::SeqCst) == 0));
        assert_eq!(drops.load(Ordering::SeqCst), 1);

        let (tx, rx) = channel();
        tx.send(Tracked(drops.clone())).ok().unwrap();
        drop(rx);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            2,
            "value dropped with the receiver"
        );
    }

    /// A goro task's waker (here the registered stand-in) is kept in the
    /// word: re-polls take no new reference, `send` wakes it once, and
    /// dropping the channel gives every reference back.
    #[test]
    fn task_waker_kept_compact_and_woken() {
        use crate::waker_slot::tests::FakeTask;
        let (task, waker) = FakeTask::new();
        let mut cx = Context::from_waker(&waker);
        let (tx, mut rx) = channel::<u32>();
        for _ in 0..3 {
            assert!(Pin::new(&mut rx).poll(&mut cx).is_pending());
            // SAFETY: the receiver is alive and nobody holds the lock.
            assert!(!unsafe { &*rx.inner.as_ref().rx_waker.get() }.is_boxed());
            assert_eq!(task.refs(), 2, "the waker and the slot's reference");
        }
        tx.send(7).unwrap();
        assert_eq!((task.wakes(), task.refs()), (1, 1));
        assert_eq!(Pin::new(&mut rx).poll(&mut cx), Poll::Ready(Ok(7)));
        drop(rx);
        assert_eq!(task.refs(), 1);

        // Parked in `closed` and then left by both ends: the references
        // come back without a wake-up.
        let (mut tx, rx) = channel::<u32>();
        assert!(Pin::new(&mut tx.closed()).poll(&mut cx).is_pending());
        assert_eq!(task.refs(), 2);
        drop(tx);
        drop(rx);
        assert_eq!((task.wakes(), task.refs()), (1, 1));
    }

    /// A foreign waker is boxed; a second foreign waker replaces it (and
    /// is the one woken), and a switch to a task waker and back works.
    #[test]
    fn foreign_waker_stored_replaced_and_woken() {
        use crate::test_util::Counter;
        use crate::waker_slot::tests::FakeTask;
        let first = Arc::new(Counter::default());
        let second = Arc::new(Counter::default());
        let (first_waker, second_waker) = (Waker::from(first.clone()), Waker::from(second.clone()));
        let (task, task_waker) = FakeTask::new();
        let (tx, mut rx) = channel::<&str>();
        let mut poll = |waker: &Waker| Pin::new(&mut rx).poll(&mut Context::from_waker(waker));
        assert!(poll(&first_waker).is_pending());
        assert_eq!(Arc::strong_count(&first), 3);
        assert!(poll(&second_waker).is_pending());
        assert_eq!(Arc::strong_count(&first), 2, "replaced");
        assert!(poll(&task_waker).is_pending());
        assert_eq!((Arc::strong_count(&second), task.refs()), (2, 2));
        assert!(poll(&second_waker).is_pending());
        assert_eq!((Arc::strong_count(&second), task.refs()), (3, 1));
        tx.send("v").unwrap();
        assert_eq!((first.wakes(), second.wakes(), task.wakes()), (0, 1, 0));
        assert_eq!(Arc::strong_count(&second), 2, "the woken waker is gone");
        assert_eq!(rx.try_recv(), Ok("v"));
    }
}
