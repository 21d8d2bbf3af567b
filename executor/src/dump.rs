//! Task dumps: every live task of a runtime, with its status, wait reason
//! and spawn site, in the shape of Go's goroutine dump.
//!
//! A dump walks the owned-task list one shard at a time under that shard's
//! lock (`OwnedTasks::for_each`) and copies, per task, the state word, the
//! wait word, the name and the header's identity fields. Nothing stops the
//! world: tasks keep running, so a dump is a set of per-task snapshots, each
//! exact for its task at the moment it was read, not one global instant.
//!
//! # "no waker: can never run again"
//!
//! A task's reference count says exactly who can reach it. The runtime's
//! own references to a task that is idle (neither running, queued nor
//! complete) are:
//!
//! * the owned-task list's (always, while listed, and the dump only sees
//!   listed tasks);
//! * the `JoinHandle`'s, while the state word's JOIN_INTEREST bit is set
//!   (a `JoinSet` holds plain `JoinHandle`s);
//!
//! and no other: a queued `Notified` exists only with NOTIFIED set, and the
//! borrowed waker of a poll only while RUNNING is held. Every other
//! reference is a `Waker` clone, held by whatever the task waits on (a
//! channel's wait queue, a timer, a socket's waiter list, a user's struct).
//! So an idle task whose count equals `1 + JOIN_INTEREST` has no waker
//! anywhere, and since a waker can only be made by cloning one or by
//! polling the task, it never will: nothing can wake it again. Only
//! `JoinHandle::abort` or runtime shutdown can still touch it, and both
//! only drop its future.

use crate::shared::Shared;
use crate::task::raw::Header;
use crate::task::wait::{self, Wait};
use crate::task::{Id, WaitReason};
use std::fmt;
use std::panic::Location;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// A snapshot of every live task of a runtime; see
/// `runtime::Handle::dump`. `Display` prints it in the shape of Go's
/// goroutine dump.
#[derive(Clone, Debug)]
pub struct Dump {
    workers: usize,
    all_parked: bool,
    injector: usize,
    queues: Vec<usize>,
    runnext: Vec<bool>,
    tasks: Vec<TaskDump>,
}

/// What a task is doing at the moment it was dumped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskStatus {
    /// A thread is polling it (or running its blocking-pool job).
    Running,
    /// Queued: it will be polled (or its job run) when a thread gets to it.
    Runnable,
    /// Parked: it returned `Pending` and waits for a wake-up.
    Waiting,
}

/// One task of a [`Dump`].
#[derive(Clone, Debug)]
pub struct TaskDump {
    id: Id,
    name: Option<String>,
    status: TaskStatus,
    wait: Wait,
    waiting_for: Duration,
    location: &'static Location<'static>,
    parent: Option<Id>,
    no_waker: bool,
}

impl TaskDump {
    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The name given with `task::Builder::name`.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Running, runnable or waiting.
    pub fn status(&self) -> TaskStatus {
        self.status
    }

    /// Why it waits (for a `Waiting` task; `Blocking` for a blocking-pool
    /// job, `None` otherwise).
    pub fn wait_reason(&self) -> Option<WaitReason> {
        match self.status {
            TaskStatus::Waiting => Some(self.wait.reason),
            _ if self.wait.blocking_task => Some(WaitReason::Blocking),
            _ => None,
        }
    }

    /// How long it has been waiting (zero unless `Waiting`), by the coarse
    /// clock: never shorter than the real wait.
    pub fn waiting_for(&self) -> Duration {
        self.waiting_for
    }

    /// Where it was spawned.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// The task that spawned it; `None` if spawned from outside any task.
    pub fn parent(&self) -> Option<Id> {
        self.parent
    }

    /// Waiting, and no waker for it exists anywhere: nothing can ever wake
    /// it (see the module docs of `dump.rs`, "no waker").
    pub fn has_no_waker(&self) -> bool {
        self.no_waker
    }
}

impl Dump {
    /// The tasks, in no particular order.
    pub fn tasks(&self) -> &[TaskDump] {
        &self.tasks
    }

    /// Number of tasks in the dump.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the runtime had no live task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

/// Takes a dump of `shared`'s tasks.
pub(crate) fn dump(shared: &Shared) -> Dump {
    wait::tick();
    let now = wait::now_ms();
    let mut tasks = Vec::with_capacity(shared.num_alive_tasks());
    shared.owned.for_each(|h, name| {
        if let Some(t) = task_dump(h, name, now) {
            tasks.push(t);
        }
    });
    tasks.sort_unstable_by_key(|t| t.id);
    Dump {
        workers: shared.num_workers,
        all_parked: shared.idle.all_parked(),
        injector: shared.injector.len(),
        queues: shared.workers().iter().map(|r| r.steal.len()).collect(),
        runnext: shared
            .workers()
            .iter()
            .map(|r| !r.runnext.is_empty())
            .collect(),
        tasks,
    }
}

fn task_dump(h: &Header, name: Option<&str>, now: u64) -> Option<TaskDump> {
    let s = h.state.load();
    if s.is_complete() {
        // Completed, about to leave the list.
        return None;
    }
    let status = if s.is_running() {
        TaskStatus::Running
    } else if s.is_notified() {
        TaskStatus::Runnable
    } else {
        TaskStatus::Waiting
    };
    let w = wait::load(h);
    let runtime_refs = 1 + usize::from(s.has_join_interest());
    Some(TaskDump {
        id: h.id,
        name: name.map(str::to_owned),
        status,
        waiting_for: if status == TaskStatus::Waiting {
            w.elapsed(now)
        } else {
            Duration::ZERO
        },
        wait: w,
        location: h.location,
        parent: h.parent,
        no_waker: status == TaskStatus::Waiting && s.ref_count() == runtime_refs,
    })
}

impl fmt::Display for TaskDump {
    /// ```text
    /// task 17 "acceptor" [chan receive, 2.1s]:
    ///     spawned at src/main.rs:40:9 by task 1
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.id)?;
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        match self.status {
            TaskStatus::Running if self.wait.blocking_task => {
                f.write_str(" [running, blocking]")?
            }
            TaskStatus::Running => f.write_str(" [running]")?,
            TaskStatus::Runnable if self.wait.blocking_task => {
                f.write_str(" [runnable, blocking]")?
            }
            TaskStatus::Runnable => f.write_str(" [runnable]")?,
            TaskStatus::Waiting => {
                let secs = self.waiting_for.as_secs_f64();
                write!(f, " [{}, {secs:.1}s", self.wait.reason)?;
                if self.no_waker {
                    f.write_str(", no waker: can never run again")?;
                }
                f.write_str("]")?;
            }
        }
        write!(f, ":\n    spawned at {}", self.location)?;
        match self.parent {
            Some(p) => write!(f, " by task {p}"),
            None => f.write_str(" outside any task"),
        }
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "goro dump: {} tasks, workers={} all_parked={} injector={} queues=[",
            self.tasks.len(),
            self.workers,
            self.all_parked,
            self.injector
        )?;
        for (i, (len, next)) in self.queues.iter().zip(&self.runnext).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{len}{}", if *next { "+1" } else { "" })?;
        }
        f.write_str("]\n")?;
        for t in &self.tasks {
            write!(f, "\n{t}\n")?;
        }
        Ok(())
    }
}

/// Runtimes whose dump SIGQUIT prints.
static ON_SIGQUIT: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// Prints `shared`'s dump to stderr on every SIGQUIT from now on (for as
/// long as the runtime lives). The first call installs the handler: it
/// writes one byte to a self-pipe (the only async-signal-safe thing it
/// does), and a thread blocked reading the pipe takes the dumps. Failing
/// to install it is reported on stderr once; the runtime works without.
pub(crate) fn on_sigquit(shared: &Arc<Shared>) {
    {
        let mut list = ON_SIGQUIT.lock().unwrap();
        list.retain(|w| w.strong_count() > 0);
        list.push(Arc::downgrade(shared));
    }
    #[cfg(unix)]
    {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            if let Err(e) = sigquit::install() {
                eprintln!("goro: cannot print task dumps on SIGQUIT: {e}");
            }
        });
    }
}

/// Prints the dump of every runtime registered with [`on_sigquit`].
fn print_all() {
    let runtimes: Vec<Arc<Shared>> = ON_SIGQUIT
        .lock()
        .unwrap()
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    for s in runtimes {
        if !s.is_shutdown() {
            eprintln!("SIGQUIT: {}", dump(&s));
        }
    }
}

#[cfg(unix)]
mod sigquit {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    pub(super) fn install() -> std::io::Result<()> {
        let (mut rx, tx) = UnixStream::pair()?;
        // Non-blocking: a handler must never block; a full pipe means a
        // dump is pending already.
        tx.set_nonblocking(true)?;
        let fd = tx.as_raw_fd();
        // The write end stays open for the life of the process.
        std::mem::forget(tx);
        std::thread::Builder::new()
            .name("goro-sigquit".into())
            .spawn(move || {
                let mut buf = [0u8; 64];
                while matches!(rx.read(&mut buf), Ok(n) if n > 0) {
                    super::print_all();
                }
            })?;
        let action = move || {
            // SAFETY: write(2) is async-signal-safe; `fd` is open for the
            // life of the process and the buffer is a live local byte.
            unsafe { libc::write(fd, [1u8].as_ptr().cast(), 1) };
        };
        // SAFETY: the action only calls write(2), which is async-signal-safe,
        // and allocates nothing.
        unsafe { signal_hook_registry::register(libc::SIGQUIT, action) }?;
        Ok(())
    }
}
