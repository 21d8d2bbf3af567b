//! The state of one runtime that every thread shares: the Ps' remote
//! halves, the injector, the idle counters, the owned-task list and the
//! reactor driver. Tasks hold an `Arc<Shared>` as their scheduler.

use crate::blocking::BlockingPool;
use crate::idle::Idle;
use crate::injector::Injector;
use crate::processor::{Remote, P};
use crate::runtime::context;
use crate::task::list::OwnedTasks;
use crate::task::{self, JoinHandle, Notified, RawTask, Schedule};
use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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
}

pub(crate) struct Shared {
    /// One per P, indexed by `P::index`.
    pub(crate) remotes: Box<[Remote]>,
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
    /// Set once when the runtime shuts down; Ms exit when they see it.
    pub(crate) shutdown: AtomicBool,
    /// Ps no M holds: the current-thread P between `block_on` calls, and
    /// the Ps of exited workers.
    /// Boxed so that handing a P over moves a pointer (Go's handoffp).
    #[allow(clippy::vec_box)]
    pub(crate) idle_ps: Mutex<Vec<Box<P>>>,
    /// Threads waiting in a current-thread `block_on` for the P.
    pub(crate) p_waiters: Mutex<Vec<Arc<crate::park::Parker<()>>>>,
}

impl Shared {
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
        let (raw, notified, join) = task::new_task(future, self.clone(), location);
        if let Err(raw) = self.owned.insert(raw) {
            // Shut down: the handle resolves to a cancelled error.
            drop(notified);
            raw.shutdown();
            return join;
        }
        // Go's newproc: the new G goes to runnext.
        self.schedule_task(notified, false);
        join
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        // Acquire: pairs with the Release store in `Runtime` shutdown.
        self.shutdown.load(Ordering::Acquire)
    }

    /// Queues a runnable task: on this thread's P if this thread holds one
    /// of ours, else on the injector.
    pub(crate) fn schedule_task(&self, task: Notified, is_yield: bool) {
        if let Err(task) =
            context::with_local_p(self, task, |p, task| self.push_local(p, task, is_yield))
        {
            self.push_remote(task);
        }
    }

    fn push_local(&self, p: &mut P, task: Notified, is_yield: bool) {
        let displaced = if is_yield || !self.config.lifo_enabled {
            Some(task)
        } else {
            self.remotes[p.index].runnext.swap(task)
        };
        if let Some(task) = displaced {
            p.run_queue.push_back(task, &self.injector);
            // Something stealable appeared: wake a searcher if nobody
            // searches. No fence: this thread is awake and will run the task
            // itself if nobody comes, so a missed wake-up only costs
            // parallelism, never the task.
            self.notify_parked();
        }
    }

    /// Queues a task from a thread that holds no P of this runtime.
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
        self.notify_parked();
    }

    /// Go's `wakep`: wakes a parked M to search if work may be waiting and
    /// nobody is searching.
    pub(crate) fn notify_parked(&self) {
        if let Some(index) = self.idle.notify_one() {
            self.remotes[index].parker.unpark();
        }
    }

    /// Whether any queue a searcher could take from holds a task (racy).
    pub(crate) fn has_stealable_work(&self) -> bool {
        !self.injector.is_empty() || self.remotes.iter().any(|r| !r.steal.is_empty())
    }

    /// Wakes every parked M (shutdown).
    pub(crate) fn unpark_all(&self) {
        self.idle.claim_all();
        for r in self.remotes.iter() {
            r.parker.unpark();
        }
    }

    /// Drops every queued Notified held by a P no M holds any more.
    pub(crate) fn drain_p(&self, mut p: Box<P>) -> Box<P> {
        drop(self.remotes[p.index].runnext.take());
        while let Some(task) = p.run_queue.pop() {
            drop(task);
        }
        p
    }

    /// Number of live (not yet completed) tasks.
    pub(crate) fn num_alive_tasks(&self) -> usize {
        self.owned.len()
    }
}

impl Schedule for Arc<Shared> {
    fn schedule(&self, task: Notified) {
        self.schedule_task(task, false);
    }

    fn yield_now(&self, task: Notified) {
        self.schedule_task(task, true);
    }

    fn release(&self, task: RawTask) -> bool {
        self.owned.remove(task)
    }
}
