//! A channel for exactly one value.
//!
//! `Sender::send` never waits: it stores the value (or gives it back if the
//! receiver is gone). The `Receiver` is itself the future of the value; it
//! is polled through `&mut`, so dropping one `select!` arm that polled it
//! loses nothing: the value stays in the channel until the `Receiver`
//! itself is dropped, which drops the value too.
//!
//! # Invariants (all under `Inner::state`'s lock)
//!
//! * `value` is set at most once, by `send`, and only while `!rx_closed`.
//! * `tx_gone` is set when the sender is consumed by `send` or dropped;
//!   from then on `value` only ever goes from `Some` to `None`.
//! * A value is never dropped under the lock (its `Drop` is user code).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};

use crate::loom::sync::Mutex as StateLock;

use super::waiters::lock;

/// Creates a oneshot channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: StateLock::new(State {
            value: None,
            rx_waker: None,
            tx_waker: None,
            tx_gone: false,
            rx_closed: false,
        }),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner },
    )
}

struct Inner<T> {
    state: StateLock<State<T>>,
}

struct State<T> {
    value: Option<T>,
    /// The receiving task, woken by `send` or by the sender's drop.
    rx_waker: Option<Waker>,
    /// The task in `Sender::closed`, woken when the receiver closes.
    tx_waker: Option<Waker>,
    tx_gone: bool,
    rx_closed: bool,
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
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waking the receiver. Fails, giving the value back, if
    /// the receiver was dropped or closed.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("sender used after send");
        let mut state = lock(&inner.state);
        state.tx_gone = true;
        if state.rx_closed {
            return Err(value);
        }
        state.value = Some(value);
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Whether the receiver was dropped or closed (a `send` would fail).
    pub fn is_closed(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|inner| lock(&inner.state).rx_closed)
    }

    /// Completes when the receiver is dropped or closed: lets a producer
    /// stop computing a value nobody wants.
    pub fn closed(&mut self) -> Closed<'_, T> {
        Closed { sender: self }
    }

    /// Polls for the receiver's departure (see [`Sender::closed`]).
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(inner) = &self.inner else {
            return Poll::Ready(());
        };
        let mut state = lock(&inner.state);
        if state.rx_closed {
            return Poll::Ready(());
        }
        match &mut state.tx_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        goro_coop::set_wait_reason(goro_coop::WaitReason::Oneshot);
        Poll::Pending
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let mut state = lock(&inner.state);
        state.tx_gone = true;
        let waker = state.rx_waker.take();
        drop(state);
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
    inner: Arc<Inner<T>>,
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = lock(&self.inner.state);
        match state.value.take() {
            Some(value) => Ok(value),
            None if state.tx_gone => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Blocks the thread until the value arrives (plain threads only).
    #[cfg(not(loom))]
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        super::block_on(self)
    }

    /// Refuses the value: a later `send` fails and gives it back. A value
    /// sent before this call can still be taken with `try_recv`.
    pub fn close(&mut self) {
        let mut state = lock(&self.inner.state);
        state.rx_closed = true;
        let waker = state.tx_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Whether the sender is gone with nothing left to receive.
    pub fn is_terminated(&self) -> bool {
        let state = lock(&self.inner.state);
        state.tx_gone && state.value.is_none()
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let spent = ready!(goro_coop::poll_proceed(cx));
        let mut state = lock(&self.inner.state);
        let result = match state.value.take() {
            Some(value) => Ok(value),
            None if state.tx_gone => Err(RecvError(())),
            None => {
                match &mut state.rx_waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    slot => *slot = Some(cx.waker().clone()),
                }
                goro_coop::set_wait_reason(goro_coop::WaitReason::Oneshot);
                return Poll::Pending;
            }
        };
        drop(state);
        spent.made_progress();
        Poll::Ready(result)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = lock(&self.inner.state);
        state.rx_closed = true;
        let value = state.value.take();
        let waker = state.tx_waker.take();
        drop(state);
        // The value's destructor runs here, outside the lock.
        drop(value);
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
}
