//! Registrations: the slab of [`ScheduledIo`]s with generation-tagged
//! tokens, and [`Registration`], the per-socket handle the net types use.
//!
//! ## Tokens
//!
//! A mio token is `index | generation << 32`. The slab bumps a slot's
//! generation every time the slot is freed, so an event that was already
//! in flight for a source that has since been dropped (and whose slot now
//! belongs to a new socket) carries the old generation and is ignored
//! instead of waking the wrong task. Generations are 31 bits wide, so a
//! token never equals the driver's `WAKER_TOKEN` (`usize::MAX`).

use crate::driver::{Handle, Inner};
use crate::scheduled_io::{Direction, ReadyEvent, ScheduledIo};
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

const GENERATION_MASK: u32 = (1 << 31) - 1;

struct Slot {
    generation: u32,
    io: Option<Arc<ScheduledIo>>,
}

/// Every live registration of one reactor. Lives behind `Inner::io`'s
/// mutex; the driver holds that mutex while it dispatches a batch of
/// events, a socket while it is created or dropped.
#[derive(Default)]
pub(crate) struct IoSlab {
    slots: Vec<Slot>,
    /// Indices of free slots (a stack: the most recently freed is reused
    /// first, which keeps the slab dense).
    free: Vec<u32>,
    live: usize,
    /// Set by `Driver::shutdown`; no registration is accepted afterwards.
    pub(crate) is_shutdown: bool,
}

impl IoSlab {
    fn insert(&mut self, io: Arc<ScheduledIo>) -> mio::Token {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.slots.len()).expect("goro reactor: too many sockets");
                self.slots.push(Slot {
                    generation: 0,
                    io: None,
                });
                i
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.io = Some(io);
        self.live += 1;
        token_of(index, slot.generation)
    }

    fn remove(&mut self, token: mio::Token) {
        let (index, generation) = split(token);
        if let Some(slot) = self.slots.get_mut(index as usize) {
            if slot.generation == generation && slot.io.is_some() {
                slot.io = None;
                slot.generation = (slot.generation + 1) & GENERATION_MASK;
                self.free.push(index);
                self.live -= 1;
            }
        }
    }

    /// The registration a token names, if it is still the same one.
    pub(crate) fn get(&self, token: mio::Token) -> Option<&ScheduledIo> {
        let (index, generation) = split(token);
        let slot = self.slots.get(index as usize)?;
        if slot.generation != generation {
            return None;
        }
        slot.io.as_deref()
    }

    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// How many registrations hold at least one waker (see
    /// `ScheduledIo::has_waiters`).
    pub(crate) fn waiting(&self) -> usize {
        self.slots
            .iter()
            .filter_map(|s| s.io.as_ref())
            .filter(|io| io.has_waiters())
            .count()
    }

    /// Shuts every registration down, collecting their wakers.
    pub(crate) fn shutdown(&mut self, out: &mut Vec<Waker>) {
        self.is_shutdown = true;
        for io in self.slots.iter().filter_map(|s| s.io.as_ref()) {
            io.shutdown(out);
        }
    }
}

fn token_of(index: u32, generation: u32) -> mio::Token {
    mio::Token(index as usize | (generation as usize) << 32)
}

fn split(token: mio::Token) -> (u32, u32) {
    (token.0 as u32, (token.0 >> 32) as u32)
}

/// The error every IO operation returns once the runtime has shut down.
pub(crate) fn shutdown_error() -> io::Error {
    io::Error::other("the goro runtime has shut down; this IO resource can no longer be used")
}

/// One source's link to the reactor: owns its slab slot (freed on drop).
pub(crate) struct Registration {
    handle: Handle,
    shared: Arc<ScheduledIo>,
    token: mio::Token,
}

impl Registration {
    /// Registers `source` with the current thread's reactor.
    ///
    /// # Panics
    /// Outside a goro runtime (see "Outside a runtime" in the crate docs).
    #[track_caller]
    pub(crate) fn new(
        source: &mut impl mio::event::Source,
        interest: mio::Interest,
    ) -> io::Result<Registration> {
        Self::with_handle(Handle::current(), source, interest)
    }

    pub(crate) fn with_handle(
        handle: Handle,
        source: &mut impl mio::event::Source,
        interest: mio::Interest,
    ) -> io::Result<Registration> {
        let inner: &Inner = &handle.inner;
        let shared = Arc::new(ScheduledIo::new());
        let token = inner.with_slab(|slab| {
            if slab.is_shutdown {
                return Err(shutdown_error());
            }
            Ok(slab.insert(shared.clone()))
        })?;
        if let Err(e) = inner.registry.register(source, token, interest) {
            inner.with_slab(|slab| slab.remove(token));
            return Err(e);
        }
        Ok(Registration {
            handle,
            shared,
            token,
        })
    }

    /// Deregisters `source` and frees the slot. Called by the owning
    /// wrapper's `Drop` while it still owns the source.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source) {
        // The fd may already be half-torn-down by the peer; deregistering a
        // closed-out source fails harmlessly and the fd is closed next.
        let _ = self.handle.inner.registry.deregister(source);
    }

    /// Waits until `dir` is ready (or the runtime shut down).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        match self.shared.poll_ready(cx, dir) {
            Poll::Ready(ev) if ev.shutdown => Poll::Ready(Err(shutdown_error())),
            Poll::Ready(ev) => Poll::Ready(Ok(ev)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Runs `op` until it stops answering `WouldBlock`, waiting for
    /// readiness in between. A successful op spends one unit of coop budget;
    /// with the budget spent this returns `Pending` (the task is re-woken).
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_drain(cx, dir, op, |_| false)
    }

    /// `poll_io` for byte streams: when `drained(&result)` says the op
    /// moved fewer bytes than it asked for (a short read empties the receive
    /// queue; a short write fills the send buffer), the readiness is cleared
    /// right away, saving the syscall that would only say `WouldBlock`.
    /// Safe for the same reason as any clear: it is tick-checked, so an
    /// edge that arrived after the observation survives. (tokio does the
    /// same in its `poll_read`/`poll_write`.)
    pub(crate) fn poll_io_drain<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut() -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        let spent = match goro_coop::poll_proceed(cx) {
            Poll::Ready(spent) => spent,
            Poll::Pending => return Poll::Pending,
        };
        loop {
            let ev = match self.poll_ready(cx, dir) {
                Poll::Ready(Ok(ev)) => ev,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending, // `spent` refunds
            };
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.shared.clear_readiness(ev),
                res => {
                    if matches!(&res, Ok(v) if drained(v)) {
                        self.shared.clear_readiness(ev);
                    }
                    spent.made_progress();
                    return Poll::Ready(res);
                }
            }
        }
    }

    /// Runs `op` once if `dir` is believed ready, else `WouldBlock`.
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        self.try_io_drain(dir, op, |_| false)
    }

    /// `try_io` for byte streams: also clears the readiness when
    /// `drained(&result)` says the op emptied the socket (as in
    /// `poll_io_drain`).
    pub(crate) fn try_io_drain<R>(
        &self,
        dir: Direction,
        op: impl FnOnce() -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> io::Result<R> {
        let Some(ev) = self.shared.ready_now(dir) else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        if ev.shutdown {
            return Err(shutdown_error());
        }
        let res = op();
        match &res {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.shared.clear_readiness(ev),
            Ok(v) if drained(v) => self.shared.clear_readiness(ev),
            _ => {}
        }
        res
    }

    /// Forgets `ev`'s readiness unless a newer edge arrived (see "The
    /// clear race" in `scheduled_io.rs`).
    pub(crate) fn clear(&self, ev: ReadyEvent) {
        self.shared.clear_readiness(ev);
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let token = self.token;
        self.handle.inner.with_slab(|slab| slab.remove(token));
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn stale_tokens_do_not_resolve() {
        let mut slab = IoSlab::default();
        let a = slab.insert(Arc::new(ScheduledIo::new()));
        slab.remove(a);
        let b = slab.insert(Arc::new(ScheduledIo::new()));
        assert_eq!(split(a).0, split(b).0, "slot is reused");
        assert!(slab.get(a).is_none(), "old generation must not resolve");
        assert!(slab.get(b).is_some());
        slab.remove(a); // stale remove is a no-op
        assert_eq!(slab.live(), 1);
        assert_ne!(b, mio::Token(usize::MAX));
    }
}
