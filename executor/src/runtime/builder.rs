//! `Builder`: runtime configuration, validated at `build`.

use super::{Handle, Runtime, ThreadExits};
use crate::blocking::BlockingPool;
use crate::deadlock::Deadlock;
use crate::hooks::{Hooks, PollHooks, TaskMeta, UnhandledPanic};
use crate::shared::{Config, Shared};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

type Callback = Arc<dyn Fn() + Send + Sync>;

/// Configures and builds a [`Runtime`].
pub struct Builder {
    current_thread: bool,
    worker_threads: Option<usize>,
    thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    thread_stack_size: Option<usize>,
    on_thread_start: Option<Callback>,
    on_thread_stop: Option<Callback>,
    global_queue_interval: u32,
    event_interval: u32,
    lifo_enabled: bool,
    max_blocking_threads: usize,
    keep_alive: Duration,
    deadlock: Deadlock,
    deadlock_grace: Duration,
    dump_on_sigquit: bool,
    blocking_threshold: Option<Duration>,
    hooks: Hooks,
    unhandled_panic: UnhandledPanic,
    start_paused: bool,
}

/// Overrides the default worker count of multi-thread runtimes.
const WORKER_THREADS_ENV: &str = "GORO_WORKER_THREADS";

impl Builder {
    /// A runtime with one worker thread (M) per P, one P per CPU by default.
    pub fn new_multi_thread() -> Builder {
        Builder::new(false)
    }

    /// A runtime whose only P runs on the thread calling `block_on`.
    pub fn new_current_thread() -> Builder {
        Builder::new(true)
    }

    fn new(current_thread: bool) -> Builder {
        Builder {
            current_thread,
            worker_threads: None,
            thread_name: Arc::new(|| "goro-worker".to_string()),
            thread_stack_size: None,
            on_thread_start: None,
            on_thread_stop: None,
            global_queue_interval: 61,
            event_interval: 61,
            lifo_enabled: true,
            max_blocking_threads: 512,
            keep_alive: Duration::from_secs(10),
            deadlock: Deadlock::Ignore,
            deadlock_grace: Duration::from_secs(1),
            dump_on_sigquit: false,
            blocking_threshold: Some(Duration::from_millis(10)),
            hooks: Hooks::default(),
            unhandled_panic: UnhandledPanic::Ignore,
            start_paused: false,
        }
    }

    /// What to do when every task and every `block_on` future is asleep
    /// with nothing armed that could wake them (no timer, no socket
    /// waited on, no blocking-pool job) for [`deadlock_grace`]: panic in
    /// `block_on`, report on stderr, or ignore it (the default;
    /// `#[goro::test]` uses `Panic` and `#[goro::main]` `Report`). The
    /// message is `goro: all tasks are asleep - deadlock!` followed by the
    /// task dump. The exact rule and why no false positive can come from
    /// inside the runtime: `docs/debugging.md`.
    ///
    /// [`deadlock_grace`]: Builder::deadlock_grace
    pub fn on_deadlock(&mut self, policy: Deadlock) -> &mut Self {
        self.deadlock = policy;
        self
    }

    /// How long the runtime must stay asleep before it is called
    /// deadlocked (default 1 s): a plain thread that holds a waker (or a
    /// `Sender`) and uses it within this time is never reported. Zero is
    /// rejected by `build`.
    pub fn deadlock_grace(&mut self, grace: Duration) -> &mut Self {
        self.deadlock_grace = grace;
        self
    }

    /// On Unix, print the task dump to stderr whenever the process gets
    /// SIGQUIT (Ctrl-\), and go on running (Go exits; goro does not).
    /// Default off (on in `#[goro::main]`). Ignored elsewhere.
    pub fn dump_on_sigquit(&mut self, on: bool) -> &mut Self {
        self.dump_on_sigquit = on;
        self
    }

    /// Number of worker threads (and Ps) of a multi-thread runtime. Zero is
    /// rejected by `build`. Ignored by the current-thread flavor.
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        self.worker_threads = Some(n);
        self
    }

    /// Name of the threads the runtime starts.
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        let name = name.into();
        self.thread_name = Arc::new(move || name.clone());
        self
    }

    /// A function naming each thread the runtime starts.
    pub fn thread_name_fn(&mut self, f: impl Fn() -> String + Send + Sync + 'static) -> &mut Self {
        self.thread_name = Arc::new(f);
        self
    }

    /// Stack size of the threads the runtime starts.
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Self {
        self.thread_stack_size = Some(bytes);
        self
    }

    /// Runs `f` on each worker thread when it starts.
    pub fn on_thread_start(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.on_thread_start = Some(Arc::new(f));
        self
    }

    /// Runs `f` on each worker thread before it exits.
    pub fn on_thread_stop(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.on_thread_stop = Some(Arc::new(f));
        self
    }

    /// Every `n` scheduler ticks a P takes from the global queue before its
    /// own (default 61, as Go). Zero is rejected by `build`.
    pub fn global_queue_interval(&mut self, n: u32) -> &mut Self {
        self.global_queue_interval = n;
        self
    }

    /// Every `n` ticks a busy P polls the reactor (default 61). Zero is
    /// rejected by `build`.
    pub fn event_interval(&mut self, n: u32) -> &mut Self {
        self.event_interval = n;
        self
    }

    /// Starts the runtime with its clock paused (`goro::time::pause`; see
    /// the time docs): for tests, current-thread flavor only (`build`
    /// rejects it on a multi-thread runtime).
    pub fn start_paused(&mut self, paused: bool) -> &mut Self {
        self.start_paused = paused;
        self
    }

    /// Woken and spawned tasks go to the back of the queue instead of the
    /// runnext slot.
    pub fn disable_lifo_slot(&mut self) -> &mut Self {
        self.lifo_enabled = false;
        self
    }

    /// How long a poll may hold its worker before the runtime's monitor
    /// thread treats the worker as blocked (default 10 ms; `None` turns
    /// this off). A worker blocked that long while its queue or the global
    /// queue has work has that work moved to a spare thread (at most as
    /// many spare threads as workers; they exit when idle), and when the
    /// poll ends, once per task, stderr gets
    /// `goro: task 17 (src/db.rs:88) blocked its worker for 250 ms; use
    /// spawn_blocking or block_in_place`. Multi-thread runtimes only (a
    /// current-thread runtime has no monitor thread). Zero is rejected by
    /// `build`. The rule and its limits: `docs/debugging.md`, "The handoff
    /// rule".
    pub fn blocking_threshold(&mut self, threshold: Option<Duration>) -> &mut Self {
        self.blocking_threshold = threshold;
        self
    }

    /// Most threads the blocking pool runs at once (default 512). Zero is
    /// rejected by `build`.
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking thread waits before exiting (default 10 s);
    /// also how long a spare worker thread (see
    /// [`blocking_threshold`](Self::blocking_threshold) and
    /// [`block_in_place`](crate::task::block_in_place)) waits for work.
    pub fn thread_keep_alive(&mut self, d: Duration) -> &mut Self {
        self.keep_alive = d;
        self
    }

    /// What to do when a spawned task panics (default
    /// [`UnhandledPanic::Ignore`]); both flavors.
    pub fn unhandled_panic(&mut self, policy: UnhandledPanic) -> &mut Self {
        self.unhandled_panic = policy;
        self
    }

    /// Runs `f` for every task spawned on the runtime (`spawn` and
    /// `spawn_blocking`), on the spawning thread, before the task can run.
    pub fn on_task_spawn(
        &mut self,
        f: impl Fn(&TaskMeta<'_>) + Send + Sync + 'static,
    ) -> &mut Self {
        self.hooks.spawn = Some(Arc::new(f));
        self
    }

    /// Runs `f` when a task completes, is cancelled or panics, on the
    /// thread that finished it, after its output is stored.
    pub fn on_task_terminate(
        &mut self,
        f: impl Fn(&TaskMeta<'_>) + Send + Sync + 'static,
    ) -> &mut Self {
        self.hooks.terminate = Some(Arc::new(f));
        self
    }

    /// Runs `f` on the worker before every poll of a task (not of a
    /// `block_on` future, nor of blocking-pool jobs).
    pub fn on_before_task_poll(
        &mut self,
        f: impl Fn(&TaskMeta<'_>) + Send + Sync + 'static,
    ) -> &mut Self {
        self.poll_hooks().before = Some(Arc::new(f));
        self
    }

    /// Runs `f` on the worker after every poll of a task (see
    /// [`on_before_task_poll`](Self::on_before_task_poll)).
    pub fn on_after_task_poll(
        &mut self,
        f: impl Fn(&TaskMeta<'_>) + Send + Sync + 'static,
    ) -> &mut Self {
        self.poll_hooks().after = Some(Arc::new(f));
        self
    }

    fn poll_hooks(&mut self) -> &mut PollHooks {
        self.hooks.poll.get_or_insert_with(|| {
            Box::new(PollHooks {
                before: None,
                after: None,
            })
        })
    }

    fn num_workers(&self) -> io::Result<usize> {
        if self.current_thread {
            return Ok(1);
        }
        let n = match self.worker_threads {
            Some(n) => n,
            None => match std::env::var(WORKER_THREADS_ENV) {
                Ok(s) => s.trim().parse::<usize>().map_err(|_| {
                    invalid(format!(
                        "{WORKER_THREADS_ENV}={s:?} is not a number of worker threads"
                    ))
                })?,
                Err(_) => num_cpus::get(),
            },
        };
        if n == 0 {
            return Err(invalid(
                "a runtime needs at least one worker thread, got 0".into(),
            ));
        }
        Ok(n)
    }

    /// Builds the runtime, starting its worker threads.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let workers = self.num_workers()?;
        if self.max_blocking_threads == 0 {
            return Err(invalid(
                "max_blocking_threads must be at least 1, got 0".into(),
            ));
        }
        if self.global_queue_interval == 0 {
            return Err(invalid(
                "global_queue_interval must be at least 1, got 0".into(),
            ));
        }
        if self.event_interval == 0 {
            return Err(invalid("event_interval must be at least 1, got 0".into()));
        }
        if self.start_paused && !self.current_thread {
            return Err(invalid(
                "start_paused needs the current-thread flavor: time can only be paused where \
                 every task runs on one thread"
                    .into(),
            ));
        }
        if self.deadlock_grace.is_zero() {
            return Err(invalid("deadlock_grace must be more than zero".into()));
        }
        if self.blocking_threshold.is_some_and(|t| t.is_zero()) {
            return Err(invalid(
                "blocking_threshold must be more than zero (None turns it off)".into(),
            ));
        }

        crate::task::waker::register();
        let blocking = BlockingPool::new(
            self.max_blocking_threads,
            self.keep_alive,
            self.blocking_thread_name(),
            self.thread_stack_size,
        );
        let config = Config {
            global_queue_interval: self.global_queue_interval,
            event_interval: self.event_interval,
            lifo_enabled: self.lifo_enabled,
            current_thread: self.current_thread,
            deadlock: self.deadlock,
            deadlock_grace: self.deadlock_grace,
            hooks: Hooks {
                spawn: self.hooks.spawn.clone(),
                terminate: self.hooks.terminate.clone(),
                poll: self.hooks.poll.as_ref().map(|p| {
                    Box::new(PollHooks {
                        before: p.before.clone(),
                        after: p.after.clone(),
                    })
                }),
            },
            unhandled_panic: self.unhandled_panic,
            blocking_threshold: self.blocking_threshold,
            spare_keep_alive: self.keep_alive,
        };
        // Read once per runtime, at its start (see trace.rs).
        let debug = crate::trace::from_env();
        if self.current_thread && debug.schedtrace.is_some() {
            eprintln!(
                "goro: GORO_DEBUG: schedtrace is printed by sysmon, which only multi-thread \
                 runtimes run; this current-thread runtime prints none"
            );
        }
        let exits = ThreadExits::new();
        let spawn_m = (!self.current_thread).then(|| self.spare_spawner(&exits));
        let (shared, ps) = Shared::new(workers, config, blocking, spawn_m)?;
        let handle = Handle { shared };
        if self.start_paused {
            handle.shared.reactor.pause_clock();
        }

        let mut threads = Vec::with_capacity(workers + 2);
        if self.deadlock != Deadlock::Ignore {
            let weak = Arc::downgrade(&handle.shared);
            let exit = exits.started();
            let watcher = std::thread::Builder::new()
                .name(format!("{}-deadlock", (self.thread_name)()))
                .spawn(move || {
                    let _exit = exit;
                    crate::deadlock::run(weak);
                });
            match watcher {
                Ok(t) => threads.push(t),
                Err(e) => {
                    drop(Runtime::from_parts(handle, threads, exits));
                    return Err(e);
                }
            }
        }
        if self.dump_on_sigquit {
            crate::dump::on_sigquit(&handle.shared);
        }
        if self.current_thread {
            handle.shared.idle_ps.lock().unwrap().extend(ps);
            return Ok(Runtime::from_parts(handle, threads, exits));
        }
        for p in ps {
            let mut builder = std::thread::Builder::new().name((self.thread_name)());
            if let Some(size) = self.thread_stack_size {
                builder = builder.stack_size(size);
            }
            let shared = handle.shared.clone();
            let (start, stop) = (self.on_thread_start.clone(), self.on_thread_stop.clone());
            let exit = exits.started();
            let spawned = builder.spawn(move || {
                // Dropped last, after the stop hook (or by an unwind).
                let _exit = exit;
                if let Some(f) = start {
                    f();
                }
                crate::worker::run_worker(shared, p);
                if let Some(f) = stop {
                    f();
                }
            });
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    // Shut down the workers already started, then report.
                    drop(Runtime::from_parts(handle, threads, exits));
                    return Err(e);
                }
            }
        }
        let weak = Arc::downgrade(&handle.shared);
        let exit = exits.started();
        let sysmon = std::thread::Builder::new()
            .name(format!("{}-sysmon", (self.thread_name)()))
            .spawn(move || {
                let _exit = exit;
                crate::sysmon::run(weak, debug);
            });
        match sysmon {
            Ok(t) => threads.push(t),
            Err(e) => {
                drop(Runtime::from_parts(handle, threads, exits));
                return Err(e);
            }
        }
        Ok(Runtime::from_parts(handle, threads, exits))
    }

    /// Starts the spare Ms of the handoff (`handoff.rs`) as worker threads:
    /// same name, stack size and start/stop hooks, counted for shutdown.
    fn spare_spawner(&self, exits: &Arc<ThreadExits>) -> crate::handoff::SpawnM {
        let name = self.thread_name.clone();
        let stack = self.thread_stack_size;
        let (start, stop) = (self.on_thread_start.clone(), self.on_thread_stop.clone());
        let exits = exits.clone();
        Box::new(move |body| {
            let mut builder = std::thread::Builder::new().name(name());
            if let Some(size) = stack {
                builder = builder.stack_size(size);
            }
            let exit = exits.started();
            let (start, stop) = (start.clone(), stop.clone());
            builder
                .spawn(move || {
                    let _exit = exit;
                    if let Some(f) = start {
                        f();
                    }
                    body();
                    if let Some(f) = stop {
                        f();
                    }
                })
                .map(drop)
        })
    }

    fn blocking_thread_name(&self) -> Arc<dyn Fn() -> String + Send + Sync> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = self.thread_name.clone();
        Arc::new(move || {
            // Relaxed: a counter for names only.
            let n = N.fetch_add(1, Ordering::Relaxed);
            format!("{}-blocking-{n}", name())
        })
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("current_thread", &self.current_thread)
            .field("worker_threads", &self.worker_threads)
            .field("global_queue_interval", &self.global_queue_interval)
            .field("lifo_enabled", &self.lifo_enabled)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .finish()
    }
}
