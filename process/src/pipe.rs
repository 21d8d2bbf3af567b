//! The parent's ends of a child's pipes, non-blocking on the reactor.

use futures_io::{AsyncRead, AsyncWrite};
use goro_reactor::fd::{AsyncFd, Interest};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Switches `fd` to non-blocking mode and registers it for `interest`.
fn register(fd: OwnedFd, interest: Interest) -> io::Result<AsyncFd<File>> {
    let raw = fd.as_raw_fd();
    // SAFETY: `raw` belongs to `fd`, which is open for the whole call;
    // F_GETFL takes no argument and only reads the descriptor's flags.
    let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above; F_SETFL takes an int of flags. The flag is set on
    // the parent's open file description only: the child's end of the
    // pipe is a separate description and stays blocking.
    if unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    AsyncFd::with_interest(File::from(fd), interest)
}

/// The writing end of the child's stdin. `poll_close` (futures' `close`)
/// closes it, and so does dropping it: the child then reads EOF.
#[derive(Debug)]
pub struct ChildStdin {
    /// `None` once closed.
    fd: Option<AsyncFd<File>>,
}

/// The reading end of the child's stdout.
#[derive(Debug)]
pub struct ChildStdout {
    fd: AsyncFd<File>,
}

/// The reading end of the child's stderr.
#[derive(Debug)]
pub struct ChildStderr {
    fd: AsyncFd<File>,
}

impl ChildStdin {
    pub(crate) fn new(std: std::process::ChildStdin) -> io::Result<ChildStdin> {
        Ok(ChildStdin {
            fd: Some(register(std.into(), Interest::WRITABLE)?),
        })
    }

    fn fd(&self) -> io::Result<&AsyncFd<File>> {
        self.fd
            .as_ref()
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "child stdin was closed"))
    }
}

impl ChildStdout {
    pub(crate) fn new(std: std::process::ChildStdout) -> io::Result<ChildStdout> {
        Ok(ChildStdout {
            fd: register(std.into(), Interest::READABLE)?,
        })
    }
}

impl ChildStderr {
    pub(crate) fn new(std: std::process::ChildStderr) -> io::Result<ChildStderr> {
        Ok(ChildStderr {
            fd: register(std.into(), Interest::READABLE)?,
        })
    }
}

impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let fd = self.fd()?;
        fd.poll_write_io(cx, |mut f| f.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let fd = self.fd()?;
        fd.poll_write_io(cx, |mut f| f.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(())) // a pipe has no user-space buffer
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.fd = None;
        Poll::Ready(Ok(()))
    }
}

macro_rules! reader {
    ($ty:ty) => {
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.fd.poll_read_io(cx, |mut f| f.read(buf))
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [io::IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.fd.poll_read_io(cx, |mut f| f.read_vectored(bufs))
            }
        }

        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.fd.as_raw_fd()
            }
        }
    };
}

reader!(ChildStdout);
reader!(ChildStderr);

/// Reads `pipe` to EOF into `buf` (for `wait_with_output`).
pub(crate) fn poll_read_to_end(
    pipe: &mut (impl AsyncRead + Unpin),
    cx: &mut Context<'_>,
    buf: &mut Vec<u8>,
) -> Poll<io::Result<()>> {
    let mut chunk = [0u8; 8192];
    loop {
        match Pin::new(&mut *pipe).poll_read(cx, &mut chunk) {
            Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
            Poll::Ready(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    }
}
