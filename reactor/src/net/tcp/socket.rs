//! [`TcpSocket`]: a TCP socket before it is a listener or a stream, for
//! setting options that must be in place before `bind`, `listen` or
//! `connect` (the listen backlog, `SO_REUSEPORT`, buffer sizes).
//!
//! The shape is tokio's `TcpSocket`; the syscalls are socket2's (the crate
//! mio, tokio and std's ecosystem share for raw socket options), which
//! opens every socket with `SOCK_CLOEXEC` and `SOCK_NONBLOCK` in the same
//! `socket(2)` call.

use super::{TcpListener, TcpStream};
use crate::net::poll_evented::PollEvented;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::sync::OnceLock;

/// A TCP socket that is not yet listening or connected.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use goro_reactor::net::TcpSocket;
/// let socket = TcpSocket::new_v4()?;
/// socket.set_reuseaddr(true)?;
/// socket.bind("127.0.0.1:8080".parse().unwrap())?;
/// let listener = socket.listen(16_384)?;
/// # drop(listener); Ok(()) }
/// ```
///
/// Creating one and setting options works anywhere; [`listen`](Self::listen)
/// and [`connect`](Self::connect) register the socket with the reactor and
/// so panic outside a goro runtime, like every net constructor.
pub struct TcpSocket {
    inner: Socket,
}

impl TcpSocket {
    /// A new IPv4 TCP socket (non-blocking, close-on-exec).
    pub fn new_v4() -> io::Result<TcpSocket> {
        Self::new(Domain::IPV4)
    }

    /// A new IPv6 TCP socket (non-blocking, close-on-exec).
    pub fn new_v6() -> io::Result<TcpSocket> {
        Self::new(Domain::IPV6)
    }

    /// A new socket of the family of `addr`.
    pub(crate) fn new_for_addr(addr: SocketAddr) -> io::Result<TcpSocket> {
        Self::new(Domain::for_address(addr))
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        let ty = Type::STREAM.nonblocking().cloexec();
        let inner = Socket::new(domain, ty, Some(Protocol::TCP))?;
        Ok(TcpSocket { inner })
    }

    /// Sets `SO_REUSEADDR`: `bind` succeeds while old connections on the
    /// address linger in `TIME_WAIT`.
    pub fn set_reuseaddr(&self, reuse: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuse)
    }

    /// `SO_REUSEADDR`.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuse_address()
    }

    /// Sets `SO_REUSEPORT`: several sockets may bind the same address and
    /// port, and the kernel spreads incoming connections across them.
    pub fn set_reuseport(&self, reuse: bool) -> io::Result<()> {
        self.inner.set_reuse_port(reuse)
    }

    /// `SO_REUSEPORT`.
    pub fn reuseport(&self) -> io::Result<bool> {
        self.inner.reuse_port()
    }

    /// Sets `TCP_NODELAY` (Nagle's algorithm off when true); a stream from
    /// [`connect`](Self::connect) keeps it.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(nodelay)
    }

    /// `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.tcp_nodelay()
    }

    /// Sets `SO_SNDBUF`. Linux doubles the value for its own bookkeeping,
    /// so [`send_buffer_size`](Self::send_buffer_size) reads back twice
    /// what was set (within the limits of `net.core.wmem_max`).
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(size as usize)
    }

    /// `SO_SNDBUF`.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.inner.send_buffer_size().map(clamp_u32)
    }

    /// Sets `SO_RCVBUF` (doubled by Linux, like the send buffer; limited
    /// by `net.core.rmem_max`).
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size as usize)
    }

    /// `SO_RCVBUF`.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.inner.recv_buffer_size().map(clamp_u32)
    }

    /// Sets `SO_KEEPALIVE`.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.inner.set_keepalive(keepalive)
    }

    /// `SO_KEEPALIVE`.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.inner.keepalive()
    }

    /// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes close send a reset
    /// and skip `TIME_WAIT`.
    pub fn set_linger(&self, linger: Option<std::time::Duration>) -> io::Result<()> {
        self.inner.set_linger(linger)
    }

    /// `SO_LINGER`.
    pub fn linger(&self) -> io::Result<Option<std::time::Duration>> {
        self.inner.linger()
    }

    /// Binds to `addr`.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.bind(&SockAddr::from(addr))
    }

    /// The address this socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP socket address"))
    }

    /// Takes the pending `SO_ERROR`, if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Listens with a queue of up to `backlog` connections that the kernel
    /// has completed but `accept` has not yet taken. Linux caps it at
    /// `net.core.somaxconn`; [`TcpListener::bind`] uses that cap itself
    /// ([`default_backlog`]).
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        // listen(2) takes an int; anything larger means "as many as allowed".
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self.inner.listen(backlog)?;
        let std = std::net::TcpListener::from(self.inner);
        let io = PollEvented::new(
            mio::net::TcpListener::from_std(std),
            mio::Interest::READABLE,
        )?;
        Ok(TcpListener { io })
    }

    /// Connects to `addr` and waits until the connection is established
    /// (or refused). Options set before stay in force on the stream.
    ///
    /// # Panics
    /// Outside a goro runtime (when first polled).
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        match self.inner.connect(&SockAddr::from(addr)) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        let std = std::net::TcpStream::from(self.inner);
        TcpStream::finish_connect(mio::net::TcpStream::from_std(std)).await
    }
}

fn clamp_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// The backlog [`TcpListener::bind`] listens with: the system's
/// `net.core.somaxconn`, read once per process.
///
/// This is Go's rule (`maxListenerBacklog` in `net/sock_linux.go`): ask
/// for the most the kernel will grant, so that a burst of connections
/// queues in the kernel instead of being dropped (a dropped SYN costs the
/// client a one-second retransmit). Values above 65,535 are capped there,
/// as Go does, because older kernels keep the backlog in 16 bits. When
/// the file cannot be read or parsed the fallback is 4,096, Linux's own
/// default since 5.4 (Go falls back to `SOMAXCONN`, 128, the default of
/// older kernels, which overflows under a burst of a few thousand).
pub fn default_backlog() -> u32 {
    static BACKLOG: OnceLock<u32> = OnceLock::new();
    *BACKLOG.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| parse_somaxconn(&s))
            .unwrap_or(FALLBACK_BACKLOG)
    })
}

const FALLBACK_BACKLOG: u32 = 4096;

fn parse_somaxconn(s: &str) -> Option<u32> {
    let n: u32 = s.split_whitespace().next()?.parse().ok()?;
    if n == 0 {
        return None;
    }
    Some(n.min(u16::MAX as u32))
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl IntoRawFd for TcpSocket {
    fn into_raw_fd(self) -> RawFd {
        self.inner.into_raw_fd()
    }
}

impl FromRawFd for TcpSocket {
    /// # Safety
    /// `fd` must be an open TCP socket that nothing else owns.
    unsafe fn from_raw_fd(fd: RawFd) -> TcpSocket {
        // SAFETY: the caller promises `fd` is an open socket owned by no
        // one else, which is what socket2 requires.
        let inner = unsafe { Socket::from_raw_fd(fd) };
        TcpSocket { inner }
    }
}

impl std::fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.inner.as_raw_fd())
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn somaxconn_parses_like_go() {
        assert_eq!(parse_somaxconn("4096\n"), Some(4096));
        assert_eq!(parse_somaxconn("  128 "), Some(128));
        assert_eq!(parse_somaxconn("0\n"), None);
        assert_eq!(parse_somaxconn("lots\n"), None);
        assert_eq!(parse_somaxconn(""), None);
        assert_eq!(parse_somaxconn("1000000\n"), Some(65_535));
    }

    #[test]
    fn default_backlog_is_the_system_value() {
        let expected = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| parse_somaxconn(&s))
            .unwrap_or(FALLBACK_BACKLOG);
        assert_eq!(default_backlog(), expected);
        assert!(default_backlog() >= 128);
    }

    #[test]
    fn options_round_trip_through_getsockopt() {
        let s = TcpSocket::new_v4().unwrap();
        for v in [true, false] {
            s.set_reuseaddr(v).unwrap();
            assert_eq!(s.reuseaddr().unwrap(), v);
            s.set_reuseport(v).unwrap();
            assert_eq!(s.reuseport().unwrap(), v);
            s.set_nodelay(v).unwrap();
            assert_eq!(s.nodelay().unwrap(), v);
            s.set_keepalive(v).unwrap();
            assert_eq!(s.keepalive().unwrap(), v);
        }
        // Linux doubles buffer sizes; both stay within the sysctl maxima
        // (212,992 bytes by default) at this size.
        s.set_send_buffer_size(32 * 1024).unwrap();
        assert_eq!(s.send_buffer_size().unwrap(), 64 * 1024);
        s.set_recv_buffer_size(48 * 1024).unwrap();
        assert_eq!(s.recv_buffer_size().unwrap(), 96 * 1024);
        s.set_linger(Some(std::time::Duration::ZERO)).unwrap();
        assert_eq!(s.linger().unwrap(), Some(std::time::Duration::ZERO));
        s.set_linger(None).unwrap();
        assert_eq!(s.linger().unwrap(), None);
    }

    #[test]
    fn v6_socket_binds_and_reports_its_address() {
        let s = match TcpSocket::new_v6() {
            Ok(s) => s,
            // A host without IPv6 cannot make the socket at all.
            Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => return,
            Err(e) => panic!("{e}"),
        };
        match s.bind("[::1]:0".parse().unwrap()) {
            Ok(()) => {
                let a = s.local_addr().unwrap();
                assert!(a.is_ipv6());
                assert_ne!(a.port(), 0);
            }
            // IPv6 present but no loopback address configured.
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {}
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn bind_conflict_is_an_error_without_reuseport() {
        let a = TcpSocket::new_v4().unwrap();
        a.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        a.inner.listen(1).unwrap();
        let addr = a.local_addr().unwrap();
        let b = TcpSocket::new_v4().unwrap();
        let err = b.bind(addr).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }

    #[test]
    fn reuseport_lets_two_sockets_bind_one_port() {
        let a = TcpSocket::new_v4().unwrap();
        a.set_reuseport(true).unwrap();
        a.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        a.inner.listen(1).unwrap();
        let b = TcpSocket::new_v4().unwrap();
        b.set_reuseport(true).unwrap();
        b.bind(a.local_addr().unwrap()).unwrap();
    }
}
