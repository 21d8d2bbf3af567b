//! TCP: [`TcpListener`], [`TcpStream`] and the stream's split halves.

mod listener;
mod stream;

pub use listener::TcpListener;
pub use stream::TcpStream;

mod split {
    use super::TcpStream;
    crate::net::split::split_halves!(TcpStream, std::net::SocketAddr);
}
pub(crate) use split::split_owned;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
