//! # goro-loom
//!
//! The one place that picks loom's or std's synchronisation types, so that
//! goro's lock-free code is model-checked under `--cfg loom` and runs on std
//! otherwise. Every crate of the workspace that has something for a model
//! to explore (the executor, the channels, the reactor, the sync toolkit)
//! reaches its atomics, `Arc`, `Mutex`, `UnsafeCell`, `hint` and `thread`
//! through this crate, never through `std::sync` directly; each of them
//! aliases it as `crate::loom`.
//!
//! | module     | under `--cfg loom` | otherwise                              |
//! |------------|--------------------|----------------------------------------|
//! | [`sync`]   | `loom::sync`       | `std::sync`                            |
//! | [`cell`]   | `loom::cell`       | a `std::cell::UnsafeCell` with loom's API |
//! | [`hint`]   | `loom::hint`       | `std::hint`                            |
//! | [`thread`] | `loom::thread`     | `std::thread`                          |
//!
//! The models themselves (`loom::model`, `loom::future::block_on`) use the
//! `loom` crate directly: they exist only under `--cfg loom`, so there is
//! nothing to choose.
//!
//! ## Why a crate and not a module per crate
//!
//! A module per crate is the usual shape (tokio's `loom` module), but with
//! four crates it means four copies of the same file, and copies drift (a
//! method added to one crate's `cell` shim is missing from the others). One
//! crate keeps the shim's API the same for every user and is the single
//! spot to extend when a model needs another loom type. Its cost is nil: everything here is a re-export or an
//! `#[inline(always)]` wrapper, and without `--cfg loom` it has no
//! dependencies.

#[cfg(loom)]
pub use loom::{cell, hint, sync, thread};

#[cfg(not(loom))]
pub use std::{hint, sync, thread};

/// `UnsafeCell` with loom's closure API (`with`, `with_mut`), so that code
/// written for loom's checked cell compiles unchanged on std.
#[cfg(not(loom))]
pub mod cell {
    /// A `std::cell::UnsafeCell` behind loom's `with`/`with_mut` API.
    ///
    /// Under std the closures receive the raw pointer and nothing is
    /// checked; under loom the same calls are tracked for concurrent access.
    #[derive(Debug, Default)]
    pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        /// Wraps `value`.
        pub const fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        /// Calls `f` with a shared-access pointer to the value.
        #[inline(always)]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Calls `f` with an exclusive-access pointer to the value.
        #[inline(always)]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }

        /// Unwraps the value.
        #[inline(always)]
        pub fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }
}
