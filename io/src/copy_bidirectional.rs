//! `copy_bidirectional`: two `copy`s, one per direction, in one future.
//!
//! Each direction is a small state machine (copy until EOF, then close the
//! writer, then done) over its own buffer. Both are polled on every wake-up
//! of the future; a direction that is done stays done. The writer of a
//! direction is flushed whenever its reader has nothing ready, so bytes
//! never sit in a buffered writer while the copy waits (the idea of tokio's
//! `CopyBuffer`).

use futures_io::{AsyncRead, AsyncWrite};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

const DEFAULT_BUF_SIZE: usize = 8 * 1024;

/// Copies `a`'s reads into `b` and `b`'s reads into `a` at the same time,
/// until both have reached EOF; returns the bytes copied `(a to b, b to a)`.
///
/// When one side reaches EOF, the other side's writer is closed
/// (`poll_close`, a socket's half-close), and the other direction goes on.
/// The first error ends both directions and is returned.
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    copy_bidirectional_with_sizes(a, b, DEFAULT_BUF_SIZE, DEFAULT_BUF_SIZE).await
}

/// As [`copy_bidirectional`], with a buffer of `a_to_b` bytes for the
/// direction from `a` to `b` and of `b_to_a` bytes for the other.
///
/// # Panics
/// If a buffer size is 0.
pub async fn copy_bidirectional_with_sizes<A, B>(
    a: &mut A,
    b: &mut B,
    a_to_b: usize,
    b_to_a: usize,
) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    assert!(
        a_to_b > 0 && b_to_a > 0,
        "copy_bidirectional: buffer sizes must be at least 1"
    );
    let mut ab = Direction::Copying(CopyBuffer::new(a_to_b));
    let mut ba = Direction::Copying(CopyBuffer::new(b_to_a));
    std::future::poll_fn(|cx| {
        let ab_poll = ab.poll(cx, &mut *a, &mut *b)?;
        let ba_poll = ba.poll(cx, &mut *b, &mut *a)?;
        match (ab_poll, ba_poll) {
            (Poll::Ready(x), Poll::Ready(y)) => Poll::Ready(Ok((x, y))),
            _ => Poll::Pending,
        }
    })
    .await
}

enum Direction {
    Copying(CopyBuffer),
    Closing(u64),
    Done(u64),
}

impl Direction {
    fn poll<R, W>(&mut self, cx: &mut Context<'_>, r: &mut R, w: &mut W) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        loop {
            match self {
                Direction::Copying(buf) => {
                    let n = ready!(buf.poll_copy(cx, Pin::new(&mut *r), Pin::new(&mut *w)))?;
                    *self = Direction::Closing(n);
                }
                Direction::Closing(n) => {
                    ready!(Pin::new(&mut *w).poll_close(cx))?;
                    *self = Direction::Done(*n);
                }
                Direction::Done(n) => return Poll::Ready(Ok(*n)),
            }
        }
    }
}

struct CopyBuffer {
    buf: Box<[u8]>,
    /// Bytes `pos..end` of `buf` are read and not yet written.
    pos: usize,
    end: usize,
    read_done: bool,
    /// Bytes were written since the last flush.
    need_flush: bool,
    copied: u64,
}

impl CopyBuffer {
    fn new(size: usize) -> CopyBuffer {
        CopyBuffer {
            buf: vec![0; size].into_boxed_slice(),
            pos: 0,
            end: 0,
            read_done: false,
            need_flush: false,
            copied: 0,
        }
    }

    fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut r: Pin<&mut R>,
        mut w: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            if self.pos == self.end && !self.read_done {
                match r.as_mut().poll_read(cx, &mut self.buf) {
                    Poll::Ready(Ok(0)) => self.read_done = true,
                    Poll::Ready(Ok(n)) => {
                        self.pos = 0;
                        self.end = n;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        // Nothing to read now: push out what was written.
                        if self.need_flush {
                            ready!(w.as_mut().poll_flush(cx))?;
                            self.need_flush = false;
                        }
                        return Poll::Pending;
                    }
                }
            }
            while self.pos < self.end {
                let n = ready!(w.as_mut().poll_write(cx, &self.buf[self.pos..self.end]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "copy_bidirectional: the writer accepted 0 bytes",
                    )));
                }
                self.pos += n;
                self.copied += n as u64;
                self.need_flush = true;
            }
            if self.read_done {
                ready!(w.as_mut().poll_flush(cx))?;
                self.need_flush = false;
                return Poll::Ready(Ok(self.copied));
            }
        }
    }
}
