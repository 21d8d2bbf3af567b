//! `duplex`: an in-memory, bidirectional pipe with a capacity.
//!
//! Each direction is a `Pipe`: a byte queue of at most `cap` bytes under a
//! mutex, plus the waker of the reader waiting for bytes and of the writer
//! waiting for room. A `DuplexStream` reads one pipe and writes the other;
//! its peer has them the other way round. The lock is held only to copy
//! bytes and swap wakers, never across a wake.
//!
//! Closing follows a socket's rules: `poll_close` (or dropping the
//! stream) ends the peer's reads with EOF once the buffered bytes are
//! read; after the peer is dropped, writes fail with `BrokenPipe`.

use futures_io::{AsyncRead, AsyncWrite};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Creates a connected pair of in-memory streams. Each direction buffers
/// at most `max_buf_size` bytes: a write to a full direction waits for the
/// peer to read.
///
/// # Panics
/// If `max_buf_size` is 0 (no write could ever complete).
#[track_caller]
pub fn duplex(max_buf_size: usize) -> (DuplexStream, DuplexStream) {
    assert!(
        max_buf_size > 0,
        "goro::io::duplex: max_buf_size must be at least 1"
    );
    let a_to_b = Arc::new(Mutex::new(Pipe::new(max_buf_size)));
    let b_to_a = Arc::new(Mutex::new(Pipe::new(max_buf_size)));
    (
        DuplexStream {
            read: b_to_a.clone(),
            write: a_to_b.clone(),
        },
        DuplexStream {
            read: a_to_b,
            write: b_to_a,
        },
    )
}

/// One end of a [`duplex`] pipe; implements `AsyncRead` and `AsyncWrite`.
pub struct DuplexStream {
    read: Arc<Mutex<Pipe>>,
    write: Arc<Mutex<Pipe>>,
}

struct Pipe {
    buf: VecDeque<u8>,
    cap: usize,
    /// The writing end closed (or dropped): reads return EOF when empty.
    write_closed: bool,
    /// The reading end dropped: writes fail.
    read_closed: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
}

impl Pipe {
    fn new(cap: usize) -> Pipe {
        Pipe {
            buf: VecDeque::with_capacity(cap.min(64 * 1024)),
            cap,
            write_closed: false,
            read_closed: false,
            read_waker: None,
            write_waker: None,
        }
    }
}

fn lock(pipe: &Mutex<Pipe>) -> MutexGuard<'_, Pipe> {
    // A panic while the lock is held leaves the queue consistent (every
    // critical section is a copy and a few flag writes), so poisoning is
    // ignored.
    pipe.lock().unwrap_or_else(|e| e.into_inner())
}

fn set_waker(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(w) if w.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

impl AsyncRead for DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let spent = std::task::ready!(goro_coop::poll_proceed(cx));
        let mut pipe = lock(&self.read);
        if out.is_empty() {
            spent.made_progress();
            return Poll::Ready(Ok(0));
        }
        if pipe.buf.is_empty() {
            if pipe.write_closed {
                spent.made_progress();
                return Poll::Ready(Ok(0));
            }
            set_waker(&mut pipe.read_waker, cx.waker());
            return Poll::Pending;
        }
        let n = out.len().min(pipe.buf.len());
        for (dst, src) in out.iter_mut().zip(pipe.buf.drain(..n)) {
            *dst = src;
        }
        let waker = pipe.write_waker.take();
        drop(pipe);
        if let Some(w) = waker {
            w.wake();
        }
        spent.made_progress();
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for DuplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        let spent = std::task::ready!(goro_coop::poll_proceed(cx));
        let mut pipe = lock(&self.write);
        if pipe.read_closed {
            spent.made_progress();
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if pipe.write_closed {
            spent.made_progress();
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "write to a duplex stream after poll_close",
            )));
        }
        if src.is_empty() {
            spent.made_progress();
            return Poll::Ready(Ok(0));
        }
        let room = pipe.cap - pipe.buf.len();
        if room == 0 {
            set_waker(&mut pipe.write_waker, cx.waker());
            return Poll::Pending;
        }
        let n = room.min(src.len());
        pipe.buf.extend(&src[..n]);
        let waker = pipe.read_waker.take();
        drop(pipe);
        if let Some(w) = waker {
            w.wake();
        }
        spent.made_progress();
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        close_write(&self.write);
        Poll::Ready(Ok(()))
    }
}

fn close_write(pipe: &Mutex<Pipe>) {
    let waker = {
        let mut p = lock(pipe);
        p.write_closed = true;
        p.read_waker.take()
    };
    if let Some(w) = waker {
        w.wake();
    }
}

impl Drop for DuplexStream {
    fn drop(&mut self) {
        close_write(&self.write);
        let waker = {
            let mut p = lock(&self.read);
            p.read_closed = true;
            p.buf.clear();
            p.write_waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl fmt::Debug for DuplexStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DuplexStream").finish_non_exhaustive()
    }
}
