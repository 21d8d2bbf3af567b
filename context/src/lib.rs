//! # goro-context: Go's `context`, `errgroup`, `time.After` and `time.Tick`
//!
//! Exported by the facade as `goro::context` (this crate's [`Context`] and
//! its constructors), `goro::sync::ErrGroup` and `goro::time::{after,
//! tick}`.
//!
//! ## The cancellation tree
//!
//! A [`Context`] is an `Arc` of an immutable node: its parent, its
//! deadline, an optional value, and the cancellation *state* it shares with
//! every node down to the nearest cancellable ancestor. `background()` has
//! no state and is never cancelled. [`with_cancel`], [`with_deadline`] and
//! [`with_timeout`] create a new state and register it, by a weak
//! reference, in the parent state's list of children; [`with_value`]
//! creates only a node.
//!
//! A state holds the error word and the sender of a `chan::bounded(0)`
//! channel that nobody ever sends on. Cancelling a state stores the error,
//! drops the sender (which closes the channel, waking every task in
//! [`Context::done`] and every `select!` on [`Context::done_chan`] at
//! once), takes the list of children and cancels them the same way,
//! with an explicit stack rather than recursion, so a deep tree cannot
//! overflow a thread's stack. No lock is held while another is taken: a
//! parent's lock is released before a child's is taken. Nothing polls;
//! every waiter is woken by the close.
//!
//! Rules, all Go's: cancelling a parent cancels every descendant; a child
//! never cancels its parent (it only leaves the parent's list); cancelling
//! twice does nothing the second time (the first error stays); dropping a
//! [`Cancel`] does not cancel ([`Cancel::drop_guard`] asks for that).
//! A child of a cancelled parent starts cancelled with the parent's error.
//!
//! ## Deadlines
//!
//! A deadline is a small goro task that waits on the reactor's timer and
//! on the done channel, and cancels the state with
//! [`ContextError::DeadlineExceeded`] if the timer wins. It holds the state
//! weakly and the channel's receiver: when the context is cancelled, or
//! dropped by everyone, the channel closes, the task ends and its timer is
//! removed. So unlike Go, a context dropped without calling cancel
//! releases its timer at once. A deadline later than the parent's creates
//! no timer (the parent's fires first), as in Go.
//!
//! ## Rejected designs
//!
//! * *A `Notify`-style waiter list per state.* The channel already is one,
//!   and using it makes `done_chan()` a real `recv` arm of `select!`.
//! * *Strong references from parent to children* would keep every
//!   finished child alive until the parent is cancelled; a child instead
//!   removes itself from its parent's list when it is cancelled or dropped.
//! * *A timer waker that cancels directly* (no task): it needs a `Sleep`
//!   kept alive by the state and a custom `Wake` type; a task with a
//!   `select!` says the same in five lines for one small allocation.
//!
//! ## Where goro differs from Go
//!
//! Values are keyed by type ([`Context::value::<T>`]), not by an
//! `interface{}` key: define a newtype per key. Deadlines need a goro
//! runtime (the timer lives in its reactor): `with_deadline` outside one
//! panics saying so.

#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

mod errgroup;
mod time_chan;

pub use errgroup::ErrGroup;
pub use time_chan::{after, tick};

use goro_channels::chan;
use goro_reactor::time::{Duration, Instant};
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// Why a context is done (Go's `context.Canceled` and
/// `context.DeadlineExceeded`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContextError {
    /// [`Cancel::cancel`] was called on it or an ancestor.
    Canceled,
    /// Its deadline, or an ancestor's, passed.
    DeadlineExceeded,
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextError::Canceled => "context canceled",
            ContextError::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for ContextError {}

impl From<ContextError> for std::io::Error {
    fn from(e: ContextError) -> std::io::Error {
        let kind = match e {
            ContextError::Canceled => std::io::ErrorKind::Interrupted,
            ContextError::DeadlineExceeded => std::io::ErrorKind::TimedOut,
        };
        std::io::Error::new(kind, e)
    }
}

const ERR_NONE: u8 = 0;
const ERR_CANCELED: u8 = 1;
const ERR_DEADLINE: u8 = 2;

fn err_code(e: ContextError) -> u8 {
    match e {
        ContextError::Canceled => ERR_CANCELED,
        ContextError::DeadlineExceeded => ERR_DEADLINE,
    }
}

/// A carrier of cancellation, a deadline and values across a tree of work
/// (Go's `context.Context`). Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Context {
    node: Arc<Node>,
}

struct Node {
    parent: Option<Arc<Node>>,
    /// The state of the nearest cancellable node, this one or an ancestor;
    /// `None` on a chain that reaches `background()` with no cancellable
    /// node.
    state: Option<Arc<State>>,
    deadline: Option<Instant>,
    value: Option<Box<dyn Any + Send + Sync>>,
}

/// One cancellable node's shared cancellation state.
struct State {
    /// Key of this state in its parent's `children`.
    id: u64,
    parent: Option<Arc<State>>,
    /// `ERR_*`; written once, under `inner`'s lock, before the done channel
    /// closes.
    err: AtomicU8,
    /// Closed (never sent on) when the state is cancelled.
    done_rx: chan::Receiver<()>,
    inner: Mutex<Inner>,
}

struct Inner {
    /// `Some` until cancelled; dropping it closes `done_rx`'s channel.
    done_tx: Option<chan::Sender<()>>,
    /// Cancellable children, removed when they are cancelled or dropped.
    children: HashMap<u64, Weak<State>>,
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // Every critical section leaves `Inner` consistent (a take or an
    // insert), so a panic elsewhere cannot poison its meaning.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    /// A new state under `parent` (registered in its children), cancelled
    /// from the start if the parent already is.
    fn new(parent: Option<&Arc<State>>) -> Arc<State> {
        // Relaxed: ids only need to be unique.
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let (tx, rx) = chan::bounded(0);
        let state = Arc::new(State {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            parent: parent.cloned(),
            err: AtomicU8::new(ERR_NONE),
            done_rx: rx,
            inner: Mutex::new(Inner {
                done_tx: Some(tx),
                children: HashMap::new(),
            }),
        });
        if let Some(p) = parent {
            let mut g = lock(&p.inner);
            if g.done_tx.is_some() {
                g.children.insert(state.id, Arc::downgrade(&state));
            } else {
                drop(g);
                state.cancel(p.err().unwrap_or(ContextError::Canceled));
            }
        }
        state
    }

    fn err(&self) -> Option<ContextError> {
        // Acquire: pairs with the Release store in `cancel`, so a reader
        // that sees the error also sees everything done before the cancel.
        match self.err.load(Ordering::Acquire) {
            ERR_CANCELED => Some(ContextError::Canceled),
            ERR_DEADLINE => Some(ContextError::DeadlineExceeded),
            _ => None,
        }
    }

    /// Cancels this state and every descendant; a no-op on a cancelled one.
    fn cancel(self: &Arc<State>, err: ContextError) {
        let mut stack = vec![self.clone()];
        let mut first = true;
        while let Some(s) = stack.pop() {
            let (tx, children) = {
                let mut g = lock(&s.inner);
                let Some(tx) = g.done_tx.take() else {
                    if first {
                        // Cancelled before: idempotent, nothing else to do.
                        return;
                    }
                    continue;
                };
                // Release: see `err`. Stored before the channel closes, so
                // a task woken by the close reads the error.
                s.err.store(err_code(err), Ordering::Release);
                (tx, std::mem::take(&mut g.children))
            };
            first = false;
            // The last sender: this closes the channel and wakes every
            // waiter.
            drop(tx);
            stack.extend(children.values().filter_map(Weak::upgrade));
        }
        self.leave_parent();
    }

    fn leave_parent(&self) {
        if let Some(p) = &self.parent {
            lock(&p.inner).children.remove(&self.id);
        }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        self.leave_parent();
    }
}

/// The context that is never cancelled, has no deadline and no values:
/// the root of every tree (Go's `context.Background()`).
pub fn background() -> Context {
    Context {
        node: Arc::new(Node {
            parent: None,
            state: None,
            deadline: None,
            value: None,
        }),
    }
}

/// A child of `parent` that is cancelled when `cancel` is called on the
/// returned [`Cancel`] or when `parent` is (Go's `context.WithCancel`).
pub fn with_cancel(parent: &Context) -> (Context, Cancel) {
    with_state(parent, parent.deadline())
}

fn with_state(parent: &Context, deadline: Option<Instant>) -> (Context, Cancel) {
    let state = State::new(parent.node.state.as_ref());
    let ctx = Context {
        node: Arc::new(Node {
            parent: Some(parent.node.clone()),
            state: Some(state.clone()),
            deadline,
            value: None,
        }),
    };
    (ctx, Cancel { state })
}

/// A child of `parent` that is also cancelled, with
/// [`ContextError::DeadlineExceeded`], at `deadline` (Go's
/// `context.WithDeadline`). A deadline already past gives a context that is
/// done at once; one later than the parent's is the parent's.
///
/// # Panics
/// If the deadline is ahead and the parent's is not earlier, outside a
/// goro runtime (the timer lives in the runtime's reactor).
#[track_caller]
pub fn with_deadline(parent: &Context, deadline: Instant) -> (Context, Cancel) {
    if parent.deadline().is_some_and(|d| d <= deadline) {
        return with_cancel(parent);
    }
    let (ctx, cancel) = with_state(parent, Some(deadline));
    if deadline <= Instant::now() {
        cancel.state.cancel(ContextError::DeadlineExceeded);
    } else if ctx.err().is_none() {
        arm_deadline(&cancel.state, deadline);
    }
    (ctx, cancel)
}

/// [`with_deadline`] at `now + timeout` (Go's `context.WithTimeout`).
///
/// # Panics
/// As [`with_deadline`].
#[track_caller]
pub fn with_timeout(parent: &Context, timeout: Duration) -> (Context, Cancel) {
    match Instant::now().checked_add(timeout) {
        Some(at) => with_deadline(parent, at),
        // Beyond what `Instant` can hold: no deadline.
        None => with_cancel(parent),
    }
}

/// A child of `parent` carrying `value`, found by [`Context::value`] with
/// its type (Go's `context.WithValue`, keyed by type).
pub fn with_value<T: Any + Send + Sync>(parent: &Context, value: T) -> Context {
    Context {
        node: Arc::new(Node {
            parent: Some(parent.node.clone()),
            state: parent.node.state.clone(),
            deadline: parent.node.deadline,
            value: Some(Box::new(value)),
        }),
    }
}

#[track_caller]
fn arm_deadline(state: &Arc<State>, deadline: Instant) {
    if goro_executor::runtime::Handle::try_current().is_none() {
        panic!(
            "goro::context::with_deadline/with_timeout called outside a goro runtime: \
             the deadline's timer needs one"
        );
    }
    let weak = Arc::downgrade(state);
    let done = state.done_rx.clone();
    // Dropped at once: the task needs no handle.
    drop(goro_executor::spawn(async move {
        let timer = goro_reactor::time::sleep_until(deadline);
        goro_channels::select! {
            _ = timer => {
                if let Some(s) = weak.upgrade() {
                    s.cancel(ContextError::DeadlineExceeded);
                }
            }
            // Cancelled, or dropped by everyone: the channel closed.
            recv(done) -> _ => {}
        }
    }));
}

impl Context {
    /// As [`background`].
    pub fn background() -> Context {
        background()
    }

    /// Waits until the context is cancelled or its deadline passes; never
    /// completes for `background()`. Usable as a `select!` future arm:
    /// `_ = ctx.done() => ...`.
    pub async fn done(&self) {
        match &self.node.state {
            Some(s) => {
                // Nothing is ever sent: this returns `None` on close.
                let _ = s.done_rx.recv().await;
            }
            None => std::future::pending().await,
        }
    }

    /// A receiver that is closed when the context is done (Go's
    /// `ctx.Done()`): usable as `recv(ctx.done_chan()) -> _ => ...` in
    /// `select!`. Nothing is ever sent on it. It is shared by every holder
    /// of the context, so do not `close` it yourself.
    pub fn done_chan(&self) -> chan::Receiver<()> {
        match &self.node.state {
            Some(s) => s.done_rx.clone(),
            None => chan::never(),
        }
    }

    /// Why the context is done, or `None` while it is not (Go's
    /// `ctx.Err()`).
    pub fn err(&self) -> Option<ContextError> {
        self.node.state.as_ref().and_then(|s| s.err())
    }

    /// Whether the context is done.
    pub fn is_done(&self) -> bool {
        self.err().is_some()
    }

    /// The earliest deadline of this context and its ancestors.
    pub fn deadline(&self) -> Option<Instant> {
        self.node.deadline
    }

    /// The nearest value of type `T` set by [`with_value`] on this context
    /// or an ancestor.
    pub fn value<T: Any>(&self) -> Option<&T> {
        let mut node = Some(&self.node);
        while let Some(n) = node {
            if let Some(v) = n.value.as_ref().and_then(|v| v.downcast_ref::<T>()) {
                return Some(v);
            }
            node = n.parent.as_ref();
        }
        None
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("err", &self.err())
            .field("deadline", &self.deadline())
            .finish_non_exhaustive()
    }
}

/// Cancels the context it came with (Go's `CancelFunc`). Clone it to
/// cancel from several places; dropping it does *not* cancel.
#[derive(Clone)]
pub struct Cancel {
    state: Arc<State>,
}

impl Cancel {
    /// Cancels the context and all its descendants with
    /// [`ContextError::Canceled`]. Calling it again, or after the deadline
    /// passed, changes nothing.
    pub fn cancel(&self) {
        self.state.cancel(ContextError::Canceled);
    }

    /// A guard that cancels when dropped.
    pub fn drop_guard(self) -> CancelOnDrop {
        CancelOnDrop(Some(self))
    }
}

impl fmt::Debug for Cancel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancel")
            .field("err", &self.state.err())
            .finish()
    }
}

/// Cancels its context when dropped ([`Cancel::drop_guard`]).
#[derive(Debug)]
pub struct CancelOnDrop(Option<Cancel>);

impl CancelOnDrop {
    /// Gives the handle back without cancelling.
    pub fn disarm(mut self) -> Cancel {
        self.0
            .take()
            .expect("a CancelOnDrop holds its Cancel until dropped")
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.cancel();
        }
    }
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync + Clone>() {}
    is::<Context>();
    is::<Cancel>();
}
