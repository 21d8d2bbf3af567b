//! `JoinHandle` and `JoinError`.

use super::raw::Header;
use super::state::ToCancel;
use super::Id;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// An owned permission to await a spawned task's output.
///
/// Awaiting it yields `Ok(output)`, or `Err(JoinError)` if the task
/// panicked or was cancelled (by [`abort`](JoinHandle::abort) or by runtime
/// shutdown). Dropping it detaches the task, which keeps running.
pub struct JoinHandle<T> {
    raw: NonNull<Header>,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves the output (T: Send) between threads; the
// record itself is shared through atomics.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only reads the state word (is_finished, id) or
// aborts, which are thread-safe.
unsafe impl<T: Send> Sync for JoinHandle<T> {}
impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// `raw` is a task whose output is `T` and the caller gives this handle
    /// the JoinHandle's reference (JOIN_INTEREST is set).
    pub(crate) unsafe fn from_raw(raw: NonNull<Header>) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: our reference keeps the record alive.
        unsafe { self.raw.as_ref() }
    }

    /// Asks the task to stop. If it has not finished, its future is dropped
    /// the next time it would be polled (right away if it is idle) and the
    /// handle resolves to a cancelled `JoinError`.
    pub fn abort(&self) {
        let h = self.header();
        if h.state.transition_to_notified_and_cancel() == ToCancel::Submit {
            // SAFETY: the transition took a reference for the Notified.
            unsafe { (h.vtable.schedule)(self.raw) }
        }
    }

    /// Whether the task has completed (finished, panicked or been
    /// cancelled).
    pub fn is_finished(&self) -> bool {
        self.header().state.load().is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.header().id
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Awaiting many finished handles in a loop spends budget too.
        let spent = std::task::ready!(goro_coop::poll_proceed(cx));
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        let h = self.header();
        // SAFETY: `out` has the type the vtable expects for this task.
        unsafe {
            (h.vtable.try_read_output)(self.raw, (&mut out as *mut Poll<_>).cast(), cx.waker())
        };
        if out.is_ready() {
            spent.made_progress();
        } else {
            set_join_wait_reason(h);
        }
        out
    }
}

/// The awaiting task parks on `h`: `join`, or `blocking` for a
/// `spawn_blocking` job. Out of line and not generic, so that the inlined
/// `poll` stays small.
#[inline(never)]
fn set_join_wait_reason(h: &Header) {
    goro_coop::set_wait_reason(if super::wait::load(h).blocking_task {
        goro_coop::WaitReason::Blocking
    } else {
        goro_coop::WaitReason::Join
    });
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // SAFETY: we give up our reference exactly once.
        unsafe { (self.header().vtable.drop_join_handle)(self.raw) }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("state", &self.header().state.load())
            .finish()
    }
}

/// Why a task did not produce its output.
pub struct JoinError {
    id: Id,
    repr: Repr,
}

enum Repr {
    Cancelled,
    Panic(SyncPayload),
}

/// A panic payload that is only ever reached by value, so sharing a
/// `&JoinError` across threads cannot touch it.
struct SyncPayload(Box<dyn Any + Send + 'static>);

// SAFETY: through `&JoinError` the payload is only downcast to `&str` and
// `String` (both `Sync`) to read a panic message; `type_id` reads only the
// vtable. Everything else (`into_panic`) takes the error by value.
unsafe impl Sync for SyncPayload {}

impl JoinError {
    pub(crate) fn cancelled(id: Id) -> JoinError {
        JoinError {
            id,
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(id: Id, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            id,
            repr: Repr::Panic(SyncPayload(payload)),
        }
    }

    /// The task was cancelled (aborted, or its runtime shut down).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload, for `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the error is not a panic.
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic called on a cancelled task's error")
    }

    /// The panic payload, or the error itself if it is not a panic.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.0),
            Repr::Cancelled => Err(self),
        }
    }

    /// The id of the task that failed.
    pub fn id(&self) -> Id {
        self.id
    }

    fn message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panic(p) => {
                p.0.downcast_ref::<&'static str>()
                    .copied()
                    .or_else(|| p.0.downcast_ref::<String>().map(String::as_str))
            }
            Repr::Cancelled => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.message()) {
            (Repr::Cancelled, _) => write!(f, "task {} was cancelled", self.id),
            (Repr::Panic(_), Some(msg)) => {
                write!(f, "task {} panicked with message {msg:?}", self.id)
            }
            (Repr::Panic(_), None) => write!(f, "task {} panicked", self.id),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.message()) {
            (Repr::Cancelled, _) => write!(f, "JoinError::Cancelled({:?})", self.id),
            (Repr::Panic(_), Some(msg)) => {
                write!(f, "JoinError::Panic({:?}, {msg:?}, ...)", self.id)
            }
            (Repr::Panic(_), None) => write!(f, "JoinError::Panic({:?}, ...)", self.id),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(err: JoinError) -> std::io::Error {
        std::io::Error::other(err.to_string())
    }
}
