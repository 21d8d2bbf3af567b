//! # goro-compat: the Rust HTTP stack and the tokio-IO ecosystem on goro
//!
//! Libraries plug into a runtime through a handful of traits: hyper asks
//! for an executor, a timer and a byte stream (`hyper::rt`); hyper-util's
//! client asks for a connector (`tower_service::Service<Uri>`); crates
//! written against tokio's IO traits ask for `tokio::io::AsyncRead` and
//! `AsyncWrite`; and some crates call `tokio::spawn`, `tokio::time` or
//! `tokio::net` directly. This crate answers each of those with a thin
//! adapter over goro's own types, one file per trait family, each behind
//! one cargo feature:
//!
//! | feature | what | file |
//! |---|---|---|
//! | `hyper` | [`hyper::GoroExecutor`]: `hyper::rt::Executor` | `hyper/executor.rs` |
//! | `hyper` | [`hyper::GoroTimer`]: `hyper::rt::Timer` on goro's timer wheel | `hyper/timer.rs` |
//! | `hyper` | [`hyper::GoroIo`]: `hyper::rt::Read + Write` over goro streams, and futures-io over hyper IO | `hyper/io.rs` |
//! | `hyper` | [`hyper::Connector`]: plain-HTTP connector for hyper-util's client | `hyper/connector.rs` |
//! | `tokio-io` | tokio's `AsyncRead`/`AsyncWrite` on goro's `TcpStream`, `UnixStream` and halves | `goro-reactor`'s `net/tokio_io.rs` |
//! | `tokio` | [`tokio()`]/[`Tokio`]: run a future inside a tokio context | `tokio_ctx.rs` |
//!
//! The `tokio-io` impls live in `goro-reactor`, beside the types they are
//! for, because the orphan rule forbids implementing a foreign trait for
//! a foreign type here; this crate's `tokio-io` feature only turns them on.
//!
//! ## Why adapters, not a tokio runtime underneath
//!
//! hyper 1 is runtime-agnostic by design: it names the three things it
//! needs as traits and never touches a reactor itself. Serving hyper on
//! goro's own netpoller keeps every connection task a goro task (G), its
//! socket on goro's reactor, and its timeouts on goro's wheel, so nothing
//! crosses a thread to make progress. A tokio runtime underneath (what
//! [`tokio()`] does for tokio-only crates) would cost a cross-thread
//! wake-up per readiness event; it is the fallback, not the path.
//!
//! ## Outside a goro runtime
//!
//! The adapters follow goro's rule: creating IO or a timer, or spawning,
//! needs a current goro runtime and panics with a message saying so
//! without one.

#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(feature = "hyper")]
pub mod hyper;

#[cfg(feature = "tokio")]
mod tokio_ctx;
#[cfg(feature = "tokio")]
pub use tokio_ctx::{tokio, Tokio};
