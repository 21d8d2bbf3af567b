//! # goro-reactor: the netpoller
//!
//! A goroutine that reads from a socket costs nothing while it waits: Go's
//! runtime parks it, and the netpoller (`runtime/netpoll.go`) makes it
//! runnable again when epoll says the socket is ready. This crate is that
//! netpoller for goro, plus the timers that share its sleep. It knows
//! `Waker`s, never tasks, so it works under any executor (its own tests use
//! a thirty-line one), and the goro executor plugs it into its park seam.
//!
//! ## Glossary
//!
//! * **Driver** ([`Driver`]): the part that blocks. It owns the
//!   `mio::Poll`; one exists per runtime, and it is held by whichever worker
//!   thread is parked in it.
//! * **Handle** ([`Handle`]): a cheap `Arc` to the shared state — the mio
//!   registry, the registration slab, the timer wheel and the `mio::Waker`.
//!   Sockets and timers keep one; any thread may use it.
//! * **Registration**: one socket's slot in the slab: readiness bits plus a
//!   list of reader wakers and one of writer wakers (`scheduled_io.rs`,
//!   `registration.rs`).
//! * **Tick**: a millisecond of timer time (`time/wheel.rs`), or, in a
//!   readiness word, a count of delivered events (`scheduled_io.rs`).
//!
//! ## Parking
//!
//! The executor's first idle worker calls [`Driver::park`]; the others
//! sleep on their own parkers. `park(timeout)`:
//!
//! 1. advances the timer wheel to now, collecting expired timers' wakers,
//!    and computes `min(timeout, nearest timer)`; if a timer fired it does
//!    not block at all (`Some(ZERO)`), because it already has work to hand
//!    back. It writes the tick it will sleep until, under the wheel lock;
//! 2. blocks in `Poll::poll` for that long;
//! 3. for every event, ORs the readiness into the registration (bumping its
//!    tick) and takes the wakers that care;
//! 4. advances the wheel again and wakes everything it collected, on the
//!    calling thread, after every lock is released.
//!
//! [`Handle::unpark`] (a `mio::Waker`, an eventfd on Linux) ends step 2
//! early, or makes the next step 2 return at once. Work pushed from
//! another thread uses it, and so does a timer inserted earlier than the
//! tick the driver is sleeping toward (see time/clock.rs, "Waking a driver
//! that sleeps too long"). A busy runtime calls `park(Some(ZERO))`
//! every 61 scheduler ticks so IO is never starved by CPU-bound tasks
//! (Go polls the network from `findrunnable` and `sysmon` the same way).
//! [`Handle::poll_io_now`] polls sockets without blocking from any thread,
//! also while another is parked in the driver; an executor's worker that
//! ran out of tasks uses it (see `concurrent_poll.rs`).
//!
//! ## Readiness
//!
//! Sockets are registered once, edge-triggered, for both directions.
//! The driver caches each edge in the registration's readiness word; an
//! operation runs the syscall while the bit is set and clears it when the
//! syscall says `WouldBlock`. That clear races with new edges; the tick in
//! the readiness word settles the race — see "The clear race" in
//! `scheduled_io.rs`, which the loom model in the same file checks.
//! A stream read or write that moves fewer bytes than asked for has
//! drained the socket, so it clears the readiness at once (same tick
//! check), saving the syscall that would only say `WouldBlock`.
//! Tokens carry a generation so a stale event never wakes the wrong task
//! (`registration.rs`, "Tokens").
//!
//! ## Any file descriptor
//!
//! [`fd::AsyncFd`] registers a descriptor the caller owns (a self-pipe, a
//! pidfd, a child's pipe) the same way, and hands out readiness guards; the
//! caller runs the syscalls. The signal and process crates are built on it.
//!
//! ## Cooperative budget
//!
//! Every IO operation or timer that completes spends one unit of the task's
//! coop budget ([`goro_coop::poll_proceed`]); with the budget spent it
//! answers `Pending` after re-waking the task, so a task that always finds
//! its socket ready still lets its neighbours run.
//!
//! ## Outside a runtime
//!
//! One rule: **creating** a net type or a timer needs a current reactor
//! ([`Handle::enter`], which every goro worker and `block_on` hold), and
//! without one it **panics** with a message saying there is no goro
//! runtime — also where the constructor returns `io::Result`, because
//! using a socket outside a runtime is a programming error, not an IO
//! condition (async constructors such as `TcpStream::connect` panic when
//! first polled). Once the runtime has shut down ([`Driver::shutdown`]),
//! every pending and later IO operation fails with an `io::Error` saying
//! so (IO already returns `io::Result`), and polling a sleep panics with
//! a message saying so (a sleep has no error channel; completing it would
//! pretend that time passed).
//!
//! ## Shutdown and leaks
//!
//! Wakers stored in the reactor point at tasks that own sockets that point
//! back at the reactor: a cycle. [`Driver::shutdown`] (also run when the
//! driver drops) breaks it by taking every waker out of every registration
//! and dropping every timer, waking them so pending operations observe
//! the shutdown. Dropping a socket deregisters it and frees its slot;
//! dropping a `Sleep` removes its timer in O(1).
//!
//! ## Additions to the executor seam
//!
//! Beyond `Driver::{new, handle, park, shutdown, set_blocking_spawner}` and
//! `Handle::{unpark, enter, current, try_current}`:
//!
//! * [`Handle::needs_polling`]: whether a non-blocking park could find
//!   anything (a socket registered or a timer armed); a busy worker skips
//!   its periodic non-blocking poll when it is false.
//! * [`Handle::polls`]: how many times the reactor has been polled; the
//!   executor's monitor thread compares it between ticks to tell whether
//!   anyone is noticing IO.
//! * the diagnostics [`Handle::io_registrations`] and
//!   [`Handle::pending_timers`] (tests use them to prove nothing leaks),
//!   and [`Handle::metrics`] / [`metrics`]: registered sockets, readiness
//!   events dispatched, armed timers.

#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(target_os = "linux")]
mod concurrent_poll;
mod driver;
pub mod fd;
mod metrics;
/// Loom's synchronisation types under `--cfg loom`, std's otherwise.
use goro_loom as loom;
pub mod net;
mod registration;
mod scheduled_io;
pub mod time;

pub use driver::{BlockingSpawner, Driver, EnterGuard, Handle};
pub use metrics::{metrics, ReactorMetrics};

#[cfg(all(test, not(loom)))]
mod tests {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        send_sync::<crate::Handle>();
        send_sync::<crate::Driver>();
        send_sync::<crate::time::Sleep>();
        send_sync::<crate::time::Interval>();
        send_sync::<crate::net::TcpStream>();
        send_sync::<crate::net::TcpListener>();
        send_sync::<crate::net::UdpSocket>();
        send_sync::<crate::net::UnixStream>();
        send_sync::<crate::net::UnixListener>();
        send_sync::<crate::net::UnixDatagram>();
        send_sync::<crate::net::tcp::OwnedReadHalf>();
        send_sync::<crate::net::tcp::OwnedWriteHalf>();
        send_sync::<crate::net::unix::OwnedWriteHalf>();
        send_sync::<crate::fd::AsyncFd<std::os::fd::OwnedFd>>();
    }
}
