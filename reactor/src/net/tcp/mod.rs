//! TCP: [`TcpListener`], [`TcpStream`], the stream's split halves, and
//! [`TcpSocket`] for options that must be set before `listen` or `connect`.

mod listener;
mod socket;
mod stream;

pub use listener::TcpListener;
pub use socket::{default_backlog, TcpSocket};
pub use stream::TcpStream;

mod split {
    use super::TcpStream;
    crate::net::split::split_halves!(TcpStream, std::net::SocketAddr);
}
pub(crate) use split::split_owned;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
