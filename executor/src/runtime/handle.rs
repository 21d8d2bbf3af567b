//! `Handle` and the `block_on` of plain threads.

use super::context;
use crate::park::Parker;
use crate::shared::Shared;
use crate::task::JoinHandle;
use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// A clonable reference to a runtime: spawn on it, block on it, enter it.
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

/// Keeps a runtime entered on this thread; restores the previous one when
/// dropped. Not `Send`: it belongs to the thread that entered.
pub struct EnterGuard<'a> {
    prev: Option<Handle>,
    _reactor: goro_reactor::EnterGuard,
    _not_send: PhantomData<(&'a Handle, *const ())>,
}

impl Drop for EnterGuard<'_> {
    fn drop(&mut self) {
        context::set_current(self.prev.take());
    }
}

thread_local! {
    /// Set while this thread is inside a `block_on`.
    static IN_BLOCK_ON: Cell<bool> = const { Cell::new(false) };
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
            _reactor: self.shared.reactor.enter(),
            prev: context::set_current(Some(self.clone())),
            _not_send: PhantomData,
        }
    }

    /// Runs `future` to completion on this thread. On a multi-thread
    /// runtime the thread only drives `future` (tasks run on the workers);
    /// on a current-thread runtime it also runs the tasks.
    ///
    /// # Panics
    /// When called from a runtime worker thread or inside another
    /// `block_on` (it would block the thread the caller runs on).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        if context::is_worker() || IN_BLOCK_ON.with(|b| b.get()) {
            panic!(
                "cannot block_on from inside a goro runtime: this thread is already running \
                 async code; use .await instead"
            );
        }
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                IN_BLOCK_ON.with(|b| b.set(false));
            }
        }
        IN_BLOCK_ON.with(|b| b.set(true));
        let _reset = Reset;
        let _enter = self.enter();
        if self.shared.config.current_thread {
            super::current_thread::block_on(&self.shared, future)
        } else {
            block_on_thread(future)
        }
    }

    /// Number of worker threads (Ps).
    pub fn num_workers(&self) -> usize {
        self.shared.remotes.len()
    }

    /// Number of tasks spawned on this runtime that have not completed.
    pub fn num_alive_tasks(&self) -> usize {
        self.shared.num_alive_tasks()
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.shared.remotes.len())
            .field("current_thread", &self.shared.config.current_thread)
            .finish()
    }
}

/// A Waker that unparks one thread.
pub(crate) struct ThreadWaker(pub(crate) Arc<Parker<()>>);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    static THREAD_PARKER: (Arc<Parker<()>>, Waker) = {
        let parker = Arc::new(Parker::new(()));
        let waker = Waker::from(Arc::new(ThreadWaker(parker.clone())));
        (parker, waker)
    };
}

/// This thread's parker and a Waker that unparks it.
pub(crate) fn thread_parker() -> (Arc<Parker<()>>, Waker) {
    THREAD_PARKER.with(|(p, w)| (p.clone(), w.clone()))
}

/// Drives `future` on this thread, sleeping between polls.
pub(crate) fn block_on_thread<F: Future>(future: F) -> F::Output {
    let (parker, waker) = thread_parker();
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        // The future is the only thing on this thread: no budget.
        if let Poll::Ready(out) = goro_coop::unconstrained(|| future.as_mut().poll(&mut cx)) {
            return out;
        }
        parker.park();
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
