//! The goro arms of timer_churn, shared by the `time` bench (beside
//! tokio's) and the `probe` bench (goro alone, for counting instructions):
//! create and cancel [`N`] sleeps, all registered at once (`held`) or one
//! at a time (`one_by_one`). Both poll without coop budget, so that every
//! poll really registers its timer. Deadlines are `BASE_MS` plus 0 to 100
//! s, spread over the wheel's levels (a const parameter, so that computing
//! them costs what a literal would).

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

/// Sleeps per iteration.
pub const N: usize = 1_000_000;

/// The `i`th sleep's duration.
pub fn delay<const BASE_MS: u64>(i: usize) -> Duration {
    Duration::from_millis(BASE_MS + (i % 100_000) as u64)
}

/// Registers [`N`] sleeps (one poll each), then drops them all.
pub async fn held<const BASE_MS: u64>() {
    let mut v: Vec<goro::time::Sleep> = (0..N)
        .map(|i| goro::time::sleep(delay::<BASE_MS>(i)))
        .collect();
    poll_fn(|cx| {
        goro::coop::unconstrained(|| {
            for s in &mut v {
                assert!(Pin::new(s).poll(cx).is_pending());
            }
        });
        Poll::Ready(())
    })
    .await;
    drop(v);
}

/// Creates, registers and cancels [`N`] sleeps, one at a time.
pub async fn one_by_one<const BASE_MS: u64>() {
    poll_fn(|cx| {
        goro::coop::unconstrained(|| {
            for i in 0..N {
                let mut s = goro::time::sleep(delay::<BASE_MS>(i));
                assert!(Pin::new(&mut s).poll(cx).is_pending());
            }
        });
        Poll::Ready(())
    })
    .await;
}
