//! The buffer of a bounded, buffered channel (capacity 1 and up): Vyukov's
//! bounded MPMC array queue, as crossbeam-channel's array flavour and
//! `concurrent-queue` use it, with the channel's "closed" mark folded into
//! the tail so that a push and a close are ordered by one atomic word.
//!
//! ## Positions and stamps
//!
//! `head` and `tail` are *positions*: `lap + index`, where `index < cap` is
//! a slot and `lap` is a multiple of `LAP = (cap + 1).next_power_of_two()`.
//! The position after the last slot of a lap is the first slot of the next
//! lap. Every slot carries a `stamp` that says what it is ready for:
//!
//! * `stamp == p` — free, waiting for the push at position `p`;
//! * `stamp == p + 1` — full, holding the value pushed at position `p`,
//!   waiting for the pop at `p`. (`LAP > cap` keeps `p + 1` apart from any
//!   free stamp of the same slot.)
//!
//! A sender at `tail == p` whose slot says `p` claims the position with a CAS
//! on `tail`, writes the value, and stores `p + 1` (Release). A receiver at
//! `head == p` whose slot says `p + 1` claims it with a CAS on `head`, reads
//! the value, and stores `p + LAP` (Release): free for the next lap. The
//! stamps serialise each slot's writer and reader; the CASes serialise the
//! senders among themselves and the receivers among themselves.
//!
//! Positions are kept modulo 2^63 (the top bit of `tail` is `CLOSED`); a
//! lap is a power of two, so wrapping keeps laps aligned, and stamps are
//! only ever compared for equality.
//!
//! ## Closing
//!
//! `close` sets `CLOSED` in `tail` with one `fetch_or`. A push reads the bit
//! in the same word it CASes, so every push either lands before the close
//! (and will be drained) or fails with its value. A pop that finds the ring
//! empty reports "closed" only if the tail it read carries the bit.
//!
//! ## The order parking relies on
//!
//! The CASes on `head` and `tail` are SeqCst, and so are the loads of
//! `head`/`tail` that decide "empty" or "full". The channel core pairs them
//! with SeqCst accesses to its "someone is parked" flags (see "Parking on a
//! ring" in `core.rs`).

use std::mem::MaybeUninit;

use super::{TryRecvError, TrySendError};
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};

/// Set in `tail` once the channel is closed.
const CLOSED: usize = 1 << (usize::BITS - 1);
/// The position bits of `tail`.
const POS: usize = !CLOSED;

/// Keeps a hot index on a cache line of its own (128 bytes: adjacent-line
/// prefetch pairs lines on x86).
#[repr(align(128))]
struct Padded<T>(T);

struct Slot<T> {
    /// See "Positions and stamps".
    stamp: AtomicUsize,
    /// Initialised exactly while the stamp says "full".
    value: UnsafeCell<MaybeUninit<T>>,
}

pub(crate) struct Ring<T> {
    /// Next position to pop. Moved forward only by receivers (CAS).
    head: Padded<AtomicUsize>,
    /// Next position to push, plus `CLOSED`. Moved forward only by senders
    /// (CAS); `close` sets the bit.
    tail: Padded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    /// Number of slots.
    cap: usize,
    /// `(cap + 1).next_power_of_two()`: the distance between two laps.
    lap: usize,
}

// SAFETY: a value moves between threads through the slots (hence `T: Send`);
// the stamps give each slot one writer or one reader at a time, so sharing
// the ring hands `T`s over but never shares a `&T`.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    pub(crate) fn new(cap: usize) -> Self {
        assert!(cap > 0 && cap < CLOSED / 2, "ring capacity out of range");
        let slots = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Ring {
            head: Padded(AtomicUsize::new(0)),
            tail: Padded(AtomicUsize::new(0)),
            slots,
            cap,
            lap: (cap + 1).next_power_of_two(),
        }
    }

    /// The position after `pos`.
    #[inline]
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.lap - 1);
        if index + 1 < self.cap {
            pos + 1
        } else {
            (pos & !(self.lap - 1)).wrapping_add(self.lap) & POS
        }
    }

    #[inline]
    fn slot(&self, pos: usize) -> &Slot<T> {
        // The index part of a position is always below `cap`.
        &self.slots[pos & (self.lap - 1)]
    }

    /// Pushes `value` unless the ring is full or closed.
    #[inline]
    pub(crate) fn push(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut step = 0;
        // Relaxed: a starting guess; the CAS below validates it.
        let mut tail = self.tail.0.load(Ordering::Relaxed);
        loop {
            if tail & CLOSED != 0 {
                return Err(TrySendError::Closed(value));
            }
            let slot = self.slot(tail);
            // Acquire: pairs with the Release stamp store of the receiver
            // that emptied this slot, so its read of the old value happens
            // before our write.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                match self.tail.0.compare_exchange_weak(
                    tail,
                    self.next(tail),
                    Ordering::SeqCst,
                    // Relaxed: we only retry from the value read.
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the CAS made position `tail` ours, and the
                        // stamp says the slot is free: nobody else touches
                        // its value until we publish the new stamp.
                        slot.value.with_mut(|v| unsafe { (*v).write(value) });
                        // Release: publishes the value to the receiver that
                        // Acquire-loads this stamp.
                        slot.stamp.store(tail + 1, Ordering::Release);
                        return Ok(());
                    }
                    Err(t) => tail = t,
                }
            } else if stamp.wrapping_add(self.lap) & POS == tail + 1 {
                // The slot still holds the value of the previous lap: full,
                // unless a receiver has claimed it and is reading it now.
                crate::loom::sc_fence();
                if self.head.0.load(Ordering::SeqCst).wrapping_add(self.lap) & POS == tail {
                    return Err(TrySendError::Full(value));
                }
                backoff(&mut step);
                // Relaxed: as at the top.
                tail = self.tail.0.load(Ordering::Relaxed);
            } else {
                // Another sender moved the tail on: catch up.
                backoff(&mut step);
                // Relaxed: as at the top.
                tail = self.tail.0.load(Ordering::Relaxed);
            }
        }
    }

    /// Pops the oldest value, or says why there is none.
    #[inline]
    pub(crate) fn pop(&self) -> Result<T, TryRecvError> {
        let mut step = 0;
        // Relaxed: a starting guess; the CAS below validates it.
        let mut head = self.head.0.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(head);
            // Acquire: pairs with the sender's Release stamp store, making
            // its write of the value visible.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                match self.head.0.compare_exchange_weak(
                    head,
                    self.next(head),
                    Ordering::SeqCst,
                    // Relaxed: we only retry from the value read.
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the CAS made position `head` ours and the
                        // stamp says the slot holds an initialised value that
                        // nobody else will read.
                        let value = slot.value.with(|v| unsafe { (*v).assume_init_read() });
                        // Release: our read happens before the next lap's
                        // sender overwrites the slot (it Acquire-loads this).
                        slot.stamp
                            .store(head.wrapping_add(self.lap) & POS, Ordering::Release);
                        return Ok(value);
                    }
                    Err(h) => head = h,
                }
            } else if stamp == head {
                // Nothing pushed at this position yet: empty, unless a
                // sender has claimed it and is still writing.
                crate::loom::sc_fence();
                let tail = self.tail.0.load(Ordering::SeqCst);
                if tail & POS == head {
                    return Err(if tail & CLOSED != 0 {
                        TryRecvError::Closed
                    } else {
                        TryRecvError::Empty
                    });
                }
                backoff(&mut step);
                // Relaxed: as at the top.
                head = self.head.0.load(Ordering::Relaxed);
            } else {
                // Another receiver moved the head on: catch up.
                backoff(&mut step);
                // Relaxed: as at the top.
                head = self.head.0.load(Ordering::Relaxed);
            }
        }
    }

    /// Marks the ring closed; later pushes fail. Returns whether this call
    /// set the mark.
    pub(crate) fn close(&self) -> bool {
        self.tail.0.fetch_or(CLOSED, Ordering::SeqCst) & CLOSED == 0
    }

    /// Whether a pop would find a value or the close mark (a push claimed
    /// but not yet written counts as a value: the pop waits for it).
    pub(crate) fn recv_ready(&self) -> bool {
        crate::loom::sc_fence();
        let tail = self.tail.0.load(Ordering::SeqCst);
        tail & CLOSED != 0 || self.head.0.load(Ordering::SeqCst) != tail
    }

    /// Whether a push would find room or the close mark.
    pub(crate) fn send_ready(&self) -> bool {
        crate::loom::sc_fence();
        self.tail.0.load(Ordering::SeqCst) & CLOSED != 0 || self.len() < self.cap
    }

    /// Values in the ring (pushes claimed count, pops claimed do not).
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.0.load(Ordering::SeqCst);
            let head = self.head.0.load(Ordering::SeqCst);
            // A consistent pair: the tail did not move while we read head.
            if self.tail.0.load(Ordering::SeqCst) == tail {
                let tail = tail & POS;
                let hi = head & (self.lap - 1);
                let ti = tail & (self.lap - 1);
                return if hi < ti {
                    ti - hi
                } else if hi > ti {
                    self.cap - hi + ti
                } else if tail == head {
                    0
                } else {
                    self.cap
                };
            }
        }
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // Drop what is still buffered; with `&mut self` nobody races us.
        while self.pop().is_ok() {}
    }
}

/// Waits a little for another thread to finish a claimed push or pop:
/// exponentially longer spins, then yields (on 2 shared cores the other
/// thread may be preempted).
#[inline]
fn backoff(step: &mut u32) {
    #[cfg(loom)]
    {
        let _ = step;
        crate::loom::thread::yield_now();
    }
    #[cfg(not(loom))]
    {
        if *step < 6 {
            for _ in 0..1u32 << *step {
                std::hint::spin_loop();
            }
            *step += 1;
        } else {
            std::thread::yield_now();
        }
    }
}
