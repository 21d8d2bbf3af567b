//! # goro-executor: Go's scheduler for futures
//!
//! DESIGN ESSAY: see below.

#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

mod blocking;
mod idle;
mod injector;
mod loom;
mod park;
mod processor;
mod queue;
pub mod runtime;
mod shared;
pub mod task;
mod worker;

use std::future::Future;
use std::panic::Location;
use std::sync::OnceLock;

pub use task::JoinHandle;

/// Spawns a task on the current runtime and returns a handle to its output.
///
/// The task starts running right away, on a worker (the new task goes to
/// the runnext slot of the spawning worker, as Go's `go` statement does).
///
/// # Panics
/// Outside a goro runtime: call it from a task, from `block_on`, or after
/// `Handle::enter`.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let location = Location::caller();
    match runtime::context::with_current(move |shared| shared.spawn(future, location)) {
        Some(join) => join,
        None => panic!(
            "goro::spawn called outside a goro runtime: call it from a task, from \
             Runtime::block_on or #[goro::main], or after Handle::enter"
        ),
    }
}

/// Runs `future` to completion on the process-wide default runtime (a
/// multi-thread runtime created on first use and never shut down).
///
/// # Panics
/// Inside a runtime thread or another `block_on`, or if the default runtime
/// cannot be created.
#[track_caller]
pub fn block_on<F: Future>(future: F) -> F::Output {
    static DEFAULT: OnceLock<runtime::Runtime> = OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            runtime::Runtime::new()
                .unwrap_or_else(|e| panic!("goro: cannot create the default runtime: {e}"))
        })
        .block_on(future)
}
