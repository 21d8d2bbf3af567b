//! hyper 1 on goro (feature `hyper`): an executor, a timer, IO and a
//! client connector.
//!
//! ```no_run
//! use goro_compat::hyper::{Connector, GoroExecutor, GoroTimer};
//! use hyper_util::client::legacy::Client;
//! # type Body = http_body_util::Empty<bytes::Bytes>;
//! # async fn f() {
//! let client: Client<Connector, Body> = Client::builder(GoroExecutor::new())
//!     .timer(GoroTimer::new())
//!     .build(Connector::new());
//! # }
//! ```
//!
//! A server accepts goro `TcpStream`s, wraps each in [`GoroIo`] and hands
//! it to hyper's (or hyper-util's) connection builder with
//! [`GoroExecutor`] and [`GoroTimer`]; `examples/http_server.rs` in the
//! goro repository is a complete one.

mod connector;
mod executor;
mod io;
mod timer;

pub use connector::Connector;
pub use executor::GoroExecutor;
pub use io::{GoroIo, GoroRead, GoroWrite};
pub use timer::{GoroSleep, GoroTimer};
