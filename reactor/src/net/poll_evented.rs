//! [`PollEvented`]: a mio source plus its [`Registration`]; every net type
//! is a thin wrapper around one.

use crate::net::inq;
use crate::registration::Registration;
use crate::scheduled_io::Direction;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::task::{Context, Poll};

pub(crate) struct PollEvented<E: mio::event::Source> {
    /// `Some` until `into_inner` or drop takes it out to deregister it.
    io: Option<E>,
    reg: Registration,
}

impl<E: mio::event::Source> PollEvented<E> {
    /// Registers `io` with the current runtime's reactor.
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub(crate) fn new(mut io: E, interest: mio::Interest) -> io::Result<Self> {
        let reg = Registration::new(&mut io, interest)?;
        Ok(PollEvented { io: Some(io), reg })
    }

    /// Registers for both directions (streams and datagram sockets).
    #[track_caller]
    pub(crate) fn new_rw(io: E) -> io::Result<Self> {
        Self::new(io, mio::Interest::READABLE | mio::Interest::WRITABLE)
    }

    /// Registers `io` for both directions with a given reactor (accepted
    /// sockets join their listener's reactor, wherever `accept` is polled).
    pub(crate) fn with_handle(handle: crate::driver::Handle, mut io: E) -> io::Result<Self> {
        let interest = mio::Interest::READABLE | mio::Interest::WRITABLE;
        let reg = Registration::with_handle(handle, &mut io, interest)?;
        Ok(PollEvented { io: Some(io), reg })
    }

    pub(crate) fn io(&self) -> &E {
        self.io
            .as_ref()
            .expect("goro: source used after into_inner")
    }

    pub(crate) fn reg(&self) -> &Registration {
        &self.reg
    }

    /// Deregisters and returns the mio source.
    pub(crate) fn into_inner(mut self) -> E {
        let mut io = self.io.take().expect("goro: source used after into_inner");
        self.reg.deregister(&mut io);
        io
    }

    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.io();
        self.reg.poll_io(cx, dir, || op(io))
    }

    pub(crate) async fn io_op<R>(
        &self,
        dir: Direction,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        poll_fn(|cx| self.poll_io(cx, dir, &mut op)).await
    }

    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        op: impl FnOnce(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        let io = self.io();
        self.reg.try_io(dir, || op(io))
    }

    /// Waits until `dir` is believed ready (`readable()` / `writable()`).
    pub(crate) async fn ready(&self, dir: Direction) -> io::Result<()> {
        poll_fn(|cx| self.reg.poll_ready(cx, dir).map_ok(|_| ())).await
    }

    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<()>> {
        self.reg.poll_ready(cx, dir).map_ok(|_| ())
    }
}

impl<E: mio::event::Source + AsRawFd> PollEvented<E>
where
    for<'a> &'a E: Read + Write,
{
    /// The stream read path: one `recvmsg(2)` into `iovcnt` buffers at
    /// `iov` holding `len` bytes in all, clearing the read readiness when
    /// the read emptied the socket (see `inq.rs` and [`drained`]).
    ///
    /// # Safety
    /// As [`inq::recv`]: each `iovec` describes memory writable for its
    /// length (possibly uninitialised) for the whole call.
    unsafe fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        iov: *mut libc::iovec,
        iovcnt: usize,
        len: usize,
    ) -> Poll<io::Result<usize>> {
        let fd = self.io().as_raw_fd();
        self.reg
            .poll_io_drain(
                cx,
                Direction::Read,
                // SAFETY: the caller's contract covers `iov`; `fd` is open
                // because `self` owns the source.
                || unsafe { inq::recv(fd, iov, iovcnt) },
                |&(n, queued)| drained(n, len, queued),
            )
            .map_ok(|(n, _)| n)
    }

    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: len,
        };
        // SAFETY: `iov` describes `buf`, borrowed mutably for this call.
        unsafe { self.poll_recv(cx, &mut iov, 1, len) }
    }

    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        // More than IOV_MAX buffers is EINVAL; read into the first ones
        // (a short read the caller's loop continues).
        let used = bufs.len().min(IOV_MAX);
        let bufs = &mut bufs[..used];
        let len = bufs.iter().map(|b| b.len()).sum();
        // SAFETY: on Unix `IoSliceMut` is guaranteed to be ABI-compatible
        // with `iovec`, and these describe buffers borrowed mutably for
        // this call.
        unsafe { self.poll_recv(cx, bufs.as_mut_ptr().cast(), bufs.len(), len) }
    }

    /// Reads into memory that may be uninitialised: the kernel only writes
    /// into `buf`, so no byte is zeroed first. On `Ready(Ok(n))` the first
    /// `n` bytes of `buf` are initialised.
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: len,
        };
        // SAFETY: `iov` describes `buf`, borrowed mutably for this call;
        // `recvmsg` writes at most `len` bytes there and never reads them,
        // so uninitialised memory is fine.
        unsafe { self.poll_recv(cx, &mut iov, 1, len) }
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut io = self.io();
        self.reg.poll_io_drain(
            cx,
            Direction::Write,
            || io.write(buf),
            |&n| short(n, buf.len()),
        )
    }

    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        let mut io = self.io();
        self.reg.poll_io_drain(
            cx,
            Direction::Write,
            || io.write_vectored(bufs),
            |&n| short(n, len),
        )
    }

    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.io().as_raw_fd();
        let len = buf.len();
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: len,
        };
        self.reg
            .try_io_drain(
                Direction::Read,
                // SAFETY: `iov` describes `buf`, borrowed mutably for this
                // call; `fd` is open because `self` owns the source.
                || unsafe { inq::recv(fd, &mut iov, 1) },
                |&(n, queued)| drained(n, len, queued),
            )
            .map(|(n, _)| n)
    }

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_io(Direction::Write, |mut io| io.write(buf))
    }
}

/// `IOV_MAX` on Linux and the BSDs.
const IOV_MAX: usize = 1024;

/// A read of `n` bytes into `asked` bytes of buffers emptied the socket:
/// it came back short, or the kernel said nothing is left (`queued`, from
/// `TCP_INQ`). Zero is EOF (or an empty buffer), never "drained".
fn drained(n: usize, asked: usize, queued: Option<usize>) -> bool {
    n > 0 && (n < asked || queued == Some(0))
}

/// A stream op that moved some bytes but fewer than asked for drained the
/// socket (see `Registration::poll_io_drain`). Zero is EOF, not drained.
fn short(n: usize, asked: usize) -> bool {
    n > 0 && n < asked
}

impl<E: mio::event::Source> Drop for PollEvented<E> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            self.reg.deregister(&mut io);
            // `io` closes here, then `reg` frees the slab slot.
        }
    }
}

/// Implements the readiness API shared by every net type. `$io` is the
/// `PollEvented` field.
macro_rules! readiness_api {
    ($io:ident) => {
        /// Waits until the socket is believed readable (a read may still
        /// answer `WouldBlock`; then call this again).
        pub async fn readable(&self) -> std::io::Result<()> {
            self.$io.ready($crate::scheduled_io::Direction::Read).await
        }

        /// Waits until the socket is believed writable.
        pub async fn writable(&self) -> std::io::Result<()> {
            self.$io.ready($crate::scheduled_io::Direction::Write).await
        }

        /// Poll version of `readable`.
        pub fn poll_read_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            self.$io
                .poll_ready(cx, $crate::scheduled_io::Direction::Read)
        }

        /// Poll version of `writable`.
        pub fn poll_write_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            self.$io
                .poll_ready(cx, $crate::scheduled_io::Direction::Write)
        }

        /// Runs a custom non-blocking operation `f` if the socket is
        /// believed ready for `interest` (readable if it contains
        /// READABLE, else writable); a `WouldBlock` from `f` clears the
        /// cached readiness.
        pub fn try_io<R>(
            &self,
            interest: mio::Interest,
            f: impl FnOnce() -> std::io::Result<R>,
        ) -> std::io::Result<R> {
            let dir = if interest.is_readable() {
                $crate::scheduled_io::Direction::Read
            } else {
                $crate::scheduled_io::Direction::Write
            };
            self.$io.try_io(dir, |_| f())
        }
    };
}
pub(crate) use readiness_api;
