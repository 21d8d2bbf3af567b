//! `LocalSet::block_on`: the API-layer entry to local tasks (the set
//! itself is core, `task/local.rs`).

use super::{Builder, Handle};
use crate::task::LocalSet;
use std::future::Future;

impl LocalSet {
    /// Runs `future` and the set's tasks on this thread until `future`
    /// completes, inside the runtime this thread has entered or, when it has
    /// entered none, inside a current-thread runtime created for the call
    /// (and shut down when it returns; tasks of the set that are still
    /// unfinished stay in the set).
    ///
    /// Same as `handle.block_on(set.run_until(future))`.
    ///
    /// # Panics
    /// As `Handle::block_on`: from a runtime worker thread or inside
    /// another `block_on`; and if the runtime cannot be created.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match Handle::try_current() {
            Some(handle) => handle.block_on(self.run_until(future)),
            None => {
                let rt = Builder::new_current_thread().build().unwrap_or_else(|e| {
                    panic!("goro: LocalSet::block_on cannot create its runtime: {e}")
                });
                rt.block_on(self.run_until(future))
            }
        }
    }
}
