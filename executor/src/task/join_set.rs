//! `JoinSet`: a dynamic set of spawned tasks, awaited in completion order.
//!
//! The set is a [`FuturesUnordered`] of [`JoinHandle`]s. Each handle gets
//! its own waker from it, so a finished task queues exactly its handle and
//! `join_next` polls only handles that have output waiting, never the whole
//! set (the same shape as tokio's `JoinSet`, whose idle/notified lists do
//! this job). Writing that bookkeeping again here would duplicate
//! `futures-util`'s audited implementation for no gain.
//!
//! Dropping the set aborts every task still in it: a task that is idle has
//! its future dropped at once (by the worker that picks up the abort); one
//! that is running finishes its current poll first.

use super::{Id, JoinError, JoinHandle};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A set of tasks spawned on the current runtime, joined in the order they
/// finish.
///
/// Differences from tokio's `JoinSet`: `spawn` returns the task's [`Id`]
/// (goro has no separate abort handle; use [`JoinSet::abort_all`] or keep
/// the id to match results from [`JoinSet::join_next_with_id`]).
///
/// ```
/// # goro_executor::block_on(async {
/// use goro_executor::task::JoinSet;
/// let mut set = JoinSet::new();
/// for i in 0..4u32 {
///     set.spawn(async move { i * 2 });
/// }
/// let mut sum = 0;
/// while let Some(res) = set.join_next().await {
///     sum += res.unwrap();
/// }
/// assert_eq!(sum, 12);
/// # });
/// ```
pub struct JoinSet<T> {
    tasks: FuturesUnordered<Member<T>>,
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            tasks: FuturesUnordered::new(),
        }
    }

    /// How many tasks are in the set (running, or finished and not yet
    /// joined).
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Asks every task in the set to stop. The tasks stay in the set: each
    /// is joined later, as a cancelled `JoinError` unless it finished first.
    pub fn abort_all(&mut self) {
        self.tasks.iter().for_each(|m| m.0.abort());
    }

    /// Removes every task from the set without aborting it: they keep
    /// running, detached.
    pub fn detach_all(&mut self) {
        self.tasks.clear();
    }

    /// Waits for the next task to finish and returns its output, or `None`
    /// when the set is empty.
    ///
    /// Cancel-safe: dropping the future before it completes loses no
    /// output; the task stays in the set.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        std::future::poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// As [`join_next`](JoinSet::join_next), also naming the task.
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        std::future::poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The output of a task that has already finished, if any, without
    /// waiting. `None` if the set is empty or nothing has finished yet.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        let mut cx = Context::from_waker(Waker::noop());
        // Unconstrained: a task with no budget left must still see output
        // that is already there.
        match goro_coop::unconstrained(|| self.poll_join_next(&mut cx)) {
            Poll::Ready(res) => res,
            Poll::Pending => None,
        }
    }

    /// Aborts every task and waits until all of them have stopped, leaving
    /// the set empty. Outputs of tasks that finished first are dropped.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in completion order.
    ///
    /// # Panics
    /// Resumes the panic of a task that panicked (after the others were
    /// aborted by the set's drop).
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(res) = self.join_next().await {
            match res {
                Ok(v) => out.push(v),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("JoinSet::join_all: {e}"),
            }
        }
        out
    }

    /// Polls for the next finished task: `Ready(None)` when the set is
    /// empty.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.tasks
            .poll_next_unpin(cx)
            .map(|next| next.map(|(_, res)| res))
    }

    /// As [`poll_join_next`](JoinSet::poll_join_next), with the task's id.
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        self.tasks
            .poll_next_unpin(cx)
            .map(|next| next.map(|(id, res)| res.map(|v| (id, v))))
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns `future` on the current runtime into the set; returns its id.
    ///
    /// # Panics
    /// Outside a goro runtime, as [`spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> Id
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(crate::spawn(future))
    }

    /// Runs `f` on the blocking pool as a member of the set; returns its id.
    /// Aborting cannot stop a closure that has started.
    ///
    /// # Panics
    /// Outside a goro runtime, as [`spawn_blocking`](super::spawn_blocking).
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> Id
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.insert(super::spawn_blocking(f))
    }

    fn insert(&mut self, handle: JoinHandle<T>) -> Id {
        let id = handle.id();
        self.tasks.push(Member(handle));
        id
    }
}

/// A handle that reports its task's id with the output: a successful
/// output does not carry it, and the set's stream yields outputs only.
struct Member<T>(JoinHandle<T>);

impl<T> Future for Member<T> {
    type Output = (Id, Result<T, JoinError>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.0.id();
        Pin::new(&mut self.0).poll(cx).map(|res| (id, res))
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

impl<T: Send + 'static, F> std::iter::FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
{
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        let mut set = JoinSet::new();
        iter.into_iter().for_each(|f| {
            set.spawn(f);
        });
        set
    }
}
