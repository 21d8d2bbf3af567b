//! Go's `gFree` for task records: each thread keeps up to `CAP` freed
//! records and hands them out again to tasks of the same layout, so a
//! spawn that follows a completion (a chain of spawns, a request loop)
//! skips the allocator. Go keeps free Gs per P; goro keeps them per
//! thread, which is the same thing for an M that owns its P for life, and
//! needs no P at free time (a record may be freed by a Waker dropped
//! anywhere).
//!
//! Records differ in size (they embed the future), so the cache is keyed
//! by `Layout` and searched from the most recently freed end.

use std::alloc::{handle_alloc_error, Layout};
use std::cell::RefCell;
use std::ptr::NonNull;

/// Records kept per thread: enough for a burst of hand-offs, small enough
/// (a few KiB) not to matter on threads that never reuse them.
const CAP: usize = 64;

struct Cache(RefCell<Vec<(Layout, NonNull<u8>)>>);

impl Drop for Cache {
    fn drop(&mut self) {
        for (layout, ptr) in self.0.get_mut().drain(..) {
            // SAFETY: every cached block came from `alloc` with `layout`
            // and holds no value.
            unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) };
        }
    }
}

thread_local! {
    /// Freed records of this thread. Borrowed only inside `alloc`/`free`,
    /// which run no other code, so the borrow never nests.
    static CACHE: Cache = const { Cache(RefCell::new(Vec::new())) };
}

/// Memory for a record of `layout` (non-zero size): a cached block if one
/// fits, else a fresh allocation.
pub(crate) fn alloc(layout: Layout) -> NonNull<u8> {
    let cached = CACHE
        .try_with(|c| {
            let mut v = c.0.borrow_mut();
            let i = v.iter().rposition(|(l, _)| *l == layout)?;
            Some(v.swap_remove(i).1)
        })
        .ok()
        .flatten();
    if let Some(ptr) = cached {
        return ptr;
    }
    debug_assert!(layout.size() > 0);
    // SAFETY: task records have a header, so the size is not zero.
    let ptr = unsafe { std::alloc::alloc(layout) };
    NonNull::new(ptr).unwrap_or_else(|| handle_alloc_error(layout))
}

/// Returns a record's memory.
///
/// # Safety
/// `ptr` came from [`alloc`] with this `layout`, and the value in it has
/// been dropped.
pub(crate) unsafe fn free(ptr: NonNull<u8>, layout: Layout) {
    let kept = CACHE
        .try_with(|c| {
            let mut v = c.0.borrow_mut();
            if v.len() >= CAP {
                return false;
            }
            v.push((layout, ptr));
            true
        })
        .unwrap_or(false);
    if !kept {
        // SAFETY: the caller's contract.
        unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) };
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn reuses_same_layout_only() {
        let a = Layout::from_size_align(96, 8).unwrap();
        let b = Layout::from_size_align(128, 16).unwrap();
        let p = alloc(a);
        // SAFETY: from `alloc(a)`, holds nothing.
        unsafe { free(p, a) };
        let q = alloc(b);
        assert_ne!(p, q, "a different layout must not reuse the block");
        let r = alloc(a);
        assert_eq!(p, r, "the same layout reuses the cached block");
        // SAFETY: as above.
        unsafe {
            free(q, b);
            free(r, a);
        }
    }
}
