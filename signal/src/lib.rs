//! # goro-signal: Unix signals as futures
//!
//! [`ctrl_c`] waits for SIGINT; [`unix::signal`] gives a [`unix::Signal`]
//! whose `recv().await` completes once per delivery of one signal.
//!
//! ## From a handler to a task
//!
//! A signal handler may do almost nothing: no locks, no allocation, no
//! waking of wakers (a waker may lock or allocate). So the handler does two
//! async-signal-safe things: it sets the signal's `pending` flag and writes
//! one byte to a non-blocking self-pipe (a Unix socket pair; a full pipe
//! drops the byte, which is fine because the flag is already set). Handlers
//! are installed through `signal-hook-registry`, which chains them with any
//! other handler in the process, keeps the previous action, and saves
//! `errno` around them.
//!
//! The read end of the pipe is the only thing the reactor sees. Every
//! [`unix::Signal`] registers its own duplicate of it with the current
//! runtime's reactor ([`goro_reactor::fd::AsyncFd`]); epoll reports the
//! edge to every duplicate, so whichever listener's task is polled first
//! **dispatches**: it drains the pipe, then, for each signal whose
//! `pending` flag it swaps off, bumps that signal's delivery generation and
//! wakes every listener of it. (Draining before swapping matters: a
//! delivery that lands after the swap also wrote a byte after the drain, so
//! it produces a new edge.)
//!
//! ## Broadcast
//!
//! Several listeners of one signal all see each delivery: a listener
//! remembers the generation it last returned, and `recv` completes when the
//! signal's generation has moved past it. Deliveries that arrive between
//! two `recv`s coalesce into one (the kernel coalesces pending signals the
//! same way). A listener sees deliveries from its creation on.
//!
//! ## Rejected alternatives
//!
//! * One reader thread blocking on the pipe: a thread per process for a
//!   rare event, and a second wake-up path next to the reactor.
//! * A dispatcher task spawned on the runtime: the signal crate would need
//!   the executor, and the task would die with the runtime that spawned it
//!   while listeners on another runtime still wait.
//!
//! ## Limits (what differs from tokio)
//!
//! * Once a signal has a listener, its default action (for SIGINT:
//!   terminate the process) is replaced for the life of the process, as in
//!   tokio; dropping every listener does not restore it.
//! * SIGKILL, SIGSTOP, SIGILL, SIGFPE and SIGSEGV cannot be listened for
//!   (`InvalidInput`), nor numbers outside `1..=64`.
//! * Each listener holds one file descriptor (its duplicate of the pipe).
//! * Creating a listener outside a goro runtime panics (the reactor's
//!   rule); once the runtime has shut down, `recv` returns `None`.

#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(unix)]
mod registry;
#[cfg(unix)]
pub mod unix;

use std::io;

/// Waits for the next Ctrl-C (SIGINT).
///
/// The listener is created when the future is first polled; a SIGINT
/// before that is not seen. The first call installs a handler, so from
/// then on SIGINT no longer terminates the process by itself.
///
/// # Panics
/// When first polled outside a goro runtime.
#[cfg(unix)]
pub async fn ctrl_c() -> io::Result<()> {
    let mut sig = unix::signal(unix::SignalKind::interrupt())?;
    match sig.recv().await {
        Some(()) => Ok(()),
        None => Err(io::Error::other(
            "the goro runtime shut down while waiting for Ctrl-C",
        )),
    }
}
