//! # goro-executor: Go's scheduler for futures
//!
//! goro schedules futures the way Go's runtime schedules goroutines. The
//! vocabulary is Go's, and each word names one struct:
//!
//! * **G**, a task: one heap record holding a state word, the future and
//!   then its output ([`task`], `task/raw.rs`). The task is its own Waker.
//! * **P**, a processor (`Processor`, `processor.rs`): the right to run
//!   tasks, with a 256-slot local run queue and a `runnext` slot. There are
//!   as many Ps as worker threads; a P is a box that one thread owns at a
//!   time and can hand to another.
//! * **M**, a machine (`Machine`, `worker.rs`): a thread that holds a P
//!   and runs its tasks: a runtime worker thread, or the thread inside
//!   `block_on` on a current-thread runtime (`current_thread.rs`).
//!
//! ## How a task runs
//!
//! `spawn` allocates the record (refcount 3: the runtime's owned-task list,
//! the queued `Notified`, the `JoinHandle`), lists it, and queues it: into
//! the spawning P's `runnext` when called from a task (Go's `newproc`),
//! otherwise into the global injector, waking a parked M if nobody is
//! searching for work. An M takes it (runnext, local queue, injector every
//! 61 ticks, stealing half of another P's queue), sets RUNNING, and polls it
//! inside a coop budget of 128 operations (`goro_coop`) and a
//! `catch_unwind`. `Pending` with no wake-up leaves the task idle until a
//! Waker fires; a wake-up during the poll (`yield_now`) requeues it at the
//! back of the local queue; a wake-up from a running task puts it in
//! `runnext`. `Ready` (or a panic) stores the output, wakes the
//! JoinHandle's waker, and takes the task off the owned list.
//!
//! ## Why this shape
//!
//! * *One allocation per task, Waker = task.* Waking costs a CAS on the
//!   state word and a queue push; `wake_by_ref` does not touch the
//!   reference count. The record is 88 bytes (a 64-byte header with
//!   the id, spawn site, parent id and wait reason and time that task
//!   dumps read, the scheduler pointer, the JoinHandle's waker slot) plus a
//!   stage that holds the future and then its `Result<Output, JoinError>`
//!   (an untagged union, as large as the larger of the two; its variant is
//!   a byte of the header's padding): 112 bytes for a future that holds
//!   nothing, on 64-bit targets (asserted by
//!   `task::raw::tests::record_size`). Freed records are kept for reuse,
//!   per thread and in a bounded process-wide pool (`task/free_list.rs`,
//!   Go's `gFree`), so a spawn seldom reaches the allocator. `yield_now` on goro's own harness skips
//!   its wake and lets the harness requeue the task (`task/current.rs`).
//! * *Per-P queues and stealing* keep spawns and wake-ups local (no shared
//!   lock on the hot path) while idle Ms balance the load.
//! * *runnext* makes producer/consumer hand-offs run back to back on one
//!   core, hot in cache; a streak cap of 3 keeps it from starving the queue,
//!   and an M that finds nothing else may steal it (see `worker.rs`).
//! * *Spinning Ms, at most half of them (rounded up), and the "last
//!   searcher wakes another" rule* (Go's `wakep`) wake a thread only when
//!   work may go unnoticed, so a burst of spawns costs one syscall, not
//!   one per task. The protocol, its StoreLoad fences and its loom model
//!   are described in "Worker thread parking/unparking" in `worker.rs`.
//! * *The reactor is a parking backend*: the first M to run out of work
//!   blocks in the OS poller (`goro_reactor::Driver::park`); the others
//!   sleep on condition variables (`park.rs`). IO readiness wakes tasks on
//!   the polling M's own P, like Go's netpoller handing Gs to the P that
//!   polled. Busy Ms poll it without blocking every 61 ticks, unless no
//!   socket is registered and no timer is armed (as Go checks
//!   `netpollAnyWaiters` before it polls).
//!
//! ## What goro does not do
//!
//! Futures cannot be preempted: a poll that never returns holds its M and
//! its P. The coop budget limits the damage for code that uses goro
//! resources, and a minimal sysmon (`sysmon.rs`) makes a busy M poll the
//! reactor every millisecond (plus the poll in progress) once the Ms stop
//! polling it on their own (noticed within 8 ms), so IO next to CPU-bound
//! tasks is not left waiting for 61 long polls. A P is detachable (a box
//! an M can hand to another): `task::block_in_place` hands the caller's P
//! over, as Go's `handoffp` does for an M entering a syscall, and sysmon
//! moves the queued work of a P stuck in one poll for `blocking_threshold`
//! to a spare M (`handoff.rs`). See `docs/architecture.md` and
//! `docs/HACKING.md`.
//!
//! ## Orientation
//!
//! The core: `task/` (G: record, state word, JoinHandle, waker, owned
//! list) · `processor.rs` (P) · `worker.rs` (M loop, finding work,
//! parking) · `current_thread.rs` (the current-thread M, and `block_on` on
//! a plain thread) · `idle.rs` (searching and sleeping counters) ·
//! `park.rs` (the Park / Unpark seam) · `injector.rs` (global queue) ·
//! `queue/` (local ring) · `shared.rs` (per-runtime state, its creation and
//! shutdown) · `context.rs` (the thread's runtime context: every
//! thread-local but the task-record cache) · `sysmon.rs` (reactor-poll
//! flag, schedtrace) · `handoff.rs` (block_in_place, blocked-worker
//! handoff) · `blocking.rs` (spawn_blocking pool) · `metrics.rs`
//! (per-P counters behind `Handle::metrics`) · `trace.rs` (`GORO_DEBUG`
//! schedtrace) · `hooks.rs` (task hooks, unhandled-panic policy). See
//! `docs/debugging.md`.
//!
//! The API layer: `runtime/` (Runtime, Builder, Handle) and this file's
//! `spawn` and `block_on`. Imports go one way, from the API into the core;
//! no core module imports from `runtime/`.

#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

mod blocking;
mod context;
mod current_thread;
mod deadlock;
mod dump;
mod handoff;
mod hooks;
mod idle;
mod injector;
mod loom;
mod metrics;
mod park;
mod processor;
mod queue;
pub mod runtime;
mod shared;
mod sysmon;
pub mod task;
mod trace;
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
    match context::with_current(move |shared| shared.spawn(future, location)) {
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
