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
//! | [`signal`] | `goro-signal` | `ctrl_c`, Unix signal streams |
//! | [`process`] | `goro-process` | child processes with async pipes |
//! | [`fs`] | `goro-fs` | filesystem calls on the blocking pool |

pub use goro_coop as coop;
pub use goro_executor::{block_on, runtime, spawn, task};
pub use goro_macros::{main, test};
pub use goro_reactor::{net, time};

pub use goro_channels::{chan, select, select_blocking, sync};

pub use goro_fs as fs;
pub use goro_process as process;
pub use goro_signal as signal;
