//! The channel lock: a test-and-test-and-set spin lock with exponential
//! backoff that falls back to `yield_now`.
//!
//! Go's `hchan.lock` is a futex-backed mutex, but goroutines hold it for a
//! few dozen instructions and Go's scheduler rarely preempts a holder. Our
//! critical sections are as short (a buffer push or pop, a queue pop, one
//! CAS); parking a thread in the kernel for such a wait costs more than the
//! wait, which is what a futex-based mutex (std's) does under contention.
//! The backoff (spin `2^k` times, `k` up to 6, then yield) keeps a spinning
//! thread from starving a preempted holder on a machine with few cores.
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

        #[cold]
        fn lock_slow(&self) {
            let mut step = 0u32;
            loop {
                // Test before test-and-set: spin on a shared cache line.
                // Relaxed: only a hint; the CAS below does the Acquire.
                while self.locked.load(Ordering::Relaxed) {
                    if step < 6 {
                        for _ in 0..(1u32 << step) {
                            std::hint::spin_loop();
                        }
                        step += 1;
                    } else {
                        std::thread::yield_now();
                    }
                }
                // Acquire: as in `lock`.
                if self
                    .locked
                    .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return;
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
    }
}

pub(crate) use imp::{Guard, Lock};
