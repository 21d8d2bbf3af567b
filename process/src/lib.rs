//! # goro-process: child processes without blocking a worker
//!
//! [`Command`] is std's builder; [`Command::spawn`] gives a [`Child`] whose
//! pipes are async ([`ChildStdin`] implements futures-io's `AsyncWrite`,
//! [`ChildStdout`] and [`ChildStderr`] `AsyncRead`) and whose exit is a
//! future ([`Child::wait`]). [`Command::output`] and [`Command::status`]
//! are the one-shot forms.
//!
//! ## Spawning
//!
//! `spawn` is std's `spawn` (fork/exec, or posix_spawn), run on the calling
//! worker: it returns as soon as the child has exec'd, so a command that
//! does not exist fails right there with std's `NotFound`. Then the
//! parent's ends of the pipes are switched to non-blocking mode and
//! registered with the reactor through [`goro_reactor::fd::AsyncFd`]; a
//! read that finds a pipe empty parks the task until epoll reports data or
//! the child's end closing.
//!
//! ## Noticing the exit
//!
//! No thread waits for a child. On Linux (5.3 and later) a **pidfd**
//! (`pidfd_open(2)`) is opened for each child and registered with the
//! reactor; it turns readable when the child exits, and `wait` then reaps
//! the child with a non-blocking `waitpid` on its pid. Where `pidfd_open`
//! is missing (an older kernel: `ENOSYS`; another Unix), each child gets
//! a SIGCHLD listener from goro-signal, created *before* the fork so no
//! exit can fall between the spawn and the listener; on every SIGCHLD
//! each waiting child retries its `waitpid` (SIGCHLDs coalesce, so one
//! delivery may stand for several exits).
//!
//! The pidfd is closed as soon as the child is reaped, so a finished child
//! holds no descriptor.
//!
//! ## Children that are dropped
//!
//! Dropping a [`Child`] does not kill it (std's rule) unless
//! [`Command::kill_on_drop`] was set, in which case it gets SIGKILL. Either
//! way a child that has not been reaped yet goes onto a process-wide
//! orphan list, which every later `spawn` and every completed `wait` of
//! this crate sweeps with non-blocking `waitpid`s, so it does not stay a
//! zombie for long in a program that keeps running processes.
//!
//! ## Rejected alternatives
//!
//! * A thread per child blocked in `waitpid`: a thread and its stack for
//!   every child; 1,000 concurrent children would be 1,000 threads.
//! * `waitpid(-1)` on SIGCHLD: it would reap children this crate does not
//!   own (std's, another library's), stealing their exit status.
//!
//! ## Limits (what differs from tokio)
//!
//! * Orphans are swept by later spawns and waits of this crate, not by a
//!   SIGCHLD handler in the runtime; a program that drops a running child
//!   and never spawns again leaves a zombie when that child exits.
//! * [`ChildStdin`]'s `poll_close` closes the pipe (the child sees EOF);
//!   tokio's `shutdown` of a child's stdin is a no-op.
//! * Spawning outside a goro runtime panics (the reactor's rule), before
//!   any process is started.

#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]
#![cfg(unix)]

mod child;
mod pipe;

pub use child::Child;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};

use std::ffi::OsStr;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

/// A process builder: std's `Command`, plus [`kill_on_drop`](Self::kill_on_drop),
/// with async `spawn`ed children.
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    stdin_set: bool,
    /// Tests of the SIGCHLD path turn the pidfd off.
    pub(crate) use_pidfd: bool,
}

impl Command {
    /// A command for `program`, with std's defaults (inherit stdio, env
    /// and working directory).
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, val);
        self
    }

    /// Sets environment variables.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Clears the environment.
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's stdin (default: inherit; [`output`](Self::output):
    /// null unless set here).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// The child's stdout (default: inherit; `output` always pipes it).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// The child's stderr (default: inherit; `output` always pipes it).
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Whether dropping the [`Child`] before it was reaped sends it SIGKILL
    /// (default `false`, as in std).
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// The std builder, for what this one does not forward (`uid`,
    /// `pre_exec`, `process_group`, ...).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// The std builder.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// Starts the process.
    ///
    /// # Errors
    /// What std's `spawn` gives (`NotFound` for a missing program,
    /// `PermissionDenied`, ...), or the OS error from registering a pipe.
    ///
    /// # Panics
    /// Outside a goro runtime (checked before the process is started).
    #[track_caller]
    pub fn spawn(&mut self) -> io::Result<Child> {
        child::spawn(self)
    }

    /// Runs the command to completion with std's defaults for `status`
    /// (stdio inherited) and returns its exit status.
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        // Nothing reads a pipe here, so none is kept (std does the same).
        child.stdin.take();
        child.stdout.take();
        child.stderr.take();
        child.wait().await
    }

    /// Runs the command to completion and collects its output: stdout and
    /// stderr are piped (overriding earlier settings), stdin is null
    /// unless [`stdin`](Self::stdin) was called.
    pub async fn output(&mut self) -> io::Result<Output> {
        if !self.stdin_set {
            self.std.stdin(Stdio::null());
        }
        self.std.stdout(Stdio::piped());
        self.std.stderr(Stdio::piped());
        let child = self.spawn()?;
        child.wait_with_output().await
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            stdin_set: false,
            use_pidfd: true,
        }
    }
}
