//! Go's `gFree` for task records: freed records are kept and handed out
//! again to tasks of the same layout, so spawning skips the allocator.
//!
//! # Why
//!
//! A task that spawns 200,000 children and awaits them (the `spawn_local`
//! bench) allocated and freed 200,000 records per round through the
//! system allocator. With glibc that cost more than the scheduler itself:
//! a quarter of the profile was `malloc`/`free`, fastbin consolidation
//! and the kernel faulting in arena pages that the previous round's frees
//! had just given back (`mprotect`, `clear_page`). Go never frees a G: it
//! keeps dead Gs on a per-P list (`gfput`/`gfget`) and spills to a global
//! list under `sched.gFree.lock` when the local one grows past 64. goro
//! does the same for its records, with bounds, because unlike Gs they come
//! in many sizes (each embeds its future).
//!
//! # Shape
//!
//! Two tiers, both keyed by the record's exact `Layout`:
//!
//! - **Per thread**: a few bins, each an intrusive stack (the first word of
//!   a freed record points to the next one) of up to `LOCAL_CAP` records.
//!   Records may be freed on any thread (a Waker dropped anywhere); they
//!   join that thread's bin. No atomics, no locks.
//! - **Process-wide pool**: when a bin reaches `LOCAL_CAP` the whole stack
//!   moves to the pool as one batch under one lock; an empty bin takes one
//!   batch back. The pool holds at most `POOL_CAP_BYTES`; batches beyond
//!   that go back to the allocator, and a refill that finds no batch of its
//!   layout, or a spill, gives the stale batches back to the allocator:
//!   those that sat through more than `STALE_AFTER` misses (so records of
//!   a task type no longer spawned do not pin memory). A thread that exits
//!   hands its bins to the pool the same way.
//!
//! So a runtime keeps (at most) its peak record memory plus the pool's
//! bound for reuse, as Go keeps its peak number of Gs, while it is busy.
//! Once a burst is over ([`AfterBurst`], on sysmon's ticks) and when a
//! runtime shuts down, the pool is emptied and glibc is asked to return
//! its free pages (`malloc_trim`): after 1,000,000 tasks the resident set
//! falls from ~90 MiB back to ~7 MiB with the runtime alive
//! (`benches/burst_memory.rs`). Under loom the cache
//! is off (records go straight to the allocator), keeping models small.

use std::alloc::{handle_alloc_error, Layout};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::ptr::{self, NonNull};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Records one thread keeps per layout before it spills them to the pool.
const LOCAL_CAP: usize = 512;
/// Distinct layouts one thread caches; frees of other layouts go to the
/// allocator. Programs have few hot task types.
const MAX_BINS: usize = 16;
/// After the pool had no batch of a layout, allocations of it that go to
/// the allocator before the pool is asked again. Each miss also gives one
/// stale batch back (see `refill`), so this paces that too.
const MISS_COOLDOWN: u32 = 63;
/// How long a batch may wait in the pool before it is given back. (An hour
/// in unit tests, so that a test thread descheduled for a few milliseconds
/// does not lose its batches; `stale_batches_go_back` checks the rule.)
const STALE_AFTER: Duration = if cfg!(test) {
    Duration::from_secs(3600)
} else {
    Duration::from_millis(5)
};
/// Bytes of records the process-wide pool keeps.
const POOL_CAP_BYTES: usize = 64 << 20;
/// How long a batch may sit in the pool before sysmon gives it back on its
/// own (see `release_idle`): long enough that a program pausing between
/// two rounds of spawning keeps its batches, short enough that memory
/// comes back within a second of a burst.
pub(crate) const IDLE_RELEASE_AFTER: Duration = Duration::from_millis(250);
/// Bytes given back at once past which `release_idle` also asks glibc to
/// return free pages to the OS.
const TRIM_AFTER_BYTES: usize = 1 << 20;

/// An intrusive stack of freed records of one layout.
struct Bin {
    layout: Layout,
    head: *mut u8,
    len: usize,
    /// Allocations to serve from the allocator before asking the pool
    /// again, after the pool had nothing of this layout.
    cooldown: u32,
    /// When this batch entered the pool.
    spilled_at: Option<Instant>,
}

// SAFETY: a bin owns the freed blocks it links (nobody else has a pointer
// to them), so it may move to another thread (into the pool).
unsafe impl Send for Bin {}

impl Bin {
    fn empty(layout: Layout) -> Bin {
        Bin {
            layout,
            head: ptr::null_mut(),
            len: 0,
            cooldown: 0,
            spilled_at: None,
        }
    }

    /// # Safety
    /// `block` is an unused allocation of `self.layout`, at least a pointer
    /// in size and alignment, owned by the caller.
    unsafe fn push(&mut self, block: NonNull<u8>) {
        // SAFETY: the block is ours and big and aligned enough for a
        // pointer (`usable` checked it when the bin was chosen).
        unsafe { block.as_ptr().cast::<*mut u8>().write(self.head) };
        self.head = block.as_ptr();
        self.len += 1;
    }

    fn pop(&mut self) -> Option<NonNull<u8>> {
        let block = NonNull::new(self.head)?;
        // SAFETY: every linked block was written by `push` and is owned by
        // this bin.
        self.head = unsafe { block.as_ptr().cast::<*mut u8>().read() };
        self.len -= 1;
        Some(block)
    }

    /// Gives every block back to the allocator.
    fn release(mut self) {
        while let Some(block) = self.pop() {
            // SAFETY: each block came from `std::alloc::alloc(self.layout)`
            // and holds no value.
            unsafe { std::alloc::dealloc(block.as_ptr(), self.layout) };
        }
    }

    fn bytes(&self) -> usize {
        self.len * self.layout.size()
    }
}

/// The process-wide pool: full bins from threads that had too many.
struct Pool {
    /// Oldest spill first.
    batches: VecDeque<Bin>,
    bytes: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    batches: VecDeque::new(),
    bytes: 0,
});

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    // Nothing panics under the lock; a poisoned pool is still consistent.
    POOL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Moves a full bin to the pool, or to the allocator if the pool is full;
/// gives stale batches back to the allocator on the way (see `refill`).
fn spill(mut bin: Bin) {
    let mut out = Vec::new();
    {
        let mut pool = pool();
        let now = Instant::now();
        pool.take_stale(now, &mut out);
        if pool.bytes + bin.bytes() <= POOL_CAP_BYTES {
            pool.bytes += bin.bytes();
            bin.spilled_at = Some(now);
            pool.batches.push_back(bin);
        } else {
            out.push(bin);
        }
    }
    out.into_iter().for_each(Bin::release);
}

impl Pool {
    /// Moves the batches that have waited longer than `STALE_AFTER` to `out`.
    fn take_stale(&mut self, now: Instant, out: &mut Vec<Bin>) {
        self.take_older(now, STALE_AFTER, out);
    }

    /// Moves the batches that have waited longer than `age` to `out`.
    fn take_older(&mut self, now: Instant, age: Duration, out: &mut Vec<Bin>) {
        let stale = |b: &Bin| b.spilled_at.is_some_and(|t| now - t > age);
        while self.batches.front().is_some_and(stale) {
            if let Some(bin) = self.batches.pop_front() {
                self.bytes -= bin.bytes();
                out.push(bin);
            }
        }
    }
}

/// Takes a batch of `layout` from the pool.
///
/// A miss also gives the *stale* batches back to the allocator (so does a
/// spill): those that have sat in the pool through more than `STALE_AFTER`
/// misses. A miss means some thread is about to get records of another
/// layout from the allocator, and with pacing (`MISS_COOLDOWN`) each miss
/// stands for ~64 such allocations; records of a task type the program no
/// longer spawns should not sit in the pool while the allocator serves new
/// types from fresh pages. The demo, which runs three phases with
/// different tasks, grew its peak resident set by a quarter without this,
/// and its last phase ran 1.5× slower (the kernel zeroing new pages). A
/// program that keeps spawning the same types spills and reuses their
/// batches without misses in between. (Go's gFree is purged by its garbage
/// collector; goro has none, so the miss count does it.)
fn refill(layout: Layout) -> Option<Bin> {
    let mut stale = Vec::new();
    {
        let mut pool = pool();
        if let Some(i) = pool.batches.iter().rposition(|b| b.layout == layout) {
            let bin = pool.batches.remove(i)?;
            pool.bytes -= bin.bytes();
            return Some(bin);
        }
        pool.take_stale(Instant::now(), &mut stale);
    }
    stale.into_iter().for_each(Bin::release);
    None
}

/// Gives back to the allocator every pooled batch older than `age`, and,
/// if that was more than `TRIM_AFTER_BYTES`, asks glibc to return its free
/// pages to the OS (`malloc_trim`). Returns the bytes given back.
///
/// Called by sysmon on its ticks and by runtime shutdown, so that memory
/// comes back after a burst even when nothing spawns any more (the pool
/// otherwise only gives batches back on a spill or a miss). The trim
/// matters as much as the release: a burst's records were freed in an
/// order that leaves glibc's heap fragmented, and glibc only returns the
/// top of a heap by itself; `malloc_trim` also returns whole free pages in
/// the middle. It runs off the workers (sysmon, or the shutting-down
/// thread) and only after a release this large, i.e. after a burst.
pub(crate) fn release_idle(age: Duration) -> usize {
    let mut out = Vec::new();
    {
        let mut pool = pool();
        if pool.batches.is_empty() {
            return 0;
        }
        pool.take_older(Instant::now(), age, &mut out);
    }
    let bytes: usize = out.iter().map(Bin::bytes).sum();
    out.into_iter().for_each(Bin::release);
    if bytes >= TRIM_AFTER_BYTES {
        trim();
    }
    bytes
}

/// Tasks that must have finished since the last trim, with the runtime
/// idle, before [`AfterBurst`] trims the heap.
const BURST_TASKS: usize = 10_000;

/// Notices the end of a burst from sysmon's ticks and then gives memory
/// back: the pool's idle batches and glibc's free pages (`release_idle`
/// trims when it releases much; this trims in any case, since during a
/// long burst the pool already gave its stale batches to the allocator,
/// whose heap then holds them).
///
/// A burst has ended when every M is parked, at least `BURST_TASKS`
/// fewer tasks are alive than at the peak since the last trim, and that
/// has stayed so for `IDLE_RELEASE_AFTER`. A trim costs the sysmon thread
/// a walk of glibc's free lists (milliseconds for a heap of 100 MiB), once
/// per burst; the workers only meet it as arena-lock contention, and they
/// are parked.
#[derive(Default)]
pub(crate) struct AfterBurst {
    peak: usize,
    quiet_since: Option<Instant>,
}

impl AfterBurst {
    /// Whether a quiet period is being timed (sysmon must keep looking).
    pub(crate) fn waiting(&self) -> bool {
        self.quiet_since.is_some()
    }

    /// One sysmon look: `live` tasks alive, `idle` whether every M parks.
    pub(crate) fn tick(&mut self, live: usize, idle: bool) {
        self.peak = self.peak.max(live);
        if !idle || self.peak - live < BURST_TASKS {
            self.quiet_since = None;
            return;
        }
        let now = Instant::now();
        let since = *self.quiet_since.get_or_insert(now);
        if now - since < IDLE_RELEASE_AFTER {
            return;
        }
        if release_idle(Duration::ZERO) < TRIM_AFTER_BYTES {
            trim();
        }
        self.peak = live;
        self.quiet_since = None;
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim has no preconditions; it takes glibc's arena
    // locks itself.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

struct Cache(RefCell<Vec<Bin>>);

impl Drop for Cache {
    fn drop(&mut self) {
        for bin in self.0.get_mut().drain(..) {
            if bin.len > 0 {
                spill(bin);
            }
        }
    }
}

thread_local! {
    /// This thread's bins. Borrowed only inside `alloc`/`free`, which run
    /// no other code, so the borrow never nests.
    static CACHE: Cache = const { Cache(RefCell::new(Vec::new())) };
}

/// Whether records of `layout` can be linked through their first word.
fn usable(layout: Layout) -> bool {
    !cfg!(loom) && layout.size() >= size_of::<*mut u8>() && layout.align() >= align_of::<*mut u8>()
}

/// Memory for a record of `layout` (non-zero size): a cached block if there
/// is one, else a fresh allocation.
pub(crate) fn alloc(layout: Layout) -> NonNull<u8> {
    if usable(layout) {
        let cached = CACHE
            .try_with(|c| {
                let mut bins = c.0.borrow_mut();
                let i = bins.iter().position(|b| b.layout == layout);
                if let Some(i) = i {
                    if let Some(block) = bins[i].pop() {
                        return Some(block);
                    }
                    if bins[i].cooldown > 0 {
                        bins[i].cooldown -= 1;
                        return None;
                    }
                }
                let Some(mut batch) = refill(layout) else {
                    // Nothing pooled of this layout: take the pool's lock
                    // again only after MISS_COOLDOWN more allocations.
                    match i {
                        Some(i) => bins[i].cooldown = MISS_COOLDOWN,
                        None if bins.len() < MAX_BINS => {
                            let mut bin = Bin::empty(layout);
                            bin.cooldown = MISS_COOLDOWN;
                            bins.push(bin);
                        }
                        None => {}
                    }
                    return None;
                };
                batch.cooldown = 0;
                let block = batch.pop();
                match i {
                    // The old bin is empty: nothing is lost.
                    Some(i) => bins[i] = batch,
                    None if bins.len() < MAX_BINS => bins.push(batch),
                    None => {
                        drop(bins);
                        spill(batch);
                    }
                }
                block
            })
            .ok()
            .flatten();
        if let Some(block) = cached {
            return block;
        }
    }
    debug_assert!(layout.size() > 0);
    // SAFETY: task records have a header, so the size is not zero.
    let block = unsafe { std::alloc::alloc(layout) };
    NonNull::new(block).unwrap_or_else(|| handle_alloc_error(layout))
}

/// Returns a record's memory.
///
/// # Safety
/// `block` came from [`alloc`] with this `layout`, and the value in it has
/// been dropped.
pub(crate) unsafe fn free(block: NonNull<u8>, layout: Layout) {
    if usable(layout) {
        let kept = CACHE
            .try_with(|c| {
                let mut bins = c.0.borrow_mut();
                let i = match bins.iter().position(|b| b.layout == layout) {
                    Some(i) => i,
                    None if bins.len() < MAX_BINS => {
                        bins.push(Bin::empty(layout));
                        bins.len() - 1
                    }
                    None => return false,
                };
                // SAFETY: the caller gives us the unused block; `usable`
                // checked its size and alignment.
                unsafe { bins[i].push(block) };
                if bins[i].len >= LOCAL_CAP {
                    let full = std::mem::replace(&mut bins[i], Bin::empty(layout));
                    drop(bins);
                    spill(full);
                }
                true
            })
            .unwrap_or(false);
        if kept {
            return;
        }
    }
    // SAFETY: the caller's contract: it came from the allocator (directly,
    // or through a bin) with `layout`.
    unsafe { std::alloc::dealloc(block.as_ptr(), layout) };
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
        // SAFETY: `q` came from `alloc(b)` and `r` from `alloc(a)`; neither
        // holds a value nor has been freed.
        unsafe {
            free(q, b);
            free(r, a);
        }
    }

    /// A miss gives back the batches that waited longer than STALE_AFTER.
    #[test]
    fn stale_batches_go_back() {
        let old = Layout::from_size_align(4112, 8).unwrap();
        let other = Layout::from_size_align(4120, 8).unwrap();
        let Some(long_ago) = Instant::now().checked_sub(2 * STALE_AFTER) else {
            return; // the clock starts too recently to fake an old batch
        };
        let mut bin = Bin::empty(old);
        // SAFETY: a fresh allocation of `old`, holding nothing.
        unsafe { bin.push(NonNull::new(std::alloc::alloc(old)).unwrap()) };
        bin.spilled_at = Some(long_ago);
        {
            let mut pool = pool();
            pool.bytes += bin.bytes();
            pool.batches.push_front(bin);
        }
        assert!(refill(other).is_none());
        let left = pool().batches.iter().filter(|b| b.layout == old).count();
        assert_eq!(left, 0, "the stale batch is still pooled");
    }

    /// More frees than a bin holds spill to the pool; another thread gets
    /// them back from there, each block exactly once.
    #[test]
    fn full_bins_move_between_threads_through_the_pool() {
        // A layout no other test uses, so the pool's batches of it are ours.
        let layout = Layout::from_size_align(4104, 8).unwrap();
        let n = if cfg!(miri) {
            LOCAL_CAP + 8
        } else {
            3 * LOCAL_CAP
        };
        let blocks: Vec<usize> = std::thread::spawn(move || {
            let blocks: Vec<NonNull<u8>> = (0..n).map(|_| alloc(layout)).collect();
            let addrs = blocks.iter().map(|b| b.as_ptr() as usize).collect();
            for b in blocks {
                // SAFETY: from `alloc(layout)`, holds nothing.
                unsafe { free(b, layout) };
            }
            addrs
        })
        .join()
        .unwrap();
        // The thread has exited: its bins (full ones earlier, the rest at
        // exit) are in the pool. Take as many blocks as it freed.
        let mut again: Vec<NonNull<u8>> = (0..n).map(|_| alloc(layout)).collect();
        let mut reused: Vec<usize> = again
            .iter()
            .map(|b| b.as_ptr() as usize)
            .filter(|a| blocks.contains(a))
            .collect();
        let before = reused.len();
        reused.sort_unstable();
        reused.dedup();
        assert_eq!(reused.len(), before, "a block was handed out twice");
        assert!(
            reused.len() >= LOCAL_CAP,
            "only {} of {n} freed blocks came back",
            reused.len()
        );
        for b in again.drain(..) {
            // SAFETY: each block came from `alloc(layout)` in the loop above,
            // holds no value and is freed once (drain takes it out).
            unsafe { free(b, layout) };
        }
    }
}
