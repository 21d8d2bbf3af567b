//! The task's Waker is the task itself: the data pointer is the record's
//! header. Cloning and dropping a Waker count references; `wake_by_ref`
//! does not touch the count (it only takes a new one when it actually
//! submits the task, for the queued `Notified`).

use super::raw::Header;
use super::state::{ToNotifiedByRef, ToNotifiedByVal};
use std::ptr::{self, NonNull};
use std::task::{RawWaker, RawWakerVTable, Waker};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// Registers the task vtable with `goro-coop`, so that resources below the
/// executor (goro-sync's oneshot) can recognise a task's Waker and keep
/// only its data pointer (see `goro_coop::register_task_waker_vtable`).
/// Called when a runtime is built; idempotent. Refused only if a second
/// copy of this crate registered first, whose tasks then keep the compact
/// form and this copy's the boxed one: correct either way.
pub(crate) fn register() {
    let _ = goro_coop::register_task_waker_vtable(&VTABLE);
}

/// A Waker that borrows a reference the caller holds.
///
/// # Safety
/// `ptr` is a live task and the caller keeps a reference for as long as the
/// Waker is used; the Waker must not be dropped (wrap it in ManuallyDrop)
/// unless a reference was taken for it.
pub(crate) unsafe fn borrowed(ptr: NonNull<Header>) -> Waker {
    // SAFETY: our vtable functions uphold the RawWaker contract for task
    // pointers; the caller guarantees liveness.
    unsafe { Waker::from_raw(RawWaker::new(ptr.as_ptr() as *const (), &VTABLE)) }
}

/// Whether `waker` is a goro task's waker (of any runtime).
#[inline]
pub(crate) fn is_task_waker(waker: &Waker) -> bool {
    ptr::eq(waker.vtable(), &VTABLE)
}

/// # Safety
/// `data` is the data pointer of a Waker with this vtable, which holds (or
/// borrows) a reference for at least `'a`.
unsafe fn header<'a>(data: *const ()) -> &'a Header {
    // SAFETY: the caller guarantees a live task record.
    unsafe { &*(data as *const Header) }
}

/// The record's pointer, with the provenance it was created with (not
/// re-derived from a `&Header`, which would not allow freeing the record).
///
/// # Safety
/// `data` is the data pointer of a Waker with this vtable.
unsafe fn ptr(data: *const ()) -> NonNull<Header> {
    // SAFETY: waker data pointers are task pointers, never null.
    unsafe { NonNull::new_unchecked(data as *mut Header) }
}

/// # Safety (all four vtable functions)
/// `data` is a task pointer; the Waker being cloned, woken or dropped owns
/// (or, for `wake_by_ref`, borrows) one reference to it.
unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: the Waker being cloned keeps the record alive.
    unsafe { header(data) }.state.ref_inc();
    RawWaker::new(data, &VTABLE)
}

/// # Safety
/// As `clone`: `data` is a task pointer; the Waker gives up one reference to `data`'s task.
unsafe fn wake(data: *const ()) {
    // SAFETY: the Waker's reference keeps the record alive.
    let h = unsafe { header(data) };
    match h.state.transition_to_notified_by_val() {
        ToNotifiedByVal::Nothing => {}
        // SAFETY: our reference becomes the Notified's.
        ToNotifiedByVal::Submit => unsafe { (h.vtable.schedule)(ptr(data)) },
        // SAFETY: that was the last reference.
        ToNotifiedByVal::Dealloc => unsafe { (h.vtable.dealloc)(ptr(data)) },
    }
}

/// # Safety
/// As `clone`: `data` is a task pointer; the Waker borrows one reference to `data`'s task for the call.
unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the Waker's reference keeps the record alive.
    let h = unsafe { header(data) };
    if h.state.transition_to_notified_by_ref() == ToNotifiedByRef::Submit {
        // SAFETY: the transition took a reference for the Notified.
        unsafe { (h.vtable.schedule)(ptr(data)) }
    }
}

/// # Safety
/// As `clone`: `data` is a task pointer; the Waker gives up one reference to `data`'s task.
unsafe fn drop_waker(data: *const ()) {
    // SAFETY: the Waker's reference keeps the record alive.
    let h = unsafe { header(data) };
    if h.state.ref_dec(1) {
        // SAFETY: last reference.
        unsafe { (h.vtable.dealloc)(ptr(data)) }
    }
}
