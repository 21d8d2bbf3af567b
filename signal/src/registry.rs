//! Process-wide state: the self-pipe, one slot per signal number, the
//! handler and the dispatch step (see "From a handler to a task" in the
//! crate docs).

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::Waker;

/// Signal numbers `1..SLOTS` can be listened for (Linux's real-time
/// signals end at 64).
pub(crate) const SLOTS: usize = 65;

pub(crate) struct Slot {
    /// Set by the handler, swapped off by `dispatch`.
    pending: AtomicBool,
    /// How many times `dispatch` has seen this signal delivered.
    generation: AtomicU64,
    /// Whether the handler is installed. Only locked on listener creation.
    installed: Mutex<bool>,
    /// Listeners waiting in `recv`, keyed by listener id (so a dropped
    /// listener removes exactly its own entry).
    waiters: Mutex<Vec<(u64, Waker)>>,
}

pub(crate) struct Globals {
    /// Write end: only the handler writes, with `write(2)`.
    sender: UnixStream,
    /// Read end: never read directly; listeners read their duplicates.
    receiver: UnixStream,
    slots: Vec<Slot>,
    next_id: AtomicU64,
}

static GLOBALS: OnceLock<Globals> = OnceLock::new();

pub(crate) fn globals() -> io::Result<&'static Globals> {
    if let Some(g) = GLOBALS.get() {
        return Ok(g);
    }
    let (receiver, sender) = UnixStream::pair()?;
    receiver.set_nonblocking(true)?;
    sender.set_nonblocking(true)?;
    let slots = (0..SLOTS)
        .map(|_| Slot {
            pending: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            installed: Mutex::new(false),
            waiters: Mutex::new(Vec::new()),
        })
        .collect();
    // A racing initialiser wins; our pair is dropped (closed) here.
    Ok(GLOBALS.get_or_init(|| Globals {
        sender,
        receiver,
        slots,
        next_id: AtomicU64::new(0),
    }))
}

impl Globals {
    pub(crate) fn slot(&self, signal: usize) -> &Slot {
        &self.slots[signal]
    }

    pub(crate) fn next_id(&self) -> u64 {
        // Relaxed: only uniqueness matters.
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A duplicate of the pipe's read end for one listener.
    pub(crate) fn receiver(&self) -> io::Result<UnixStream> {
        self.receiver.try_clone()
    }

    /// Installs the handler for `signal` once per process.
    pub(crate) fn install(&'static self, signal: libc::c_int) -> io::Result<()> {
        let slot = self.slot(signal as usize);
        let mut installed = slot.installed.lock().unwrap();
        if *installed {
            return Ok(());
        }
        let fd = self.sender.as_raw_fd();
        let action = move || {
            // Async-signal-safe only: an atomic store and `write(2)`.
            // Release: `dispatch` swaps the flag with Acquire after reading
            // the byte written below; the flag is the only data published.
            slot.pending.store(true, Ordering::Release);
            let byte = 1u8;
            // SAFETY: `fd` is the sender, owned by the `'static` globals
            // and never closed; the buffer is one live byte. A failure
            // (a full pipe) is fine: `pending` is already set and the
            // bytes already in the pipe will wake a listener.
            let _ = unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
        };
        // SAFETY: `action` is async-signal-safe (see above): it takes no
        // lock, allocates nothing and touches only `'static` data.
        unsafe { signal_hook_registry::register(signal, action) }?;
        *installed = true;
        Ok(())
    }

    /// Publishes every pending signal: bumps its generation and wakes its
    /// listeners. The caller has drained the pipe first (through any
    /// duplicate of the read end: they all read the same bytes).
    pub(crate) fn dispatch(&self) {
        let mut to_wake = Vec::new();
        for slot in &self.slots {
            // AcqRel: Acquire pairs with the handler's Release store;
            // Release orders the swap before the generation bump that
            // listeners read.
            if slot.pending.swap(false, Ordering::AcqRel) {
                // Release: a listener that sees the new generation (Acquire)
                // also sees everything before the dispatch.
                slot.generation.fetch_add(1, Ordering::Release);
                to_wake.extend(slot.waiters.lock().unwrap().drain(..).map(|(_, w)| w));
            }
        }
        to_wake.into_iter().for_each(Waker::wake);
    }
}

impl Slot {
    pub(crate) fn generation(&self) -> u64 {
        // Acquire pairs with the bump in `dispatch`.
        self.generation.load(Ordering::Acquire)
    }

    /// Stores (or refreshes) listener `id`'s waker.
    pub(crate) fn register(&self, id: u64, waker: &Waker) {
        let mut waiters = self.waiters.lock().unwrap();
        match waiters.iter_mut().find(|(i, _)| *i == id) {
            Some((_, w)) if w.will_wake(waker) => {}
            Some((_, w)) => w.clone_from(waker),
            None => waiters.push((id, waker.clone())),
        }
    }

    /// Forgets listener `id` (it was dropped).
    pub(crate) fn unregister(&self, id: u64) {
        self.waiters.lock().unwrap().retain(|(i, _)| *i != id);
    }
}
