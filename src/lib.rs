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
//! | [`chan`], [`select!`], [`select_blocking!`] | `goro-channels` | Go's channels and `select` |
//! | [`sync`] | `goro-sync` | async sync primitives: `Mutex`, `RwLock`, `Semaphore`, `WaitGroup`, ... |
//! | [`context`], [`time::after`], [`time::tick`], [`sync::ErrGroup`] | `goro-context` | Go's `context`, timer channels and `errgroup` |
//! | [`io`], [`prelude`] | `goro-io` | IO extension traits, copy, buffered IO, `duplex` |
//! | [`signal`] | `goro-signal` | `ctrl_c`, Unix signal streams |
//! | [`process`] | `goro-process` | child processes with async pipes |
//! | [`fs`] | `goro-fs` | filesystem calls on the blocking pool |
//! | `hyper` (feature `hyper`) | `goro-compat` | hyper's executor, timer, IO and client connector on goro |
//! | `compat::tokio` (feature `tokio`) | `goro-compat` | a future run inside a tokio context, for tokio-only crates |
//! | tokio `AsyncRead`/`AsyncWrite` on [`net`] streams (feature `tokio-io`) | `goro-reactor` | tokio-util codecs and friends on goro sockets |

/// Cooperative scheduling: what a task needs to share its worker fairly.
///
/// Every task poll runs with a budget of operations on goro resources
/// (channels, sockets, timers); once it is spent those operations return
/// `Pending` once, so the task yields. See the `goro-coop` crate for the
/// design; the budget itself is managed by the runtime.
pub mod coop {
    pub use goro_coop::{consume_budget, set_wait_reason, unconstrained, WaitReason};
}
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

/// Async sync primitives (`goro-sync`) and `ErrGroup` (`goro-context`).
pub mod sync {
    pub use goro_context::ErrGroup;
    pub use goro_sync::*;
}

pub use goro_fs as fs;
pub use goro_process as process;
pub use goro_signal as signal;

#[cfg(any(feature = "hyper", feature = "tokio"))]
pub use goro_compat as compat;
#[cfg(feature = "hyper")]
pub use goro_compat::hyper;
