//! The hierarchical timing wheel.
//!
//! Time is counted in *ticks* of 1 ms since the reactor started. The wheel
//! has [`LEVELS`] levels of 64 slots; a slot at level `L` covers `64^L`
//! ticks, so level 0 resolves single milliseconds and level 5 spans about
//! two years. An entry lives at the lowest level whose slot range still
//! separates its deadline from `elapsed` (the wheel's "now"): the level is
//! the highest 6-bit digit in which `when` and `elapsed` differ, the slot is
//! `when`'s digit at that level. (This is Varghese & Lauck's hierarchical
//! wheel, laid out the way the Linux kernel and tokio lay it out.)
//!
//! Invariants:
//! * every pending entry's `when` is in the same `64^(L+1)`-block as
//!   `elapsed` at its level `L` (so its slot is at or after the current
//!   one, except at the top level, whose slots form a ring — see
//!   `next_expiration`);
//! * a slot's list is non-empty iff its bit in `occupied[level]` is set;
//! * `elapsed` never decreases.
//!
//! Insert and cancel are O(1): entries live in a slab (`entries`) and each
//! slot holds a doubly linked list threaded through entry indices. When
//! `elapsed` reaches a higher-level slot, its entries cascade down; each
//! entry cascades at most `LEVELS - 1` times over its life.

use std::task::Waker;

pub(crate) const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const NIL: u32 = u32::MAX;
/// Entries further away than this are placed as if they were due this far
/// out and re-placed when that slot expires; half a top-level rotation
/// keeps the top-level ring unambiguous.
const MAX_SPAN: u64 = 1 << 35;

/// Names one entry; `generation` makes a key for a freed-and-reused slot
/// harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    index: u32,
    generation: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Free,
    /// Linked into `heads[slot]`.
    Pending {
        slot: u16,
    },
    /// Deadline reached; the waker was taken and woken.
    Fired,
}

struct Entry {
    when: u64,
    prev: u32,
    next: u32,
    generation: u32,
    state: State,
    waker: Option<Waker>,
}

/// What polling an entry found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EntryPoll {
    Pending,
    Fired,
    /// The key is stale (the wheel was shut down and drained).
    Gone,
}

pub(crate) struct Wheel {
    entries: Vec<Entry>,
    free: Vec<u32>,
    heads: Box<[u32; LEVELS * SLOTS]>,
    occupied: [u64; LEVELS],
    /// The tick the wheel has processed up to.
    elapsed: u64,
    pending: usize,
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        Wheel {
            entries: Vec::new(),
            free: Vec::new(),
            heads: Box::new([NIL; LEVELS * SLOTS]),
            occupied: [0; LEVELS],
            elapsed: 0,
            pending: 0,
        }
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of entries waiting for their deadline.
    pub(crate) fn pending(&self) -> usize {
        self.pending
    }

    /// Adds an entry due at tick `when`. Gives the waker back if `when` has
    /// already been reached (the caller treats the timer as fired).
    pub(crate) fn insert(&mut self, when: u64, waker: Waker) -> Result<Key, Waker> {
        if when <= self.elapsed {
            return Err(waker);
        }
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.entries.len()).expect("goro timer: too many timers");
                self.entries.push(Entry {
                    when: 0,
                    prev: NIL,
                    next: NIL,
                    generation: 0,
                    state: State::Free,
                    waker: None,
                });
                i
            }
        };
        let e = &mut self.entries[index as usize];
        e.when = when;
        e.waker = Some(waker);
        let generation = e.generation;
        self.link(index);
        self.pending += 1;
        Ok(Key { index, generation })
    }

    /// Polls an entry: `Fired` once its deadline passed (the entry is then
    /// freed: the key is spent), else stores `waker` (if it differs) and
    /// returns `Pending` and the waker it replaced (see [`Wheel::remove`]
    /// for why the caller drops it).
    pub(crate) fn poll(&mut self, key: Key, waker: &Waker) -> (EntryPoll, Option<Waker>) {
        let Some(e) = self.entry_mut(key) else {
            return (EntryPoll::Gone, None);
        };
        match e.state {
            State::Fired => (EntryPoll::Fired, self.remove(key)),
            State::Pending { .. } => {
                let replaced = match &e.waker {
                    Some(w) if w.will_wake(waker) => None,
                    _ => e.waker.replace(waker.clone()),
                };
                (EntryPoll::Pending, replaced)
            }
            State::Free => (EntryPoll::Gone, None),
        }
    }

    /// Cancels (if pending) and frees an entry. O(1). Returns the waker
    /// it held, for the caller to reuse or drop (after releasing its lock:
    /// dropping a waker may drop a task, whose timers lock the wheel).
    #[must_use = "drop the waker outside the wheel's lock"]
    pub(crate) fn remove(&mut self, key: Key) -> Option<Waker> {
        let e = self.entry_mut(key)?;
        match e.state {
            State::Free => return None,
            State::Fired => {}
            State::Pending { .. } => {
                self.unlink(key.index);
                self.pending -= 1;
            }
        }
        let e = &mut self.entries[key.index as usize];
        e.state = State::Free;
        e.generation = e.generation.wrapping_add(1);
        let waker = e.waker.take();
        self.free.push(key.index);
        waker
    }

    /// Advances `elapsed` to `now`, firing every entry due by then: each is
    /// marked fired and its waker pushed onto `out`.
    pub(crate) fn advance(&mut self, now: u64, out: &mut Vec<Waker>) {
        while let Some((level, slot, deadline)) = self.next_expiration() {
            if deadline > now {
                break;
            }
            self.elapsed = self.elapsed.max(deadline);
            let head = self.take_slot(level * SLOTS + slot);
            let mut cur = head;
            while cur != NIL {
                let e = &mut self.entries[cur as usize];
                let next = e.next;
                if e.when <= self.elapsed {
                    e.state = State::Fired;
                    e.prev = NIL;
                    e.next = NIL;
                    out.extend(e.waker.take());
                    self.pending -= 1;
                } else {
                    self.link(cur); // cascade to a lower level
                }
                cur = next;
            }
        }
        self.elapsed = self.elapsed.max(now);
    }

    /// The tick at which the wheel next has work (an entry fires or
    /// cascades), if any entry is pending.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.next_expiration().map(|(_, _, d)| d)
    }

    /// Removes every entry, returning the wakers of the pending ones.
    pub(crate) fn drain(&mut self, out: &mut Vec<Waker>) {
        for e in &mut self.entries {
            out.extend(e.waker.take());
        }
        self.entries = Vec::new();
        self.free = Vec::new();
        self.heads.fill(NIL);
        self.occupied = [0; LEVELS];
        self.pending = 0;
    }

    fn entry_mut(&mut self, key: Key) -> Option<&mut Entry> {
        let e = self.entries.get_mut(key.index as usize)?;
        (e.generation == key.generation).then_some(e)
    }

    /// Lowest occupied level first: its earliest occupied slot is the next
    /// thing due, because every entry of level L+1 lies beyond the current
    /// level-L block.
    fn next_expiration(&self) -> Option<(usize, usize, u64)> {
        for level in 0..LEVELS {
            let occupied = self.occupied[level];
            if occupied == 0 {
                continue;
            }
            let shift = SLOT_BITS * level as u32;
            let slot_range = 1u64 << shift;
            let level_range = slot_range << SLOT_BITS;
            let now_slot = (self.elapsed >> shift) & (SLOTS as u64 - 1);
            let ahead = u64::from(occupied.rotate_right(now_slot as u32).trailing_zeros());
            let slot = (now_slot + ahead) & (SLOTS as u64 - 1);
            let level_start = self.elapsed & !(level_range - 1);
            let mut deadline = level_start + slot * slot_range;
            if deadline < self.elapsed && level == LEVELS - 1 {
                // The top level is a ring: a slot "behind" us is one
                // rotation ahead (entries there crossed a 64^6 boundary).
                deadline += level_range;
            }
            return Some((level, slot as usize, deadline));
        }
        None
    }

    fn slot_for(&self, when: u64) -> usize {
        let when = when.min(self.elapsed + MAX_SPAN);
        // `| 63`: deadlines in the current 64-tick block go to level 0.
        let diff = (self.elapsed ^ when) | (SLOTS as u64 - 1);
        let significant = 63 - diff.leading_zeros();
        let level = ((significant / SLOT_BITS) as usize).min(LEVELS - 1);
        let slot = (when >> (SLOT_BITS * level as u32)) as usize & (SLOTS - 1);
        level * SLOTS + slot
    }

    fn link(&mut self, index: u32) {
        let slot = self.slot_for(self.entries[index as usize].when);
        let head = self.heads[slot];
        {
            let e = &mut self.entries[index as usize];
            e.prev = NIL;
            e.next = head;
            e.state = State::Pending { slot: slot as u16 };
        }
        if head != NIL {
            self.entries[head as usize].prev = index;
        }
        self.heads[slot] = index;
        self.occupied[slot / SLOTS] |= 1 << (slot % SLOTS);
    }

    fn unlink(&mut self, index: u32) {
        let e = &self.entries[index as usize];
        let State::Pending { slot } = e.state else {
            return;
        };
        let (prev, next, slot) = (e.prev, e.next, slot as usize);
        if prev == NIL {
            self.heads[slot] = next;
            if next == NIL {
                self.occupied[slot / SLOTS] &= !(1 << (slot % SLOTS));
            }
        } else {
            self.entries[prev as usize].next = next;
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
    }

    fn take_slot(&mut self, slot: usize) -> u32 {
        let head = std::mem::replace(&mut self.heads[slot], NIL);
        self.occupied[slot / SLOTS] &= !(1 << (slot % SLOTS));
        head
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn noop() -> Waker {
        Waker::noop().clone()
    }

    /// Fires everything up to `until` one tick at a time and records the
    /// tick each entry fired at.
    fn run(wheel: &mut Wheel, keys: &[Key], until: u64) -> Vec<Option<u64>> {
        let mut fired = vec![None; keys.len()];
        let mut out = Vec::new();
        let mut t = wheel.elapsed();
        while t < until {
            t = wheel.next_deadline().unwrap_or(until).min(until).max(t + 1);
            wheel.advance(t, &mut out);
            for (i, k) in keys.iter().enumerate() {
                if fired[i].is_none() && wheel.poll(*k, &noop()).0 == EntryPoll::Fired {
                    fired[i] = Some(t);
                }
            }
        }
        fired
    }

    #[test]
    fn entries_fire_exactly_at_their_tick_across_levels() {
        let mut wheel = Wheel::new();
        let whens = [1u64, 63, 64, 65, 100, 4095, 4096, 4097, 300_000, 20_000_000];
        let keys: Vec<Key> = whens
            .iter()
            .map(|&w| wheel.insert(w, noop()).unwrap())
            .collect();
        assert_eq!(wheel.pending(), whens.len());
        let fired = run(&mut wheel, &keys, 20_000_001);
        for (w, f) in whens.iter().zip(fired) {
            assert_eq!(f, Some(*w), "entry due at {w}");
        }
        assert_eq!(wheel.pending(), 0);
    }

    #[test]
    fn a_big_jump_fires_everything_due_and_nothing_else() {
        let mut wheel = Wheel::new();
        let early: Vec<Key> = (1..=5000)
            .map(|w| wheel.insert(w, noop()).unwrap())
            .collect();
        let late = wheel.insert(5001, noop()).unwrap();
        let mut out = Vec::new();
        wheel.advance(5000, &mut out);
        assert_eq!(out.len(), 5000);
        assert!(early
            .iter()
            .all(|k| wheel.poll(*k, &noop()).0 == EntryPoll::Fired));
        assert_eq!(wheel.poll(late, &noop()).0, EntryPoll::Pending);
        assert_eq!(wheel.next_deadline(), Some(5001));
    }

    #[test]
    fn remove_unlinks_from_the_middle_of_a_slot() {
        let mut wheel = Wheel::new();
        let a = wheel.insert(10, noop()).unwrap();
        let b = wheel.insert(10, noop()).unwrap();
        let c = wheel.insert(10, noop()).unwrap();
        let _ = wheel.remove(b);
        assert_eq!(wheel.poll(b, &noop()).0, EntryPoll::Gone);
        assert_eq!(wheel.pending(), 2);
        let mut out = Vec::new();
        wheel.advance(10, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(wheel.poll(a, &noop()).0, EntryPoll::Fired);
        assert_eq!(
            wheel.poll(a, &noop()).0,
            EntryPoll::Gone,
            "a fired key is spent"
        );
        assert_eq!(wheel.poll(c, &noop()).0, EntryPoll::Fired);
        // A freed slot is reused under a new generation.
        let d = wheel.insert(20, noop()).unwrap();
        assert_eq!(wheel.poll(b, &noop()).0, EntryPoll::Gone);
        assert_eq!(wheel.poll(d, &noop()).0, EntryPoll::Pending);
    }

    #[test]
    fn far_deadlines_are_capped_and_replaced() {
        let mut wheel = Wheel::new();
        let far = MAX_SPAN * 3;
        let k = wheel.insert(far, noop()).unwrap();
        let mut out = Vec::new();
        let mut steps = 0;
        while let Some(d) = wheel.next_deadline() {
            assert!(d <= far, "deadline {d} overshoots {far}");
            wheel.advance(d, &mut out);
            steps += 1;
            assert!(steps < 1000, "wheel failed to make progress");
        }
        assert_eq!(wheel.elapsed(), far);
        assert_eq!(wheel.poll(k, &noop()).0, EntryPoll::Fired);
    }

    #[test]
    fn crossing_a_top_level_boundary_still_fires_in_order() {
        let mut wheel = Wheel::new();
        let top = 1u64 << 36;
        let mut out = Vec::new();
        wheel.advance(top - 10, &mut out);
        let keys: Vec<Key> = [top - 5, top + 5, top + 100_000]
            .iter()
            .map(|&w| wheel.insert(w, noop()).unwrap())
            .collect();
        let fired = run(&mut wheel, &keys, top + 100_001);
        assert_eq!(
            fired,
            vec![Some(top - 5), Some(top + 5), Some(top + 100_000)]
        );
    }

    #[test]
    fn past_deadlines_are_rejected() {
        let mut wheel = Wheel::new();
        let mut out = Vec::new();
        wheel.advance(50, &mut out);
        assert!(wheel.insert(50, noop()).is_err());
        assert!(wheel.insert(51, noop()).is_ok());
    }
}
