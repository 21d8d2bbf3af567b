//! The runtime API: `Runtime` owns the worker threads (Ms) and the shared
//! state; `Handle` is a clonable reference to it; `Builder` configures it.
//!
//! This is the layer users see, and it only calls into the core
//! (`shared.rs`, `worker.rs`, `current_thread.rs`, `context.rs`, ...);
//! nothing in the core imports from here.

mod builder;
mod handle;
mod local;

pub use crate::deadlock::Deadlock;
pub use crate::dump::{Dump, TaskDump, TaskStatus};
pub use crate::hooks::{TaskMeta, UnhandledPanic};
pub use crate::metrics::{RuntimeMetrics, WorkerMetrics};
pub use builder::Builder;
pub use handle::{EnterGuard, Handle};

use crate::task::JoinHandle;
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A goro runtime: Ps, the Ms that run them, a reactor and a blocking pool.
///
/// Dropping it shuts it down and waits for that to finish: workers stop
/// after their current poll, every unfinished task's future is dropped (its
/// destructors run), the worker threads are joined, and running blocking
/// tasks are waited for. [`Runtime::shutdown_timeout`] and
/// [`Runtime::shutdown_background`] bound that wait.
pub struct Runtime {
    handle: Handle,
    workers: Vec<std::thread::JoinHandle<()>>,
    exits: Arc<ThreadExits>,
    done: bool,
}

impl Runtime {
    /// A multi-thread runtime with one worker per CPU (or
    /// `GORO_WORKER_THREADS`).
    pub fn new() -> std::io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    pub(crate) fn from_parts(
        handle: Handle,
        workers: Vec<std::thread::JoinHandle<()>>,
        exits: Arc<ThreadExits>,
    ) -> Runtime {
        Runtime {
            handle,
            workers,
            exits,
            done: false,
        }
    }

    /// Runs `future` to completion on the current thread, with this runtime
    /// entered (so `spawn` works inside it), and returns its output.
    ///
    /// # Panics
    /// When called from inside a goro runtime thread or another `block_on`,
    /// and on a deadlock under `Deadlock::Panic` (see [`Handle::block_on`]).
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

    /// Shuts down, returning after at most about `timeout`.
    ///
    /// Before it returns, on the calling thread:
    ///
    /// * every task that is not inside a poll at that moment has its future
    ///   dropped (destructors run with the runtime entered), and every
    ///   queued wake-up is discarded; spawns from then on return a
    ///   cancelled [`JoinHandle`];
    /// * the reactor is shut down (sockets and timers still held report an
    ///   error or never fire) and queued blocking jobs are dropped;
    /// * it waits, until `timeout` has passed, for each worker thread to
    ///   finish its current poll and exit, and for running blocking tasks.
    ///
    /// What may still run after it returns:
    ///
    /// * a worker still inside a poll at the deadline is left to finish it
    ///   on its own (detached): when that poll returns, the worker drops the
    ///   task's future on its own thread and exits. A poll that never
    ///   returns (a loop that never yields) keeps its thread, the task's
    ///   record and the runtime's shared state alive until the process
    ///   exits; nothing else of the runtime runs;
    /// * a blocking task still running keeps its thread until it returns;
    ///   its output is then dropped.
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(Instant::now() + timeout));
    }

    /// Shuts down without waiting: the same as
    /// [`shutdown_timeout`](Runtime::shutdown_timeout) with a zero timeout.
    /// Every task's future not being polled is dropped before it returns;
    /// the workers and running blocking tasks wind down on their own
    /// threads.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    /// `deadline`: `None` waits for ever (dropping the runtime).
    fn shutdown(&mut self, deadline: Option<Instant>) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let shared = &self.handle.shared;
        let workers = std::mem::take(&mut self.workers);
        shared.stop_workers();
        for worker in &workers {
            // Ends sysmon's sleep (worker threads do not use thread park).
            worker.thread().unpark();
        }
        // Dropped from a task on one of its own workers: that worker exits
        // when the task returns; waiting for it here would wait for
        // ourselves.
        let me = std::thread::current().id();
        let own = workers.iter().filter(|w| w.thread().id() == me).count();
        let all_exited = self.exits.wait(own, deadline);
        for worker in workers {
            if worker.thread().id() == me {
                continue;
            }
            if all_exited || worker.is_finished() {
                // It has left goro's code (its exit guard dropped); what is
                // left is its thread-local destructors. A worker only
                // panics through a bug in goro; keep shutting down.
                let _ = worker.join();
            }
            // Otherwise it is inside a poll that outlived the deadline:
            // dropping the handle detaches it (see `Shared::shutdown` for
            // why it stays safe to run).
        }
        shared.shutdown(deadline);
    }
}

/// Counts a runtime's threads (Ms and sysmon) that have not finished, so
/// that shutdown can wait for them with a deadline: `JoinHandle::join` has
/// none, and a worker inside a poll that never returns would hold it for
/// ever.
pub(crate) struct ThreadExits {
    running: Mutex<usize>,
    exited: Condvar,
}

/// Held by one runtime thread for as long as it runs; dropping it (at the
/// end of the thread's body, or by an unwind) counts the thread out.
pub(crate) struct ExitGuard(Arc<ThreadExits>);

impl ThreadExits {
    pub(crate) fn new() -> Arc<ThreadExits> {
        Arc::new(ThreadExits {
            running: Mutex::new(0),
            exited: Condvar::new(),
        })
    }

    /// Counts a thread in; call before spawning it, so that a wait cannot
    /// miss a thread that has not started yet.
    pub(crate) fn started(self: &Arc<Self>) -> ExitGuard {
        *self.running.lock().unwrap() += 1;
        ExitGuard(self.clone())
    }

    /// Waits until at most `own` threads run (`None`: for ever) and says
    /// whether that happened before `deadline`.
    fn wait(&self, own: usize, deadline: Option<Instant>) -> bool {
        let mut running = self.running.lock().unwrap();
        while *running > own {
            running = match deadline {
                None => self.exited.wait(running).unwrap(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    self.exited.wait_timeout(running, d - now).unwrap().0
                }
            };
        }
        true
    }
}

impl Drop for ExitGuard {
    fn drop(&mut self) {
        // A poisoned lock only means a waiter panicked; count out anyway.
        let mut running = self
            .0
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *running -= 1;
        self.0.exited.notify_all();
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
