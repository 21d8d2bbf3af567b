//! `ErrGroup`: Go's `errgroup.Group` over a [`JoinSet`].
//!
//! Each member task runs the user's future; the first one to return an
//! error stores it and cancels the group's context at once, so the others
//! (which watch `group.context()`) can stop early. `wait` joins every
//! member. A limit is a semaphore that each member acquires before it
//! starts.

use crate::{with_cancel, Cancel, Context};
use goro_executor::task::JoinSet;
use goro_sync::Semaphore;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// A group of fallible tasks that share a context (Go's `errgroup`).
///
/// ```
/// # goro_executor::block_on(async {
/// use goro_context::ErrGroup;
/// let mut group = ErrGroup::new();
/// for i in 0..5 {
///     let ctx = group.context().clone();
///     group.spawn(async move {
///         if i == 3 { return Err(format!("job {i} failed")); }
///         ctx.done().await; // the failure cancels the others
///         Ok(())
///     });
/// }
/// assert_eq!(group.wait().await, Err("job 3 failed".to_string()));
/// # });
/// ```
///
/// Where goro differs from Go: `spawn` never blocks, even at the limit (the
/// task waits for a slot before it runs the future); dropping the group
/// without `wait` aborts its tasks (it owns a `JoinSet`); and a panicking
/// member's panic is resumed by `wait`. As in Go, members that hold a slot
/// while waiting for the context to be cancelled by a member that has no
/// slot yet wait forever: with a limit, members must make progress alone.
pub struct ErrGroup<E> {
    tasks: JoinSet<()>,
    ctx: Context,
    cancel: Cancel,
    first: Arc<Mutex<Option<E>>>,
    limit: Option<Arc<Semaphore>>,
}

impl<E: Send + 'static> ErrGroup<E> {
    /// A group whose context is a child of `background()`.
    pub fn new() -> ErrGroup<E> {
        ErrGroup::with_context(&crate::background())
    }

    /// A group whose context is a child of `parent` (Go's
    /// `errgroup.WithContext`); cancelling `parent` cancels the group's.
    pub fn with_context(parent: &Context) -> ErrGroup<E> {
        let (ctx, cancel) = with_cancel(parent);
        ErrGroup {
            tasks: JoinSet::new(),
            ctx,
            cancel,
            first: Arc::new(Mutex::new(None)),
            limit: None,
        }
    }

    /// A group that runs at most `n` members at a time (Go's `SetLimit`).
    ///
    /// # Panics
    /// If `n` is 0 (no member could ever run).
    #[track_caller]
    pub fn with_limit(n: usize) -> ErrGroup<E> {
        ErrGroup::new().limit(n)
    }

    /// Sets the limit of members running at a time, for members spawned
    /// from now on.
    ///
    /// # Panics
    /// If `n` is 0.
    #[track_caller]
    pub fn limit(mut self, n: usize) -> ErrGroup<E> {
        assert!(n > 0, "ErrGroup limit must be at least 1");
        self.limit = Some(Arc::new(Semaphore::new(n)));
        self
    }

    /// The group's context: done when a member fails, when the parent is,
    /// or once `wait` returns.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// How many members have not been joined yet.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the group has no member left to join.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Spawns a member on the current runtime.
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let first = self.first.clone();
        let cancel = self.cancel.clone();
        let limit = self.limit.clone();
        self.tasks.spawn(async move {
            let _permit = match &limit {
                // The semaphore is never closed.
                Some(s) => Some(s.acquire().await.expect("ErrGroup semaphore closed")),
                None => None,
            };
            if let Err(e) = future.await {
                let mut slot = first.lock().unwrap_or_else(|p| p.into_inner());
                if slot.is_none() {
                    *slot = Some(e);
                }
                drop(slot);
                cancel.cancel();
            }
        });
    }

    /// Waits for every member; returns the first error, if any, and
    /// cancels the group's context.
    ///
    /// # Panics
    /// Resumes the panic of a member that panicked (after cancelling the
    /// context and aborting the other members).
    pub async fn wait(mut self) -> Result<(), E> {
        while let Some(res) = self.tasks.join_next().await {
            if let Err(e) = res {
                if e.is_panic() {
                    self.cancel.cancel();
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
        self.cancel.cancel();
        let first = self.first.lock().unwrap_or_else(|p| p.into_inner()).take();
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl<E: Send + 'static> Default for ErrGroup<E> {
    fn default() -> Self {
        ErrGroup::new()
    }
}

impl<E> fmt::Debug for ErrGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrGroup")
            .field("len", &self.tasks.len())
            .field("ctx", &self.ctx)
            .finish_non_exhaustive()
    }
}
