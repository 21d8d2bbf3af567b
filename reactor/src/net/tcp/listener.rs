use super::TcpStream;
use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::poll_evented::{readiness_api, PollEvented};
use crate::scheduled_io::Direction;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

/// A TCP socket server, listening for connections.
///
/// If `accept` fails (for example with `EMFILE`, too many open files),
/// the error is returned and the listener stays usable: the pending
/// connection stays queued in the kernel and the next `accept` retries it.
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (trying each resolved address in turn) and listens.
    /// The socket has `SO_REUSEADDR` set.
    ///
    /// # Panics
    /// Outside a goro runtime.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(&addr, |a| async move {
            let l = mio::net::TcpListener::bind(a)?;
            Ok(TcpListener {
                io: PollEvented::new(l, mio::Interest::READABLE)?,
            })
        })
        .await
    }

    /// Wraps a std listener (made non-blocking here).
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        let l = mio::net::TcpListener::from_std(listener);
        Ok(TcpListener {
            io: PollEvented::new(l, mio::Interest::READABLE)?,
        })
    }

    /// Turns this back into a (non-blocking) std listener.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        use std::os::fd::{FromRawFd, IntoRawFd};
        let fd = self.io.into_inner().into_raw_fd();
        // SAFETY: `fd` was just released by the mio listener that owned it,
        // so the new std listener is its only owner.
        Ok(unsafe { std::net::TcpListener::from_raw_fd(fd) })
    }

    /// Waits for a connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Poll version of [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, addr) = match self.io.poll_io(cx, Direction::Read, |l| l.accept()) {
            Poll::Ready(Ok(v)) => v,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        let handle = self.io.reg().handle().clone();
        Poll::Ready(TcpStream::from_mio(handle, stream).map(|s| (s, addr)))
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.io().local_addr()
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.io().ttl()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.io().set_ttl(ttl)
    }

    readiness_api!(io);
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

impl std::os::fd::AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.io().as_raw_fd()
    }
}
