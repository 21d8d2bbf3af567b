//! Deadlock detection: Go's `all goroutines are asleep - deadlock!`.
//!
//! # The rule
//!
//! A runtime is reported deadlocked when, at two looks `grace` apart (and
//! at every look between them), all of this holds:
//!
//! 1. at least one `block_on` runs on the runtime, and every `block_on`
//!    thread is parked waiting for its future's waker;
//! 2. every M is parked (`Idle::all_parked`), and no run queue, runnext
//!    slot or the injector holds a task;
//! 3. no timer is armed in the reactor;
//! 4. no registered socket holds a waker (nobody waits for IO);
//! 5. the blocking pool has no job queued or running;
//! 6. no M and no `block_on` thread parked again in between (the park
//!    counters did not move);
//!
//! and the dump taken then shows no task running or queued.
//!
//! Why each part:
//!
//! * (1) Without a `block_on` nobody waits for the runtime's work: a
//!   program may drive it from plain threads through a `Handle`, and a
//!   parked runtime is then simply idle. A running `block_on` future can
//!   make progress by itself.
//! * (2) A running or queued task can wake every other one.
//! * (3) An armed timer fires without anybody's help and wakes its task.
//! * (4) The kernel may make a socket ready at any time (a peer in this
//!   process on a plain thread, or another process), and its waiting task
//!   runs then.
//! * (5) A blocking job runs on its own thread and may wake anything
//!   (through a channel, a `Notify`, its own JoinHandle).
//! * (6) The looks are not atomic: something may run between two of them.
//!   Anything that runs on the runtime ends by parking its M (or its
//!   `block_on` thread) again, which moves a counter, so unchanged
//!   counters with everything parked at both looks mean nothing ran.
//!
//! What remains can only be woken from outside the runtime: by a plain OS
//! thread (or another runtime, or a signal handler) that holds a `Waker`,
//! or a `Sender`, a `Mutex` guard, a `WaitGroup` that leads to one. goro
//! cannot see who holds a waker, only whether one exists: a parked task's
//! reference count beyond the runtime's own (the owned list and the
//! JoinHandle) is exactly its live Waker clones (see `dump.rs`). If none of
//! the parked tasks has a waker, the deadlock is certain. Otherwise the
//! grace period is how long goro waits for such an outside wake-up before
//! it calls the state a deadlock: a plain thread that sends after a pause
//! shorter than `grace` is never reported. A program whose threads stay
//! silent longer than that while every task waits for them should raise
//! `Builder::deadlock_grace` or use `Deadlock::Ignore` (the default of a
//! hand-built runtime).
//!
//! # Who looks
//!
//! A watcher thread per runtime, started only when the policy is not
//! `Ignore`. It looks every `grace / 4` (at least 5 ms, at most 250 ms),
//! which costs a few wake-ups a second and a handful of atomic loads; the
//! M park counter it relies on is only counted when the watcher exists.
//! On a deadlock it prints the report (`Report`) or hands it to every
//! parked `block_on`, which panics with it (`Panic`). It reports once per
//! deadlock: the next report needs activity first.

use crate::shared::Shared;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Waker;
use std::time::{Duration, Instant};

/// What a runtime does when every task is asleep (see
/// `Builder::on_deadlock` and `docs/debugging.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Deadlock {
    /// Every `block_on` on the runtime panics with
    /// `goro: all tasks are asleep - deadlock!` and the task dump. The
    /// default of `#[goro::test]`.
    Panic,
    /// The message and the dump go to stderr; the program goes on (an
    /// outside thread may still wake it). The default of `#[goro::main]`.
    Report,
    /// No detection, no watcher thread. The default of a hand-built
    /// runtime.
    #[default]
    Ignore,
}

/// The first line of every deadlock report.
pub(crate) const MESSAGE: &str = "goro: all tasks are asleep - deadlock!";

/// Per-runtime deadlock-detection state (a field of `Shared`).
pub(crate) struct Watch {
    pub(crate) policy: Deadlock,
    pub(crate) grace: Duration,
    /// How many times an M entered `Machine::park`; counted only when
    /// `policy` is not `Ignore`.
    parks: AtomicU64,
    /// The `block_on` calls in progress.
    block_ons: Mutex<Vec<Arc<BlockOnSlot>>>,
}

/// One `block_on` in progress, as the watcher sees it.
pub(crate) struct BlockOnSlot {
    /// Set while the thread is parked waiting for the future's waker.
    parked: AtomicBool,
    /// How many times it parked.
    parks: AtomicU64,
    /// Wakes the `block_on` loop.
    waker: Waker,
    /// The report, for a `Panic` policy: the thread panics with it.
    report: Mutex<Option<String>>,
}

impl Watch {
    pub(crate) fn new(policy: Deadlock, grace: Duration) -> Watch {
        Watch {
            policy,
            grace,
            parks: AtomicU64::new(0),
            block_ons: Mutex::new(Vec::new()),
        }
    }

    fn enabled(&self) -> bool {
        self.policy != Deadlock::Ignore
    }

    /// An M is about to park (see rule 6).
    #[inline]
    pub(crate) fn on_park(&self) {
        if self.enabled() {
            // Relaxed: a change counter; the watcher compares two reads.
            self.parks.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Registers a `block_on` whose loop `waker` wakes; `None` when
    /// detection is off. The guard unregisters it.
    pub(crate) fn enter_block_on<'a>(&'a self, waker: &Waker) -> Option<BlockOnGuard<'a>> {
        if !self.enabled() {
            return None;
        }
        let slot = Arc::new(BlockOnSlot {
            parked: AtomicBool::new(false),
            parks: AtomicU64::new(0),
            waker: waker.clone(),
            report: Mutex::new(None),
        });
        self.block_ons.lock().unwrap().push(slot.clone());
        Some(BlockOnGuard { watch: self, slot })
    }
}

/// A registered `block_on`; see [`Watch::enter_block_on`].
pub(crate) struct BlockOnGuard<'a> {
    watch: &'a Watch,
    slot: Arc<BlockOnSlot>,
}

impl BlockOnGuard<'_> {
    /// Runs `park` (the `block_on` thread's sleep) marked as parked, then
    /// panics with the deadlock report if the watcher left one.
    pub(crate) fn park(&self, park: impl FnOnce()) {
        // Relaxed (both): the watcher reads them as hints, and rule 6's
        // counter catches any park it did not see.
        self.slot.parks.fetch_add(1, Ordering::Relaxed);
        self.slot.parked.store(true, Ordering::Relaxed);
        park();
        self.slot.parked.store(false, Ordering::Relaxed);
        let report = self.slot.report.lock().unwrap().take();
        if let Some(report) = report {
            panic!("{report}");
        }
    }
}

impl Drop for BlockOnGuard<'_> {
    fn drop(&mut self) {
        self.watch
            .block_ons
            .lock()
            .unwrap()
            .retain(|s| !Arc::ptr_eq(s, &self.slot));
    }
}

/// `block_on` guard of an optional registration.
pub(crate) fn park_block_on(guard: &Option<BlockOnGuard<'_>>, park: impl FnOnce()) {
    match guard {
        Some(g) => g.park(park),
        None => park(),
    }
}

/// The counters of one look at a quiescent runtime.
#[derive(PartialEq, Eq, Clone, Copy)]
struct Look {
    m_parks: u64,
    block_on_parks: u64,
}

/// One look: `Some` if rules 1 to 5 hold now.
fn look(s: &Shared) -> Option<Look> {
    let w = &s.watch;
    // Relaxed: see `Watch::on_park`; read before the checks below, so a
    // park that happens during them shows at the next look.
    let m_parks = w.parks.load(Ordering::Relaxed);
    let block_on_parks = {
        let slots = w.block_ons.lock().unwrap();
        // Relaxed: see `BlockOnGuard::park`.
        if slots.is_empty() || !slots.iter().all(|b| b.parked.load(Ordering::Relaxed)) {
            return None;
        }
        slots.iter().map(|b| b.parks.load(Ordering::Relaxed)).sum()
    };
    let quiet = s.idle.all_parked()
        && !s.has_stealable_work()
        && s.remotes.iter().all(|r| r.runnext.is_empty())
        && s.reactor.pending_timers() == 0
        && !s.blocking.is_busy()
        && s.reactor.waiting_sockets() == 0;
    quiet.then_some(Look {
        m_parks,
        block_on_parks,
    })
}

/// The watcher thread's body; exits when the runtime shuts down or is gone
/// (woken early by `Thread::unpark` at shutdown).
pub(crate) fn run(shared: Weak<Shared>) {
    let grace = match shared.upgrade() {
        Some(s) => s.watch.grace,
        None => return,
    };
    let every = (grace / 4).clamp(Duration::from_millis(5), Duration::from_millis(250));
    let mut since: Option<(Instant, Look)> = None;
    let mut reported = false;
    loop {
        std::thread::park_timeout(every);
        let Some(s) = shared.upgrade() else { return };
        if s.is_shutdown() {
            return;
        }
        crate::task::wait::tick();
        let now = look(&s);
        match (now, since) {
            (Some(l), Some((t0, l0))) if l == l0 => {
                if !reported && t0.elapsed() >= grace {
                    reported = report(&s);
                    if !reported {
                        since = None;
                    }
                }
            }
            (Some(l), _) => {
                since = Some((Instant::now(), l));
                reported = false;
            }
            (None, _) => {
                since = None;
                reported = false;
            }
        }
    }
}

/// Reports a deadlock by `s`'s policy; false if the dump shows a task
/// running or queued after all (then it was no deadlock).
fn report(s: &Shared) -> bool {
    let dump = crate::dump::dump(s);
    if dump
        .tasks()
        .iter()
        .any(|t| t.status() != crate::dump::TaskStatus::Waiting)
    {
        return false;
    }
    let text = format!("{MESSAGE}\n\n{dump}");
    match s.watch.policy {
        Deadlock::Ignore => {}
        Deadlock::Report => eprintln!("{text}"),
        Deadlock::Panic => {
            let slots = s.watch.block_ons.lock().unwrap().clone();
            for slot in slots {
                *slot.report.lock().unwrap() = Some(text.clone());
                slot.waker.wake_by_ref();
            }
        }
    }
    true
}
