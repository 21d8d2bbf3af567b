//! The runtime API: `Runtime` owns the worker threads (Ms) and the shared
//! state; `Handle` is a clonable reference to it; `Builder` configures it.
//!
//! This is the layer users see, and it only calls into the core
//! (`shared.rs`, `worker.rs`, `current_thread.rs`, `context.rs`, ...);
//! nothing in the core imports from here.

mod builder;
mod handle;

pub use crate::hooks::{TaskMeta, UnhandledPanic};
pub use crate::metrics::{RuntimeMetrics, WorkerMetrics};
pub use builder::Builder;
pub use handle::{EnterGuard, Handle};

use crate::task::JoinHandle;
use std::future::Future;
use std::time::Duration;

/// A goro runtime: Ps, the Ms that run them, a reactor and a blocking pool.
///
/// Dropping it shuts it down: workers stop after their current poll, every
/// unfinished task's future is dropped (its destructors run), the worker
/// threads are joined, and running blocking tasks are waited for.
pub struct Runtime {
    handle: Handle,
    workers: Vec<std::thread::JoinHandle<()>>,
    done: bool,
}

impl Runtime {
    /// A multi-thread runtime with one worker per CPU (or
    /// `GORO_WORKER_THREADS`).
    pub fn new() -> std::io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    pub(crate) fn from_parts(handle: Handle, workers: Vec<std::thread::JoinHandle<()>>) -> Runtime {
        Runtime {
            handle,
            workers,
            done: false,
        }
    }

    /// Runs `future` to completion on the current thread, with this runtime
    /// entered (so `spawn` works inside it), and returns its output.
    ///
    /// # Panics
    /// When called from inside a goro runtime thread or another `block_on`.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// Spawns a task on this runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs `f` on this runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// A handle to this runtime.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Enters this runtime's context on the current thread (see
    /// [`Handle::enter`]).
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// Shuts down, waiting at most `timeout` for running blocking tasks
    /// (tasks on the workers are always dropped at once).
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    /// Shuts down without waiting for running blocking tasks.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    fn shutdown(&mut self, blocking_timeout: Option<Duration>) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let workers = std::mem::take(&mut self.workers);
        self.handle.shared.shutdown(workers, blocking_timeout);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("handle", &self.handle)
            .finish()
    }
}
