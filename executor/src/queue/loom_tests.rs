//! Loom models of the local run queue (capacity 4 under loom). Each checks
//! that every task surfaces exactly once, whatever the interleaving.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p goro-executor --lib queue`

use std::cell::RefCell;
use std::ptr::NonNull;

use super::{local, Local, Overflow, QueueItem, Steal, LOCAL_QUEUE_CAPACITY as CAP};
use crate::loom::thread;

/// A heap-allocated task, so that a task surfacing twice is a double free
/// as well as a wrong count.
struct Task(Box<usize>);

impl QueueItem for Task {
    fn into_raw(self) -> NonNull<()> {
        NonNull::from(Box::leak(self.0)).cast()
    }

    /// # Safety
    /// As [`QueueItem::from_raw`]: `ptr` came from `into_raw` and is taken
    /// back exactly once.
    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        // SAFETY: the caller passes back a pointer from `into_raw`, once.
        Task(unsafe { Box::from_raw(ptr.cast::<usize>().as_ptr()) })
    }
}

/// The owner's overflow; only the owner's thread touches it.
#[derive(Default)]
struct Sink(RefCell<Vec<usize>>);

impl Overflow<Task> for Sink {
    fn push_batch(&self, batch: impl Iterator<Item = Task>) {
        self.0.borrow_mut().extend(batch.map(|t| *t.0));
    }
}

fn push(q: &mut Local<Task>, id: usize, sink: &Sink) {
    q.push_back(Task(Box::new(id)), sink);
}

fn drain(q: &mut Local<Task>, out: &mut Vec<usize>) {
    while let Some(t) = q.pop() {
        out.push(*t.0);
    }
}

/// A stealer thread: one steal into a fresh queue, then drains it.
fn spawn_stealer(steal: Steal<Task>) -> thread::JoinHandle<Vec<usize>> {
    thread::spawn(move || {
        let (mut mine, _) = local::<Task>();
        let mut got = Vec::new();
        if let Some(t) = steal.steal_into(&mut mine) {
            got.push(*t.0);
            drain(&mut mine, &mut got);
        }
        got
    })
}

fn assert_exactly_once(mut got: Vec<usize>, n: usize) {
    got.sort_unstable();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
}

#[test]
fn push_and_pop_race_a_steal() {
    loom::model(|| {
        let sink = Sink::default();
        let (mut owner, steal) = local::<Task>();
        let stealer = spawn_stealer(steal);

        let mut got = Vec::new();
        push(&mut owner, 0, &sink);
        push(&mut owner, 1, &sink);
        if let Some(t) = owner.pop() {
            got.push(*t.0);
        }
        push(&mut owner, 2, &sink);
        drain(&mut owner, &mut got);

        got.extend(stealer.join().unwrap());
        got.extend(sink.0.take());
        assert_exactly_once(got, 3);
    });
}

#[test]
fn two_stealers_and_the_owner_race() {
    loom::model(|| {
        let sink = Sink::default();
        let (mut owner, steal) = local::<Task>();
        for id in 0..3 {
            push(&mut owner, id, &sink);
        }
        let a = spawn_stealer(steal.clone());
        let b = spawn_stealer(steal);

        let mut got = Vec::new();
        if let Some(t) = owner.pop() {
            got.push(*t.0);
        }
        got.extend(a.join().unwrap());
        got.extend(b.join().unwrap());
        drain(&mut owner, &mut got);
        assert_exactly_once(got, 3);
    });
}

#[test]
fn overflow_races_a_steal() {
    loom::model(|| {
        let sink = Sink::default();
        let (mut owner, steal) = local::<Task>();
        for id in 0..CAP {
            push(&mut owner, id, &sink);
        }
        let stealer = spawn_stealer(steal);

        // Full unless the stealer got in first: goes to `sink` or the ring.
        push(&mut owner, CAP, &sink);

        let mut got = Vec::new();
        drain(&mut owner, &mut got);
        let stolen = stealer.join().unwrap();
        let overflowed = sink.0.take();
        assert!(
            overflowed.is_empty() || overflowed.len() == CAP / 2 + 1,
            "an overflow moves half the ring plus the new task: {overflowed:?}"
        );
        got.extend(stolen);
        got.extend(overflowed);
        assert_exactly_once(got, CAP + 1);
    });
}

#[test]
fn stealing_into_a_queue_that_is_being_stolen_from() {
    loom::model(|| {
        let sink = Sink::default();
        let (mut first, steal_first) = local::<Task>();
        for id in 0..3 {
            push(&mut first, id, &sink);
        }
        let (second, steal_second) = local::<Task>();
        // One thread owns `second` and fills it by stealing from `first`
        // while another thread steals from `second`.
        let middle = thread::spawn(move || {
            let mut second = second;
            let mut got = Vec::new();
            if let Some(t) = steal_first.steal_into(&mut second) {
                got.push(*t.0);
            }
            drain(&mut second, &mut got);
            got
        });
        let last = spawn_stealer(steal_second);

        let mut got = middle.join().unwrap();
        got.extend(last.join().unwrap());
        drain(&mut first, &mut got);
        assert_exactly_once(got, 3);
    });
}

#[test]
fn owner_reuses_slots_a_stealer_claims() {
    loom::model(|| {
        let sink = Sink::default();
        let (mut owner, steal) = local::<Task>();
        for id in 0..CAP {
            push(&mut owner, id, &sink);
        }
        let stealer = spawn_stealer(steal);

        // Once the stealer has claimed the older half, these pushes wrap
        // around into the slots it read; before that, the first overflows.
        let mut got = Vec::new();
        for id in CAP..CAP + 2 {
            push(&mut owner, id, &sink);
        }
        drain(&mut owner, &mut got);

        got.extend(stealer.join().unwrap());
        got.extend(sink.0.take());
        assert_exactly_once(got, CAP + 2);
    });
}

/// The owner claims a batch (two of a full ring of four, under loom) while
/// a stealer claims half; pushes after the claim reuse the freed slots.
#[test]
fn batch_claim_races_a_steal() {
    loom::model(|| {
        let sink = Sink::default();
        let (mut owner, steal) = local::<Task>();
        for id in 0..CAP {
            push(&mut owner, id, &sink);
        }
        let stealer = spawn_stealer(steal);

        let mut got = Vec::new();
        if let Some(t) = owner.pop() {
            got.push(*t.0);
        }
        push(&mut owner, CAP, &sink);
        drain(&mut owner, &mut got);

        got.extend(stealer.join().unwrap());
        got.extend(sink.0.take());
        assert_exactly_once(got, CAP + 1);
    });
}
