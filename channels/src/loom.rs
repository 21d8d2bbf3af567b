//! One place that picks loom's or std's synchronisation types, so that the
//! lock-free code is model-checked under `--cfg loom` and runs on std
//! otherwise. Code uses `crate::loom::sync::...`, never `std::sync` directly,
//! for anything a model should explore.

#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::{cell, hint, sync, thread};

#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::{hint, sync, thread};

/// `UnsafeCell` with loom's `with`/`with_mut` API under std too.
#[cfg(not(loom))]
#[allow(dead_code)]
pub(crate) mod cell {
    #[derive(Debug, Default)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    // Used by goro_channels::sync (Mutex/RwLock::into_inner); loom's
    // UnsafeCell has the same method.
    impl<T> UnsafeCell<T> {
        pub(crate) fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }
}
