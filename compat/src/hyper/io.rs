//! [`GoroIo`]: hyper's IO traits over goro streams, and futures-io over
//! hyper's IO (an `Upgraded` connection used as a goro stream).

use goro_reactor::net::{tcp, unix, TcpStream, UnixStream};
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

pin_project_lite::pin_project! {
    /// A byte stream seen through the other side's IO traits.
    ///
    /// * Over a goro stream (`TcpStream`, `UnixStream` or a read/write
    ///   half: see [`GoroRead`], [`GoroWrite`]) it is `hyper::rt::Read` and
    ///   `hyper::rt::Write`. Reads go straight into hyper's uninitialised
    ///   `ReadBufCursor` with `read(2)`: nothing is zeroed, per read or
    ///   ever. Writes are vectored (`is_write_vectored` is true, one
    ///   `writev(2)` per `poll_write_vectored`), so hyper writes head and
    ///   body without copying them together. `poll_flush` is a no-op (no
    ///   user-space buffer); `poll_shutdown` shuts down the write
    ///   direction.
    /// * Over hyper IO (`hyper::upgrade::Upgraded`, or anything
    ///   `hyper::rt::Read`/`Write`) it is futures-io `AsyncRead` and
    ///   `AsyncWrite`, the traits goro's own streams speak, so code written
    ///   for a goro socket runs on an upgraded connection. This direction
    ///   reads through an initialised `&mut [u8]`, as futures-io requires.
    #[derive(Debug)]
    pub struct GoroIo<T> {
        #[pin]
        inner: T,
    }
}

impl<T> GoroIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        GoroIo { inner }
    }

    /// The wrapped stream.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A goro stream or read half that [`GoroIo`] can read from without
/// zeroing memory first. Sealed: implemented for `TcpStream`,
/// `UnixStream` and their read halves.
pub trait GoroRead: sealed::Sealed {
    /// Reads into `buf`, which may be uninitialised; on `Ready(Ok(n))` its
    /// first `n` bytes are initialised.
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>>;
}

/// A goro stream or write half that [`GoroIo`] can write to: goro's
/// futures-io `AsyncWrite`, with real vectored writes. Sealed:
/// implemented for `TcpStream`, `UnixStream` and their write halves.
pub trait GoroWrite: sealed::Sealed + futures_io::AsyncWrite {}

macro_rules! goro_read {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl GoroRead for $t {
            fn poll_read_uninit(
                &self,
                cx: &mut Context<'_>,
                buf: &mut [MaybeUninit<u8>],
            ) -> Poll<io::Result<usize>> {
                <$t>::poll_read_uninit(self, cx, buf)
            }
        }
    )*};
}

macro_rules! goro_write {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl GoroWrite for $t {}
    )*};
}

goro_read!(
    tcp::ReadHalf<'_>,
    tcp::OwnedReadHalf,
    unix::ReadHalf<'_>,
    unix::OwnedReadHalf
);
goro_write!(
    tcp::WriteHalf<'_>,
    tcp::OwnedWriteHalf,
    unix::WriteHalf<'_>,
    unix::OwnedWriteHalf
);

// The whole streams are both: one `Sealed` impl, then both traits.
impl sealed::Sealed for TcpStream {}
impl sealed::Sealed for UnixStream {}
impl GoroRead for TcpStream {
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        TcpStream::poll_read_uninit(self, cx, buf)
    }
}
impl GoroRead for UnixStream {
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        UnixStream::poll_read_uninit(self, cx, buf)
    }
}
impl GoroWrite for TcpStream {}
impl GoroWrite for UnixStream {}

impl<T: GoroRead> ::hyper::rt::Read for GoroIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ::hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: `poll_read_uninit` only writes into the slice (it is
        // `read(2)` into the cursor's spare capacity) and never
        // de-initialises bytes hyper already initialised.
        let unfilled = unsafe { buf.as_mut() };
        let n = ready!(self.project().inner.poll_read_uninit(cx, unfilled))?;
        // SAFETY: the kernel initialised the first `n` bytes of `unfilled`,
        // which start where the cursor's filled part ends.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: GoroWrite> ::hyper::rt::Write for GoroIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }
}

impl<T: ::hyper::rt::Read> futures_io::AsyncRead for GoroIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut rb = ::hyper::rt::ReadBuf::new(buf);
        ready!(self.project().inner.poll_read(cx, rb.unfilled()))?;
        Poll::Ready(Ok(rb.filled().len()))
    }
}

impl<T: ::hyper::rt::Write> futures_io::AsyncWrite for GoroIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

/// What hyper-util's client pool asks of a connection: nothing beyond the
/// defaults (no proxy, no negotiated ALPN: plain HTTP only).
impl ::hyper_util::client::legacy::connect::Connection for GoroIo<TcpStream> {
    fn connected(&self) -> ::hyper_util::client::legacy::connect::Connected {
        ::hyper_util::client::legacy::connect::Connected::new()
    }
}

impl ::hyper_util::client::legacy::connect::Connection for GoroIo<UnixStream> {
    fn connected(&self) -> ::hyper_util::client::legacy::connect::Connected {
        ::hyper_util::client::legacy::connect::Connected::new()
    }
}
