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

use super::wheel::{EntryPoll, Key, Wheel};
use std::sync::Mutex;
use std::task::Waker;
use std::time::{Duration, Instant};

pub(crate) struct TimerState {
    pub(crate) wheel: Wheel,
    /// Tick the parked driver will wake at by itself; 0 when it is not
    /// parked (no insert needs to wake it), `u64::MAX` for "never".
    pub(crate) sleeping_until: u64,
    pub(crate) is_shutdown: bool,
}

pub(crate) struct Clock {
    /// Tick 0.
    base: Instant,
    /// See the module docs. Taken by any thread that inserts, polls or
    /// cancels a timer, and by the driver in `park`; never held while a
    /// waker is woken or while blocking.
    pub(crate) state: Mutex<TimerState>,
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
            }),
        }
    }

    /// The first tick at or after `t` (rounding up: a timer never fires
    /// early).
    pub(crate) fn deadline_tick(&self, t: Instant) -> u64 {
        let d = t.saturating_duration_since(self.base);
        let ms = d.as_millis();
        let ticks = if d.subsec_nanos() % 1_000_000 != 0 {
            ms + 1
        } else {
            ms
        };
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }

    /// The last tick at or before `t`.
    pub(crate) fn now_tick(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.base).as_millis()).unwrap_or(u64::MAX)
    }

    /// How long from `now` until `tick` begins (zero if it has).
    pub(crate) fn until(&self, tick: u64, now: Instant) -> Duration {
        (self.base + Duration::from_millis(tick)).saturating_duration_since(now)
    }

    /// Registers a timer; returns whether the driver must be unparked.
    ///
    /// # Panics
    /// After the runtime shut down.
    pub(crate) fn insert(&self, deadline: Instant, waker: &Waker) -> (Inserted, bool) {
        let when = self.deadline_tick(deadline);
        let mut st = self.state.lock().unwrap();
        assert!(!st.is_shutdown, "{}", SHUTDOWN_MSG);
        match st.wheel.insert(when, waker.clone()) {
            None => (Inserted::Fired, false),
            Some(key) => {
                let unpark = when < st.sleeping_until;
                if unpark {
                    st.sleeping_until = 0;
                }
                (Inserted::Pending(key), unpark)
            }
        }
    }

    /// Polls a registered timer: true once it fired (the key is then spent).
    pub(crate) fn poll(&self, key: Key, waker: &Waker) -> bool {
        let mut st = self.state.lock().unwrap();
        match st.wheel.poll(key, waker) {
            EntryPoll::Fired => true,
            EntryPoll::Pending => false,
            EntryPoll::Gone => panic!("{}", SHUTDOWN_MSG),
        }
    }

    pub(crate) fn remove(&self, key: Key) {
        // Poisoning only happens if a panic escaped while the lock was
        // held, which none of our critical sections do; tolerate it in drop.
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.wheel.remove(key);
    }

    pub(crate) fn pending(&self) -> usize {
        self.state.lock().unwrap().wheel.pending()
    }
}

pub(crate) const SHUTDOWN_MSG: &str =
    "the goro runtime has shut down: timers can no longer be used (a sleep or \
     timeout was polled after its runtime was dropped)";
