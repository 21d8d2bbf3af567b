//! `Handle`: a clonable reference to a runtime.

use crate::context;
use crate::current_thread;
use crate::hooks::UnhandledPanic;
use crate::metrics::RuntimeMetrics;
use crate::shared::Shared;
use crate::task::JoinHandle;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A clonable reference to a runtime: spawn on it, block on it, enter it.
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

/// Keeps a runtime entered on this thread; restores the previous one when
/// dropped. Not `Send`: it belongs to the thread that entered.
pub struct EnterGuard<'a> {
    _inner: context::EnterGuard,
    _not_send: PhantomData<(&'a Handle, *const ())>,
}

impl Handle {
    /// The runtime this code runs in.
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn current() -> Handle {
        Self::try_current().unwrap_or_else(|| {
            panic!(
                "goro::runtime::Handle::current called outside a goro runtime: call it from a \
                 task, from Runtime::block_on, or after Handle::enter"
            )
        })
    }

    /// The runtime this code runs in, or `None` outside any.
    pub fn try_current() -> Option<Handle> {
        context::with_current(|shared| Handle {
            shared: shared.clone(),
        })
    }

    /// Spawns a task on this runtime. If the runtime has shut down, the
    /// returned handle resolves to a cancelled `JoinError`.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(future, Location::caller())
    }

    /// Runs `f` on this runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.shared.spawn_blocking(f, Location::caller())
    }

    /// Makes this runtime current on this thread (for `spawn`,
    /// `Handle::current`, net types and timers) until the guard drops.
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _inner: context::enter(&self.shared),
            _not_send: PhantomData,
        }
    }

    /// Runs `future` to completion on this thread. On a multi-thread
    /// runtime the thread only drives `future` (tasks run on the workers);
    /// on a current-thread runtime it also runs the tasks.
    ///
    /// # Panics
    /// When called from a runtime worker thread or inside another
    /// `block_on` (it would block the thread the caller runs on); and, on a
    /// runtime built with `on_deadlock(Deadlock::Panic)`, when every task
    /// and this future are asleep with nothing left to wake them
    /// (`goro: all tasks are asleep - deadlock!` and the task dump).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let Some(_block_on) = context::enter_block_on() else {
            panic!(
                "cannot block_on from inside a goro runtime: this thread is already running \
                 async code; use .await instead"
            );
        };
        let _enter = self.enter();
        if self.shared.config.unhandled_panic == UnhandledPanic::ShutdownRuntime {
            let future = PanicWatch {
                shared: &self.shared,
                future,
            };
            return if self.shared.config.current_thread {
                current_thread::block_on(&self.shared, future)
            } else {
                current_thread::block_on_thread(future)
            };
        }
        if self.shared.config.current_thread {
            current_thread::block_on(&self.shared, future)
        } else {
            current_thread::block_on_thread_in(future, Some(&self.shared))
        }
    }

    /// Number of worker threads (Ps).
    pub fn num_workers(&self) -> usize {
        self.shared.num_workers
    }

    /// A snapshot of every live task: id, name, status, wait reason and
    /// how long it has waited, spawn site, parent. `Display` prints it in
    /// the shape of Go's goroutine dump, under a header with the worker
    /// and queue state. Synchronous and without a stop-the-world: the
    /// owned-task list is read one shard (lock) at a time while tasks keep
    /// running. See `docs/debugging.md` for the format.
    pub fn dump(&self) -> crate::runtime::Dump {
        crate::dump::dump(&self.shared)
    }

    /// Number of tasks spawned on this runtime that have not completed.
    pub fn num_alive_tasks(&self) -> usize {
        self.shared.num_alive_tasks()
    }

    /// A snapshot of the runtime's counters (see [`RuntimeMetrics`] and
    /// "Metrics" in `docs/debugging.md`). Cheap enough to call often: it
    /// reads a few words per worker and takes two short locks.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.shared.metrics()
    }
}

/// A `block_on` future under `UnhandledPanic::ShutdownRuntime`: panics
/// once a task has panicked, and leaves its waker where a panicking task
/// wakes it.
struct PanicWatch<'a, F> {
    shared: &'a Shared,
    future: F,
}

impl<F: Future> Future for PanicWatch<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of
        // `self`, and `PanicWatch` has no Drop or Unpin impl of its own.
        let this = unsafe { self.get_unchecked_mut() };
        let check = |shared: &Shared| {
            // Acquire: pairs with the Release in `Shared::task_panicked`.
            if shared.panic_shutdown.load(Ordering::Acquire) {
                panic!(
                    "goro: a task panicked and the runtime was built with \
                     UnhandledPanic::ShutdownRuntime: the runtime has shut down"
                );
            }
        };
        check(this.shared);
        {
            let mut wakers = this.shared.block_on_wakers.lock().unwrap();
            if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                wakers.push(cx.waker().clone());
            }
        }
        // Checked again after registering: a panic in between took the
        // wakers before ours was there.
        check(this.shared);
        // SAFETY: see above; `future` stays pinned inside `self`.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        let polled = future.poll(cx);
        if polled.is_ready() {
            let mut wakers = this.shared.block_on_wakers.lock().unwrap();
            wakers.retain(|w| !w.will_wake(cx.waker()));
        }
        polled
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.shared.num_workers)
            .field("current_thread", &self.shared.config.current_thread)
            .finish()
    }
}

impl futures_task::Spawn for Handle {
    fn spawn_obj(
        &self,
        future: futures_task::FutureObj<'static, ()>,
    ) -> Result<(), futures_task::SpawnError> {
        if self.shared.owned.is_closed() {
            return Err(futures_task::SpawnError::shutdown());
        }
        drop(self.shared.spawn(future, Location::caller()));
        Ok(())
    }

    fn status(&self) -> Result<(), futures_task::SpawnError> {
        if self.shared.owned.is_closed() {
            Err(futures_task::SpawnError::shutdown())
        } else {
            Ok(())
        }
    }
}
