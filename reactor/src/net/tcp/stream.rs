use super::{split_owned, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::driver::Handle;
use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::poll_evented::{readiness_api, PollEvented};
use crate::net::split::stream_io_traits;
use crate::scheduled_io::Direction;
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};

/// A TCP connection. Implements futures-io `AsyncRead` and `AsyncWrite`
/// (also on `&TcpStream`); `poll_close` shuts down the write direction.
///
/// A peer reset surfaces as `ErrorKind::ConnectionReset` from the read or
/// write that observes it; a refused connect as `ConnectionRefused`.
pub struct TcpStream {
    pub(crate) io: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn (host
    /// names resolve on the blocking pool) and returning the last error if
    /// none accepts.
    ///
    /// # Panics
    /// Outside a goro runtime.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(&addr, Self::connect_addr).await
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        Self::finish_connect(mio::net::TcpStream::connect(addr)?).await
    }

    /// Registers a socket whose non-blocking connect has started and waits
    /// for the connect's outcome (shared with `TcpSocket::connect`).
    pub(crate) async fn finish_connect(s: mio::net::TcpStream) -> io::Result<TcpStream> {
        let stream = TcpStream::wrap(PollEvented::new_rw(s)?);
        // A non-blocking connect completes when the socket turns writable;
        // success or failure is then in SO_ERROR.
        poll_fn(|cx| stream.io.poll_ready(cx, Direction::Write)).await?;
        if let Some(e) = stream.io.io().take_error()? {
            return Err(e);
        }
        match stream.io.io().peer_addr() {
            Ok(_) => Ok(stream),
            // Writable without an error but not connected: the connect
            // failed in a way only a read reports.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                let mut b = [0u8; 1];
                match std::io::Read::read(&mut stream.io.io(), &mut b) {
                    Err(e) => Err(e),
                    Ok(_) => Err(io::ErrorKind::NotConnected.into()),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Every constructor ends here: turns on the queued-bytes hint that
    /// lets a read that empties the socket say so (`net/inq.rs`).
    fn wrap(io: PollEvented<mio::net::TcpStream>) -> TcpStream {
        use std::os::fd::AsRawFd;
        crate::net::inq::enable(io.io().as_raw_fd());
        TcpStream { io }
    }

    /// Registers an accepted stream with its listener's reactor.
    pub(crate) fn from_mio(handle: Handle, s: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream::wrap(PollEvented::with_handle(handle, s)?))
    }

    /// Wraps a connected std stream (made non-blocking here).
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream::wrap(PollEvented::new_rw(
            mio::net::TcpStream::from_std(stream),
        )?))
    }

    /// Turns this back into a (non-blocking) std stream.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        use std::os::fd::{FromRawFd, IntoRawFd};
        let fd = self.io.into_inner().into_raw_fd();
        // SAFETY: `fd` was just released by its only owner, the mio stream.
        Ok(unsafe { std::net::TcpStream::from_raw_fd(fd) })
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.io().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.io().local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when true).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.io().set_nodelay(nodelay)
    }

    /// `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.io().nodelay()
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.io().ttl()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.io().set_ttl(ttl)
    }

    /// Takes the pending `SO_ERROR`, if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.io().take_error()
    }

    /// Shuts down the read, write or both directions. After
    /// `Shutdown::Write` the peer reads EOF; reads here still work.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.io().shutdown(how)
    }

    /// Receives data without removing it from the socket's queue.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_peek(cx, buf)).await
    }

    /// Poll version of [`peek`](Self::peek).
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |s| s.peek(buf))
    }

    /// Reads what is available without waiting; `WouldBlock` if nothing.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// Writes what fits without waiting; `WouldBlock` if nothing fits.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Splits into borrowed halves usable from two tasks at once.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Splits into owned halves (`'static`, for spawning).
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split_owned(self)
    }

    readiness_api!(io);

    /// Reads into memory that may be uninitialised (hyper's read cursor,
    /// tokio's `ReadBuf`) without zeroing it first; never reads from
    /// `buf`. On `Ready(Ok(n))` the first `n` bytes are initialised, and
    /// `n == 0` (with a non-empty `buf`) is EOF.
    pub fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read_uninit(cx, buf)
    }

    pub(crate) fn poll_read_ref(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf)
    }

    pub(crate) fn poll_read_vectored_ref(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read_vectored(cx, bufs)
    }

    pub(crate) fn poll_write_ref(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }

    pub(crate) fn poll_write_vectored_ref(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_vectored(cx, bufs)
    }
}

stream_io_traits!(TcpStream);

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

impl std::os::fd::AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.io().as_raw_fd()
    }
}
