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

/// The StoreLoad point between a SeqCst write and a later SeqCst read of
/// another location (the ring's index CAS, then the "someone is parked"
/// flag; or the flag's store, then the ring's indexes).
///
/// On std it emits nothing: SeqCst accesses alone already give that order
/// (all of them sit in one total order consistent with program order), and
/// on x86 the CAS or `xchg` before it is a full barrier anyway. Loom models
/// SeqCst accesses as AcqRel only (its README, "Unsupported features"), but
/// models `fence(SeqCst)` exactly, so under loom the same point is a fence:
/// the models check the protocol with the order the real code relies on.
#[inline(always)]
pub(crate) fn sc_fence() {
    #[cfg(loom)]
    loom::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
}
