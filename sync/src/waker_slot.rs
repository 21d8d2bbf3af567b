//! A waker slot of one word (the oneshot's two slots).
//!
//! A `Waker` is two words, a data pointer and a vtable pointer. A goro
//! task's Waker always has the same vtable (the executor's one `static`,
//! which it registers with `goro-coop` when a runtime is built, see
//! [`goro_coop::task_waker_vtable`]) and a record pointer as its data, so
//! for such a waker the data pointer alone says everything. Any other
//! waker (tokio's, `futures::executor`'s, a thread's) is cloned into a box
//! and the slot keeps the box's pointer, tagged:
//!
//! ```text
//!   null                     empty
//!   pointer, low bit clear   a goro task's Waker: its data pointer, and
//!                            the reference its clone took
//!   pointer, low bit set     a Box<Waker> holding any other waker
//! ```
//!
//! A data pointer is kept alone only if its low bit is clear (a task record
//! is 16-byte aligned; the check keeps the encoding sound whatever vtable
//! was registered). Re-registering a waker that would wake the same task
//! (the usual re-poll) changes nothing: no clone, no box; a foreign waker
//! replacing another foreign one reuses the box, so a waiter on another
//! executor allocates one box per channel end it waits on, not one per
//! poll.
//!
//! The slot has no synchronisation of its own: its owner (the oneshot's
//! lock) gives `&mut` access.

use std::mem::ManuallyDrop;
use std::ptr;
use std::task::{RawWaker, Waker};

/// Set in a boxed waker's pointer.
const BOXED: usize = 1;

/// One registered waker, or none, in one word (see the module docs).
pub(crate) struct WakerSlot {
    /// Null, a goro task's data pointer, or a `Box<Waker>` pointer with
    /// [`BOXED`] set.
    word: *mut (),
}

/// What the word holds.
enum Decoded {
    Empty,
    /// A goro task's data pointer.
    Task(*const ()),
    /// A boxed waker, the tag removed.
    Boxed(*mut Waker),
}

/// Whether a clone of `waker` can be kept as its data pointer alone.
#[inline]
fn is_compact(waker: &Waker) -> bool {
    goro_coop::task_waker_vtable().is_some_and(|vtable| ptr::eq(waker.vtable(), vtable))
        && !waker.data().is_null()
        && waker.data().addr() & BOXED == 0
}

impl WakerSlot {
    pub(crate) const fn new() -> WakerSlot {
        WakerSlot {
            word: ptr::null_mut(),
        }
    }

    #[inline]
    fn decode(&self) -> Decoded {
        if self.word.is_null() {
            Decoded::Empty
        } else if self.word.addr() & BOXED == 0 {
            Decoded::Task(self.word.cast_const())
        } else {
            Decoded::Boxed(self.word.map_addr(|a| a & !BOXED).cast())
        }
    }

    /// Whether a waker is registered.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_some(&self) -> bool {
        !self.word.is_null()
    }

    /// Whether the slot holds a box (a foreign waker).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_boxed(&self) -> bool {
        matches!(self.decode(), Decoded::Boxed(_))
    }

    /// Makes `waker` the registered one, unless the registered one would
    /// wake the same task already (`Waker::will_wake`), in which case
    /// nothing changes. The waker replaced, if any, is dropped here.
    #[inline]
    pub(crate) fn register(&mut self, waker: &Waker) {
        match self.decode() {
            Decoded::Empty => {}
            Decoded::Task(data) => {
                // The stored one was compact, so the registered vtable is
                // the one it was stored under: same data and same vtable
                // is what `will_wake` would test.
                if data == waker.data() && is_compact(waker) {
                    return;
                }
            }
            Decoded::Boxed(boxed) => {
                // SAFETY: a tagged word is a pointer from `Box::into_raw`
                // that this slot owns; `&mut self` makes this the only
                // reference to it.
                let boxed = unsafe { &mut *boxed };
                if boxed.will_wake(waker) {
                    return;
                }
                if !is_compact(waker) {
                    // Another foreign waker: reuse the box.
                    *boxed = waker.clone();
                    return;
                }
            }
        }
        let new = Self::encode(waker.clone());
        let old = std::mem::replace(self, new);
        drop(old);
    }

    /// Takes the registered waker out, leaving the slot empty.
    #[inline]
    pub(crate) fn take(&mut self) -> Option<Waker> {
        if self.word.is_null() {
            return None;
        }
        let decoded = self.decode();
        self.word = ptr::null_mut();
        match decoded {
            Decoded::Empty => None,
            Decoded::Task(data) => {
                // Registered: the load that found the vtable before the
                // word was stored happens before this one (the owner's
                // lock orders the two accesses to the slot), so by
                // coherence this load finds it too, and set-once means it
                // is the same vtable.
                let Some(vtable) = goro_coop::task_waker_vtable() else {
                    unreachable!("a compact waker was stored under a registered vtable")
                };
                // SAFETY: `data` came from a clone of a Waker with this
                // vtable (the registered one, which never changes once
                // set), whose reference the slot kept: rebuilding the same
                // RawWaker hands that reference back.
                Some(unsafe { Waker::from_raw(RawWaker::new(data, vtable)) })
            }
            // SAFETY: a tagged word is a pointer from `Box::into_raw`
            // that this slot owned; the word is cleared, so it is
            // reclaimed exactly once.
            Decoded::Boxed(boxed) => Some(unsafe { unbox(boxed) }),
        }
    }

    /// A slot holding `waker` (which it owns from now on).
    #[inline]
    fn encode(waker: Waker) -> WakerSlot {
        let word = if is_compact(&waker) {
            // The slot keeps the clone's reference; `take` rebuilds it.
            ManuallyDrop::new(waker).data().cast_mut()
        } else {
            boxed(waker)
        };
        WakerSlot { word }
    }
}

/// A foreign waker's tagged box (off the goro task path).
#[cold]
#[inline(never)]
fn boxed(waker: Waker) -> *mut () {
    let boxed: *mut Waker = Box::into_raw(Box::new(waker));
    boxed.cast::<()>().map_addr(|a| a | BOXED)
}

/// The waker out of its box, freeing the box.
///
/// # Safety
/// `boxed` came from [`boxed`] (tag removed), and nothing uses it after.
#[cold]
#[inline(never)]
unsafe fn unbox(boxed: *mut Waker) -> Waker {
    // SAFETY: the caller's contract: a live box of ours, used once.
    *unsafe { Box::from_raw(boxed) }
}

impl Drop for WakerSlot {
    #[inline]
    fn drop(&mut self) {
        if !self.word.is_null() {
            drop(self.take());
        }
    }
}

#[cfg(all(test, not(loom)))]
pub(crate) mod tests {
    use super::*;
    use crate::test_util::Counter;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::RawWakerVTable;

    /// A stand-in for a goro task: an `Arc`'d record whose Waker uses
    /// [`TASK_VTABLE`], registered as the task waker vtable for this test
    /// binary (no executor is linked into it). Each Waker owns one count
    /// of the `Arc`, as a task's Waker owns a reference to its record.
    pub(crate) struct FakeTask {
        wakes: AtomicUsize,
    }

    static TASK_VTABLE: RawWakerVTable =
        RawWakerVTable::new(fake_clone, fake_wake, fake_wake_by_ref, fake_drop);

    fn fake_clone(data: *const ()) -> RawWaker {
        // SAFETY: every Waker of this vtable owns one count of an
        // `Arc<FakeTask>` whose pointer is `data` (`FakeTask::new`).
        unsafe { Arc::increment_strong_count(data.cast::<FakeTask>()) };
        RawWaker::new(data, &TASK_VTABLE)
    }
    fn fake_wake(data: *const ()) {
        fake_wake_by_ref(data);
        fake_drop(data);
    }
    fn fake_wake_by_ref(data: *const ()) {
        // SAFETY: as in `fake_clone`; the Waker's count keeps it alive.
        let task = unsafe { &*data.cast::<FakeTask>() };
        task.wakes.fetch_add(1, Ordering::SeqCst);
    }
    fn fake_drop(data: *const ()) {
        // SAFETY: as in `fake_clone`; the Waker gives its count up.
        drop(unsafe { Arc::from_raw(data.cast::<FakeTask>()) });
    }

    impl FakeTask {
        /// A new task and its first Waker.
        pub(crate) fn new() -> (Arc<FakeTask>, Waker) {
            assert!(goro_coop::register_task_waker_vtable(&TASK_VTABLE));
            let task = Arc::new(FakeTask {
                wakes: AtomicUsize::new(0),
            });
            let data = Arc::into_raw(task.clone()).cast::<()>();
            // SAFETY: the vtable's functions treat `data` as an
            // `Arc<FakeTask>` count, the one just leaked into it.
            let waker = unsafe { Waker::from_raw(RawWaker::new(data, &TASK_VTABLE)) };
            (task, waker)
        }

        /// Wakers (and slots) holding the task: its counts but the
        /// test's own handle.
        pub(crate) fn refs(self: &Arc<Self>) -> usize {
            Arc::strong_count(self) - 1
        }

        pub(crate) fn wakes(&self) -> usize {
            self.wakes.load(Ordering::SeqCst)
        }
    }

    fn counter() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter::default());
        (counter.clone(), Waker::from(counter))
    }

    #[test]
    fn slot_is_one_word() {
        assert_eq!(
            std::mem::size_of::<WakerSlot>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn task_waker_is_kept_without_a_box() {
        let (task, waker) = FakeTask::new();
        let mut slot = WakerSlot::new();
        slot.register(&waker);
        assert!(slot.is_some() && !slot.is_boxed());
        assert_eq!(task.refs(), 2, "the slot holds a reference of its own");
        // A re-poll with the same waker: no new reference.
        slot.register(&waker.clone());
        assert_eq!(task.refs(), 2);
        slot.take().expect("registered").wake();
        assert_eq!(task.wakes(), 1);
        assert_eq!(task.refs(), 1);
        assert!(slot.take().is_none());
        drop(waker);
        assert_eq!(task.refs(), 0);
    }

    #[test]
    fn foreign_waker_is_boxed_reused_and_woken() {
        let (a, waker_a) = counter();
        let (b, waker_b) = counter();
        let mut slot = WakerSlot::new();
        slot.register(&waker_a);
        assert!(slot.is_boxed());
        assert_eq!(Arc::strong_count(&a), 3, "test + waker + the slot's clone");
        let boxed = slot.word;
        slot.register(&waker_a);
        assert_eq!(Arc::strong_count(&a), 3, "same waker: no new clone");
        slot.register(&waker_b);
        assert_eq!(slot.word, boxed, "the box is reused for another waker");
        assert_eq!(Arc::strong_count(&a), 2, "the replaced waker is dropped");
        slot.take().expect("registered").wake();
        assert_eq!((a.wakes(), b.wakes()), (0, 1));
        assert_eq!(Arc::strong_count(&b), 2);
    }

    #[test]
    fn switching_between_task_and_foreign_wakers() {
        let (task, task_waker) = FakeTask::new();
        let (foreign, foreign_waker) = counter();
        let mut slot = WakerSlot::new();
        slot.register(&foreign_waker);
        slot.register(&task_waker);
        assert!(!slot.is_boxed());
        assert_eq!(Arc::strong_count(&foreign), 2, "box and its waker freed");
        assert_eq!(task.refs(), 2);
        slot.register(&foreign_waker);
        assert!(slot.is_boxed());
        assert_eq!(task.refs(), 1, "the task's reference is given back");
        drop(slot);
        assert_eq!(Arc::strong_count(&foreign), 2);
        assert_eq!((task.wakes(), foreign.wakes()), (0, 0));
    }

    #[test]
    fn misaligned_data_pointer_is_boxed() {
        // A waker with the registered vtable but an odd data pointer
        // cannot be kept in the word (its low bit is the tag).
        let (task, _waker) = FakeTask::new();
        let odd = Arc::as_ptr(&task).cast::<u8>().wrapping_add(1).cast::<()>();
        // SAFETY: the waker is never cloned, woken or dropped (it is in a
        // ManuallyDrop and only `is_compact` looks at it), so the vtable's
        // functions never see the odd pointer.
        let waker = ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(odd, &TASK_VTABLE)) });
        assert!(!is_compact(&waker));
    }
}
