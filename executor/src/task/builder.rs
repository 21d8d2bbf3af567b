//! `task::Builder`: spawning with a name.

use super::JoinHandle;
use crate::context;
use std::future::Future;
use std::io;
use std::panic::Location;

/// Spawns a task with a name, shown by task dumps
/// (`runtime::Handle::dump`) and the deadlock report.
///
/// ```
/// # goro_executor::block_on(async {
/// let handle = goro_executor::task::Builder::new()
///     .name("acceptor")
///     .spawn(async { 7 })
///     .expect("inside a runtime");
/// assert_eq!(handle.await.unwrap(), 7);
/// # });
/// ```
///
/// `spawn` and `spawn_blocking` return an `io::Result`, as tokio's
/// `task::Builder` does, so that code written for one compiles against
/// the other; here the error is "not inside a goro runtime" (where
/// [`crate::spawn`] panics). A runtime that has shut down is not an error:
/// the handle resolves to a cancelled `JoinError`, as with `spawn`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Builder<'a> {
    name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder for an unnamed task.
    pub fn new() -> Builder<'a> {
        Builder { name: None }
    }

    /// The task's name (copied at spawn into the runtime's side table of
    /// names; the task record itself does not grow).
    pub fn name(self, name: &'a str) -> Builder<'a> {
        Builder { name: Some(name) }
    }

    /// Spawns `future` on the current runtime (see [`crate::spawn`]).
    ///
    /// # Errors
    /// Outside a goro runtime.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let location = Location::caller();
        context::with_current(|shared| shared.spawn_named(future, location, self.name))
            .ok_or_else(outside)
    }

    /// Runs `f` on the current runtime's blocking pool (see
    /// [`crate::task::spawn_blocking`]).
    ///
    /// # Errors
    /// Outside a goro runtime.
    #[track_caller]
    pub fn spawn_blocking<F, R>(self, f: F) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let location = Location::caller();
        context::with_current(|shared| shared.spawn_blocking_named(f, location, self.name))
            .ok_or_else(outside)
    }
}

fn outside() -> io::Error {
    io::Error::other(
        "goro::task::Builder::spawn called outside a goro runtime: call it from a task, from \
         Runtime::block_on or #[goro::main], or after Handle::enter",
    )
}
