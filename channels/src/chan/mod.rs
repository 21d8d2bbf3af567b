//! Go channels and `select!`.
//!
//! ```
//! use goro_channels::chan;
//!
//! let (tx, rx) = chan::bounded::<u32>(0); // a rendezvous, like Go's `make(chan u32)`
//! let t = std::thread::spawn(move || tx.send_blocking(7).unwrap());
//! assert_eq!(rx.recv_blocking(), Some(7));
//! t.join().unwrap();
//! assert_eq!(rx.recv_blocking(), None); // every sender is gone: closed
//! ```
//!
//! See the crate documentation for the design; the channel core's rules
//! are in `hchan.rs` ("Invariants") and `waiter.rs` ("Commit protocol").

mod block_on;
mod error;
mod handles;
mod hchan;
mod lock;
mod macros;
mod ops;
mod select;
mod waiter;

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;

pub use error::{SendError, TryRecvError, TrySendError};
pub use handles::{Closed, Receiver, RecvFuture, SendFuture, Sender};

use self::hchan::Chan;
use crate::loom::sync::Arc;

/// A channel that holds up to `cap` values. `bounded(0)` is Go's unbuffered
/// channel: a send completes only once a receiver has taken the value.
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        cap < usize::MAX,
        "chan::bounded: capacity usize::MAX is reserved; use chan::unbounded()"
    );
    pair(Chan::new(cap, false))
}

/// A channel whose sends never wait.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    pair(Chan::new(usize::MAX, false))
}

/// A receiver that never receives and never closes: Go's nil channel. In a
/// `select!`, `recv(chan::never::<T>())` is an arm that is never chosen.
pub fn never<T>() -> Receiver<T> {
    let chan = Chan::new(0, true);
    // No sender handle exists; the count stays at one so it never closes.
    Receiver::from_chan(Arc::new(chan))
}

fn pair<T>(chan: Chan<T>) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(chan);
    (Sender::from_chan(chan.clone()), Receiver::from_chan(chan))
}

/// Machinery the `select!` macros expand to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use super::block_on::block_on;
    pub use super::select::{fut_arm, recv_arm, select, send_arm, Arm, ArmList, Try};
    pub use super::waiter::Ctx;
}
