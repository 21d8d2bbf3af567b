//! The state of one runtime that every thread shares: the Ps' remote
//! halves, the injector, the idle counters, the owned-task list and the
//! reactor driver; and its lifetime, from [`Shared::new`] to
//! [`Shared::shutdown`]. Tasks on the Ps point to it through an uncounted
//! [`TaskSched`]; blocking-pool tasks hold an `Arc<Shared>`.

use crate::blocking::{BlockingPool, BlockingTask};
use crate::context;
use crate::idle::Idle;
use crate::injector::Injector;
use crate::park::Parker;
use crate::processor::{Processor, Remote, RunNext};
use crate::task::list::OwnedTasks;
use crate::task::{self, JoinHandle, Notified, RawTask, Schedule};
use std::future::Future;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Scheduler settings fixed at build time.
pub(crate) struct Config {
    /// Take from the injector first every this many ticks (Go: 61).
    pub(crate) global_queue_interval: u32,
    /// Poll the reactor without blocking every this many ticks.
    pub(crate) event_interval: u32,
    /// Whether woken and spawned tasks go to runnext.
    pub(crate) lifo_enabled: bool,
    /// Multi-thread (worker threads own the Ps) or current-thread (the
    /// `block_on` thread borrows the one P).
    pub(crate) current_thread: bool,
    /// What to do when every task is asleep, and after how long.
    pub(crate) deadlock: crate::deadlock::Deadlock,
    pub(crate) deadlock_grace: Duration,
    /// Task hooks (see `hooks.rs`).
    pub(crate) hooks: crate::hooks::Hooks,
    pub(crate) unhandled_panic: crate::hooks::UnhandledPanic,
    /// `Builder::blocking_threshold` (see `handoff.rs`).
    pub(crate) blocking_threshold: Option<Duration>,
    /// How long a spare M waits for a P (`Builder::thread_keep_alive`).
    pub(crate) spare_keep_alive: Duration,
}

pub(crate) struct Shared {
    /// One per P, indexed by `Processor::index`: the `num_workers` worker
    /// Ps, then (multi-thread, handoff on) as many spare Ps, which only
    /// spare Ms run (see `handoff.rs`). Stealing, metrics and dumps look
    /// at the worker Ps (`workers()`).
    pub(crate) remotes: Box<[Remote]>,
    pub(crate) num_workers: usize,
    /// Blocked-worker handoff: lent, spare and rescuing Ps, spare Ms.
    pub(crate) handoff: crate::handoff::Handoff,
    pub(crate) injector: Injector,
    pub(crate) idle: Idle,
    pub(crate) owned: OwnedTasks,
    /// The reactor. Whoever holds the lock is either blocked in it (the one
    /// parked M allowed to) or polling it without blocking; never hold it
    /// otherwise. `None` after shutdown.
    pub(crate) driver: Mutex<Option<goro_reactor::Driver>>,
    pub(crate) reactor: goro_reactor::Handle,
    pub(crate) blocking: BlockingPool,
    pub(crate) config: Config,
    /// Raised by sysmon: the next M to pick a task polls the reactor first.
    pub(crate) poll_due: AtomicBool,
    /// Set once when the runtime shuts down; Ms exit when they see it.
    pub(crate) shutdown: AtomicBool,
    /// Ps no M holds: the current-thread P between `block_on` calls, and
    /// the Ps of exited workers.
    /// Boxed so that handing a P over moves a pointer (Go's handoffp).
    #[allow(clippy::vec_box)]
    pub(crate) idle_ps: Mutex<Vec<Box<Processor>>>,
    /// Threads waiting in a current-thread `block_on` for the P.
    pub(crate) p_waiters: Mutex<Vec<Arc<crate::park::Parker<()>>>>,
    /// Deadlock detection's counters and `block_on` registry.
    pub(crate) watch: crate::deadlock::Watch,
    /// Per-P counters, by P index, spare Ps included (see `metrics.rs`).
    pub(crate) counters: Box<[crate::metrics::WorkerCounters]>,
    /// Spawns from threads that hold no P (and every `spawn_blocking`): the
    /// only counter written by many threads, so an RMW.
    pub(crate) remote_spawned: std::sync::atomic::AtomicU64,
    /// Set when a task panicked under `UnhandledPanic::ShutdownRuntime`;
    /// `block_on` panics when it sees it.
    pub(crate) panic_shutdown: AtomicBool,
    /// Wakers of the `block_on` futures of a runtime with that policy, so
    /// that a panic ends their wait.
    pub(crate) block_on_wakers: Mutex<Vec<std::task::Waker>>,
}

impl Shared {
    /// A runtime's shared state with `num_ps` Ps (returned for the Ms to
    /// take) and a fresh reactor, whose blocking work (DNS) goes to
    /// `blocking`. Each P is boxed already, as in `idle_ps`: an M takes
    /// it by moving the box.
    #[allow(clippy::vec_box)]
    pub(crate) fn new(
        num_ps: usize,
        config: Config,
        blocking: BlockingPool,
        spawn_m: Option<crate::handoff::SpawnM>,
    ) -> std::io::Result<(Arc<Shared>, Vec<Box<Processor>>)> {
        let mut driver = goro_reactor::Driver::new()?;
        let reactor = driver.handle();
        if config.current_thread {
            // Every task runs on the thread that parks in the driver.
            reactor.allow_clock_pause();
        }
        driver.set_blocking_spawner(blocking.spawner());
        let spares = if config.current_thread || config.blocking_threshold.is_none() {
            0
        } else {
            num_ps
        };
        let mut ps = Vec::with_capacity(num_ps + spares);
        let mut remotes = Vec::with_capacity(num_ps + spares);
        for index in 0..num_ps + spares {
            let (local, steal) = crate::queue::local();
            ps.push(Box::new(Processor::new(
                index,
                local,
                config.global_queue_interval,
                config.event_interval,
            )));
            remotes.push(Remote {
                steal,
                runnext: RunNext::new(),
                parker: Arc::new(Parker::new(reactor.clone())),
            });
        }
        let watch = crate::deadlock::Watch::new(config.deadlock, config.deadlock_grace);
        let spare_ps = ps.split_off(num_ps);
        let handoff = crate::handoff::Handoff::new(
            num_ps,
            spare_ps,
            config.blocking_threshold.filter(|_| !config.current_thread),
            config.spare_keep_alive,
            spawn_m,
        );
        let shared = Arc::new(Shared {
            remotes: remotes.into_boxed_slice(),
            num_workers: num_ps,
            handoff,
            injector: Injector::new(),
            idle: Idle::new(num_ps),
            owned: OwnedTasks::new(num_ps * 4),
            driver: Mutex::new(Some(driver)),
            reactor,
            blocking,
            config,
            poll_due: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            idle_ps: Mutex::new(Vec::new()),
            p_waiters: Mutex::new(Vec::new()),
            watch,
            counters: (0..num_ps + spares).map(|_| Default::default()).collect(),
            remote_spawned: std::sync::atomic::AtomicU64::new(0),
            panic_shutdown: AtomicBool::new(false),
            block_on_wakers: Mutex::new(Vec::new()),
        });
        shared.blocking.set_runtime(Arc::downgrade(&shared));
        Ok((shared, ps))
    }

    /// Creates and schedules a task.
    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        future: F,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_named(future, location, None)
    }

    /// [`Shared::spawn`] with the task's name (for dumps).
    pub(crate) fn spawn_named<F>(
        self: &Arc<Self>,
        future: F,
        location: &'static Location<'static>,
        name: Option<&str>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (raw, notified, join) = task::new_task(future, TaskSched::new(self), location);
        if let Err(raw) = self.owned.insert_named(raw, name) {
            // Shut down: the handle resolves to a cancelled error.
            drop(notified);
            raw.shutdown();
            return join;
        }
        if let Some(hook) = &self.config.hooks.spawn {
            let h = raw.header();
            hook(&crate::hooks::TaskMeta::new(h.id, h.location));
        }
        // Go's newproc: the new G goes to runnext. It is counted on the P
        // that queues it (or in `remote_spawned`), in the same look-up of
        // this thread's P.
        let queued = context::with_local_p(self, notified, |p, task| {
            crate::metrics::bump(&self.counters[p.index].spawned, 1);
            self.push_local(p, task, false);
        });
        if let Err(task) = queued {
            // Relaxed: a statistic (see metrics.rs).
            self.remote_spawned.fetch_add(1, Ordering::Relaxed);
            self.push_remote(task);
        }
        join
    }

    /// Creates a task for the blocking pool. It keeps a counted reference
    /// to the runtime (see `impl Schedule for Arc<Shared>`).
    pub(crate) fn spawn_blocking<F, R>(
        self: &Arc<Self>,
        f: F,
        location: &'static Location<'static>,
    ) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn_blocking_named(f, location, None)
    }

    /// [`Shared::spawn_blocking`] with the job's name (for dumps).
    pub(crate) fn spawn_blocking_named<F, R>(
        self: &Arc<Self>,
        f: F,
        location: &'static Location<'static>,
        name: Option<&str>,
    ) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (raw, notified, join) = task::new_task(BlockingTask(Some(f)), self.clone(), location);
        task::wait::mark_blocking_job(raw.header());
        if let Err(raw) = self.owned.insert_named(raw, name) {
            // Shut down: the handle resolves to a cancelled error.
            drop(notified);
            raw.shutdown();
            return join;
        }
        // Relaxed: a statistic (see metrics.rs).
        self.remote_spawned.fetch_add(1, Ordering::Relaxed);
        if let Some(hook) = &self.config.hooks.spawn {
            let h = raw.header();
            hook(&crate::hooks::TaskMeta::new(h.id, h.location));
        }
        self.blocking.submit_task(notified);
        join
    }

    /// Raises the shutdown flag and wakes every parked M: each exits after
    /// its current poll. The first half of a shutdown; the `Runtime` then
    /// waits for its threads (up to its deadline) and calls
    /// [`Shared::shutdown`].
    pub(crate) fn stop_workers(&self) {
        // Release: everything before shutdown is visible to the Ms that see
        // the flag.
        self.shutdown.store(true, Ordering::Release);
        self.unpark_all();
        self.handoff.wake_spares();
    }

    /// The second half of a shutdown, after [`Shared::stop_workers`] and
    /// after the `Runtime` has waited for its Ms until `deadline` (`None`:
    /// until they all exited): drops every unfinished task's future that is
    /// not inside a poll, on this thread; drops every queued wake-up,
    /// including those on the Ps of Ms still running; shuts the reactor
    /// down; and waits until `deadline` for running blocking tasks. Called
    /// once, by the `Runtime`, before it drops its `Arc<Shared>`; this is
    /// the step "Why the pointer stays valid" (on [`TaskSched`]) relies on.
    ///
    /// # Ms still running (detached)
    ///
    /// An M the deadline passed is inside a poll (or about to notice the
    /// flag). Running this alongside it is sound:
    ///
    /// * `Shared` stays allocated: the M holds an `Arc<Shared>` (its
    ///   `WorkerCtx`) until its thread body returns, so the `Runtime`
    ///   dropping its own `Arc` frees nothing under it.
    /// * The task it polls keeps its record: the M holds that task's
    ///   `Notified` reference, and records come from the process-wide pool
    ///   or the allocator (`task/free_list.rs`), never from `Shared`.
    ///   `close_and_shutdown` only marks it CANCELLED (a running task's
    ///   future belongs to its poller), so when the poll returns the M drops
    ///   the future and completes the task, then sees the flag and exits.
    /// * Its queues are taken through the thread-safe ends every stealer
    ///   uses (`Steal::steal_into`, `RunNext::take`), never through the P it
    ///   owns; whatever it pushes later (a wake from its poll) it drops
    ///   itself in `drain_p` before exiting, and tasks it pushes are already
    ///   complete (nothing can be spawned on a closed list).
    /// * The reactor lock is only held while parked in it or polling it
    ///   without blocking, never across a task poll, and `stop_workers`
    ///   woke every parked M, so taking the driver below does not wait for
    ///   a detached M.
    pub(crate) fn shutdown(self: &Arc<Self>, deadline: Option<Instant>) {
        debug_assert!(self.is_shutdown(), "stop_workers first");
        // Every task not being polled is idle or queued, and this thread
        // drops their futures, inside the runtime so destructors may use it.
        let _enter = context::enter(self);
        self.owned.close_and_shutdown();
        self.drop_queued();
        let mut ps: Vec<_> = self.idle_ps.lock().unwrap().drain(..).collect();
        ps.extend(self.handoff.shutdown());
        for p in ps {
            drop(self.drain_p(p));
        }
        // A panic inside the reactor poisons the lock; shut it down anyway.
        let driver = self
            .driver
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(mut driver) = driver {
            driver.shutdown();
        }
        self.blocking
            .shutdown(deadline.map(|d| d.saturating_duration_since(Instant::now())));
        // Destructors above may have woken tasks onto the queues.
        self.drop_queued();
        // The records of this runtime's tasks need not wait for another
        // runtime to reuse them (the pool is process-wide).
        crate::task::free_list::release_idle(std::time::Duration::ZERO);
    }

    /// Drops every queued `Notified` that this thread can reach without
    /// owning a P: the injector, every runnext slot, and every P's run queue
    /// through its stealer end (the Ps of exited Ms are empty already;
    /// those of detached Ms are not).
    fn drop_queued(&self) {
        while let Some(task) = self.injector.pop() {
            drop(task);
        }
        let (mut sink, _) = crate::queue::local::<Notified>();
        for remote in self.remotes.iter() {
            drop(remote.runnext.take());
            while let Some(task) = remote.steal.steal_into(&mut sink) {
                drop(task);
                while let Some(task) = sink.pop() {
                    drop(task);
                }
            }
        }
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        // Acquire: pairs with the Release store in `Shared::shutdown`.
        self.shutdown.load(Ordering::Acquire)
    }

    /// Queues a runnable task: on this thread's P if this thread holds one
    /// of ours, else on the injector.
    ///
    /// Out of line (and everything below inlined into it), so that each
    /// task type's `poll` carries one call, not the queueing code.
    #[inline(never)]
    pub(crate) fn schedule_task(&self, task: Notified, is_requeue: bool) {
        if let Err(task) =
            context::with_local_p(self, task, |p, task| self.push_local(p, task, is_requeue))
        {
            self.push_remote(task);
        }
    }

    #[inline(always)]
    fn push_local(&self, p: &mut Processor, task: Notified, is_requeue: bool) {
        let displaced = if is_requeue || !self.config.lifo_enabled {
            Some(task)
        } else {
            self.remotes[p.index].runnext.swap(task)
        };
        if let Some(task) = displaced {
            let overflow = crate::metrics::CountingOverflow {
                injector: &self.injector,
                counters: &self.counters,
                index: p.index,
            };
            p.run_queue.push_back(task, &overflow);
            // Something stealable appeared: wake a searcher if nobody
            // searches. No fence: this thread is awake and will run the task
            // itself if nobody comes, so a missed wake-up only costs
            // parallelism, never the task.
            self.notify_parked(Some(p.index));
        }
    }

    /// Queues a task from a thread that holds no P of this runtime.
    /// (Out of line: it keeps `schedule_task`'s local path small.)
    #[inline(never)]
    pub(crate) fn push_remote(&self, task: Notified) {
        if self.is_shutdown() {
            // Its future is dropped by the owned-list shutdown.
            drop(task);
            return;
        }
        self.injector.push(task);
        // StoreLoad: the push must be visible before we read the idle
        // counters, pairing with the fence a parking last searcher issues
        // between leaving the searchers and re-checking the queues. See
        // "Worker thread parking/unparking" in worker.rs.
        fence(Ordering::SeqCst);
        self.notify_parked(None);
    }

    /// Go's `wakep`: wakes a parked M to search if work may be waiting and
    /// nobody is searching. `me`: the P of a caller that pushed to its own
    /// queue (see `Idle::notify_one`); `None` lets the caller itself be
    /// picked (a parking M re-checking the queues wants exactly that: its
    /// own park then returns at once, no system call).
    #[inline]
    pub(crate) fn notify_parked(&self, me: Option<usize>) {
        if let Some(index) = self.idle.notify_one(me) {
            self.remotes[index].parker.unpark();
        }
    }

    /// The reactor, if no other thread holds it. A panic inside the reactor
    /// poisons the lock; the driver is still usable, so poisoning is
    /// ignored rather than leaving IO undriven for ever.
    pub(crate) fn try_driver(
        &self,
    ) -> Option<std::sync::MutexGuard<'_, Option<goro_reactor::Driver>>> {
        match self.driver.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// The worker Ps' remote halves (without the spare Ps).
    pub(crate) fn workers(&self) -> &[Remote] {
        &self.remotes[..self.num_workers]
    }

    /// Whether any queue a searcher could take from holds a task (racy).
    pub(crate) fn has_stealable_work(&self) -> bool {
        !self.injector.is_empty() || self.workers().iter().any(|r| !r.steal.is_empty())
    }

    /// Wakes every parked M (shutdown).
    pub(crate) fn unpark_all(&self) {
        self.idle.claim_all();
        for r in self.remotes.iter() {
            r.parker.unpark();
        }
    }

    /// Drops every queued Notified held by a P no M holds any more.
    pub(crate) fn drain_p(&self, mut p: Box<Processor>) -> Box<Processor> {
        drop(self.remotes[p.index].runnext.take());
        while let Some(task) = p.run_queue.pop() {
            drop(task);
        }
        p
    }

    /// A task completed: runs the terminate hook and takes it off the
    /// owned list (`Schedule::release`).
    #[inline]
    fn release_task(&self, task: RawTask) -> bool {
        if let Some(hook) = &self.config.hooks.terminate {
            let h = task.header();
            hook(&crate::hooks::TaskMeta::new(h.id, h.location));
        }
        self.owned.remove(task)
    }

    /// A task's poll panicked (`Schedule::panicked`): under
    /// `UnhandledPanic::ShutdownRuntime`, stop the workers and wake every
    /// `block_on`, which then panics. The rest of the shutdown (joining
    /// the workers, dropping the remaining tasks) happens when the
    /// `Runtime` is dropped, on the thread that owns it.
    fn task_panicked(&self) {
        if self.config.unhandled_panic != crate::hooks::UnhandledPanic::ShutdownRuntime {
            return;
        }
        // Release: pairs with the Acquire in `block_on`'s check.
        self.panic_shutdown.store(true, Ordering::Release);
        // Release: pairs with `is_shutdown`; the Ms stop after this poll.
        self.shutdown.store(true, Ordering::Release);
        self.unpark_all();
        let wakers = std::mem::take(&mut *self.block_on_wakers.lock().unwrap());
        wakers.into_iter().for_each(std::task::Waker::wake);
    }

    /// See `Handle::metrics`.
    pub(crate) fn metrics(&self) -> crate::metrics::RuntimeMetrics {
        let workers: Vec<_> = self
            .counters
            .iter()
            .zip(self.workers().iter())
            .map(|(c, r)| c.snapshot(r.steal.len() + usize::from(!r.runnext.is_empty())))
            .collect();
        // Relaxed: statistics (see metrics.rs).
        let local: u64 = self
            .counters
            .iter()
            .map(|c| c.spawned.load(Ordering::Relaxed))
            .sum();
        let spawned = local + self.remote_spawned.load(Ordering::Relaxed);
        let (blocking_threads, idle_blocking_threads) = self.blocking.thread_counts();
        let mut spare = crate::metrics::WorkerMetrics::default();
        for c in &self.counters[self.num_workers..] {
            spare.add(&c.snapshot(0));
        }
        crate::metrics::RuntimeMetrics {
            num_workers: self.num_workers,
            spare,
            num_alive_tasks: self.num_alive_tasks(),
            spawned_tasks_count: spawned,
            global_queue_depth: self.injector.len(),
            blocking_threads,
            idle_blocking_threads,
            workers,
            reactor: self.reactor.metrics(),
        }
    }

    /// Number of live (not yet completed) tasks.
    pub(crate) fn num_alive_tasks(&self) -> usize {
        self.owned.len()
    }
}

/// A task's pointer to its runtime: uncounted, so a spawn and a free do
/// not each pay a read-modify-write on the `Arc`'s count (a cache line all
/// spawning and completing threads share).
///
/// # Why the pointer stays valid
///
/// The scheduler is only used by a task that is not complete: to queue it
/// (a wake or an abort of an incomplete task), to requeue it after a poll
/// and to take it off the owned list when it completes. Every incomplete
/// task is in the owned list (a spawn that finds the list closed shuts the
/// task down at once), and `Shared::shutdown` — which the `Runtime` calls
/// before it drops its `Arc<Shared>` — completes every listed task that is
/// not running. A task running at that moment (on an M that exits in time,
/// on one detached at the deadline of `shutdown_timeout`, or on the M the
/// `Runtime` was dropped from) is completed by its M when its poll returns,
/// and every M holds an `Arc<Shared>` until it exits (see "Ms still
/// running (detached)" on `Shared::shutdown`). So no incomplete task outlives `Shared`,
/// and a complete task never touches its scheduler (wakes see COMPLETE and
/// return; dropping a `TaskSched` does nothing).
pub(crate) struct TaskSched(NonNull<Shared>);

// SAFETY: it is in effect a `&Shared` (and `Shared` is Sync, so `&Shared`
// is Send) whose lifetime is argued in "Why the pointer stays valid".
unsafe impl Send for TaskSched {}
// SAFETY: `&TaskSched` only gives out `&Shared` (see `shared`), and
// `Shared` is Sync; the pointer itself is never written.
unsafe impl Sync for TaskSched {}

impl TaskSched {
    fn new(shared: &Arc<Shared>) -> TaskSched {
        TaskSched(NonNull::from(&**shared))
    }

    fn shared(&self) -> &Shared {
        // SAFETY: see "Why the pointer stays valid": this is only called
        // for incomplete tasks, which `Shared` outlives.
        unsafe { self.0.as_ref() }
    }
}

impl Schedule for TaskSched {
    fn schedule(&self, task: Notified) {
        self.shared().schedule_task(task, false);
    }

    #[inline]
    fn requeue(&self, task: Notified) {
        self.shared().schedule_task(task, true);
    }

    #[inline]
    fn release(&self, task: RawTask) -> bool {
        self.shared().release_task(task)
    }

    fn panicked(&self) {
        self.shared().task_panicked();
    }
}

/// Blocking-pool tasks keep a counted reference: a blocking thread may
/// still be running one after `Runtime::shutdown_timeout` has returned.
impl Schedule for Arc<Shared> {
    fn schedule(&self, task: Notified) {
        self.schedule_task(task, false);
    }

    fn requeue(&self, task: Notified) {
        self.schedule_task(task, true);
    }

    fn release(&self, task: RawTask) -> bool {
        self.release_task(task)
    }

    fn panicked(&self) {
        self.task_panicked();
    }
}
