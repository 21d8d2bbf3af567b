//! Task hooks (`Builder::on_task_spawn`, `on_task_terminate`,
//! `on_before_task_poll`, `on_after_task_poll`) and the unhandled-panic
//! policy (`Builder::unhandled_panic`).
//!
//! # Cost when unused
//!
//! The poll hooks sit on the hottest path there is, so both live behind
//! one `Option<Box<PollHooks>>` in the runtime's fixed config: a runtime
//! without poll hooks pays one load and one never-taken branch per poll.
//! With hooks, each poll makes two indirect calls through `Arc<dyn Fn>`
//! (figures in `docs/benchmarks.md`). Spawn and terminate hooks are one
//! branch per spawn and per completion.

use crate::task::Id;
use std::panic::Location;
use std::sync::Arc;

/// What a hook is told about a task.
#[derive(Debug)]
pub struct TaskMeta<'a> {
    id: Id,
    location: &'static Location<'static>,
    _task: std::marker::PhantomData<&'a ()>,
}

impl<'a> TaskMeta<'a> {
    pub(crate) fn new(id: Id, location: &'static Location<'static>) -> TaskMeta<'a> {
        TaskMeta {
            id,
            location,
            _task: std::marker::PhantomData,
        }
    }

    /// The task's id (as `goro::task::Id`).
    pub fn id(&self) -> Id {
        self.id
    }

    /// Where the task was spawned.
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.location
    }

    /// The task's name, if it was given one. Tasks are not named yet in
    /// this build, so this is always `None`.
    pub fn name(&self) -> Option<&'a str> {
        None
    }
}

/// A task hook as the runtime stores it.
pub(crate) type TaskHook = Arc<dyn Fn(&TaskMeta<'_>) + Send + Sync>;

/// Both poll hooks, behind one pointer (see "Cost when unused").
pub(crate) struct PollHooks {
    pub(crate) before: Option<TaskHook>,
    pub(crate) after: Option<TaskHook>,
}

/// Every hook of a runtime.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) spawn: Option<TaskHook>,
    pub(crate) terminate: Option<TaskHook>,
    pub(crate) poll: Option<Box<PollHooks>>,
}

/// What the runtime does when a spawned task panics.
///
/// Either way the panic is caught and the task's `JoinHandle` resolves to
/// a `JoinError` that carries it (`JoinError::is_panic`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnhandledPanic {
    /// Report the panic through the JoinHandle only; the runtime goes on
    /// (the default).
    #[default]
    Ignore,
    /// Also shut the runtime down at once: the workers stop after their
    /// current poll, tasks still queued never run again, and every
    /// `block_on` on the runtime (running or later) panics, saying a task
    /// panicked. Suits tests and programs in which a panic is a bug that
    /// must not go unnoticed.
    ShutdownRuntime,
}
