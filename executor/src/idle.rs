//! Which Ms are asleep and which are searching for work: the counters
//! behind Go's `wakep` rule. See "Worker thread parking/unparking" in
//! `worker.rs` for the protocol these functions implement.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Mutex;

/// Low half: searching (spinning) Ms. High half: Ms not parked.
const SEARCH_ONE: usize = 1;
const UNPARK_SHIFT: u32 = usize::BITS / 2;
const UNPARK_ONE: usize = 1 << UNPARK_SHIFT;
const SEARCH_MASK: usize = UNPARK_ONE - 1;

pub(crate) struct Idle {
    /// Searching and unparked counts in one word so that `notify_one`
    /// decides with one load. Changed with SeqCst RMWs: they are the
    /// StoreLoad halves of the parking protocol.
    state: AtomicUsize,
    num_workers: usize,
    /// At most this many Ms search at once (see `try_become_searching`).
    max_searching: usize,
    /// Parked Ms (by P index) and who is asleep. The lock is held only to
    /// move an M between asleep and awake; nothing blocks under it.
    sleepers: Mutex<Sleepers>,
    /// The sysmon thread, and whether it sleeps until an M wakes (see
    /// "Sleeping deeply" in `sysmon.rs`).
    sysmon: std::sync::OnceLock<std::thread::Thread>,
    sysmon_asleep: std::sync::atomic::AtomicBool,
}

struct Sleepers {
    stack: Vec<usize>,
    asleep: Vec<bool>,
}

fn searching(state: usize) -> usize {
    state & SEARCH_MASK
}

fn unparked(state: usize) -> usize {
    state >> UNPARK_SHIFT
}

impl Idle {
    /// All `num_workers` Ms start awake and not searching; the search cap
    /// counts this machine's cores (see `try_become_searching`) the way the
    /// Builder's default worker count does (`num_cpus`).
    pub(crate) fn new(num_workers: usize) -> Idle {
        Idle::with_cores(num_workers, num_cpus::get())
    }

    pub(crate) fn with_cores(num_workers: usize, cores: usize) -> Idle {
        Idle {
            state: AtomicUsize::new(num_workers * UNPARK_ONE),
            num_workers,
            max_searching: num_workers.min(cores).max(2).div_ceil(2),
            sleepers: Mutex::new(Sleepers {
                stack: Vec::with_capacity(num_workers),
                asleep: vec![false; num_workers],
            }),
            sysmon: std::sync::OnceLock::new(),
            sysmon_asleep: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Sysmon registers its thread, once.
    pub(crate) fn set_sysmon(&self, thread: std::thread::Thread) {
        let _ = self.sysmon.set(thread);
    }

    /// Sysmon is about to sleep until woken: true if every M is still
    /// parked after it said so (then it may sleep), false if one woke.
    /// StoreLoad with `wake_sysmon`: sysmon stores the flag and loads the
    /// state; an M changes the state (SeqCst RMW) and loads the flag. With
    /// both sides SeqCst, at least one sees the other.
    pub(crate) fn sysmon_may_sleep(&self) -> bool {
        use std::sync::atomic::Ordering::SeqCst as S;
        self.sysmon_asleep.store(true, S);
        if self.all_parked() {
            return true;
        }
        self.sysmon_asleep.store(false, S);
        false
    }

    /// Sysmon woke (for whatever reason).
    pub(crate) fn sysmon_woke(&self) {
        self.sysmon_asleep
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// An M became unparked: wake sysmon if it sleeps deeply. One load when
    /// it does not (SeqCst: the other half of `sysmon_may_sleep`).
    fn wake_sysmon(&self) {
        use std::sync::atomic::Ordering::SeqCst as S;
        if self.sysmon_asleep.load(S) && self.sysmon_asleep.swap(false, S) {
            if let Some(t) = self.sysmon.get() {
                t.unpark();
            }
        }
    }

    /// An M out of local work asks to search (steal). At most half of the
    /// Ms, rounded up, search at once (Go: `2*nmspinning < busy Ps`), so
    /// that a burst of idleness does not have every thread hammering the
    /// others' queues; and at most half of the cores: with more workers
    /// than cores, searchers beyond that only take CPU time from the Ms
    /// running tasks, as the time slices they spin through are the cores'
    /// (Go caps its spinning Ms by busy Ps, which are threads it knows to
    /// run; here the threads may outnumber what can run at once).
    /// The bound is exact: the check and the increment are one
    /// compare-exchange, so Ms asking at the same time cannot overshoot it,
    /// and the only other way in, `notify_one`, adds a searcher only when
    /// there is none.
    pub(crate) fn try_become_searching(&self) -> bool {
        let mut s = self.state.load(SeqCst);
        loop {
            if searching(s) >= self.max_searching {
                return false;
            }
            match self
                .state
                .compare_exchange_weak(s, s + SEARCH_ONE, SeqCst, SeqCst)
            {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
    }

    /// A searching M found work or gives up. Returns true if it was the
    /// last searcher (Go's rule: then it must wake another M, or re-check
    /// every queue before it sleeps).
    pub(crate) fn stop_searching(&self) -> bool {
        searching(self.state.fetch_sub(SEARCH_ONE, SeqCst)) == 1
    }

    /// Work was made available: picks a sleeping M to wake as a searcher,
    /// unless a searcher exists (it will find the work) or nobody sleeps.
    /// The caller unparks the returned P index.
    ///
    /// `me` names the caller's own P, if it has one. A caller can be
    /// registered asleep while it is awake: the M parked in the reactor
    /// dispatches readiness, and the tasks it wakes land on its own P.
    /// Unparking itself would cost a write to the reactor's waker and an
    /// extra `epoll_wait` for nothing, so another sleeper is picked if
    /// there is one, and otherwise the caller is claimed (counted awake and
    /// searching, exactly as a woken M is) and `None` is returned: it is
    /// awake already and finds its claim when the park returns.
    #[inline]
    pub(crate) fn notify_one(&self, me: Option<usize>) -> Option<usize> {
        // Every push to a local queue asks; almost always the answer is no
        // (someone searches, or nobody sleeps), so that check is inlined
        // into the caller and the locking part kept out of line.
        if !self.should_notify(self.state.load(SeqCst)) {
            return None;
        }
        self.notify_one_locked(me)
    }

    #[cold]
    #[inline(never)]
    fn notify_one_locked(&self, me: Option<usize>) -> Option<usize> {
        let mut sleepers = self.sleepers.lock().unwrap();
        if sleepers.stack.is_empty() {
            return None;
        }
        // Re-check under the lock (another notifier may have woken one) and
        // count the woken M as searching (Go: wakep starts a spinning M) in
        // one compare-exchange, so that it is added only if no searcher
        // exists at that moment: `try_become_searching`'s bound stays exact.
        let mut s = self.state.load(SeqCst);
        loop {
            if !self.should_notify(s) {
                return None;
            }
            match self
                .state
                .compare_exchange_weak(s, s + UNPARK_ONE + SEARCH_ONE, SeqCst, SeqCst)
            {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        let n = sleepers.stack.len();
        let index = match me {
            Some(me) if n >= 2 && sleepers.stack[n - 1] == me => sleepers.stack.remove(n - 2),
            _ => sleepers.stack.pop()?,
        };
        sleepers.asleep[index] = false;
        drop(sleepers);
        self.wake_sysmon();
        (Some(index) != me).then_some(index)
    }

    #[inline]
    fn should_notify(&self, state: usize) -> bool {
        searching(state) == 0 && unparked(state) < self.num_workers
    }

    /// The M of P `index` goes to sleep. Returns true if it was the last
    /// searcher: it must then re-check all queues (see `worker.rs`).
    pub(crate) fn transition_to_parked(&self, index: usize, is_searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock().unwrap();
        let dec = UNPARK_ONE + if is_searching { SEARCH_ONE } else { 0 };
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.stack.push(index);
        sleepers.asleep[index] = true;
        is_searching && searching(prev) == 1
    }

    /// Whether P `index` is still registered as asleep (false once a
    /// notifier has claimed it).
    pub(crate) fn is_asleep(&self, index: usize) -> bool {
        self.sleepers.lock().unwrap().asleep[index]
    }

    /// The M of P `index` woke with work of its own (IO readied tasks on its
    /// thread). Returns whether it is a searcher: true if a notifier had
    /// already claimed it (and counted it searching).
    pub(crate) fn transition_from_parked(&self, index: usize) -> bool {
        let mut sleepers = self.sleepers.lock().unwrap();
        if !sleepers.asleep[index] {
            return true;
        }
        sleepers.asleep[index] = false;
        sleepers.stack.retain(|&i| i != index);
        self.state.fetch_add(UNPARK_ONE, SeqCst);
        drop(sleepers);
        self.wake_sysmon();
        false
    }

    /// Whether every M is parked (racy; a hint for sysmon).
    pub(crate) fn all_parked(&self) -> bool {
        unparked(self.state.load(SeqCst)) == 0
    }

    /// Shutdown: claims every sleeper; the caller unparks them all.
    pub(crate) fn claim_all(&self) -> Vec<usize> {
        let mut sleepers = self.sleepers.lock().unwrap();
        let all: Vec<usize> = sleepers.stack.drain(..).collect();
        for &i in &all {
            sleepers.asleep[i] = false;
        }
        self.state.fetch_add(all.len() * UNPARK_ONE, SeqCst);
        drop(sleepers);
        self.wake_sysmon();
        all
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn counts(&self) -> (usize, usize) {
        let s = self.state.load(SeqCst);
        (searching(s), unparked(s))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn searching_is_capped_at_half() {
        let idle = Idle::with_cores(4, 4);
        assert!(idle.try_become_searching());
        assert!(idle.try_become_searching());
        assert!(!idle.try_become_searching());
        assert!(!idle.stop_searching());
        assert!(idle.stop_searching());
    }

    #[test]
    fn searching_is_capped_at_half_the_cores() {
        let idle = Idle::with_cores(16, 2);
        assert!(idle.try_become_searching());
        assert!(!idle.try_become_searching());
        assert!(idle.stop_searching());
        let idle = Idle::with_cores(1, 8);
        assert!(idle.try_become_searching(), "one worker may always search");
    }

    #[test]
    fn notifier_skips_its_own_sleeping_p() {
        let idle = Idle::with_cores(3, 3);
        assert!(!idle.transition_to_parked(2, false));
        assert!(!idle.transition_to_parked(0, false));
        // P 0 (on top of the stack) dispatches readiness: P 2 is woken.
        assert_eq!(idle.notify_one(Some(0)), Some(2));
        assert!(idle.is_asleep(0));
        assert!(!idle.is_asleep(2));
        assert!(idle.stop_searching());
        // Only P 0 sleeps: it is claimed, and nothing needs unparking.
        assert_eq!(idle.notify_one(Some(0)), None);
        assert!(!idle.is_asleep(0));
        assert_eq!(idle.counts(), (1, 3));
    }

    #[test]
    fn notify_wakes_a_sleeper_as_searcher_only_when_nobody_searches() {
        let idle = Idle::new(2);
        assert_eq!(idle.notify_one(None), None, "nobody asleep");
        assert!(!idle.transition_to_parked(1, false));
        assert!(idle.try_become_searching());
        assert_eq!(idle.notify_one(None), None, "a searcher will find the work");
        assert!(idle.stop_searching());
        assert_eq!(idle.notify_one(None), Some(1));
        assert!(!idle.is_asleep(1));
        assert_eq!(idle.counts(), (1, 2));
        assert!(idle.transition_from_parked(1), "claimed: it searches");
    }

    #[test]
    fn self_wake_with_local_work() {
        let idle = Idle::new(2);
        assert!(!idle.transition_to_parked(0, false));
        assert!(!idle.transition_from_parked(0));
        assert_eq!(idle.counts(), (0, 2));
        assert_eq!(idle.notify_one(None), None);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The parking protocol end to end: an M that finds nothing parks while
    //! another thread submits work. The work must be picked up (the model
    //! would deadlock otherwise, which loom reports).
    use super::*;
    use crate::loom::sync::atomic::{fence, AtomicBool};
    use crate::loom::thread;
    use crate::park::Parker;
    use std::sync::Arc;

    #[test]
    fn submit_races_with_last_searcher_parking() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(1));
            let parker = Arc::new(Parker::new(()));
            let queue = Arc::new(AtomicBool::new(false));

            let (i2, p2, q2) = (idle.clone(), parker.clone(), queue.clone());
            let submitter = thread::spawn(move || {
                // Push to the injector. Modelled as an RMW, which is what
                // SegQueue::push does (a CAS on the tail). With a plain
                // store followed by fence(SeqCst), loom 0.7 produced an
                // execution in which the M, after synchronising with this
                // thread through the parker and the sleepers lock, still read
                // the old value: a coherence violation the memory model
                // forbids, so a loom artefact rather than a protocol bug.
                q2.swap(true, SeqCst);
                fence(SeqCst); // as in Shared::push_remote
                if i2.notify_one(None).is_some() {
                    p2.unpark();
                }
            });

            // The M: search, then park, as in worker.rs.
            let mut searching = idle.try_become_searching();
            loop {
                if queue.swap(false, SeqCst) {
                    if searching {
                        idle.stop_searching();
                    }
                    break;
                }
                let last = idle.transition_to_parked(0, searching);
                fence(SeqCst); // as in Machine::park
                if last && queue.load(SeqCst) && idle.notify_one(None).is_some() {
                    parker.unpark();
                }
                loop {
                    parker.park();
                    if queue.load(SeqCst) {
                        searching = idle.transition_from_parked(0);
                        break;
                    }
                    if !idle.is_asleep(0) {
                        searching = true;
                        break;
                    }
                }
            }
            submitter.join().unwrap();
        });
    }
}
