use super::{default_backlog, TcpSocket, TcpStream};
use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::poll_evented::{readiness_api, PollEvented};
use crate::scheduled_io::Direction;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Duration;

/// A TCP socket server, listening for connections.
///
/// If `accept` fails (for example with `EMFILE`, too many open files),
/// the error is returned and the listener stays usable: the pending
/// connection stays queued in the kernel and the next `accept` retries it.
///
/// ## Accept loops under descriptor exhaustion
///
/// A loop that calls [`accept`](Self::accept) again at once after
/// `EMFILE` spins: the queued connection keeps the listener readable, so
/// every retry fails the same way, millions of times a second, on a CPU
/// the connections that could free descriptors need. A server's accept
/// loop should therefore use [`accept_with_backoff`](Self::accept_with_backoff),
/// which sleeps between such retries:
///
/// ```no_run
/// # async fn demo(listener: goro_reactor::net::TcpListener) -> std::io::Result<()> {
/// loop {
///     let (stream, peer) = listener.accept_with_backoff().await?;
///     // spawn a task serving `stream`
/// #   drop((stream, peer));
/// }
/// # }
/// ```
pub struct TcpListener {
    pub(super) io: PollEvented<mio::net::TcpListener>,
}

/// The first and the longest sleep of
/// [`TcpListener::accept_with_backoff`] (Go's `net/http` `Server.Serve`:
/// 5 ms, doubling, at most 1 s).
const BACKOFF_FIRST: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Whether an accept error means the process or system ran out of a
/// resource (descriptors, socket buffers, kernel memory) rather than
/// something being wrong with the listener: waiting may cure it.
pub(crate) fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

impl TcpListener {
    /// Binds to `addr` (trying each resolved address in turn) and listens
    /// with the system's largest backlog, `net.core.somaxconn`
    /// ([`default_backlog`](super::default_backlog); Go's rule). The socket
    /// has `SO_REUSEADDR` set. For another backlog or other options, use
    /// [`TcpSocket`](super::TcpSocket).
    ///
    /// # Panics
    /// Outside a goro runtime.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(&addr, |a| async move {
            let socket = TcpSocket::new_for_addr(a)?;
            socket.set_reuseaddr(true)?;
            socket.bind(a)?;
            socket.listen(default_backlog())
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

    /// Waits for a connection like [`accept`](Self::accept), but when
    /// `accept` fails because a resource ran out (`EMFILE`, `ENFILE`,
    /// `ENOBUFS`, `ENOMEM`) it sleeps and tries again instead of returning
    /// the error: 5 ms after the first failure, doubling after each
    /// further one up to 1 s, and back to 5 ms for the next call once a
    /// connection is accepted. This is Go's `net/http` rule
    /// (`Server.Serve` sleeps the same way on a temporary accept error).
    /// The connection that could not be accepted stays queued in the
    /// kernel and is the one returned once descriptors are free again.
    ///
    /// Any other error is returned at once. The resource errors are not
    /// reported; a server that wants to log them uses `accept` and
    /// sleeps itself.
    pub async fn accept_with_backoff(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let mut delay = BACKOFF_FIRST;
        loop {
            match self.accept().await {
                Err(e) if is_resource_exhaustion(&e) => {
                    crate::time::sleep(delay).await;
                    delay = (delay * 2).min(BACKOFF_MAX);
                }
                other => return other,
            }
        }
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
