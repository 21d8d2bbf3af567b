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
//! | [`context`], [`time::after`], [`time::tick`], [`sync::ErrGroup`] | `goro-context` | Go's `context`, timer channels and `errgroup` |
//! | [`io`], [`prelude`] | `goro-io` | IO extension traits, copy, buffered IO, `duplex` |
//! | [`chan`], [`select!`], [`select_blocking!`], [`sync`] | `goro-channels` | Go's channels, `select`, and async sync primitives |

pub use goro_coop as coop;
pub use goro_executor::{block_on, runtime, spawn, task, task_local};
pub use goro_io as io;
pub use goro_io::prelude;
pub use goro_macros::{main, test};
pub use goro_reactor::net;

pub use goro_channels::{chan, select, select_blocking};
pub use goro_context as context;

/// Timers (`goro-reactor`) and Go's timer channels `after`/`tick`
/// (`goro-context`).
pub mod time {
    pub use goro_context::{after, tick};
    pub use goro_reactor::time::*;
}

/// Async sync primitives (`goro-channels`) and `ErrGroup` (`goro-context`).
pub mod sync {
    pub use goro_channels::sync::*;
    pub use goro_context::ErrGroup;
}
