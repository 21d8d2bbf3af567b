//! The channel lock: a test-and-test-and-set spin lock with exponential
//! backoff that falls back to `yield_now`.
//!
//! Go's `hchan.lock` is a futex-backed mutex, but goroutines hold it for a
//! few dozen instructions and Go's scheduler rarely preempts a holder. Our
//! critical sections are as short (a buffer push or pop, a queue pop, one
//! CAS); parking a thread in the kernel for such a wait costs more than the
//! wait, which is what a futex-based mutex (std's) does under contention.
//! A waiter backs off for a random 64–191 pause instructions between
//! attempts (as kanal's lock does), which lets the holder's core keep the
//! line for several operations in a row; after 32 rounds it yields, so a
//! spinning thread does not starve a preempted holder on a machine with few
//! cores.
//! Under loom the lock is loom's mutex, so models explore its interleavings.

#[cfg(not(loom))]
mod imp {
    use std::cell::UnsafeCell;
    use std::ops::{Deref, DerefMut};
    use std::sync::atomic::{AtomicBool, Ordering};

    pub(crate) struct Lock<T> {
        locked: AtomicBool,
        value: UnsafeCell<T>,
    }

    // SAFETY: the lock hands out access to `value` to one thread at a time,
    // so sharing it only needs `T: Send` (as for `std::sync::Mutex`).
    unsafe impl<T: Send> Sync for Lock<T> {}
    // SAFETY: owning the lock owns the `T`.
    unsafe impl<T: Send> Send for Lock<T> {}

    pub(crate) struct Guard<'a, T> {
        lock: &'a Lock<T>,
    }

    impl<T> Lock<T> {
        pub(crate) const fn new(value: T) -> Self {
            Lock {
                locked: AtomicBool::new(false),
                value: UnsafeCell::new(value),
            }
        }

        #[inline]
        pub(crate) fn lock(&self) -> Guard<'_, T> {
            // Acquire: pairs with the Release in `Guard::drop`, so the
            // previous holder's writes to `value` are visible to us.
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                self.lock_slow();
            }
            Guard { lock: self }
        }

        /// Takes the lock only if it is free right now.
        #[inline]
        pub(crate) fn try_lock(&self) -> Option<Guard<'_, T>> {
            // Relaxed test first: do not pull the line over for a CAS that
            // would fail. Acquire on the CAS, as in `lock`.
            let free = !self.locked.load(Ordering::Relaxed)
                && self
                    .locked
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok();
            // Build the guard only once the lock is ours: dropping a guard
            // unlocks.
            if free {
                Some(Guard { lock: self })
            } else {
                None
            }
        }

        #[cold]
        fn lock_slow(&self) {
            // Per-call pseudo-random backoff lengths, seeded from the stack
            // address (distinct per thread) so waiters spread out.
            let mut seed = (&self as *const _ as usize) | 1;
            let mut rounds = 0u32;
            loop {
                // Back off for 64..192 pause instructions: long enough that
                // the holder keeps the cache line for several operations in
                // a row (that batching is where a contended lock's
                // throughput comes from), short next to a context switch.
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                for _ in 0..64 + (seed & 127) {
                    std::hint::spin_loop();
                }
                // Test before test-and-set: read the shared line first.
                // Relaxed: only a hint; the CAS below does the Acquire.
                if !self.locked.load(Ordering::Relaxed)
                    // Acquire: as in `lock`.
                    && self
                        .locked
                        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                {
                    return;
                }
                rounds += 1;
                if rounds >= 32 {
                    // The holder is probably preempted: let it run.
                    std::thread::yield_now();
                }
            }
        }
    }

    impl<T> Deref for Guard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: we hold the lock.
            unsafe { &*self.lock.value.get() }
        }
    }

    impl<T> DerefMut for Guard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: we hold the lock, and `&mut self` keeps this the only
            // reference handed out by this guard.
            unsafe { &mut *self.lock.value.get() }
        }
    }

    impl<T> Drop for Guard<'_, T> {
        fn drop(&mut self) {
            // Release: publishes our writes to the next holder.
            self.lock.locked.store(false, Ordering::Release);
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) struct Lock<T>(loom::sync::Mutex<T>);
    pub(crate) type Guard<'a, T> = loom::sync::MutexGuard<'a, T>;

    impl<T> Lock<T> {
        pub(crate) fn new(value: T) -> Self {
            Lock(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> Guard<'_, T> {
            self.0.lock().unwrap()
        }

        pub(crate) fn try_lock(&self) -> Option<Guard<'_, T>> {
            self.0.try_lock().ok()
        }
    }
}

pub(crate) use imp::{Guard, Lock};

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Lock;

    #[test]
    fn try_lock_fails_while_held_and_leaves_the_holder_alone() {
        let lock = Lock::new(5u32);
        let held = lock.lock();
        // A failed try must not release the holder's lock.
        assert!(lock.try_lock().is_none());
        assert!(lock.try_lock().is_none());
        drop(held);
        let mut g = lock.try_lock().expect("free after the holder unlocks");
        *g += 1;
        assert!(lock.try_lock().is_none());
        drop(g);
        assert_eq!(*lock.lock(), 6);
    }
}
