//! Unix domain sockets: [`UnixListener`], [`UnixStream`] (with split
//! halves) and [`UnixDatagram`]. Addresses are std's
//! `std::os::unix::net::SocketAddr`.

mod datagram;
mod listener;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;

mod split {
    use super::UnixStream;
    crate::net::split::split_halves!(UnixStream, std::os::unix::net::SocketAddr);
}
pub(crate) use split::split_owned;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
