//! [`AsyncFd`]: any Unix file descriptor on the reactor.
//!
//! The net types wrap mio sockets; everything else a runtime needs to wait
//! on (a signal self-pipe, a pidfd, the parent's ends of a child's pipes)
//! is just a file descriptor the caller already owns. `AsyncFd<T>` takes
//! ownership of any `T: AsRawFd`, registers the descriptor with the current
//! runtime's reactor (edge-triggered, like every registration), and hands
//! out readiness. The caller does the syscalls; when one answers
//! `WouldBlock` it clears the readiness it was given, and the next wait
//! sleeps until the kernel reports a new edge.
//!
//! The clear goes through the same tick-checked protocol as the sockets
//! (see "The clear race" in `scheduled_io.rs`), so an edge that lands
//! between "the syscall said WouldBlock" and "clear" is never lost.
//!
//! The descriptor must be in non-blocking mode for the read/write helpers
//! to make sense; `AsyncFd` does not change its flags (a pidfd, for
//! instance, is never read at all, only waited on).

use crate::registration::Registration;
use crate::scheduled_io::{Direction, ReadyEvent};
use mio::unix::SourceFd;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::task::{Context, Poll};

/// Which readiness an [`AsyncFd`] registers for.
pub use mio::Interest;

/// An owned file descriptor registered with the reactor.
///
/// Dropping it deregisters the descriptor, then drops `T` (which closes it
/// if `T` owns it). [`into_inner`](AsyncFd::into_inner) deregisters and
/// gives `T` back.
pub struct AsyncFd<T: AsRawFd> {
    /// `Some` until `into_inner` takes it.
    inner: Option<T>,
    fd: RawFd,
    reg: Registration,
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner` for both readable and writable readiness.
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn new(inner: T) -> io::Result<Self> {
        Self::with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// Registers `inner` for `interest` only.
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<Self> {
        let fd = inner.as_raw_fd();
        let reg = Registration::new(&mut SourceFd(&fd), interest)?;
        Ok(AsyncFd {
            inner: Some(inner),
            fd,
            reg,
        })
    }

    /// The wrapped value.
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect("AsyncFd used after into_inner")
    }

    /// The wrapped value, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect("AsyncFd used after into_inner")
    }

    /// Deregisters the descriptor and returns the wrapped value.
    pub fn into_inner(mut self) -> T {
        self.reg.deregister(&mut SourceFd(&self.fd));
        self.inner.take().expect("AsyncFd used after into_inner")
    }

    /// Polls for read readiness; `Ready` carries a guard to run the
    /// syscall through (or to clear the readiness by hand).
    pub fn poll_read_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_ready(cx, Direction::Read)
    }

    /// Polls for write readiness; see [`poll_read_ready`](Self::poll_read_ready).
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_ready(cx, Direction::Write)
    }

    /// Waits until the descriptor is believed readable.
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        poll_fn(|cx| self.poll_ready(cx, Direction::Read)).await
    }

    /// Waits until the descriptor is believed writable.
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        poll_fn(|cx| self.poll_ready(cx, Direction::Write)).await
    }

    fn poll_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.reg.poll_ready(cx, dir).map_ok(|ev| AsyncFdReadyGuard {
            fd: self,
            ev: Some(ev),
        })
    }

    /// Runs the non-blocking `op` until it answers something other than
    /// `WouldBlock`, waiting for read readiness in between. Spends the
    /// task's cooperative budget like a socket read.
    pub fn poll_read_io<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let inner = self.get_ref();
        self.reg.poll_io(cx, Direction::Read, || op(inner))
    }

    /// Write-side twin of [`poll_read_io`](Self::poll_read_io).
    pub fn poll_write_io<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let inner = self.get_ref();
        self.reg.poll_io(cx, Direction::Write, || op(inner))
    }

    /// `async` form of the two `poll_*_io` methods: `interest` picks the
    /// direction (readable if it contains `READABLE`, else writable).
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        if interest.is_readable() {
            poll_fn(|cx| self.poll_read_io(cx, &mut op)).await
        } else {
            poll_fn(|cx| self.poll_write_io(cx, &mut op)).await
        }
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}

impl<T: AsRawFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        if self.inner.is_some() {
            self.reg.deregister(&mut SourceFd(&self.fd));
            // `inner` (and with it the descriptor) drops after this, then
            // `reg` frees the slab slot.
        }
    }
}

impl<T: AsRawFd + std::fmt::Debug> std::fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// Readiness observed by [`AsyncFd::poll_read_ready`] and friends.
///
/// The guard remembers *when* the readiness was observed. If the syscall
/// it guards answers `WouldBlock`, clear it ([`clear_ready`](Self::clear_ready),
/// or let [`try_io`](Self::try_io) do it); an edge that arrived after the
/// observation keeps the descriptor ready. Dropping the guard without a
/// clear leaves the readiness set (the next wait returns at once).
#[must_use = "a readiness guard does nothing unless used to run an operation or cleared"]
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    fd: &'a AsyncFd<T>,
    /// `None` once cleared.
    ev: Option<ReadyEvent>,
}

/// Returned by [`AsyncFdReadyGuard::try_io`] when the operation would
/// block; the readiness has been cleared, so wait again.
#[derive(Debug)]
pub struct TryIoError(());

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    /// Forgets the readiness this guard observed (unless a newer edge has
    /// arrived since), so the next wait sleeps until the kernel reports one.
    pub fn clear_ready(&mut self) {
        if let Some(ev) = self.ev.take() {
            self.fd.reg.clear(ev);
        }
    }

    /// Runs `op` on the `AsyncFd`. `WouldBlock` clears the readiness and
    /// gives `Err(TryIoError)`; any other outcome is `Ok(outcome)`.
    pub fn try_io<R>(
        &mut self,
        op: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match op(self.fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            res => Ok(res),
        }
    }

    /// The `AsyncFd` this guard belongs to.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }
}

impl<T: AsRawFd> std::fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("cleared", &self.ev.is_none())
            .finish()
    }
}
