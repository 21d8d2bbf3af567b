//! The owned-task list: every live task of a runtime, so that shutdown can
//! drop every future and a task dump can read every state word.
//!
//! An intrusive doubly linked list through `Header::links`, split into
//! shards (by task id) to keep spawning threads off each other's lock. Each
//! shard's mutex protects the links of every task in it and its `listed`
//! flag; nothing else is done while it is held (no task code runs under it).
//! The locks are `parking_lot`'s: every task takes one twice (spawn and
//! completion), and std's `Mutex` adds its poison bookkeeping to each
//! lock and unlock (a read of the global panic count on both, and the
//! poison flag's check: about 14 instructions a pair on x86-64, a
//! fifth of what the list itself costs a task). Nothing under these
//! locks can panic halfway through a link update, so there is no poison
//! to track.
//!
//! Task names live here too, in a side table per shard keyed by task id:
//! names are set at spawn and read only by dumps, so they are not worth
//! eight bytes in every record. The entry is removed when the task leaves
//! the list, under the same lock.

use super::raw::Header;
use super::{Id, RawTask};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) struct OwnedTasks {
    shards: Box<[Mutex<Shard>]>,
    /// Set once by shutdown; checked under each shard lock by `insert`, so
    /// no task is listed after `close_and_shutdown` has emptied that shard.
    closed: AtomicBool,
}

struct Shard {
    head: Option<NonNull<Header>>,
    len: usize,
    /// Names of the named tasks of this shard.
    names: HashMap<Id, Box<str>>,
}

// SAFETY: the raw pointers are only followed under the shard's mutex, and
// they point to tasks whose list reference keeps them alive.
unsafe impl Send for Shard {}

impl OwnedTasks {
    pub(crate) fn new(shards: usize) -> OwnedTasks {
        let n = shards.max(1).next_power_of_two();
        OwnedTasks {
            shards: (0..n)
                .map(|_| {
                    Mutex::new(Shard {
                        head: None,
                        len: 0,
                        names: HashMap::new(),
                    })
                })
                .collect(),
            closed: AtomicBool::new(false),
        }
    }

    fn shard(&self, task: RawTask) -> &Mutex<Shard> {
        let i = task.header().id.as_u64() as usize & (self.shards.len() - 1);
        &self.shards[i]
    }

    /// Lists a new task (taking over the list's reference). Fails if the
    /// runtime has shut down; the caller then shuts the task down.
    #[cfg(test)]
    pub(crate) fn insert(&self, task: RawTask) -> Result<(), RawTask> {
        self.insert_named(task, None)
    }

    /// [`OwnedTasks::insert`], with the task's name, if any.
    ///
    /// Inlined into each spawn (as is `remove` into each completion):
    /// out of line, the call's register saves cost as much as the links.
    #[inline]
    pub(crate) fn insert_named(&self, task: RawTask, name: Option<&str>) -> Result<(), RawTask> {
        let mut shard = self.shard(task).lock();
        // Relaxed: `closed` is set before shutdown takes each shard lock,
        // and the lock orders it with this read.
        if self.closed.load(Ordering::Relaxed) {
            return Err(task);
        }
        if let Some(name) = name {
            name_task(&mut shard, task.header().id, name);
        }
        // SAFETY: shard lock held; the task is new, so nobody else sees it.
        unsafe {
            let links = &mut *task.header().links.get();
            links.prev = None;
            links.next = shard.head;
            *task.header().listed.get() = true;
            if let Some(head) = shard.head {
                (*head.as_ref().links.get()).prev = Some(task.as_ptr());
            }
        }
        shard.head = Some(task.as_ptr());
        shard.len += 1;
        Ok(())
    }

    /// Unlinks a completed task. Returns whether it was listed (the caller
    /// then owns the list's reference).
    #[inline]
    pub(crate) fn remove(&self, task: RawTask) -> bool {
        let mut shard = self.shard(task).lock();
        // SAFETY: shard lock held.
        unsafe { unlink(&mut shard, task.as_ptr()) }
    }

    /// Closes the list and shuts down every task in it (dropping futures of
    /// tasks that are not running right now; a running one sees CANCELLED
    /// when its poll returns).
    pub(crate) fn close_and_shutdown(&self) {
        // Release: pairs with `is_closed`; inserts read it under the shard
        // locks, which order it on their own.
        self.closed.store(true, Ordering::Release);
        for shard in self.shards.iter() {
            loop {
                let task = {
                    let mut s = shard.lock();
                    let Some(head) = s.head else { break };
                    // SAFETY: shard lock held; `head` is listed. Unlinking
                    // hands us the list's reference, which keeps the record
                    // alive for the RawTask until `shutdown` consumes it.
                    unsafe {
                        unlink(&mut s, head);
                        RawTask::from_raw(head)
                    }
                };
                // The lock is released: shutting down runs task destructors.
                task.shutdown();
            }
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release in `close_and_shutdown`.
        self.closed.load(Ordering::Acquire)
    }

    /// Calls `f` on every listed task and its name, one shard at a time
    /// under that shard's lock (no stop-the-world: tasks keep running and
    /// may come and go in shards not yet visited). `f` must not block or
    /// run task code: it reads the header only.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header, Option<&str>)) {
        for shard in self.shards.iter() {
            let s = shard.lock();
            let mut next = s.head;
            while let Some(task) = next {
                // SAFETY: shard lock held; a listed task is kept alive by
                // the list's reference, which it only loses after being
                // unlinked under this lock.
                let header = unsafe { task.as_ref() };
                f(header, s.names.get(&header.id).map(|n| &**n));
                // SAFETY: as above; the links are protected by the lock.
                next = unsafe { (*header.links.get()).next };
            }
        }
    }

    /// Number of listed (live) tasks.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len).sum()
    }
}

/// # Safety
/// The shard lock is held and `task` hashes to this shard.
#[inline]
unsafe fn unlink(shard: &mut Shard, task: NonNull<Header>) -> bool {
    // SAFETY: the caller holds the lock protecting these links.
    unsafe {
        let links = &mut *task.as_ref().links.get();
        let listed = &mut *task.as_ref().listed.get();
        if !*listed {
            return false;
        }
        match links.prev {
            Some(p) => (*p.as_ref().links.get()).next = links.next,
            None => shard.head = links.next,
        }
        if let Some(n) = links.next {
            (*n.as_ref().links.get()).prev = links.prev;
        }
        links.prev = None;
        links.next = None;
        *listed = false;
    }
    shard.len -= 1;
    if !shard.names.is_empty() {
        // SAFETY: the caller's reference (now the list's) keeps it alive.
        unname_task(shard, unsafe { task.as_ref() }.id);
    }
    true
}

/// Records a task's name (the rare case, kept out of the inlined insert).
#[cold]
#[inline(never)]
fn name_task(shard: &mut Shard, id: Id, name: &str) {
    shard.names.insert(id, name.into());
}

/// Forgets a task's name, if it had one.
#[cold]
#[inline(never)]
fn unname_task(shard: &mut Shard, id: Id) {
    shard.names.remove(&id);
}
