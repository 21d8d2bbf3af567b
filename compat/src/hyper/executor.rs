//! [`GoroExecutor`]: `hyper::rt::Executor` on goro's scheduler.

use std::future::Future;

/// Spawns hyper's background futures (HTTP/2 connection and stream tasks,
/// the client pool's connection tasks) as goro tasks on the runtime
/// current where [`execute`](::hyper::rt::Executor::execute) is called.
///
/// The impl is blanket over every `Future + Send + 'static`, so hyper's
/// `Http2ServerConnExec` and `Http2ClientConnExec` bounds hold. Spawned
/// tasks are detached: their `JoinHandle` is dropped, and a panic in one
/// is reported by goro like any detached task's.
///
/// # Panics
/// `execute` panics outside a goro runtime (no task, `block_on` or
/// `Handle::enter` on this thread): there is nowhere to run the future.
#[derive(Clone, Copy, Debug, Default)]
pub struct GoroExecutor {
    _private: (),
}

impl GoroExecutor {
    /// An executor for the current goro runtime (looked up at each
    /// `execute`, so one value can serve any runtime).
    pub fn new() -> Self {
        GoroExecutor { _private: () }
    }
}

impl<F> ::hyper::rt::Executor<F> for GoroExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    #[track_caller]
    fn execute(&self, fut: F) {
        match goro_executor::runtime::Handle::try_current() {
            Some(handle) => drop(handle.spawn(fut)),
            None => panic!(
                "goro::hyper::GoroExecutor used outside a goro runtime: hyper spawned a task \
                 from a thread that is not running goro (call hyper from a goro task, \
                 Runtime::block_on or #[goro::main])"
            ),
        }
    }
}
