//! The reactor's side of timers: the wheel behind a mutex, the clock that
//! turns `Instant`s into ticks, and the rule for unparking the driver.
//!
//! ## Waking a driver that sleeps too long
//!
//! The parked driver sleeps in `epoll_wait` until the earliest deadline it
//! knew about when it went to sleep. A timer inserted from another thread
//! may be earlier. So `park` writes, under the wheel mutex, the tick it
//! will sleep until (`sleeping_until`) before it blocks, and an insert that
//! lands before that tick unparks it (the mio `Waker`; if the driver has not
//! reached `epoll_wait` yet, the wake makes that call return at once). The
//! mutex orders the two: either the insert came first and `park` sees the
//! entry when it computes its timeout, or `park` came first and the insert
//! sees `sleeping_until`. After one unpark, `sleeping_until` is reset to 0
//! so a burst of inserts costs one wake-up.
//!
//! ## Wakers are dropped outside the lock
//!
//! Dropping a waker may drop the last reference to a task, and dropping a
//! task drops its future, whose `Sleep`s lock this very mutex to remove
//! themselves: a waker dropped under the lock could deadlock. So the wheel
//! hands back every waker it lets go of (`remove`, a `poll` that replaces
//! the waker, an insert that finds its deadline passed), and `Clock` drops
//! them after the guard.
//!
//! ## The spare waker
//!
//! The commonest timer life is "create, poll once, cancel" (a `timeout`
//! around an operation that finishes in time), over and over from one
//! task. Each registration stores a clone of the task's waker and each
//! cancel drops it: two atomic reference-count updates per timer. So the
//! waker a cancel frees is kept as `spare`, and the next insert whose waker
//! `will_wake` the same task takes it instead of cloning. At most one
//! waker is kept this way per reactor; shutdown drops it.

use super::wheel::{EntryPoll, Key, Wheel};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Waker;
use std::time::{Duration, Instant};

pub(crate) struct TimerState {
    pub(crate) wheel: Wheel,
    /// Tick the parked driver will wake at by itself; 0 when it is not
    /// parked (no insert needs to wake it), `u64::MAX` for "never".
    pub(crate) sleeping_until: u64,
    pub(crate) is_shutdown: bool,
    /// The waker the last cancelled timer held (see "The spare waker").
    pub(crate) spare: Option<Waker>,
    /// The clock's own time, once it has been paused (see "The paused
    /// clock" in `pause.rs`).
    pub(crate) virt: Virtual,
}

/// Where the clock's time comes from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Virtual {
    /// Never paused: the real clock.
    Real,
    /// Paused at this time.
    Paused(Instant),
    /// Running again since `real` (a real-clock reading), from `at`.
    Resumed { real: Instant, at: Instant },
}

pub(crate) struct Clock {
    /// Tick 0.
    base: Instant,
    /// See the module docs. Taken by any thread that inserts, polls or
    /// cancels a timer, and by the driver in `park`; never held while a
    /// waker is woken or dropped (see "Wakers are dropped outside the
    /// lock") or while blocking.
    pub(crate) state: Mutex<TimerState>,
    /// Whether `TimerState::virt` is anything but `Real`: the only thing
    /// [`Clock::now`] reads besides the real clock until a test pauses it.
    virtualized: AtomicBool,
    /// Whether the executor allows pausing (see `Handle::allow_clock_pause`).
    pausable: AtomicBool,
}

/// What registering a timer did.
pub(crate) enum Inserted {
    Pending(Key),
    /// The deadline has passed.
    Fired,
}

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock {
            base: Instant::now(),
            state: Mutex::new(TimerState {
                wheel: Wheel::new(),
                sleeping_until: 0,
                is_shutdown: false,
                spare: None,
                virt: Virtual::Real,
            }),
            virtualized: AtomicBool::new(false),
            pausable: AtomicBool::new(false),
        }
    }

    /// Now on this clock: the real clock, or the paused (or resumed)
    /// virtual time.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        let real = Instant::now();
        // Relaxed: the flag only selects the slow path, which reads the
        // time under the lock. A thread that races with `pause` reads the
        // real clock, as if it had read it just before the pause.
        if !self.virtualized.load(Ordering::Relaxed) {
            return real;
        }
        self.virtual_now(&self.lock(), real)
    }

    /// The clock's time given the state and a real-clock reading.
    pub(crate) fn virtual_now(&self, st: &TimerState, real: Instant) -> Instant {
        match st.virt {
            Virtual::Real => real,
            Virtual::Paused(at) => at,
            Virtual::Resumed { real: since, at } => at + real.saturating_duration_since(since),
        }
    }

    /// The start of `tick`.
    pub(crate) fn tick_start(&self, tick: u64) -> Instant {
        self.base + Duration::from_millis(tick)
    }

    pub(crate) fn allow_pause(&self) {
        // Relaxed: set once by the executor while it builds the runtime,
        // before any task runs; handing the runtime to threads publishes it.
        self.pausable.store(true, Ordering::Relaxed);
    }

    pub(crate) fn is_pausable(&self) -> bool {
        // Relaxed: see `allow_pause`.
        self.pausable.load(Ordering::Relaxed)
    }

    /// Marks the clock virtual for good (see `now`).
    pub(crate) fn set_virtualized(&self) {
        // Relaxed: see `now`.
        self.virtualized.store(true, Ordering::Relaxed);
    }

    /// The first tick at or after `t` (rounding up: a timer never fires
    /// early).
    pub(crate) fn deadline_tick(&self, t: Instant) -> u64 {
        let d = t.saturating_duration_since(self.base);
        // Whole seconds in u64 and the sub-second part rounded up in u32:
        // cheaper than `as_millis`' u128 on the path every timer takes.
        let sub_ms = d.subsec_nanos().div_ceil(1_000_000);
        d.as_secs()
            .saturating_mul(1_000)
            .saturating_add(u64::from(sub_ms))
    }

    /// The last tick at or before `t`.
    pub(crate) fn now_tick(&self, t: Instant) -> u64 {
        let d = t.saturating_duration_since(self.base);
        d.as_secs()
            .saturating_mul(1_000)
            .saturating_add(u64::from(d.subsec_millis()))
    }

    /// How long from `now` until `tick` begins (zero if it has).
    pub(crate) fn until(&self, tick: u64, now: Instant) -> Duration {
        (self.base + Duration::from_millis(tick)).saturating_duration_since(now)
    }

    /// Auto-advance (see "The paused clock" in `pause.rs`): the runtime is
    /// idle and the clock paused, so jump it to the next timer and fire
    /// what is due then (through cascades, until something fires or no
    /// timer is left). Returns the new time.
    pub(crate) fn auto_advance(&self, st: &mut TimerState, out: &mut Vec<Waker>) -> Instant {
        let Virtual::Paused(mut at) = st.virt else {
            unreachable!("auto-advance of a clock that is not paused")
        };
        while out.is_empty() {
            // Strictly after the wheel's time: `advance` below fires or
            // cascades everything up to it, so this loop ends.
            let Some(tick) = st.wheel.next_deadline() else {
                break;
            };
            at = at.max(self.tick_start(tick));
            st.wheel.advance(self.now_tick(at), out);
        }
        st.virt = Virtual::Paused(at);
        at
    }

    /// Registers a timer; returns whether the driver must be unparked.
    ///
    /// # Panics
    /// After the runtime shut down.
    pub(crate) fn insert(&self, deadline: Instant, waker: &Waker) -> (Inserted, bool) {
        let when = self.deadline_tick(deadline);
        let mut st = self.lock();
        if st.is_shutdown {
            drop(st); // never panic while holding the lock: it would poison it
            panic!("{}", SHUTDOWN_MSG);
        }
        // See "The spare waker".
        let (own, stale) = match st.spare.take() {
            Some(spare) if spare.will_wake(waker) => (spare, None),
            stale => (waker.clone(), stale),
        };
        let res = match st.wheel.insert(when, own) {
            Err(own) => {
                st.spare = Some(own);
                (Inserted::Fired, false)
            }
            Ok(key) => {
                let unpark = when < st.sleeping_until;
                if unpark {
                    st.sleeping_until = 0;
                }
                (Inserted::Pending(key), unpark)
            }
        };
        drop(st);
        drop(stale); // see "Wakers are dropped outside the lock"
        res
    }

    /// Polls a registered timer: true once it fired (the key is then spent).
    pub(crate) fn poll(&self, key: Key, waker: &Waker) -> bool {
        let (polled, replaced) = self.lock().wheel.poll(key, waker);
        drop(replaced); // the guard is gone: see "Wakers are dropped outside the lock"
        match polled {
            EntryPoll::Fired => true,
            EntryPoll::Pending => false,
            EntryPoll::Gone => panic!("{}", SHUTDOWN_MSG),
        }
    }

    /// Cancels and frees a timer (fired or not).
    pub(crate) fn remove(&self, key: Key) {
        let mut st = self.lock();
        let stale = match st.wheel.remove(key) {
            Some(waker) => st.spare.replace(waker),
            None => None,
        };
        drop(st);
        drop(stale); // see "Wakers are dropped outside the lock"
    }

    pub(crate) fn pending(&self) -> usize {
        self.lock().wheel.pending()
    }

    /// Locks the timer state. No critical section panics (the wheel's
    /// code has no panicking paths on valid keys, and the shutdown panics
    /// happen after the guard is dropped), but a waker's `clone` runs under
    /// the lock and is foreign code: if one panicked, the state is still
    /// consistent (the clone happens before the entry is linked), so the
    /// lock is one without poisoning (`parking_lot`'s; std's poison
    /// bookkeeping costs ~14 instructions a lock and unlock, and a timer
    /// takes the lock twice).
    pub(crate) fn lock(&self) -> parking_lot::MutexGuard<'_, TimerState> {
        self.state.lock()
    }
}

pub(crate) const SHUTDOWN_MSG: &str =
    "the goro runtime has shut down: timers can no longer be used (a sleep or \
     timeout was polled after its runtime was dropped)";

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    /// Counts wakes; when dropped, checks that the clock's lock is free
    /// (a waker dropped under it could deadlock; see the module docs).
    struct Probe {
        clock: Arc<Clock>,
        wakes: AtomicUsize,
        drops_checked: Arc<AtomicUsize>,
    }

    impl Wake for Probe {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.wakes.fetch_add(1, Ordering::SeqCst);
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            assert!(
                self.clock.state.try_lock().is_some(),
                "a waker was dropped while the timer lock was held"
            );
            self.drops_checked.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn probe(clock: &Arc<Clock>, drops: &Arc<AtomicUsize>) -> (Arc<Probe>, Waker) {
        let p = Arc::new(Probe {
            clock: clock.clone(),
            wakes: AtomicUsize::new(0),
            drops_checked: drops.clone(),
        });
        (p.clone(), Waker::from(p))
    }

    fn fire_all(clock: &Clock) {
        let mut out = Vec::new();
        clock.lock().wheel.advance(u64::MAX / 2, &mut out);
        out.into_iter().for_each(Waker::wake);
    }

    #[test]
    fn a_spare_waker_is_reused_only_for_the_same_task() {
        let clock = Arc::new(Clock::new());
        let drops = Arc::new(AtomicUsize::new(0));
        let (a, wa) = probe(&clock, &drops);
        let (b, wb) = probe(&clock, &drops);
        let later = Instant::now() + Duration::from_secs(5);

        // Same task twice: the second insert takes the spare.
        let (Inserted::Pending(k), _) = clock.insert(later, &wa) else {
            panic!("inserted as fired")
        };
        clock.remove(k);
        assert!(clock.lock().spare.is_some());
        let (Inserted::Pending(k), _) = clock.insert(later, &wa) else {
            panic!("inserted as fired")
        };
        assert!(clock.lock().spare.is_none(), "the spare was not reused");
        clock.remove(k);

        // Another task: the spare (a's, now its last reference) must not
        // be stored for it, and is dropped outside the lock.
        drop(wa);
        drop(a);
        assert_eq!(drops.load(Ordering::SeqCst), 0, "the spare keeps a alive");
        let (Inserted::Pending(k), _) = clock.insert(later, &wb) else {
            panic!("inserted as fired")
        };
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        fire_all(&clock);
        assert_eq!(b.wakes.load(Ordering::SeqCst), 1);
        assert!(clock.poll(k, &wb));
        drop((b, wb));
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn wakers_are_dropped_outside_the_lock() {
        let clock = Arc::new(Clock::new());
        let drops = Arc::new(AtomicUsize::new(0));
        let later = Instant::now() + Duration::from_secs(5);
        let (p, w) = probe(&clock, &drops);
        let (Inserted::Pending(k), _) = clock.insert(later, &w) else {
            panic!("inserted as fired")
        };
        drop((p, w));
        // The wheel holds the last reference; the cancel moves it to the
        // spare, and the next insert for another task drops it.
        clock.remove(k);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        let (q, wq) = probe(&clock, &drops);
        let (Inserted::Pending(k), _) = clock.insert(later, &wq) else {
            panic!("inserted as fired")
        };
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        // A poll with a new waker replaces (and drops) the stored one.
        let (r, wr) = probe(&clock, &drops);
        drop((q, wq));
        assert!(!clock.poll(k, &wr));
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        // A cancel followed by another cancel drops the older spare.
        let (s, ws) = probe(&clock, &drops);
        let (Inserted::Pending(k2), _) = clock.insert(later, &ws) else {
            panic!("inserted as fired")
        };
        drop((r, wr, s, ws));
        clock.remove(k);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        clock.remove(k2);
        assert_eq!(drops.load(Ordering::SeqCst), 3);
        // The last spare holds the clock (a cycle only shutdown breaks).
        let spare = clock.lock().spare.take();
        drop(spare);
        assert_eq!(drops.load(Ordering::SeqCst), 4);
    }
}
