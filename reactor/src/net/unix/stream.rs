use super::{split_owned, OwnedReadHalf, OwnedWriteHalf, ReadHalf, SocketAddr, WriteHalf};
use crate::driver::Handle;
use crate::net::poll_evented::{readiness_api, PollEvented};
use crate::net::split::stream_io_traits;
use crate::scheduled_io::Direction;
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::path::Path;
use std::task::{Context, Poll};

/// A Unix stream connection. Implements futures-io `AsyncRead` and
/// `AsyncWrite` (also on `&UnixStream`).
pub struct UnixStream {
    pub(crate) io: PollEvented<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// # Panics
    /// Outside a goro runtime.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let stream = UnixStream {
            io: PollEvented::new_rw(mio::net::UnixStream::connect(path)?)?,
        };
        poll_fn(|cx| stream.io.poll_ready(cx, Direction::Write)).await?;
        if let Some(e) = stream.io.io().take_error()? {
            return Err(e);
        }
        Ok(stream)
    }

    /// A connected pair of streams.
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((
            UnixStream {
                io: PollEvented::new_rw(a)?,
            },
            UnixStream {
                io: PollEvented::new_rw(b)?,
            },
        ))
    }

    pub(crate) fn from_mio(handle: Handle, s: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollEvented::with_handle(handle, s)?,
        })
    }

    /// Wraps a connected std stream (made non-blocking here).
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream {
            io: PollEvented::new_rw(mio::net::UnixStream::from_std(stream))?,
        })
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.io().local_addr()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.io().peer_addr()
    }

    /// Takes the pending `SO_ERROR`, if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.io().take_error()
    }

    /// Shuts down the read, write or both directions.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.io().shutdown(how)
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

stream_io_traits!(UnixStream);

impl std::fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixStream")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
