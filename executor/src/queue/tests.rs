//! Unit tests of the local run queue on std atomics (the loom models are in
//! `loom_tests.rs`).

use std::cell::RefCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use super::{
    local, local_at, Local, Overflow, QueueItem, Steal, HALF, LOCAL_QUEUE_CAPACITY as CAP,
};

/// A heap-allocated test task that counts its drops.
struct Task(Box<Inner>);

struct Inner {
    id: usize,
    drops: Arc<AtomicUsize>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

impl Task {
    fn new(id: usize, drops: &Arc<AtomicUsize>) -> Task {
        Task(Box::new(Inner {
            id,
            drops: drops.clone(),
        }))
    }

    fn id(&self) -> usize {
        self.0.id
    }
}

impl QueueItem for Task {
    fn into_raw(self) -> NonNull<()> {
        NonNull::from(Box::leak(self.0)).cast()
    }

    /// # Safety
    /// As [`QueueItem::from_raw`]: `ptr` came from `into_raw` and is taken
    /// back exactly once.
    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        // SAFETY: the caller passes back a pointer from `into_raw`, once.
        Task(unsafe { Box::from_raw(ptr.cast::<Inner>().as_ptr()) })
    }
}

/// An overflow that keeps every batch it receives.
#[derive(Default)]
struct Sink {
    batches: RefCell<Vec<Vec<Task>>>,
}

impl Overflow<Task> for Sink {
    fn push_batch(&self, batch: impl Iterator<Item = Task>) {
        self.batches.borrow_mut().push(batch.collect());
    }
}

fn ids(tasks: &[Task]) -> Vec<usize> {
    tasks.iter().map(Task::id).collect()
}

fn drain(q: &mut Local<Task>) -> Vec<usize> {
    std::iter::from_fn(|| q.pop()).map(|t| t.id()).collect()
}

fn filled(n: usize, drops: &Arc<AtomicUsize>) -> (Local<Task>, Steal<Task>) {
    let (mut q, s) = local();
    for id in 0..n {
        q.push_back(Task::new(id, drops), &Sink::default());
    }
    (q, s)
}

#[test]
fn push_then_pop_is_fifo() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut q, s) = filled(10, &drops);
    assert_eq!(q.len(), 10);
    assert_eq!(s.len(), 10);
    assert!(!q.is_empty());
    assert_eq!(drain(&mut q), (0..10).collect::<Vec<_>>());
    assert!(q.is_empty() && s.is_empty());
    assert!(q.pop().is_none());
    assert_eq!(drops.load(Ordering::Relaxed), 10);
}

#[test]
fn full_ring_sends_older_half_and_new_task_in_one_batch() {
    let drops = Arc::new(AtomicUsize::new(0));
    let sink = Sink::default();
    let (mut q, _s) = local();
    for id in 0..CAP {
        q.push_back(Task::new(id, &drops), &sink);
    }
    assert!(
        sink.batches.borrow().is_empty(),
        "a ring of {CAP} holds {CAP}"
    );
    assert_eq!(q.len(), CAP);

    q.push_back(Task::new(CAP, &drops), &sink);
    let batches = sink.batches.borrow();
    assert_eq!(batches.len(), 1, "one batch per overflow");
    let mut expected: Vec<usize> = (0..HALF).collect();
    expected.push(CAP);
    assert_eq!(ids(&batches[0]), expected);
    assert_eq!(q.len(), CAP - HALF);
    assert_eq!(drain(&mut q), (HALF..CAP).collect::<Vec<_>>());
}

#[test]
fn steal_takes_half_rounded_up_and_returns_the_oldest() {
    for len in [1, 2, 3, 5, CAP - 1, CAP] {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut src, steal) = filled(len, &drops);
        let (mut dst, _) = local::<Task>();
        let taken = len.div_ceil(2);

        let first = steal.steal_into(&mut dst).expect("non-empty queue");
        assert_eq!(first.id(), 0, "len {len}");
        assert_eq!(dst.len(), taken - 1, "len {len}");
        assert_eq!(src.len(), len - taken, "len {len}");
        assert_eq!(drain(&mut dst), (1..taken).collect::<Vec<_>>());
        assert_eq!(drain(&mut src), (taken..len).collect::<Vec<_>>());
    }
}

#[test]
fn steal_from_empty_or_from_itself_takes_nothing() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut dst, _) = local::<Task>();
    let (_empty, steal_empty) = local::<Task>();
    assert!(steal_empty.steal_into(&mut dst).is_none());

    let (mut q, s) = filled(4, &drops);
    assert!(s.steal_into(&mut q).is_none(), "stealing from yourself");
    assert_eq!(q.len(), 4);
    assert_eq!(drain(&mut q), vec![0, 1, 2, 3]);
}

#[test]
fn steal_into_a_nearly_full_queue_takes_only_what_fits() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut dst, _) = filled(CAP - 1, &drops);
    let (mut src, steal) = filled(10, &drops);

    // Room for one in `dst` plus the one returned.
    let first = steal.steal_into(&mut dst).unwrap();
    assert_eq!(first.id(), 0);
    assert_eq!(dst.len(), CAP);
    assert_eq!(src.len(), 8);

    // A full `dst` still gets one task to run.
    let second = steal.steal_into(&mut dst).unwrap();
    assert_eq!(second.id(), 2);
    assert_eq!(dst.len(), CAP);
    assert_eq!(drain(&mut src), (3..10).collect::<Vec<_>>());
    let mut rest = drain(&mut dst);
    assert_eq!(rest.pop(), Some(1), "the stolen task went to the back");
}

#[test]
fn dropping_the_owner_drops_what_is_left() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut q, steal) = filled(10, &drops);
    let popped = q.pop().unwrap();
    let (mut dst, _) = local();
    let stolen = steal.steal_into(&mut dst).unwrap();
    assert_eq!(drops.load(Ordering::Relaxed), 0);

    drop(q);
    // The pop claimed half of the 10 (5: one returned, four held by the
    // owner); the steal took 3 of the 5 left in the ring (one returned, two
    // in `dst`). Dropping the owner drops the four it held and the two
    // left in the ring.
    assert_eq!(drops.load(Ordering::Relaxed), 6);
    assert!(steal.is_empty());
    assert!(steal.steal_into(&mut dst).is_none());
    drop(steal);
    drop(dst);
    assert_eq!(drops.load(Ordering::Relaxed), 8);
    drop((popped, stolen));
    assert_eq!(drops.load(Ordering::Relaxed), 10);
}

#[test]
fn tasks_an_overflow_leaves_behind_are_dropped() {
    struct TakeThree(RefCell<Vec<Task>>);
    impl Overflow<Task> for TakeThree {
        fn push_batch(&self, batch: impl Iterator<Item = Task>) {
            self.0.borrow_mut().extend(batch.take(3));
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut q, _s) = filled(CAP, &drops);
    let sink = TakeThree(RefCell::new(Vec::new()));
    q.push_back(Task::new(CAP, &drops), &sink);
    assert_eq!(ids(&sink.0.borrow()), vec![0, 1, 2]);
    assert_eq!(drops.load(Ordering::Relaxed), HALF + 1 - 3);
}

#[test]
fn indices_wrap_around_u32() {
    let drops = Arc::new(AtomicUsize::new(0));
    let sink = Sink::default();
    let (mut q, steal) = local_at::<Task>(u32::MAX - 3);
    let (mut dst, _) = local_at::<Task>(u32::MAX);
    let mut next = 0;
    let mut out = Vec::new();
    // Several laps of the ring across the wrap, with overflow and steals.
    for round in 0..6 {
        for _ in 0..CAP + 3 {
            q.push_back(Task::new(next, &drops), &sink);
            next += 1;
        }
        if round % 2 == 0 {
            out.push(steal.steal_into(&mut dst).unwrap().id());
            out.extend(drain(&mut dst));
        }
        out.extend(drain(&mut q));
    }
    for batch in sink.batches.borrow().iter() {
        out.extend(ids(batch));
    }
    out.sort_unstable();
    assert_eq!(out, (0..next).collect::<Vec<_>>());
}

#[test]
fn ends_can_move_between_threads() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<Local<Task>>();
    send_sync::<Steal<Task>>();
}

/// One owner pushing and popping (and overflowing) while three stealers
/// steal; every task must surface exactly once.
#[test]
fn stress_one_owner_three_stealers() {
    const STEALERS: usize = 3;
    let total: usize = if cfg!(miri) { 1_500 } else { 200_000 };

    struct Record<'a>(&'a [AtomicUsize]);
    impl Record<'_> {
        fn task(&self, task: Task) {
            self.0[task.id()].fetch_add(1, Ordering::Relaxed);
        }
    }
    impl Overflow<Task> for Record<'_> {
        fn push_batch(&self, batch: impl Iterator<Item = Task>) {
            batch.for_each(|t| self.task(t));
        }
    }

    let seen: Vec<AtomicUsize> = (0..total).map(|_| AtomicUsize::new(0)).collect();
    let drops = Arc::new(AtomicUsize::new(0));
    let done = AtomicBool::new(false);
    let stolen = AtomicUsize::new(0);
    let (mut owner, steal) = local::<Task>();

    std::thread::scope(|scope| {
        for _ in 0..STEALERS {
            let (steal, record) = (steal.clone(), Record(&seen));
            let (done, stolen) = (&done, &stolen);
            scope.spawn(move || {
                let (mut mine, _) = local::<Task>();
                loop {
                    if let Some(task) = steal.steal_into(&mut mine) {
                        stolen.fetch_add(1 + mine.len(), Ordering::Relaxed);
                        record.task(task);
                        while let Some(task) = mine.pop() {
                            record.task(task);
                        }
                    } else if done.load(Ordering::Acquire) {
                        break;
                    } else {
                        std::thread::yield_now();
                    }
                }
            });
        }

        let record = Record(&seen);
        for id in 0..total {
            owner.push_back(Task::new(id, &drops), &record);
            if id % 3 == 0 {
                if let Some(task) = owner.pop() {
                    record.task(task);
                }
            }
        }
        done.store(true, Ordering::Release);
        while let Some(task) = owner.pop() {
            record.task(task);
        }
    });

    let wrong: Vec<(usize, usize)> = seen
        .iter()
        .map(|n| n.load(Ordering::Relaxed))
        .enumerate()
        .filter(|&(_, n)| n != 1)
        .take(10)
        .collect();
    assert!(wrong.is_empty(), "(task, times seen), first 10: {wrong:?}");
    assert_eq!(drops.load(Ordering::Relaxed), total);
    assert!(owner.is_empty() && steal.is_empty());
    eprintln!(
        "stress: {} of {total} tasks were stolen",
        stolen.load(Ordering::Relaxed)
    );
}

#[test]
fn pop_claims_a_batch_but_leaves_half_to_stealers() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut q, steal) = filled(40, &drops);
    assert_eq!(q.pop().unwrap().id(), 0);
    // One CAS claimed CLAIM_BATCH (8): the rest stays in the ring.
    assert_eq!(steal.len(), 40 - super::CLAIM_BATCH);
    assert_eq!(q.len(), 39);
    // Pushes go behind the claimed batch and the ring: FIFO overall.
    q.push_back(Task::new(40, &drops), &Sink::default());
    let (mut dst, _) = local();
    let stolen = steal.steal_into(&mut dst).unwrap();
    assert_eq!(stolen.id(), 8, "stealers start where the claim ended");
    let mut order = drain(&mut q);
    let after_steal = 8 + (40usize - 8 + 1).div_ceil(2);
    assert_eq!(
        &order[..7],
        &[1, 2, 3, 4, 5, 6, 7],
        "the claimed batch first"
    );
    assert_eq!(order.split_off(7), (after_steal..41).collect::<Vec<_>>());
    // Two tasks: one is claimed, one stays stealable.
    let (mut q, steal) = filled(2, &drops);
    assert_eq!(q.pop().unwrap().id(), 0);
    assert_eq!(steal.len(), 1);
    drop((q, steal, dst, stolen));
}
