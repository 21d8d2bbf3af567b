//! M, the worker thread: the loop that finds a runnable G for its P, runs
//! it, and parks when there is none.
//!
//! # Finding work
//!
//! `Machine::next_task` looks, in order (Go's `findRunnable`):
//!
//! 1. every `global_queue_interval` (61) ticks, the injector, so tasks from
//!    outside cannot be starved by two tasks that keep waking each other;
//! 2. runnext, unless the runnext starvation guard says otherwise;
//! 3. the P's local queue;
//! 4. runnext again (the guard only matters when the queue has work);
//! 5. the injector, taking a fair batch (`len / workers + 1`, at most half a
//!    ring) into the local queue (Go's `globrunqget`);
//! 6. the reactor's sockets, without blocking, beside the M that may be
//!    parked in the driver; what that wakes lands on this P (see "Polling
//!    for IO before stealing");
//! 7. as a searcher, the other Ps' queues in random order, stealing half;
//!    then the injector again; then, only if all of that was empty, the
//!    other Ps' runnext slots (Go's `stealRunNextG`; tokio's LIFO slot
//!    cannot be stolen, so a task stuck behind a long poll waits for it).
//!    A runnext task is taken only if it is still there after a short spin
//!    (`RUNNEXT_STEAL_SPINS`), so a P that is merely between two polls
//!    keeps its hand-off chain;
//! 8. park.
//!
//! Every `event_interval` (61) ticks, and whenever sysmon has raised
//! `Shared::poll_due` (every millisecond while Ms are busy), a busy M polls
//! the reactor without blocking if no other thread holds it, so IO is
//! noticed even when no M is idle and tasks run long. It skips that poll
//! when no socket is registered and no timer is armed
//! (`goro_reactor::Handle::needs_polling`, Go's `netpollAnyWaiters`): the
//! poll would only take the reactor's lock and read the clock, a cost that
//! a runtime running only CPU work and channels would pay for nothing.
//!
//! # Polling for IO before stealing
//!
//! Every readiness event of a network server wakes a task, and the thread
//! that reads the event queues that task on its own P. With one M parked
//! in the driver, an M that ran dry would have nothing to take but what
//! the driver M hands over: it would park on its condition variable and
//! wait for the driver M to wake (a context switch), queue the tasks and
//! wake it in turn (a futex, tens of microseconds on a shared machine).
//! So it first asks the epoll instance itself
//! (`goro_reactor::Handle::poll_io_now`, a zero-timeout `epoll_wait` that
//! needs neither the driver nor its lock): the sockets that became ready
//! while it ran are served by the M that found them, and both Ms stay busy
//! as long as there is IO (Go's `findRunnable` calls `netpoll(0)` at the
//! same point). Timers stay with the driver. The poll costs one relaxed
//! load when no socket is registered, so CPU-only runtimes skip it, and it
//! is off the path of a P that has local work. On `tcp_echo` (2 workers,
//! docs/benchmarks.md) goro runs at 1.21 × tokio with it and 1.03 × without
//! (medians of five alternations); per round trip, 0.002 context switches
//! instead of 0.025 and 0.008 futex calls instead of 0.045, for 0.095
//! `epoll_wait` calls instead of 0.052 (docs/reactor.md).
//!
//! # Runnext starvation guard
//!
//! Two tasks that wake each other (a ping-pong over a channel) would each
//! go to runnext forever and starve the local queue. Go lets the runnext G
//! inherit the time slice and relies on sysmon's 10 ms preemption; goro
//! cannot preempt a future, so it caps the streak instead:
//! `MAX_RUNNEXT_STREAK` (3) runnext tasks in a row, then one task from the
//! queue's head runs before runnext is looked at again. Tokio caps its LIFO
//! slot the same way. The cost is one counter per P; ping-pong keeps its
//! locality: the fourth hand-off stays in runnext (it is not moved to the
//! queue) and runs right after that one queued task, or at once if the
//! queue is empty.
//!
//! # Worker thread parking/unparking
//!
//! The problem (Go's proc.go states it for Ms): keep enough Ms running to
//! use the hardware, but park the ones that have nothing to do, and never
//! leave a task queued while every M sleeps. Both sides race: an M decides
//! to sleep just as a task is submitted.
//!
//! Rejected: (1) waking an M on every submission wastes a syscall per
//! spawn and thrashes threads; (2) keeping one "owner" M per queue that is
//! woken for its own queue cannot balance load, since the owner may be
//! busy; (3) letting Ms poll with timeouts burns CPU and adds latency;
//! (4) a searcher that spins (up to 20 µs, only after a short park) before
//! it parks, as adaptive mutexes do: it cut parks per `spawn_local` and
//! `spawn_remote` round two- to fourfold (the probe's `PROBE_METRICS`), but
//! the interleaved timings did not move beyond their ±20% spread and
//! `chained_spawn` got slower (the spinner takes hand-off tasks to the
//! other core), so it is not worth the CPU it burns; (5) polling the
//! reactor without blocking before stealing through the driver's lock (a
//! `try_lock`): the lock is held by the M parked in the driver exactly when
//! the other M runs dry, so the poll ran only when it could find little,
//! and doubled the `epoll_wait` calls for no throughput (the lock-free
//! poll beside the driver replaced it, see "Polling for IO before
//! stealing"); (6) the M dispatching readiness inside its own park
//! unparking itself when it was the only sleeper: a write to the reactor's
//! waker and one more `epoll_wait` per batch of events (6,340 writes per
//! three `tcp_echo` runs, 51 without), so `Idle::notify_one` now skips or
//! claims the caller's own P.
//!
//! The rule (Go's `wakep`/`resetspinning`): an M out of local work becomes
//! a *searcher* (at most half of the Ms at once, rounded up, see `Idle`)
//! and steals. A submitter wakes a parked M only if there is no searcher; a
//! searcher that finds work stops searching, and if it was the *last*
//! searcher it wakes another, so the search continues while work may
//! remain. The last searcher to give up re-checks every queue after leaving
//! the count.
//!
//! Submitter (`Shared::push_remote`):     Last searcher (`Machine::park`):
//!
//! ```text
//!   push task to the injector              searching -= 1 (SeqCst RMW)
//!   fence(SeqCst)       // StoreLoad       fence(SeqCst)       // StoreLoad
//!   if searching == 0 && someone parked:   if any queue has a task:
//!       wake one M as a searcher               wake one M as a searcher
//! ```
//!
//! Either the submitter sees the searcher (who then sees the task), or the
//! searcher sees the task; with both fences they cannot both miss.
//! Pushes to an M's own queue skip the fence: the pushing M is awake and
//! runs the task itself if nobody comes to steal it.
//!
//! An M sleeps on its P's `Parker`. The first M to park takes the reactor
//! (a `try_lock` on `Shared::driver`) and blocks in the OS poller; the
//! others block on a condition variable. `Parker::unpark` knows which and
//! only then makes a syscall. Invariant: while an M is parked without the
//! driver, the driver is either held by a parked M or by an awake M that
//! will park (and take it) or poll it within `event_interval` ticks.
//!
//! A woken M tells why from `Idle`: if a notifier claimed it, it is a
//! searcher; if it is still registered asleep but has local work (the
//! reactor readied tasks on its thread), it leaves the sleepers itself;
//! otherwise the wake-up was spurious and it parks again.

use crate::context::{self, WorkerCtx};
use crate::metrics::{bump, WorkerCounters};
use crate::processor::Processor;
use crate::queue::LOCAL_QUEUE_CAPACITY;
use crate::shared::Shared;
use crate::task::Notified;
use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a searcher watches another P's runnext before taking it: if
/// the owner is about to run the task (the common case: it is between two
/// polls) it will have taken it by then. Go sleeps 3 µs for the same
/// reason in `runqgrab`; a few hundred nanoseconds of spinning is enough
/// to keep hand-off chains (chained spawns, ping-pong) on one P.
const RUNNEXT_STEAL_SPINS: u32 = 256;

/// See "Runnext starvation guard".
pub(crate) const MAX_RUNNEXT_STREAK: u32 = 3;

/// The body of an M thread (a worker, or a spare M started by the
/// handoff with `p`): run Ps until the runtime shuts down, or until this M
/// has had no P for `thread_keep_alive` (see `handoff.rs`).
pub(crate) fn run_worker(shared: Arc<Shared>, p: Box<Processor>) {
    let ctx = WorkerCtx {
        shared: shared.clone(),
        p: RefCell::new(Some(p)),
        searching: Cell::new(false),
    };
    let _worker = context::enter_worker(&ctx);
    let _reactor = shared.reactor.enter();
    while !shared.is_shutdown() {
        if ctx.p.borrow().is_none() {
            // Lost the P in `block_in_place`, or gave a spare P back.
            match shared.handoff.wait_as_spare(&shared) {
                Some(p) => *ctx.p.borrow_mut() = Some(p),
                None => break,
            }
            continue;
        }
        let m = Machine::new(&ctx);
        let _forced = m.count_forced_yields();
        if m.index < shared.num_workers {
            m.run_p();
        } else {
            m.run_spare();
        }
    }
    let holds = ctx.p.borrow().is_some();
    if holds {
        let p = Machine::new(&ctx).release_p();
        let p = shared.drain_p(p);
        if p.index < shared.num_workers {
            shared.idle_ps.lock().unwrap().push(p);
        } else {
            shared.handoff.spare_done(p);
        }
    }
    shared.handoff.thread_exited();
}

/// Go's M: a thread running a P, as a borrowed view of the thread's
/// `WorkerCtx`.
#[doc(alias = "M")]
pub(crate) struct Machine<'a> {
    ctx: &'a WorkerCtx,
    shared: &'a Shared,
    index: usize,
    /// `shared.counters[index]`, looked up once per P rather than per poll.
    counters: &'a WorkerCounters,
}

/// Puts back the thread's previous forced-yield counter when dropped (see
/// [`Machine::count_forced_yields`]).
pub(crate) struct ForcedYieldScope<'a> {
    prev: *const std::sync::atomic::AtomicU64,
    _counters: std::marker::PhantomData<&'a WorkerCounters>,
}

impl Drop for ForcedYieldScope<'_> {
    fn drop(&mut self) {
        // SAFETY: `prev` was set by an enclosing scope, still alive.
        unsafe { goro_coop::set_forced_yield_counter(self.prev) };
    }
}

impl<'a> Machine<'a> {
    pub(crate) fn new(ctx: &'a WorkerCtx) -> Machine<'a> {
        let index = ctx.p.borrow().as_ref().expect("an M needs a P").index;
        Machine {
            ctx,
            shared: &ctx.shared,
            index,
            counters: &ctx.shared.counters[index],
        }
    }

    /// Makes this thread count the polls its coop budget forces to yield
    /// in this P's counters, until the guard drops (see
    /// `goro_coop::set_forced_yield_counter`).
    pub(crate) fn count_forced_yields(&self) -> ForcedYieldScope<'a> {
        // SAFETY: the guard puts the previous counter back when it drops,
        // and it cannot outlive `'a`, the borrow of the runtime that owns
        // the counter. It is crate-private and its callers keep it on the
        // stack beside the Machine, so it is never leaked.
        let prev = unsafe { goro_coop::set_forced_yield_counter(&self.counters.forced_yields) };
        ForcedYieldScope {
            prev,
            _counters: std::marker::PhantomData,
        }
    }

    fn with_p<R>(&self, f: impl FnOnce(&mut Processor) -> R) -> R {
        let mut p = self.ctx.p.borrow_mut();
        f(p.as_mut().expect("the M lost its P"))
    }

    /// Whether this M still holds its P (false after `block_in_place`
    /// handed it over).
    fn holds_p(&self) -> bool {
        self.ctx.p.try_borrow().map_or(true, |p| p.is_some())
    }

    /// Runs the P until shutdown, or until the M loses it.
    fn run_p(&self) {
        // Two copies of the loop, so that the one without poll hooks has
        // no per-poll check for them.
        if self.shared.config.hooks.poll.is_some() {
            self.run_p_as::<true>()
        } else {
            self.run_p_as::<false>()
        }
    }

    fn run_p_as<const HOOKED: bool>(&self) {
        while !self.shared.is_shutdown() {
            match self.next_task() {
                Some(task) => self.run_as::<HOOKED>(task),
                None => {
                    if !self.park(None) {
                        return;
                    }
                }
            }
        }
    }

    /// A spare M on a spare P: runs the work taken from a stuck P (and the
    /// injector's), then gives the spare P back (see `handoff.rs`).
    fn run_spare(&self) {
        let (stuck, stuck_polls) = self.with_p(|p| (p.helps, p.helps_polls));
        let remote = &self.shared.remotes[stuck];
        let stuck_counters = &self.shared.counters[stuck];
        while !self.shared.is_shutdown() {
            let task = self.with_p(|p| {
                self.find_local(p, false)
                    .or_else(|| remote.steal.steal_into(&mut p.run_queue))
                    // Relaxed: a hint; only take runnext while its owner
                    // is still inside the stuck poll.
                    .or_else(|| {
                        (stuck_counters.polls.load(Ordering::Relaxed) == stuck_polls)
                            .then(|| remote.runnext.take())
                            .flatten()
                    })
            });
            let Some(task) = task else { break };
            self.run(task);
            if !self.holds_p() {
                return;
            }
        }
        let p = self.release_p();
        self.shared.handoff.spare_done(p);
    }

    /// Mirrors `ctx.searching` for schedtrace's per-M lines (written on
    /// search transitions only, never per poll). Relaxed: a report, read
    /// as a hint.
    fn note_searching(&self, searching: bool) {
        self.shared.counters[self.index]
            .searching
            .store(searching, Ordering::Relaxed);
    }

    /// Gives up the P (the M stops running goro code).
    pub(crate) fn release_p(&self) -> Box<Processor> {
        if self.ctx.searching.replace(false) {
            self.note_searching(false);
            self.shared.idle.stop_searching();
        }
        self.ctx.p.borrow_mut().take().expect("the M lost its P")
    }

    /// Runs one task with a fresh coop budget.
    pub(crate) fn run(&self, task: Notified) {
        if self.shared.config.hooks.poll.is_some() {
            self.run_as::<true>(task)
        } else {
            self.run_as::<false>(task)
        }
    }

    /// [`Machine::run`], for a loop that has checked for poll hooks once.
    /// Inlined into the M's loop: out of line, its prologue and epilogue
    /// were a third of its cost. Forced yields are counted where the
    /// budget runs out (`count_forced_yields`), not here.
    #[inline(always)]
    fn run_as<const HOOKED: bool>(&self, task: Notified) {
        let counters = self.counters;
        bump(&counters.polls, 1);
        // Relaxed: read by sysmon as a hint (see `handoff.rs`).
        counters
            .running
            .store(ptr::from_ref(task.header()).cast_mut(), Ordering::Relaxed);
        if HOOKED {
            if let Some(hooks) = &self.shared.config.hooks.poll {
                return self.run_hooked(task, hooks);
            }
        }
        goro_coop::with_budget(|| task.run());
    }

    /// `run` with poll hooks installed (see `hooks.rs`). The meta is taken
    /// before the poll: the record may be freed by it.
    #[inline(never)]
    fn run_hooked(&self, task: Notified, hooks: &crate::hooks::PollHooks) {
        let h = task.header();
        let meta = crate::hooks::TaskMeta::new(h.id, h.location);
        if let Some(f) = &hooks.before {
            f(&meta);
        }
        goro_coop::with_budget(|| task.run());
        if let Some(f) = &hooks.after {
            f(&meta);
        }
    }

    /// Finds the next task to run (see "Finding work"), or `None` if the M
    /// should park.
    /// `None` too when the M lost its P in `block_in_place`: `park` then
    /// says so.
    pub(crate) fn next_task(&self) -> Option<Notified> {
        let config = &self.shared.config;
        let (global_first, poll_events) = {
            let mut p = self.ctx.p.borrow_mut();
            let p = p.as_mut()?;
            p.until_global -= 1;
            p.until_event -= 1;
            let global_first = p.until_global == 0;
            if global_first {
                p.until_global = config.global_queue_interval;
            }
            let poll_events = p.until_event == 0;
            if poll_events {
                p.until_event = config.event_interval;
            }
            (global_first, poll_events)
        };
        // Relaxed: see sysmon.rs; the swap makes one M take each request.
        let due = || {
            self.shared.poll_due.load(Ordering::Relaxed)
                && self.shared.poll_due.swap(false, Ordering::Relaxed)
        };
        if poll_events {
            // The coarse clock that park stamps read (`task/wait.rs`).
            crate::task::wait::tick();
        }
        if (poll_events || due()) && self.shared.reactor.needs_polling() {
            self.poll_driver();
        }
        let task = self
            .with_p(|p| self.find_local(p, global_first))
            .or_else(|| self.poll_io())
            .or_else(|| self.steal());
        if task.is_some() && self.ctx.searching.replace(false) {
            self.note_searching(false);
            if self.shared.idle.stop_searching() {
                // Go's resetspinning: the last searcher found work; there
                // may be more, so start another searcher.
                self.shared.notify_parked(None);
            }
        }
        task
    }

    /// Steps 1-5 of "Finding work". Inlined into `next_task`, the path of
    /// every poll: out of line (it has a second caller, `poll_io`), its
    /// call costs a ping-pong round trip 23 instructions of ~440.
    #[inline(always)]
    fn find_local(&self, p: &mut Processor, global_first: bool) -> Option<Notified> {
        let shared = self.shared;
        let runnext = &shared.remotes[p.index].runnext;
        if global_first {
            if let Some(task) = shared.injector.pop() {
                return Some(task);
            }
        }
        if p.runnext_streak < MAX_RUNNEXT_STREAK {
            if let Some(task) = runnext.take() {
                p.runnext_streak += 1;
                return Some(task);
            }
        }
        p.runnext_streak = 0;
        if let Some(task) = p.run_queue.pop() {
            return Some(task);
        }
        if let Some(task) = runnext.take() {
            return Some(task);
        }
        self.take_from_injector(p)
    }

    /// Go's `globrunqget`: a fair share of the injector, one task to run
    /// and the rest into the local queue.
    #[inline(never)]
    fn take_from_injector(&self, p: &mut Processor) -> Option<Notified> {
        let injector = &self.shared.injector;
        if injector.is_empty() {
            return None;
        }
        let share = injector.len() / self.shared.num_workers + 1;
        let n = share.min(LOCAL_QUEUE_CAPACITY / 2);
        let mut first = None;
        injector.take(n, |task| match first {
            None => first = Some(task),
            // The share is at most half a ring and this P's queue is empty
            // whenever it gets here, so this does not overflow (if it did,
            // the overflow would simply go back to the injector).
            Some(_) => p.run_queue.push_back(task, injector),
        });
        first
    }

    /// Steals as a searcher (see "Worker thread parking/unparking").
    /// Out of line, as are the other paths taken when the local queue has
    /// nothing: inlined, their register pressure made every `next_task`
    /// save and restore more registers.
    #[inline(never)]
    fn steal(&self) -> Option<Notified> {
        if self.shared.is_shutdown() {
            return None;
        }
        if !self.ctx.searching.get() {
            if !self.shared.idle.try_become_searching() {
                return None;
            }
            self.ctx.searching.set(true);
            self.note_searching(true);
        }
        let remotes = self.shared.workers();
        let n = remotes.len();
        self.with_p(|p| {
            let start = p.rand_below(n);
            let me = p.index;
            let others = (0..n).map(|k| (start + k) % n).filter(move |&i| i != me);
            let counters = &self.shared.counters[me];
            for i in others.clone() {
                let before = p.run_queue.len();
                if let Some(task) = remotes[i].steal.steal_into(&mut p.run_queue) {
                    bump(&counters.steal_operations, 1);
                    let moved = p.run_queue.len().saturating_sub(before) + 1;
                    bump(&counters.steals, moved as u64);
                    return Some(task);
                }
            }
            if let Some(task) = self.take_from_injector(p) {
                return Some(task);
            }
            // Nothing anywhere else: take a runnext task that its P has not
            // got round to (it may be stuck in a long poll).
            let task = others
                .into_iter()
                .find_map(|i| remotes[i].runnext.steal_if_stale(RUNNEXT_STEAL_SPINS));
            if task.is_some() {
                bump(&counters.steal_operations, 1);
                bump(&counters.steals, 1);
            }
            task
        })
    }

    /// Out of local work: polls the reactor's sockets without blocking
    /// (beside the M that may be parked in the driver, see
    /// `goro_reactor::Handle::poll_io_now`) and takes what that woke onto
    /// this P (see "Polling for IO before stealing").
    #[inline(never)]
    fn poll_io(&self) -> Option<Notified> {
        if self.shared.is_shutdown() || !self.shared.reactor.poll_io_now() {
            return None;
        }
        self.with_p(|p| self.find_local(p, false))
    }

    /// Polls the reactor without blocking, if no other thread has it.
    #[inline(never)]
    fn poll_driver(&self) {
        if let Some(mut driver) = self.shared.try_driver() {
            if let Some(driver) = driver.as_mut() {
                driver.park(Some(Duration::ZERO));
            }
        }
    }

    fn has_local_work(&self) -> bool {
        !self.shared.remotes[self.index].runnext.is_empty()
            || self.with_p(|p| !p.run_queue.is_empty())
    }

    /// Parks until there may be work (see "Worker thread
    /// parking/unparking"). `main` is the woken flag of a current-thread
    /// `block_on` future, which also ends the park. Returns false, at once,
    /// if the M has no P any more (it gave it up in `block_in_place`).
    pub(crate) fn park(&self, main: Option<&AtomicBool>) -> bool {
        if !self.holds_p() {
            return false;
        }
        let counters = &self.shared.counters[self.index];
        bump(&counters.parks, 1);
        let now = Instant::now();
        let busy = self.with_p(|p| now.saturating_duration_since(p.awake_since));
        bump(&counters.busy_ns, busy.as_nanos() as u64);
        self.park_until_work(main);
        bump(&counters.unparks, 1);
        self.with_p(|p| p.awake_since = Instant::now());
        true
    }

    fn park_until_work(&self, main: Option<&AtomicBool>) {
        let shared = self.shared;
        shared.watch.on_park();
        let was_searching = self.ctx.searching.replace(false);
        if was_searching {
            self.note_searching(false);
        }
        if shared.idle.transition_to_parked(self.index, was_searching) {
            // StoreLoad: pairs with the submitter's fence in push_remote.
            fence(Ordering::SeqCst);
            if shared.has_stealable_work() {
                // May pick this very M: its parker then returns at once.
                shared.notify_parked(None);
            }
        }
        loop {
            // Acquire: pairs with the Release in the block_on MainWaker.
            let main_woken = || main.is_some_and(|w| w.load(Ordering::Acquire));
            if shared.is_shutdown() {
                return;
            }
            if main_woken() || self.has_local_work() {
                let searching = shared.idle.transition_from_parked(self.index);
                self.ctx.searching.set(searching);
                self.note_searching(searching);
                return;
            }
            if !shared.idle.is_asleep(self.index) {
                // Claimed by a notifier: search.
                self.ctx.searching.set(true);
                self.note_searching(true);
                return;
            }
            self.park_once();
            crate::task::wait::tick();
        }
    }

    fn park_once(&self) {
        let parker = &self.shared.remotes[self.index].parker;
        match self.shared.try_driver() {
            Some(mut guard) => match guard.as_mut() {
                Some(driver) => parker.park_in(driver),
                None => parker.park(),
            },
            None => parker.park(),
        }
    }
}
