//! The readiness state of one registered IO source.
//!
//! ## The readiness word
//!
//! One `AtomicUsize` holds everything a poller needs to decide "try the
//! syscall" or "wait":
//!
//! | bits    | meaning                                                     |
//! |---------|-------------------------------------------------------------|
//! | 0       | [`READABLE`]: the kernel said readable since the last clear |
//! | 1       | [`WRITABLE`]: likewise for writes                           |
//! | 2       | [`READ_CLOSED`]: the peer closed its write side (final)     |
//! | 3       | [`WRITE_CLOSED`]: our write side is closed (final)          |
//! | 15      | `SHUTDOWN`: the runtime shut down; every op fails (final)   |
//! | 16..32  | tick: how many events the driver has delivered, mod 2^16    |
//!
//! The driver ORs bits in and bumps the tick for every event; the task
//! clears READABLE/WRITABLE when a syscall answers `WouldBlock`. The closed
//! bits and SHUTDOWN are never cleared.
//!
//! ## The clear race (why the tick exists)
//!
//! mio is edge-triggered: the kernel reports "readable" once per arrival of
//! data, not once per poll. So the readiness bit is a cache of the last
//! edge, and a task must clear it when a read finds the socket empty. The
//! danger is this interleaving:
//!
//! ```text
//!   task                                 driver
//!   load readiness: READABLE, tick 7
//!   read() -> WouldBlock
//!                                        data arrives; event: READABLE
//!                                        readiness |= READABLE, tick 8
//!                                        no waker registered: nobody woken
//!   clear READABLE            <-- lost!
//!   register waker, wait forever (the kernel will not report that edge again)
//! ```
//!
//! The fix: the task remembers the tick it observed together with the bits
//! ([`ReadyEvent`]) and clears only if the tick is unchanged (one CAS). If
//! an event landed after the observation, the clear is skipped and the
//! next poll sees READABLE again and retries the syscall, which now
//! succeeds. Spurious retries are cheap; lost edges are hangs. The loom
//! model `loom_clear_race_never_loses_an_edge` below explores every
//! interleaving of this protocol with the waker registration.
//!
//! ## Waiters
//!
//! One waiter list per direction, so the read and write halves of a split
//! stream can wait from two tasks at once, and several tasks may wait in
//! the same direction (e.g. two receivers on one shared `UdpSocket`). Each
//! list keeps its first waker inline (the common case allocates nothing)
//! and further distinct wakers in a boxed vector, allocated on the first
//! second waiter (a word instead of a `Vec`'s three: two lists in every
//! registration, two registrations in every loopback connection); a waker that `will_wake` an
//! entry already there replaces nothing. Futures that were dropped while
//! waiting leave their waker behind until the next event, which wakes it
//! spuriously (harmless); to bound that garbage, a list that reaches
//! [`MAX_WAITERS`] is flushed — every waker in it is woken, and the live
//! ones simply register again.
//!
//! Both lists sit behind one small mutex; the driver takes it only after
//! publishing the readiness bits, and a task stores its waker and re-reads
//! the bits under the same mutex, so a wake can never fall between "bits
//! not ready" and "waker stored".

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::Mutex;
use std::task::{Context, Poll, Waker};

/// The source is readable (or has an error to report).
pub(crate) const READABLE: usize = 1 << 0;
/// The source is writable (or has an error to report).
pub(crate) const WRITABLE: usize = 1 << 1;
/// The peer shut down its write side: reads return EOF from now on.
pub(crate) const READ_CLOSED: usize = 1 << 2;
/// Our write side is closed: writes fail from now on.
pub(crate) const WRITE_CLOSED: usize = 1 << 3;
const READINESS_MASK: usize = READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED;
/// The runtime shut down; never cleared.
const SHUTDOWN: usize = 1 << 15;
const TICK_SHIFT: u32 = 16;
const TICK_MASK: usize = 0xFFFF << TICK_SHIFT;

/// Which half of the source an operation uses; picks the readiness bits
/// and the waiter list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED,
            Direction::Write => WRITABLE | WRITE_CLOSED,
        }
    }
}

/// What a task saw when it found the source ready: the bits for its
/// direction and the tick they were observed at (see "The clear race").
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    ready: usize,
    tick: u16,
    pub(crate) shutdown: bool,
}

impl ReadyEvent {
    /// True when the peer closed the side this event is about.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_closed(&self) -> bool {
        self.ready & (READ_CLOSED | WRITE_CLOSED) != 0
    }
}

pub(crate) struct ScheduledIo {
    /// See the table in the module docs. Written by the driver (set) and by
    /// tasks (clear), read by tasks.
    readiness: AtomicUsize,
    /// Protects the two waiter lists. Never held while waking a waker.
    waiters: Mutex<Waiters>,
}

/// See "Waiters" in the module docs.
const MAX_WAITERS: usize = 64;

#[derive(Default)]
struct Waiters {
    reader: WaiterList,
    writer: WaiterList,
}

#[derive(Default)]
struct WaiterList {
    first: Option<Waker>,
    // Boxed on purpose: one word in every registration instead of three.
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<Waker>>>,
}

impl WaiterList {
    /// Adds `waker` unless an equivalent one is present. If the list is
    /// full, its old wakers are moved to `flush` to be woken (outside the
    /// lock) first.
    fn register(&mut self, waker: &Waker, flush: &mut Vec<Waker>) {
        let present = |w: &Waker| w.will_wake(waker);
        let more = self.more.as_deref().map_or(&[][..], Vec::as_slice);
        if self.first.as_ref().is_some_and(present) || more.iter().any(present) {
            return;
        }
        if self.first.is_none() {
            self.first = Some(waker.clone());
            return;
        }
        if more.len() + 1 >= MAX_WAITERS {
            self.take(flush);
            self.first = Some(waker.clone());
            return;
        }
        self.more.get_or_insert_default().push(waker.clone());
    }

    fn take(&mut self, out: &mut Vec<Waker>) {
        out.extend(self.first.take());
        if let Some(more) = &mut self.more {
            out.append(more);
        }
    }
}

impl ScheduledIo {
    pub(crate) fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Driver side: records an event's readiness and bumps the tick.
    pub(crate) fn set_readiness(&self, ready: usize) {
        // AcqRel: the RMW orders this event after every earlier set/clear
        // of the word (the tick must count events in order); the socket's
        // data itself lives in the kernel, so no other memory is published.
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                let tick = ((cur & TICK_MASK) >> TICK_SHIFT).wrapping_add(1) & 0xFFFF;
                Some((cur & !TICK_MASK) | (ready & READINESS_MASK) | (tick << TICK_SHIFT))
            });
    }

    /// Whether a waker is stored for either direction. A waker is left
    /// behind by a task that stopped waiting until the next event, so this
    /// may say yes for a socket nobody waits on any more, never no for one
    /// somebody waits on.
    pub(crate) fn has_waiters(&self) -> bool {
        let w = self.waiters.lock().unwrap();
        w.reader.first.is_some() || w.writer.first.is_some()
    }

    /// Driver side: moves the wakers interested in `ready` into `out`, to
    /// be woken once every lock is released. Call after `set_readiness`.
    pub(crate) fn take_wakers(&self, ready: usize, out: &mut Vec<Waker>) {
        let mut waiters = self.waiters.lock().unwrap();
        if ready & Direction::Read.mask() != 0 {
            waiters.reader.take(out);
        }
        if ready & Direction::Write.mask() != 0 {
            waiters.writer.take(out);
        }
    }

    /// Marks the source shut down and hands back both wakers.
    pub(crate) fn shutdown(&self, out: &mut Vec<Waker>) {
        // AcqRel as in `set_readiness`; the bit is final.
        self.readiness.fetch_or(SHUTDOWN, Ordering::AcqRel);
        self.take_wakers(READINESS_MASK, out);
    }

    /// The readiness for `dir` right now, without registering interest.
    pub(crate) fn ready_now(&self, dir: Direction) -> Option<ReadyEvent> {
        // Acquire pairs with the AcqRel RMWs so we see the newest tick.
        let cur = self.readiness.load(Ordering::Acquire);
        event_for(cur, dir)
    }

    /// Task side: `Ready` with the observed event if `dir` is ready (or the
    /// runtime shut down); otherwise stores the task's waker in the slot
    /// for `dir` and returns `Pending`.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<ReadyEvent> {
        if let Some(ev) = self.ready_now(dir) {
            return Poll::Ready(ev);
        }
        let mut flush = Vec::new();
        let ready = {
            let mut waiters = self.waiters.lock().unwrap();
            let list = match dir {
                Direction::Read => &mut waiters.reader,
                Direction::Write => &mut waiters.writer,
            };
            list.register(cx.waker(), &mut flush);
            // Re-check under the lock: the driver sets the bits *before* it
            // takes this lock, so either we see them now or it sees our waker.
            self.ready_now(dir)
        };
        flush.into_iter().for_each(Waker::wake);
        match ready {
            Some(ev) => Poll::Ready(ev),
            None => {
                goro_coop::set_wait_reason(goro_coop::WaitReason::Io);
                Poll::Pending
            }
        }
    }

    /// Task side: the syscall for `ev` said `WouldBlock`; forget the cached
    /// readiness unless an event arrived after `ev` was observed.
    /// See "The clear race" in the module docs.
    pub(crate) fn clear_readiness(&self, ev: ReadyEvent) {
        // Closed bits are final: a closed socket never blocks again.
        let mask = ev.ready & !(READ_CLOSED | WRITE_CLOSED);
        // Acquire on the load and AcqRel on the CAS: the tick comparison
        // must be against the latest event in the word's modification
        // order, which any RMW guarantees; no other data is published.
        let mut cur = self.readiness.load(Ordering::Acquire);
        loop {
            if tick_of(cur) != ev.tick {
                return; // an event raced the clear: keep the readiness
            }
            let new = cur & !mask;
            match self.readiness.compare_exchange_weak(
                cur,
                new,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }
}

fn tick_of(word: usize) -> u16 {
    ((word & TICK_MASK) >> TICK_SHIFT) as u16
}

fn event_for(word: usize, dir: Direction) -> Option<ReadyEvent> {
    let ready = word & dir.mask();
    let shutdown = word & SHUTDOWN != 0;
    if ready == 0 && !shutdown {
        return None;
    }
    Some(ReadyEvent {
        ready,
        tick: tick_of(word),
        shutdown,
    })
}

/// Converts a mio event into readiness bits. An error makes the source
/// both readable and writable so that whichever op runs next reports it.
pub(crate) fn bits_of(event: &mio::event::Event) -> usize {
    let mut bits = 0;
    if event.is_readable() || event.is_error() {
        bits |= READABLE;
    }
    if event.is_writable() || event.is_error() {
        bits |= WRITABLE;
    }
    if event.is_read_closed() {
        bits |= READ_CLOSED;
    }
    if event.is_write_closed() {
        bits |= WRITE_CLOSED;
    }
    bits
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn noop_cx() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    #[test]
    fn clear_is_skipped_when_an_event_raced_it() {
        let io = ScheduledIo::new();
        io.set_readiness(READABLE);
        let ev = io.ready_now(Direction::Read).unwrap();
        io.set_readiness(READABLE); // the racing edge
        io.clear_readiness(ev);
        assert!(io.ready_now(Direction::Read).is_some());
        let ev = io.ready_now(Direction::Read).unwrap();
        io.clear_readiness(ev);
        assert!(io.ready_now(Direction::Read).is_none());
    }

    #[test]
    fn closed_bits_survive_a_clear() {
        let io = ScheduledIo::new();
        io.set_readiness(READABLE | READ_CLOSED);
        let ev = io.ready_now(Direction::Read).unwrap();
        io.clear_readiness(ev);
        let ev = io.ready_now(Direction::Read).unwrap();
        assert!(ev.is_closed());
        assert!(io.ready_now(Direction::Write).is_none());
    }

    #[test]
    fn poll_ready_registers_and_shutdown_wakes_both() {
        let io = ScheduledIo::new();
        let mut cx = noop_cx();
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
        assert!(io.poll_ready(&mut cx, Direction::Write).is_pending());
        let mut out = Vec::new();
        io.shutdown(&mut out);
        assert_eq!(out.len(), 2);
        match io.poll_ready(&mut cx, Direction::Read) {
            Poll::Ready(ev) => assert!(ev.shutdown),
            Poll::Pending => panic!("shutdown must make the source ready"),
        }
    }

    #[test]
    fn several_waiters_per_direction_are_all_woken_and_bounded() {
        use std::sync::atomic::AtomicUsize;
        use std::sync::Arc;
        struct Count(AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let io = ScheduledIo::new();
        let counts: Vec<Arc<Count>> = (0..3)
            .map(|_| Arc::new(Count(AtomicUsize::new(0))))
            .collect();
        let wakers: Vec<Waker> = counts.iter().map(|c| Waker::from(c.clone())).collect();
        for w in wakers.iter().chain(wakers.iter()) {
            // Registering the same waker twice stores it once.
            assert!(io
                .poll_ready(&mut Context::from_waker(w), Direction::Read)
                .is_pending());
        }
        io.set_readiness(READABLE);
        let mut out = Vec::new();
        io.take_wakers(READABLE, &mut out);
        assert_eq!(out.len(), 3);
        out.into_iter().for_each(Waker::wake);
        assert!(counts.iter().all(|c| c.0.load(Ordering::SeqCst) == 1));

        // Abandoned waiters are flushed (woken) once the list is full.
        let io = ScheduledIo::new();
        let c = Arc::new(Count(AtomicUsize::new(0)));
        for _ in 0..MAX_WAITERS * 3 {
            // A fresh Arc each time: distinct wakers that never will_wake.
            let w = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
            let _ = io.poll_ready(&mut Context::from_waker(&w), Direction::Write);
        }
        let w = Waker::from(c.clone());
        let _ = io.poll_ready(&mut Context::from_waker(&w), Direction::Write);
        let mut out = Vec::new();
        io.set_readiness(WRITABLE);
        io.take_wakers(WRITABLE, &mut out);
        assert!(out.len() <= MAX_WAITERS, "list grew to {}", out.len());
        assert!(
            out.iter().any(|x| x.will_wake(&w)),
            "the live waiter is kept"
        );
    }

    /// Every socket end has one (in an `Arc`): with its waiter lists of
    /// one inline waker and a boxed overflow each, the `Arc`'s allocation
    /// stays in glibc's 96-byte class.
    #[test]
    fn a_registration_is_64_bytes() {
        assert_eq!(std::mem::size_of::<ScheduledIo>(), 64);
    }

    #[test]
    fn tick_wraps_without_touching_other_bits() {
        let io = ScheduledIo::new();
        for _ in 0..70_000 {
            io.set_readiness(WRITABLE);
        }
        let ev = io.ready_now(Direction::Write).unwrap();
        assert!(!ev.shutdown);
        assert!(io.ready_now(Direction::Read).is_none());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::sync::atomic::AtomicBool;
    use crate::loom::sync::Arc;
    use crate::loom::thread;
    use std::task::Wake;

    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// The task finds a stale READABLE (no data), reads, gets WouldBlock,
    /// clears and re-polls; meanwhile data arrives and the driver delivers
    /// the edge. Whatever the interleaving, the data is either read, or
    /// still advertised by the readiness bits, or the task's waker fired.
    #[test]
    fn loom_clear_race_never_loses_an_edge() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            io.set_readiness(READABLE); // stale edge from earlier data
            let data = Arc::new(AtomicBool::new(false)); // the kernel buffer
            let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));

            let driver = {
                let (io, data) = (io.clone(), data.clone());
                thread::spawn(move || {
                    data.store(true, Ordering::SeqCst); // bytes arrive
                    io.set_readiness(READABLE); // ...then the edge
                    let mut out = Vec::new();
                    io.take_wakers(READABLE, &mut out);
                    out.into_iter().for_each(Waker::wake);
                })
            };

            let waker = Waker::from(flag.clone());
            let mut cx = Context::from_waker(&waker);
            let mut got = false;
            if let Poll::Ready(ev) = io.poll_ready(&mut cx, Direction::Read) {
                if data.swap(false, Ordering::SeqCst) {
                    got = true;
                } else {
                    io.clear_readiness(ev); // WouldBlock
                    let _ = io.poll_ready(&mut cx, Direction::Read);
                }
            }
            driver.join().unwrap();

            let advertised = io.ready_now(Direction::Read).is_some();
            let woken = flag.0.load(Ordering::SeqCst);
            assert!(got || advertised || woken, "an edge was lost");
        });
    }

    /// A task registering interest races the runtime's shutdown: it must
    /// either see the shutdown on its poll or have its waker fired.
    #[test]
    fn loom_shutdown_never_strands_a_waiter() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
            let closer = {
                let io = io.clone();
                thread::spawn(move || {
                    let mut out = Vec::new();
                    io.shutdown(&mut out);
                    out.into_iter().for_each(Waker::wake);
                })
            };
            let waker = Waker::from(flag.clone());
            let mut cx = Context::from_waker(&waker);
            let saw = match io.poll_ready(&mut cx, Direction::Write) {
                Poll::Ready(ev) => ev.shutdown,
                Poll::Pending => false,
            };
            closer.join().unwrap();
            assert!(saw || flag.0.load(Ordering::SeqCst), "waiter stranded");
        });
    }
}
