//! Runtime metrics: per-worker counters, always on, and the snapshot
//! [`RuntimeMetrics`] that `Handle::metrics` returns.
//!
//! # Why the counters cost nothing measurable
//!
//! Each P has one [`WorkerCounters`] in `Shared::counters`, written only by
//! the M holding that P. A write is a relaxed load and a relaxed store, not
//! a read-modify-write: with a single writer there is no lost update, and a
//! plain store is an ordinary `mov` where `fetch_add` would be a locked
//! instruction. The lock or handoff that moves a P from one thread to
//! another orders the writes of successive owners. Readers (a `metrics()`
//! call, sysmon's schedtrace) load with `Relaxed`: a counter is a
//! statistic, nothing is published through it, and a value a few
//! nanoseconds old is as good as a current one. Each P's block is aligned
//! to 128 bytes, so a P's writes never share a cache line with another's.
//!
//! Time is not measured per poll (an `Instant::now` per task would show in
//! the scheduler benches): `busy_duration` is the time the worker spent
//! not parked, taken at park and unpark, and `mean_poll_time` divides it by
//! the poll count, so it includes the scheduler's own time between polls.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Adds `n` to a counter that only the calling thread writes (see the
/// module docs).
#[inline]
pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

/// One P's counters; written by the M holding that P only.
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct WorkerCounters {
    pub(crate) polls: AtomicU64,
    pub(crate) steals: AtomicU64,
    pub(crate) steal_operations: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) unparks: AtomicU64,
    pub(crate) overflows: AtomicU64,
    pub(crate) forced_yields: AtomicU64,
    pub(crate) busy_ns: AtomicU64,
    pub(crate) spawned: AtomicU64,
    /// The record of the task the M holding this P polls (or polled
    /// last): stored before each poll, for sysmon's handoff report, which
    /// only compares it with listed records (see `handoff.rs`).
    pub(crate) running: std::sync::atomic::AtomicPtr<crate::task::raw::Header>,
    /// Whether the M holding this P is searching (for schedtrace).
    pub(crate) searching: std::sync::atomic::AtomicBool,
}

/// A snapshot of a runtime's counters, from
/// [`Handle::metrics`](crate::runtime::Handle::metrics).
///
/// Counters (`*_count`, `busy_duration`) only grow, from the runtime's
/// start; depths and thread counts are the value at the moment they were
/// read. Each is read on its own, without stopping the workers, so the
/// snapshot is not atomic: two fields may be a few microseconds apart.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Worker threads (Ps) of the runtime; 1 for a current-thread runtime.
    pub num_workers: usize,
    /// Tasks spawned (including `spawn_blocking`) and not yet completed.
    pub num_alive_tasks: usize,
    /// Tasks spawned since the runtime started (including
    /// `spawn_blocking`); `spawned_tasks_count - num_alive_tasks` is the
    /// number of tasks that completed or were cancelled.
    pub spawned_tasks_count: u64,
    /// Tasks waiting in the global injector queue.
    pub global_queue_depth: usize,
    /// Threads of the blocking pool, busy or idle.
    pub blocking_threads: usize,
    /// Threads of the blocking pool waiting for a job.
    pub idle_blocking_threads: usize,
    /// One entry per worker (P), by index.
    pub workers: Vec<WorkerMetrics>,
    /// The spare Ps' counters, added up: the work the blocked-worker
    /// handoff moved off workers stuck in a poll (see
    /// `Builder::blocking_threshold`). Its `local_queue_depth` is 0.
    pub spare: WorkerMetrics,
    /// The reactor's counters.
    pub reactor: goro_reactor::ReactorMetrics,
}

/// One worker's (P's) counters; see [`RuntimeMetrics`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct WorkerMetrics {
    /// Task polls run on this P.
    pub poll_count: u64,
    /// Tasks this P stole from other Ps (every task moved, including the
    /// one it ran at once).
    pub steal_count: u64,
    /// Successful steal operations (each moves one or more tasks).
    pub steal_operations: u64,
    /// Times this P's worker went to sleep for lack of work.
    pub park_count: u64,
    /// Times it woke up from such a sleep.
    pub unpark_count: u64,
    /// Tasks in this P's local queue, plus one if its runnext slot is full.
    pub local_queue_depth: usize,
    /// Times the local queue was full and moved half of itself to the
    /// injector.
    pub overflow_count: u64,
    /// Polls that spent the whole coop budget (128 operations), so that a
    /// goro resource made the task yield.
    pub budget_forced_yield_count: u64,
    /// Time the worker spent awake (polling tasks and looking for work).
    pub busy_duration: Duration,
    /// `busy_duration / poll_count`: an upper bound of the mean poll time
    /// (it includes the scheduler's time between polls).
    pub mean_poll_time: Duration,
}

impl WorkerMetrics {
    /// Adds the counters of `other` into `self` (for the spare Ps' sum).
    pub(crate) fn add(&mut self, other: &WorkerMetrics) {
        self.poll_count += other.poll_count;
        self.steal_count += other.steal_count;
        self.steal_operations += other.steal_operations;
        self.park_count += other.park_count;
        self.unpark_count += other.unpark_count;
        self.overflow_count += other.overflow_count;
        self.budget_forced_yield_count += other.budget_forced_yield_count;
        self.busy_duration += other.busy_duration;
        self.mean_poll_time = Duration::from_nanos(
            (self.busy_duration.as_nanos() as u64)
                .checked_div(self.poll_count)
                .unwrap_or(0),
        );
    }
}

impl WorkerCounters {
    pub(crate) fn snapshot(&self, local_queue_depth: usize) -> WorkerMetrics {
        // Relaxed loads: see the module docs.
        let poll_count = self.polls.load(Relaxed);
        let busy_ns = self.busy_ns.load(Relaxed);
        WorkerMetrics {
            poll_count,
            steal_count: self.steals.load(Relaxed),
            steal_operations: self.steal_operations.load(Relaxed),
            park_count: self.parks.load(Relaxed),
            unpark_count: self.unparks.load(Relaxed),
            local_queue_depth,
            overflow_count: self.overflows.load(Relaxed),
            budget_forced_yield_count: self.forced_yields.load(Relaxed),
            busy_duration: Duration::from_nanos(busy_ns),
            mean_poll_time: Duration::from_nanos(busy_ns.checked_div(poll_count).unwrap_or(0)),
        }
    }
}

/// The injector as the local queue's overflow, counting each overflow on
/// the pushing P's counters (the ring calls it only when full, so the fast
/// path pays nothing).
pub(crate) struct CountingOverflow<'a> {
    pub(crate) injector: &'a crate::injector::Injector,
    /// Every P's counters and the index of the pushing one, indexed only
    /// when the ring overflows (not on every push).
    pub(crate) counters: &'a [WorkerCounters],
    pub(crate) index: usize,
}

impl crate::queue::Overflow<crate::task::Notified> for CountingOverflow<'_> {
    fn push_batch(&self, batch: impl Iterator<Item = crate::task::Notified>) {
        bump(&self.counters[self.index].overflows, 1);
        crate::queue::Overflow::push_batch(self.injector, batch);
    }
}
