//! Networking: TCP, UDP and Unix sockets (exported as `goro::net`).
//!
//! Every type registers with the reactor of the runtime it was created in
//! (an accepted stream with its listener's) and is driven by it wherever it
//! is polled. Each has the readiness API — `readable().await`,
//! `writable().await`, `try_read`/`try_write` (or `try_send`/`try_recv`) —
//! and the stream types implement futures-io `AsyncRead`/`AsyncWrite`
//! (and, with the `tokio-io` feature, tokio's; see `tokio_io.rs`).
//!
//! Constructors called outside a goro runtime panic (see "Outside a
//! runtime" in the crate docs); after the runtime shut down, every
//! operation fails with an `io::Error` saying so.

mod addr;
mod inq;
mod poll_evented;
mod split;
pub mod tcp;
#[cfg(feature = "tokio-io")]
mod tokio_io;
mod udp;
pub mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
