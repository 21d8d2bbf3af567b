//! Blocked-worker handoff: Go's `handoffp` and sysmon's `retake`, for
//! futures.
//!
//! # The handoff rule
//!
//! A poll that blocks its thread (a synchronous file read, a database
//! driver, `std::thread::sleep`) also blocks the tasks queued behind it on
//! the same P, and on a runtime with one worker, everything. Go's M gives
//! its P away when it enters a blocking syscall, and sysmon takes the P of
//! an M that has stayed in one for longer than a tick. goro does the same
//! in two ways:
//!
//! * **`block_in_place(f)`**, annotated: the calling M takes its P out of
//!   its own context (it is inside a poll, so nothing else of this thread
//!   holds it) and lends it. If the P or the injector has work, it is
//!   handed at once to another M (a parked spare, or a new thread); if
//!   not, it waits in `State::lent`, and sysmon hands it over when the
//!   call has lasted longer than one of its ticks. When `f` returns the
//!   caller takes its P back if it is still lent; otherwise it finishes
//!   its poll without a P (spawns and wakes go to the injector) and then
//!   parks as a spare M, waiting `thread_keep_alive` for a P that needs an
//!   M, and exits if none comes.
//! * **Unannotated blocking**: sysmon watches each P's poll counter (the
//!   store every tick already makes, `WorkerCounters::polls`). A P whose
//!   counter has not moved for `blocking_threshold` while its M is not
//!   parked, and whose spawn counter has not moved either, is stuck in
//!   one poll (a poll that keeps spawning is handing out work: its tasks
//!   overflow to the injector, where the other Ms take them, and it is a
//!   long poll rather than a blocked one). If that P or the injector has queued
//!   work, sysmon takes one of the runtime's spare Ps, moves the stuck P's
//!   runnext task and queue into it through the stealer's end (the same
//!   operations another worker's steal uses, so the stuck M may keep
//!   pushing to its own queue meanwhile), and starts a spare M on it. That
//!   M runs the spare P, takes the injector's work and whatever the stuck
//!   M queues, and when it finds nothing gives the spare P back. When the
//!   stuck poll ends, sysmon prints, once per task:
//!   `goro: task 17 (src/db.rs:88) blocked its worker for 250 ms; use
//!   spawn_blocking or block_in_place`. A poll still stuck after
//!   `still_running_bound` (1 s by default) is reported while it runs,
//!   once per task too: `goro: task 17 (src/db.rs:88) has blocked its
//!   worker for 1000 ms and is still running; use ...`. Each task gets at
//!   most one line of each kind (the exact rule: `docs/debugging.md`).
//!
//! Why the stuck P itself is not handed over, as Go's retake does: the M
//! stuck in the poll still owns the P's queue (the owner's end of the ring
//! is single-producer) and may push to it at any moment from the poll (a
//! spawn, a wake). Go's M re-checks its P's status word when it leaves the
//! syscall; a future's poll has no such exit point, and checking an
//! ownership word on every push would put a read-modify-write on the spawn
//! and wake paths. The stuck P's work moves instead, which needs nothing
//! from the stuck M.
//!
//! Threads: at most `workers` Ms beyond the workers run at any time
//! (`Handoff::max_threads`); past that, a lent P waits for its caller and
//! a stuck P's work for its M. Spare Ms exit after `thread_keep_alive`
//! without a P.
//!
//! # What it cannot fix
//!
//! Work that is inside the stuck task stays stuck with it: futures it
//! joins or selects over (`join!`, a `FuturesUnordered`) are polled by its
//! poll, so they wait for it. Only separate tasks move to another M.

use crate::processor::Processor;
use crate::shared::Shared;
use std::collections::HashSet;
use std::panic::Location;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Starts a new M thread running the closure (built by the runtime's
/// `Builder`: thread name, stack size, start and stop hooks, the runtime's
/// thread count for shutdown). On error the closure is dropped unrun.
pub(crate) type SpawnM = Box<dyn Fn(Box<dyn FnOnce() + Send>) -> std::io::Result<()> + Send + Sync>;

/// The handoff state of one multi-thread runtime (see the module docs).
pub(crate) struct Handoff {
    state: Mutex<State>,
    /// Spare Ms wait on it for `State::for_spares`.
    spare_cv: Condvar,
    /// `Builder::blocking_threshold`.
    pub(crate) threshold: Option<Duration>,
    /// How long a spare M waits for a P before it exits.
    keep_alive: Duration,
    /// Workers plus at most as many extra Ms.
    max_threads: usize,
    spawn: Option<SpawnM>,
}

/// What one M thread is doing, for schedtrace's per-M lines. Kept by the
/// handoff's transitions (all under its lock), never by the run loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MState {
    /// No thread has this id (it exited; a new M may reuse the id).
    Exited,
    /// Runs P `n`.
    Holds(usize),
    /// Inside `block_in_place`, its P lent.
    Blocking,
    /// Without a P and not yet waiting for one: finishing the poll that
    /// called `block_in_place` after another M took its P, or just gave a
    /// spare P back. It waits as a spare next.
    NoP,
    /// A spare M parked in `wait_as_spare`, waiting for a P.
    Waiting,
}

/// Where a P is, for schedtrace's per-P lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PPlace {
    /// M `n` runs it.
    Held(usize),
    /// Lent by a `block_in_place` caller, or handed to a parked spare M
    /// that has not picked it up yet: no M runs it.
    Unheld,
    /// A spare P in the idle pool.
    Idle,
}

/// One consistent look at the handoff's Ms and Ps (one lock).
pub(crate) struct View {
    /// M threads alive (workers, spare Ms, `block_in_place` callers).
    pub(crate) threads: usize,
    /// `(id, state)` of every M alive, by id.
    pub(crate) ms: Vec<(usize, MState)>,
    /// By P index, spare Ps included.
    pub(crate) ps: Vec<PPlace>,
}

/// This thread's M id; `hint` is the index of the P it lends now, which is
/// its id if it is a worker M that never lost its first P.
fn m_id(hint: Option<usize>) -> Option<usize> {
    crate::context::with_m_id(|id| {
        if id.get() == usize::MAX {
            id.set(hint?);
        }
        Some(id.get())
    })
}

/// Every P not held by an M is in exactly one of `lent`, `for_spares`,
/// `spare_ps` (or `Shared::idle_ps` at shutdown); `unheld` mirrors that by
/// index for sysmon.
struct State {
    /// Ps lent by `block_in_place` callers and not yet handed to an M,
    /// with the time they were lent.
    lent: Vec<(Box<Processor>, Instant)>,
    /// Ps handed to parked spare Ms that have not picked them up yet.
    #[allow(clippy::vec_box)]
    for_spares: Vec<Box<Processor>>,
    /// Spare Ms waiting on `spare_cv`.
    parked_spares: usize,
    /// M threads alive (workers included).
    threads: usize,
    /// The spare Ps no M runs (indices `workers..2 * workers`).
    #[allow(clippy::vec_box)]
    spare_ps: Vec<Box<Processor>>,
    /// By P index: no M holds it.
    unheld: Vec<bool>,
    /// By worker P index: a spare M is taking its work.
    rescued: Vec<bool>,
    /// By M id (workers are `0..workers`, the Ms they start first): what
    /// each M does, for schedtrace. At most `max_threads` entries alive.
    ms: Vec<MState>,
}

impl State {
    /// Sets this thread's M's state, if it is a known M.
    fn set_me(&mut self, hint: Option<usize>, state: MState) {
        if let Some(slot) = m_id(hint).and_then(|id| self.ms.get_mut(id)) {
            *slot = state;
        }
    }
}

impl Handoff {
    /// `spare_ps` are the Ps a stuck P's work moves to (empty when the
    /// threshold is off or on a current-thread runtime).
    #[allow(clippy::vec_box)]
    pub(crate) fn new(
        workers: usize,
        spare_ps: Vec<Box<Processor>>,
        threshold: Option<Duration>,
        keep_alive: Duration,
        spawn: Option<SpawnM>,
    ) -> Handoff {
        let total = workers + spare_ps.len();
        let mut unheld = vec![false; total];
        for p in &spare_ps {
            unheld[p.index] = true;
        }
        Handoff {
            state: Mutex::new(State {
                lent: Vec::new(),
                for_spares: Vec::new(),
                parked_spares: 0,
                threads: workers,
                spare_ps,
                unheld,
                rescued: vec![false; workers],
                ms: (0..workers).map(MState::Holds).collect(),
            }),
            spare_cv: Condvar::new(),
            threshold,
            keep_alive,
            max_threads: 2 * workers,
            spawn,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Gives `p` to an M: a parked spare, or a new thread if fewer than
    /// `max_threads` run. Gives it back if neither is possible.
    fn start_m(
        &self,
        shared: &Arc<Shared>,
        st: &mut State,
        p: Box<Processor>,
    ) -> Result<(), Box<Processor>> {
        if shared.is_shutdown() {
            return Err(p);
        }
        if st.parked_spares > st.for_spares.len() {
            st.unheld[p.index] = true;
            st.for_spares.push(p);
            self.spare_cv.notify_one();
            return Ok(());
        }
        let Some(spawn) = self
            .spawn
            .as_ref()
            .filter(|_| st.threads < self.max_threads)
        else {
            return Err(p);
        };
        // The lowest free M id (a dead M's id is reused, so ids stay
        // below `max_threads`).
        let id = match st.ms.iter().position(|&m| m == MState::Exited) {
            Some(id) => id,
            None => {
                st.ms.push(MState::Exited);
                st.ms.len() - 1
            }
        };
        st.ms[id] = MState::Holds(p.index);
        // The P travels in a slot so that a failed spawn gives it back.
        let slot = Arc::new(Mutex::new(Some(p)));
        let (s, theirs) = (shared.clone(), slot.clone());
        let body = Box::new(move || {
            crate::context::with_m_id(|m| m.set(id));
            let p = theirs.lock().unwrap().take();
            if let Some(p) = p {
                crate::worker::run_worker(s, p);
            }
        });
        st.threads += 1;
        if spawn(body).is_err() {
            st.threads -= 1;
            st.ms[id] = MState::Exited;
            let p = slot.lock().unwrap().take();
            return Err(p.expect("the thread did not start"));
        }
        Ok(())
    }

    /// `block_in_place`: the calling M lends its P (see the module docs).
    pub(crate) fn lend(&self, shared: &Arc<Shared>, p: Box<Processor>) {
        let has_work = !shared.remotes[p.index].runnext.is_empty()
            || !p.run_queue.is_empty()
            || !shared.injector.is_empty();
        let mut st = self.lock();
        st.set_me(Some(p.index), MState::Blocking);
        let p = if has_work {
            match self.start_m(shared, &mut st, p) {
                Ok(()) => return,
                Err(p) => p,
            }
        } else {
            p
        };
        st.unheld[p.index] = true;
        st.lent.push((p, Instant::now()));
    }

    /// `block_in_place`'s `f` returned: P `index` back, if still lent.
    pub(crate) fn reclaim(&self, index: usize) -> Option<Box<Processor>> {
        let mut st = self.lock();
        let Some(at) = st.lent.iter().position(|(p, _)| p.index == index) else {
            st.set_me(None, MState::NoP);
            return None;
        };
        let (p, _) = st.lent.swap_remove(at);
        st.unheld[index] = false;
        st.set_me(None, MState::Holds(index));
        Some(p)
    }

    /// An M without a P waits for one as a spare, up to `keep_alive`.
    /// `None`: none came (or the runtime shuts down); the M exits.
    pub(crate) fn wait_as_spare(&self, shared: &Shared) -> Option<Box<Processor>> {
        let deadline = Instant::now() + self.keep_alive;
        let mut st = self.lock();
        st.parked_spares += 1;
        st.set_me(None, MState::Waiting);
        let p = loop {
            if let Some(p) = st.for_spares.pop() {
                st.unheld[p.index] = false;
                st.set_me(None, MState::Holds(p.index));
                break Some(p);
            }
            let now = Instant::now();
            if shared.is_shutdown() || now >= deadline {
                break None;
            }
            st = self
                .spare_cv
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        };
        st.parked_spares -= 1;
        if p.is_none() {
            st.set_me(None, MState::NoP);
        }
        p
    }

    /// The Ms and where each P is, read under one lock so that the two
    /// agree (for schedtrace).
    pub(crate) fn view(&self, num_ps: usize) -> View {
        let st = self.lock();
        let mut ps = vec![PPlace::Unheld; num_ps];
        for p in &st.spare_ps {
            ps[p.index] = PPlace::Idle;
        }
        let mut ms = Vec::with_capacity(st.threads);
        for (id, &m) in st.ms.iter().enumerate() {
            if let MState::Holds(i) = m {
                ps[i] = PPlace::Held(id);
            }
            if m != MState::Exited {
                ms.push((id, m));
            }
        }
        View {
            threads: st.threads,
            ms,
            ps,
        }
    }

    /// An M thread ends. (A worker M that never lost its first P does not
    /// know its id, and only ends at shutdown: its entry stays, unread.)
    pub(crate) fn thread_exited(&self) {
        let mut st = self.lock();
        st.threads -= 1;
        st.set_me(None, MState::Exited);
    }

    /// A spare M gives its spare P back: it found no more work.
    pub(crate) fn spare_done(&self, p: Box<Processor>) {
        let mut st = self.lock();
        if let Some(r) = st.rescued.get_mut(p.helps) {
            *r = false;
        }
        st.set_me(None, MState::NoP);
        st.unheld[p.index] = true;
        st.spare_ps.push(p);
    }

    /// Shutdown: wakes every spare M (they exit) and returns every P no M
    /// holds, for draining.
    #[allow(clippy::vec_box)]
    pub(crate) fn shutdown(&self) -> Vec<Box<Processor>> {
        let mut st = self.lock();
        self.spare_cv.notify_all();
        let mut ps: Vec<_> = st.lent.drain(..).map(|(p, _)| p).collect();
        ps.append(&mut st.for_spares);
        ps.append(&mut st.spare_ps);
        ps
    }

    /// Wakes the spare Ms so that they see the shutdown flag.
    pub(crate) fn wake_spares(&self) {
        let _st = self.lock();
        self.spare_cv.notify_all();
    }

    /// Whether sysmon has anything to watch when every P is parked: a lent
    /// P or a spare P at work.
    pub(crate) fn is_quiet(&self) -> bool {
        let st = self.lock();
        st.lent.is_empty() && !st.rescued.iter().any(|&r| r)
    }
}

/// How long a poll must have blocked its worker, still running, for
/// sysmon to say so before it ends: 100 × `blocking_threshold`, at least
/// 1 s and at most 10 s (see `docs/debugging.md`, "Blocked workers").
pub(crate) fn still_running_bound(threshold: Duration) -> Duration {
    threshold
        .saturating_mul(100)
        .clamp(Duration::from_secs(1), Duration::from_secs(10))
}

/// The line printed, at most once per task, when a poll still blocks its
/// worker after `still_running_bound`.
pub(crate) fn still_running_report(
    id: crate::task::Id,
    location: &Location<'_>,
    blocked: Duration,
) -> String {
    format!(
        "goro: task {id} ({}:{}) has blocked its worker for {} ms and is still running; use \
         spawn_blocking or block_in_place",
        location.file(),
        location.line(),
        blocked.as_millis()
    )
}

/// The line printed, at most once per task, when a poll that blocked its
/// worker ends.
pub(crate) fn blocked_report(
    id: crate::task::Id,
    location: &Location<'_>,
    blocked: Duration,
) -> String {
    format!(
        "goro: task {id} ({}:{}) blocked its worker for {} ms; use spawn_blocking or \
         block_in_place",
        location.file(),
        location.line(),
        blocked.as_millis()
    )
}

/// What sysmon last saw of one P.
struct Seen {
    polls: u64,
    /// The P's spawn count at that look: a poll that keeps spawning is
    /// handing out work, not stuck (see the module docs).
    spawned: u64,
    since: Instant,
    /// The last look that found it still inside that poll.
    last: Instant,
    /// The task of the current stall, once looked up.
    task: Option<(crate::task::Id, &'static Location<'static>)>,
    /// The current stall got the still-running line: its end line, if it
    /// gets one, is the total.
    said_running: bool,
}

/// Sysmon's half of the handoff: hands over lent Ps, notices stuck ones.
pub(crate) struct Retaker {
    seen: Vec<Seen>,
    last_tick: Instant,
    /// Tasks whose end line was printed (8 bytes per task that ever
    /// blocked).
    reported: HashSet<crate::task::Id>,
    /// Tasks whose still-running line was printed.
    reported_running: HashSet<crate::task::Id>,
}

impl Retaker {
    pub(crate) fn new() -> Retaker {
        Retaker {
            seen: Vec::new(),
            last_tick: Instant::now(),
            reported: HashSet::new(),
            reported_running: HashSet::new(),
        }
    }

    /// Sysmon's last look, at shutdown: reports the stalls that ended since
    /// the previous look (their task is no longer inside a poll).
    pub(crate) fn finish(&mut self, s: &Shared) {
        let mut running = HashSet::new();
        s.owned.for_each(|h, _| {
            if h.state.load().is_running() {
                running.insert(h.id);
            }
        });
        for seen in self.seen.iter_mut() {
            if let Some((id, location)) = seen.task.take().filter(|t| !running.contains(&t.0)) {
                if self.reported.insert(id) {
                    let blocked = seen.last - seen.since;
                    eprintln!("{}", blocked_report(id, location, blocked));
                }
            }
        }
    }

    /// One sysmon look.
    pub(crate) fn tick(&mut self, s: &Arc<Shared>) {
        let now = Instant::now();
        let h = &s.handoff;
        let mut st = h.lock();
        // Ps lent before the previous look: the call has lasted longer than
        // a tick.
        let mut i = 0;
        while i < st.lent.len() {
            if st.lent[i].1 > self.last_tick {
                i += 1;
                continue;
            }
            let (p, since) = st.lent.swap_remove(i);
            let index = p.index;
            st.unheld[index] = false;
            if let Err(p) = h.start_m(s, &mut st, p) {
                st.unheld[index] = true;
                st.lent.push((p, since));
                break; // no M to be had; try again next look
            }
        }
        self.last_tick = now;
        let Some(threshold) = h.threshold else { return };
        let workers = s.num_workers;
        if self.seen.len() != s.counters.len() {
            self.seen = (0..s.counters.len())
                .map(|_| Seen {
                    polls: 0,
                    spawned: 0,
                    since: now,
                    last: now,
                    task: None,
                    said_running: false,
                })
                .collect();
        }
        for (i, c) in s.counters.iter().enumerate() {
            // Relaxed: statistics, read as hints (see metrics.rs). A wrong
            // guess costs a spare M that finds little to do.
            let polls = c.polls.load(Relaxed);
            let spawned = c.spawned.load(Relaxed);
            let parked = c.parks.load(Relaxed) != c.unparks.load(Relaxed);
            let seen = &mut self.seen[i];
            let spawning = spawned != seen.spawned;
            seen.spawned = spawned;
            if polls != seen.polls || parked || spawning || st.unheld[i] {
                if let Some((id, location)) = seen.task.take() {
                    let blocked = now - seen.since;
                    if self.reported.insert(id) {
                        eprintln!("{}", blocked_report(id, location, blocked));
                    }
                }
                seen.polls = polls;
                seen.since = now;
                seen.said_running = false;
                continue;
            }
            seen.last = now;
            let blocked = now - seen.since;
            if blocked < threshold {
                continue;
            }
            if seen.task.is_none() {
                seen.task = running_task(s, c, polls);
            }
            if let Some((id, location)) = seen.task {
                if !seen.said_running
                    && blocked >= still_running_bound(threshold)
                    && self.reported_running.insert(id)
                {
                    seen.said_running = true;
                    eprintln!("{}", still_running_report(id, location, blocked));
                }
            }
            let remote = &s.remotes[i];
            let has_work =
                !remote.steal.is_empty() || !remote.runnext.is_empty() || !s.injector.is_empty();
            if i >= workers || st.rescued[i] || !has_work {
                continue;
            }
            let Some(mut spare) = st.spare_ps.pop() else {
                continue;
            };
            // Sysmon holds the spare P here (no M does): it may use its
            // queue's owner end.
            spare.helps = i;
            spare.helps_polls = polls;
            if let Some(task) = remote.runnext.take() {
                spare.run_queue.push_back(task, &s.injector);
            }
            while remote
                .steal
                .steal_into(&mut spare.run_queue)
                .is_some_and(|task| {
                    spare.run_queue.push_back(task, &s.injector);
                    true
                })
            {}
            let index = spare.index;
            st.unheld[index] = false;
            match h.start_m(s, &mut st, spare) {
                Ok(()) => st.rescued[i] = true,
                Err(spare) => {
                    // No M: put the work back where any M looks.
                    let mut spare = spare;
                    while let Some(task) = spare.run_queue.pop() {
                        s.injector.push(task);
                    }
                    st.unheld[index] = true;
                    st.spare_ps.push(spare);
                }
            }
        }
    }
}

/// The task P `c` is polling, looked up in the owned list by the record
/// pointer its M stored before the poll (compared, never dereferenced
/// outside the list's lock). `None` if the P moved on meanwhile.
fn running_task(
    s: &Shared,
    c: &crate::metrics::WorkerCounters,
    polls: u64,
) -> Option<(crate::task::Id, &'static Location<'static>)> {
    // Relaxed: a hint, checked against the poll counter below.
    let ptr = c.running.load(Relaxed);
    let mut found = None;
    s.owned.for_each(|h, _| {
        if std::ptr::eq(h, ptr) {
            found = Some((h.id, h.location));
        }
    });
    // The record may have been freed and reused if the poll ended.
    (c.polls.load(Relaxed) == polls).then_some(found).flatten()
}

/// Runs `f`, letting the runtime run this worker's other tasks on another
/// thread meanwhile (see [`crate::task::block_in_place`]).
pub(crate) fn block_in_place<R>(f: impl FnOnce() -> R) -> R {
    let lent = crate::context::lend_p();
    match lent {
        Lent::CurrentThread => panic!(
            "goro::task::block_in_place called on a current-thread runtime: its only worker \
             is this thread, so no other thread can run its tasks meanwhile; use \
             goro::task::spawn_blocking, or a multi-thread runtime"
        ),
        Lent::NoP => f(),
        Lent::Yes(index) => {
            let _back = Reclaim(index);
            f()
        }
    }
}

/// What `context::lend_p` did.
pub(crate) enum Lent {
    /// This thread is the M of a current-thread runtime.
    CurrentThread,
    /// This thread holds no P (not an M, inside a `block_in_place` already,
    /// or its P is borrowed): nothing to hand over.
    NoP,
    /// The P with this index was lent.
    Yes(usize),
}

/// Takes the P back when `f` returns or unwinds.
struct Reclaim(usize);

impl Drop for Reclaim {
    fn drop(&mut self) {
        crate::context::reclaim_p(self.0);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The P handoff: a P is held by exactly one party at any time, and a
    //! task in it runs exactly once, whoever ends up with it.
    use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use crate::loom::sync::Mutex;
    use crate::loom::thread;
    use crate::task::test_sched::TestSched;
    use std::sync::Arc;

    /// A P for the model: the queue, and a count of its holders.
    struct P {
        queue: crate::queue::Local<crate::task::Notified>,
        holders: Arc<AtomicUsize>,
    }

    fn hold(p: &P) {
        assert_eq!(p.holders.fetch_add(1, SeqCst), 0, "a P held twice");
    }

    fn release(p: &P) {
        p.holders.fetch_sub(1, SeqCst);
    }

    /// A `block_in_place` caller lends its P (with a queued task) while
    /// sysmon looks at the lent list: either sysmon hands it to a spare M,
    /// which runs the task, or the caller takes it back and runs it.
    #[test]
    fn lend_races_retake() {
        loom::model(|| {
            let s = TestSched::new();
            let ran = Arc::new(AtomicUsize::new(0));
            let r = ran.clone();
            let join = s.spawn(async move {
                r.fetch_add(1, SeqCst);
            });
            let (mut queue, _steal) = crate::queue::local();
            queue.push_back(s.pop().unwrap(), &crate::injector::Injector::new());
            let p = P {
                queue,
                holders: Arc::new(AtomicUsize::new(0)),
            };
            hold(&p);
            let lent: Arc<Mutex<Option<P>>> = Arc::new(Mutex::new(None));
            // The caller lends (State::lent).
            release(&p);
            *lent.lock().unwrap() = Some(p);
            let sysmon = {
                let lent = lent.clone();
                thread::spawn(move || {
                    // Sysmon's retake, then the spare M's run.
                    let taken = lent.lock().unwrap().take();
                    if let Some(mut p) = taken {
                        hold(&p);
                        while let Some(t) = p.queue.pop() {
                            t.run();
                        }
                        release(&p);
                    }
                })
            };
            // The caller's `f` returns: reclaim.
            let back = lent.lock().unwrap().take();
            if let Some(mut p) = back {
                hold(&p);
                while let Some(t) = p.queue.pop() {
                    t.run();
                }
                release(&p);
            }
            sysmon.join().unwrap();
            assert_eq!(ran.load(SeqCst), 1, "the task ran once");
            assert!(join.is_finished());
            drop(join);
            s.run_all();
        });
    }

    /// Sysmon moves a stuck P's queue into a spare P while the stuck M
    /// pushes to it from inside its poll: no task is lost or run twice.
    #[test]
    fn rescue_races_stuck_owner_push() {
        loom::model(|| {
            let s = TestSched::new();
            let ran = Arc::new(AtomicUsize::new(0));
            let joins: Vec<_> = (0..2)
                .map(|_| {
                    let r = ran.clone();
                    s.spawn(async move {
                        r.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            let overflow = Arc::new(crate::injector::Injector::new());
            let (mut stuck, steal) = crate::queue::local();
            stuck.push_back(s.pop().unwrap(), &*overflow);
            let second = s.pop().unwrap();
            let sysmon = {
                let overflow = overflow.clone();
                thread::spawn(move || {
                    let (mut spare, _) = crate::queue::local();
                    while let Some(t) = steal.steal_into(&mut spare) {
                        spare.push_back(t, &*overflow);
                    }
                    let mut n = 0;
                    while let Some(t) = spare.pop() {
                        t.run();
                        n += 1;
                    }
                    n
                })
            };
            // The stuck M's poll spawns (or wakes) a task onto its P.
            stuck.push_back(second, &*overflow);
            let moved = sysmon.join().unwrap();
            // The stuck poll returns; its M runs what is left.
            let mut left = 0;
            while let Some(t) = stuck.pop() {
                t.run();
                left += 1;
            }
            while let Some(t) = overflow.pop() {
                t.run();
                left += 1;
            }
            assert_eq!(moved + left, 2);
            assert_eq!(ran.load(SeqCst), 2, "each task ran once");
            for j in joins {
                assert!(j.is_finished());
            }
            s.run_all();
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{blocked_report, still_running_bound, still_running_report};
    use std::time::Duration;

    #[test]
    fn still_running_bound_is_100_thresholds_within_1_to_10_s() {
        let ms = Duration::from_millis;
        assert_eq!(still_running_bound(ms(10)), ms(1000));
        assert_eq!(still_running_bound(ms(1)), ms(1000));
        assert_eq!(still_running_bound(ms(40)), ms(4000));
        assert_eq!(still_running_bound(ms(500)), ms(10_000));
        assert_eq!(still_running_bound(Duration::MAX), ms(10_000));
    }

    #[test]
    fn still_running_line_format() {
        let id = crate::task::Id::next();
        let at = std::panic::Location::caller();
        let line = still_running_report(id, at, Duration::from_micros(1_000_900));
        assert_eq!(
            line,
            format!(
                "goro: task {id} ({}:{}) has blocked its worker for 1000 ms and is still \
                 running; use spawn_blocking or block_in_place",
                file!(),
                at.line()
            )
        );
    }

    #[test]
    fn report_line_format() {
        let id = crate::task::Id::next();
        let at = std::panic::Location::caller();
        let line = blocked_report(id, at, Duration::from_micros(250_700));
        assert_eq!(
            line,
            format!(
                "goro: task {id} ({}:{}) blocked its worker for 250 ms; use spawn_blocking \
                 or block_in_place",
                file!(),
                at.line()
            )
        );
    }
}
