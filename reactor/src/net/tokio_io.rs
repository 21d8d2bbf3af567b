//! tokio's `AsyncRead`/`AsyncWrite` for goro's stream types and their
//! halves (feature `tokio-io`), so tokio-util codecs, tokio-rustls and
//! other crates written against tokio's IO traits run on goro sockets.
//!
//! The impls live here, beside the types, because Rust's orphan rule
//! allows an impl of a foreign trait only in the crate of the type (a
//! newtype elsewhere would work too, but would make every user wrap and
//! unwrap). tokio is a dependency with its default features off: only
//! the two traits and `ReadBuf` are used, never its runtime.
//!
//! Reads go straight into the unfilled part of tokio's `ReadBuf` with
//! `read(2)`: nothing is zeroed first. Writes are the futures-io ones;
//! `poll_flush` has nothing to do (no user-space buffer) and
//! `poll_shutdown` shuts down the write direction.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::ReadBuf;

/// Fills `buf` from a `poll_read_uninit` method.
fn fill(
    buf: &mut ReadBuf<'_>,
    read: impl FnOnce(&mut [std::mem::MaybeUninit<u8>]) -> Poll<io::Result<usize>>,
) -> Poll<io::Result<()>> {
    // SAFETY: `unfilled_mut` hands out memory that may be uninitialised;
    // `read` only writes into it (`read(2)`), and only the `n` bytes it
    // reports are marked initialised below.
    let unfilled = unsafe { buf.unfilled_mut() };
    let n = match read(unfilled) {
        Poll::Ready(Ok(n)) => n,
        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
        Poll::Pending => return Poll::Pending,
    };
    // SAFETY: the kernel wrote `n` bytes at the start of the unfilled part.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Poll::Ready(Ok(()))
}

macro_rules! tokio_read {
    ($($t:ty),*) => {$(
        impl tokio::io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let this = &*self;
                fill(buf, |b| this.poll_read_uninit(cx, b))
            }
        }
    )*};
}

macro_rules! tokio_write {
    ($($t:ty),*) => {$(
        impl tokio::io::AsyncWrite for $t {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write(Pin::new(&mut *self), cx, buf)
            }
            fn poll_write_vectored(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write_vectored(Pin::new(&mut *self), cx, bufs)
            }
            fn is_write_vectored(&self) -> bool {
                true
            }
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_shutdown(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_close(Pin::new(&mut *self), cx)
            }
        }
    )*};
}

use super::{tcp, unix};

tokio_read!(
    tcp::TcpStream,
    tcp::ReadHalf<'_>,
    tcp::OwnedReadHalf,
    unix::UnixStream,
    unix::ReadHalf<'_>,
    unix::OwnedReadHalf
);
tokio_write!(
    tcp::TcpStream,
    tcp::WriteHalf<'_>,
    tcp::OwnedWriteHalf,
    unix::UnixStream,
    unix::WriteHalf<'_>,
    unix::OwnedWriteHalf
);
