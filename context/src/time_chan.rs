//! Go's timer channels: [`after`] (`time.After`) and [`tick`]
//! (`time.Tick`).
//!
//! Each is a goro task that owns the channel's only sender and waits, in
//! one `select!`, on the reactor's timer and on `Sender::closed`. Dropping
//! the last receiver closes the channel, which wakes the task; it returns
//! and its timer is removed from the wheel at once. Go before 1.23 kept an
//! unreferenced `time.After` timer until it fired; goro never does.

use goro_channels::chan;
use goro_reactor::time::{interval_at, sleep_until, MissedTickBehavior};
use goro_reactor::time::{Duration, Instant};

/// A channel that receives the current time once, after `d` (Go's
/// `time.After`). Usable as `recv(after(d)) -> t => ...` in `select!`
/// (bind it first: `let timeout = after(d);` then `recv(timeout)`).
///
/// The channel has room for the one value, so the timer never waits for a
/// receiver; after that value the channel is closed. Dropping the receiver
/// cancels the timer.
///
/// # Panics
/// Outside a goro runtime.
#[track_caller]
pub fn after(d: Duration) -> chan::Receiver<Instant> {
    require_runtime("after");
    let deadline = Instant::now()
        .checked_add(d)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365 * 30));
    let (tx, rx) = chan::bounded(1);
    drop(goro_executor::spawn(async move {
        let timer = sleep_until(deadline);
        goro_channels::select! {
            _ = timer => {
                // Room for one, and nobody else sends: this cannot be full.
                let _ = tx.try_send(Instant::now());
            }
            _ = tx.closed() => {}
        }
    }));
    rx
}

/// A channel that receives the current time every `period`, the first
/// time one period from now (Go's `time.Tick`). A receiver that falls
/// behind misses ticks (the channel holds one) rather than getting a burst.
/// Dropping the receiver stops the ticker.
///
/// # Panics
/// If `period` is zero, or outside a goro runtime.
#[track_caller]
pub fn tick(period: Duration) -> chan::Receiver<Instant> {
    assert!(
        !period.is_zero(),
        "goro::time::tick: the period must be greater than zero"
    );
    require_runtime("tick");
    let (tx, rx) = chan::bounded(1);
    let start = Instant::now() + period;
    drop(goro_executor::spawn(async move {
        let mut ticker = interval_at(start, period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            goro_channels::select! {
                _ = ticker.tick() => {
                    // Full: the receiver has not taken the last tick; drop
                    // this one, as Go's ticker does.
                    let _ = tx.try_send(Instant::now());
                }
                _ = tx.closed() => return,
            }
        }
    }));
    rx
}

#[track_caller]
fn require_runtime(what: &str) {
    if goro_executor::runtime::Handle::try_current().is_none() {
        panic!("goro::time::{what} called outside a goro runtime: its timer needs one");
    }
}
