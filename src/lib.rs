//! # goro
//!
//! Go's scheduler, in Rust, on stackless futures. This crate is the facade:
//! everything here is re-exported from the workspace crates, each of which
//! opens with its own design essay.
//!
//! | path | crate | what |
//! |---|---|---|
//! | [`spawn`], [`block_on`], [`task`], [`runtime`] | `goro-executor` | tasks (G), processors (P), worker threads (M) |
//! | [`main`], [`test`] | `goro-macros` | `#[goro::main]`, `#[goro::test]` |
//! | [`coop`] | `goro-coop` | the cooperative-scheduling budget |
//! | [`net`], [`time`] | `goro-reactor` | sockets and timers on the netpoller |
//! | [`chan`], [`select!`], [`select_blocking!`], [`sync`] | `goro-channels` | Go's channels, `select`, and async sync primitives |
//! | `hyper` (feature `hyper`) | `goro-compat` | hyper's executor, timer, IO and client connector on goro |
//! | `compat::tokio` (feature `tokio`) | `goro-compat` | a future run inside a tokio context, for tokio-only crates |
//! | tokio `AsyncRead`/`AsyncWrite` on [`net`] streams (feature `tokio-io`) | `goro-reactor` | tokio-util codecs and friends on goro sockets |

pub use goro_coop as coop;
pub use goro_executor::{block_on, runtime, spawn, task};
pub use goro_macros::{main, test};
pub use goro_reactor::{net, time};

pub use goro_channels::{chan, select, select_blocking, sync};

#[cfg(any(feature = "hyper", feature = "tokio"))]
pub use goro_compat as compat;
#[cfg(feature = "hyper")]
pub use goro_compat::hyper;
