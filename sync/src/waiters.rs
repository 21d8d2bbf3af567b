//! The waiter queue every primitive in this crate is built on.
//!
//! A [`WaitList`] is a FIFO of parked futures kept in a slab: each waiter is
//! a slot in a `Vec`, the queue is a doubly linked list threaded through the
//! slots by index, and a future remembers its slot by a [`Key`]. That gives
//! O(1) push, O(1) pop from the front and O(1) removal from the middle (a
//! future dropped while it waits), with no `unsafe` and no pinned intrusive
//! nodes. Freed slots go on a free list and are reused, so a queue's memory
//! is bounded by the most waiters it ever held at once.
//!
//! # Invariants
//!
//! A slot is in exactly one of three states:
//!
//! * `Free`: on the free list, owned by no future.
//! * `Queued`: linked into the FIFO; its future is parked and holds the
//!   slot's `Key`. Only `Queued` slots are linked, and `len` counts them.
//! * `Woken`: unlinked by the primitive, which has already *granted* the
//!   waiter what it waited for (the lock, some permits, a notification) and
//!   recorded the grant in the slot's data. The slot stays allocated until
//!   its future collects the grant ([`WaitList::poll_key`]) or is dropped
//!   ([`WaitList::remove`] returns the grant so that the primitive passes it
//!   on to the next waiter: that is how cancellation never steals a
//!   wake-up).
//!
//! Only the future holding a `Key` ever frees its slot, and a `Key` is not
//! `Clone`, so a key always names its own slot: no ABA, no stale index.
//!
//! # Locking
//!
//! A `WaitList` has no synchronisation of its own. Each primitive keeps it,
//! together with the counters it guards (locked flag, permits, ...), inside
//! one `crate::loom::sync::Mutex`; that lock protects every field of the
//! primitive's state. (The few atomics outside it, `Mutex`'s lock word,
//! `Notify`'s call counter and `OnceCell`'s flag, document their own
//! protocols where they are declared.)
//!
//! While that lock is held the code must never wake a [`Waker`] (waking
//! runs executor code, which may poll the woken task inline and re-enter
//! the primitive: a deadlock) and must never run user code such as a
//! value's `Drop` (a panic there would leave the state half-updated).
//! Wakers taken from the list are collected in a [`WakeList`] and woken
//! after the lock is released. Cloning or dropping a waker under the lock
//! is allowed: both are reference-count operations in the executors goro
//! supports (std's `Wake`, `futures`, tokio, goro).

use std::fmt;
use std::task::Waker;

/// End of a link (`usize::MAX` is never a valid slab index: a slab that
/// large could not be allocated).
const NIL: usize = usize::MAX;

/// Names one waiter's slot. Held by the waiting future; consumed by
/// [`WaitList::poll_key`] (once woken) or [`WaitList::remove`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Key(usize);

enum Slot<W> {
    Free {
        next_free: usize,
    },
    Queued {
        prev: usize,
        next: usize,
        waker: Waker,
        data: W,
    },
    Woken {
        data: W,
    },
}

/// What [`WaitList::remove`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Removed<W> {
    /// The waiter was still queued: it held nothing, and the queue simply
    /// forgot it. (The primitive may need to re-check the new front: a
    /// large request at the front may have been blocking smaller ones.)
    Queued(W),
    /// The waiter had been woken and granted something it never collected;
    /// the primitive must pass the grant on.
    Woken(W),
}

/// A FIFO of waiters with O(1) removal. See the module docs for the
/// invariants and the locking rule.
pub(crate) struct WaitList<W> {
    slots: Vec<Slot<W>>,
    /// Head of the free list, threaded through `Slot::Free::next_free`.
    free: usize,
    /// Oldest queued waiter (next to be woken), or `NIL`.
    head: usize,
    /// Newest queued waiter, or `NIL`.
    tail: usize,
    /// Number of `Queued` slots.
    len: usize,
}

impl<W> WaitList<W> {
    pub(crate) const fn new() -> Self {
        WaitList {
            slots: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }

    /// No waiter is queued (woken-but-uncollected slots don't count).
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of queued waiters.
    #[allow(dead_code)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Queues a waiter at the back.
    pub(crate) fn push_back(&mut self, data: W, waker: Waker) -> Key {
        let slot = Slot::Queued {
            prev: self.tail,
            next: NIL,
            waker,
            data,
        };
        let index = if self.free != NIL {
            let index = self.free;
            match self.slots[index] {
                Slot::Free { next_free } => self.free = next_free,
                _ => unreachable!("free list points at a used slot"),
            }
            self.slots[index] = slot;
            index
        } else {
            self.slots.push(slot);
            self.slots.len() - 1
        };
        if self.tail == NIL {
            self.head = index;
        } else {
            self.set_next(self.tail, index);
        }
        self.tail = index;
        self.len += 1;
        Key(index)
    }

    /// The data of the oldest queued waiter.
    pub(crate) fn front(&self) -> Option<&W> {
        match self.slots.get(self.head)? {
            Slot::Queued { data, .. } => Some(data),
            _ => unreachable!("queue head is not queued"),
        }
    }

    /// Mutable access to the oldest queued waiter's data, so a primitive
    /// can record its grant before [`WaitList::wake_front`].
    pub(crate) fn front_mut(&mut self) -> Option<&mut W> {
        match self.slots.get_mut(self.head)? {
            Slot::Queued { data, .. } => Some(data),
            _ => unreachable!("queue head is not queued"),
        }
    }

    /// Unlinks the oldest queued waiter, marks it woken (its data is the
    /// grant) and returns its waker, to be woken once the lock is released.
    pub(crate) fn wake_front(&mut self) -> Option<Waker> {
        if self.head == NIL {
            return None;
        }
        let index = self.head;
        self.unlink(index);
        let old = std::mem::replace(&mut self.slots[index], Slot::Free { next_free: NIL });
        match old {
            Slot::Queued { waker, data, .. } => {
                self.slots[index] = Slot::Woken { data };
                Some(waker)
            }
            _ => unreachable!("queue head is not queued"),
        }
    }

    /// Wakes every queued waiter, oldest first, after letting `grant` record
    /// what each one receives.
    pub(crate) fn wake_all(&mut self, wakers: &mut WakeList, mut grant: impl FnMut(&mut W)) {
        while let Some(data) = self.front_mut() {
            grant(data);
            let waker = self.wake_front().expect("front exists");
            wakers.push(waker);
        }
    }

    /// Called by a waiting future when it is polled. If the waiter has been
    /// woken, frees its slot and returns its grant. Otherwise keeps it
    /// queued, refreshing the stored waker if the task's waker changed, and
    /// gives the key back.
    pub(crate) fn poll_key(&mut self, key: Key, waker: &Waker) -> Result<W, Key> {
        match &mut self.slots[key.0] {
            Slot::Queued { waker: stored, .. } => {
                if !stored.will_wake(waker) {
                    *stored = waker.clone();
                }
                Err(key)
            }
            Slot::Woken { .. } => Ok(self.free_slot(key.0)),
            Slot::Free { .. } => unreachable!("waiter key names a free slot"),
        }
    }

    /// Removes a waiter whose future is going away, wherever it is.
    pub(crate) fn remove(&mut self, key: Key) -> Removed<W> {
        match self.slots[key.0] {
            Slot::Queued { .. } => {
                self.unlink(key.0);
                Removed::Queued(self.free_slot(key.0))
            }
            Slot::Woken { .. } => Removed::Woken(self.free_slot(key.0)),
            Slot::Free { .. } => unreachable!("waiter key names a free slot"),
        }
    }

    /// Puts a slot (already unlinked) back on the free list and returns its
    /// data.
    fn free_slot(&mut self, index: usize) -> W {
        let old = std::mem::replace(
            &mut self.slots[index],
            Slot::Free {
                next_free: self.free,
            },
        );
        self.free = index;
        match old {
            Slot::Queued { data, .. } => data,
            Slot::Woken { data } => data,
            Slot::Free { .. } => unreachable!("freeing a free slot"),
        }
    }

    fn unlink(&mut self, index: usize) {
        let (prev, next) = match self.slots[index] {
            Slot::Queued { prev, next, .. } => (prev, next),
            _ => unreachable!("unlinking a slot that is not queued"),
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.set_next(prev, next);
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.set_prev(next, prev);
        }
        self.len -= 1;
    }

    fn set_next(&mut self, index: usize, to: usize) {
        match &mut self.slots[index] {
            Slot::Queued { next, .. } => *next = to,
            _ => unreachable!("linking a slot that is not queued"),
        }
    }

    fn set_prev(&mut self, index: usize, to: usize) {
        match &mut self.slots[index] {
            Slot::Queued { prev, .. } => *prev = to,
            _ => unreachable!("linking a slot that is not queued"),
        }
    }
}

impl<W> fmt::Debug for WaitList<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitList").field("len", &self.len).finish()
    }
}

/// Wakers taken out of a [`WaitList`] under the lock, woken after it is
/// released. Wakes on drop too, so an early return cannot lose a wake-up;
/// declare it *before* the lock guard so that the guard is dropped first.
/// The first waker is stored inline: the common single wake-up does not
/// allocate.
#[derive(Default)]
pub(crate) struct WakeList {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl WakeList {
    pub(crate) const fn new() -> Self {
        WakeList {
            first: None,
            rest: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, waker: Waker) {
        if self.first.is_none() {
            self.first = Some(waker);
        } else {
            self.rest.push(waker);
        }
    }

    pub(crate) fn extend(&mut self, waker: Option<Waker>) {
        if let Some(waker) = waker {
            self.push(waker);
        }
    }

    #[cfg(all(test, not(loom)))]
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    /// Wakes everything collected so far, oldest first. Call only with the
    /// lock released.
    pub(crate) fn wake_all(&mut self) {
        if let Some(waker) = self.first.take() {
            waker.wake();
        }
        for waker in self.rest.drain(..) {
            waker.wake();
        }
    }
}

impl Drop for WakeList {
    fn drop(&mut self) {
        self.wake_all();
    }
}

/// Locks a primitive's state, ignoring poisoning: no user code runs while
/// the lock is held (see "Locking" above), so a panic under it can only be
/// one of our own misuse panics, raised before any field was changed.
pub(crate) fn lock<T>(mutex: &crate::loom::sync::Mutex<T>) -> crate::loom::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn fifo_order() {
        let mut list = WaitList::new();
        let keys: Vec<Key> = (0..5)
            .map(|i| list.push_back(i, Waker::noop().clone()))
            .collect();
        assert_eq!(list.len(), 5);
        for (i, key) in keys.into_iter().enumerate() {
            assert_eq!(list.front(), Some(&i));
            list.wake_front().unwrap();
            assert_eq!(list.poll_key(key, Waker::noop()), Ok(i));
        }
        assert!(list.is_empty());
        assert!(list.wake_front().is_none());
    }

    #[test]
    fn remove_from_middle_keeps_order_and_reuses_slots() {
        let mut list = WaitList::new();
        let a = list.push_back('a', Waker::noop().clone());
        let b = list.push_back('b', Waker::noop().clone());
        let c = list.push_back('c', Waker::noop().clone());
        assert_eq!(list.remove(b), Removed::Queued('b'));
        let d = list.push_back('d', Waker::noop().clone());
        assert_eq!(d, Key(1), "freed slot is reused");
        assert_eq!(list.slots.len(), 3);
        let order: Vec<char> = std::iter::from_fn(|| {
            let ch = *list.front()?;
            list.wake_front();
            Some(ch)
        })
        .collect();
        assert_eq!(order, ['a', 'c', 'd']);
        for k in [a, c, d] {
            assert!(matches!(list.remove(k), Removed::Woken(_)));
        }
    }

    #[test]
    fn remove_head_and_tail() {
        let mut list = WaitList::new();
        let a = list.push_back(1, Waker::noop().clone());
        let b = list.push_back(2, Waker::noop().clone());
        assert_eq!(list.remove(b), Removed::Queued(2));
        assert_eq!(list.front(), Some(&1));
        assert_eq!(list.remove(a), Removed::Queued(1));
        assert!(list.is_empty());
        assert_eq!(list.front(), None);
        let c = list.push_back(3, Waker::noop().clone());
        assert_eq!(list.front(), Some(&3));
        assert_eq!(list.remove(c), Removed::Queued(3));
    }

    #[test]
    fn poll_key_refreshes_waker() {
        let mut list = WaitList::new();
        let (first, w1) = counting();
        let (second, w2) = counting();
        let key = list.push_back((), w1);
        let key = list.poll_key(key, &w2).unwrap_err();
        let mut wakers = WakeList::new();
        list.wake_all(&mut wakers, |_| {});
        wakers.wake_all();
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        assert_eq!(list.poll_key(key, &w2), Ok(()));
    }

    #[test]
    fn wake_all_grants_each() {
        let mut list = WaitList::new();
        let keys: Vec<Key> = (0..3)
            .map(|_| list.push_back(0, Waker::noop().clone()))
            .collect();
        let mut wakers = WakeList::new();
        let mut n = 0;
        list.wake_all(&mut wakers, |d| {
            n += 1;
            *d = n;
        });
        assert_eq!(wakers.len(), 3);
        let got: Vec<i32> = keys
            .into_iter()
            .map(|k| list.poll_key(k, Waker::noop()).unwrap())
            .collect();
        assert_eq!(got, [1, 2, 3]);
    }
}
