//! hyper's IO and executor traits over goro's `TcpStream` and `spawn`.
//!
//! Private stand-in for `goro::hyper::GoroIo` / `GoroExecutor`: to be replaced by those
//! adapters (the `goro-compat` crate) once the facade exports them.
//!
//! Reads go through `futures_io::AsyncRead`, which wants an initialised buffer, so the part of
//! hyper's uninitialised read buffer that is handed to the socket is zeroed first, at most
//! [`READ_CHUNK`] bytes per read.

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use goro::net::TcpStream;

/// Largest read handed to the socket at once.
const READ_CHUNK: usize = 16 * 1024;

/// A goro `TcpStream` as hyper IO.
pub struct Io(pub TcpStream);

impl hyper::rt::Read for Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: the slice is only written (zeroed, then filled by the socket) and `advance` is
        // called with no more than the number of bytes the read initialised.
        let spare: &mut [MaybeUninit<u8>] = unsafe { buf.as_mut() };
        let len = spare.len().min(READ_CHUNK);
        let spare = &mut spare[..len];
        for b in spare.iter_mut() {
            b.write(0);
        }
        // SAFETY: every byte of `spare` was initialised just above, and MaybeUninit<u8> has the
        // layout of u8.
        let init: &mut [u8] = unsafe { &mut *(spare as *mut [MaybeUninit<u8>] as *mut [u8]) };
        match Pin::new(&mut self.0).poll_read(cx, init) {
            Poll::Ready(Ok(n)) => {
                // SAFETY: the socket wrote `n <= len` bytes into the initialised prefix.
                unsafe { buf.advance(n) };
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl hyper::rt::Write for Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// hyper's executor (HTTP/2 background work) as goro tasks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Exec;

impl<F> hyper::rt::Executor<F> for Exec
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        drop(goro::spawn(fut));
    }
}
