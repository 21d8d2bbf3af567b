//! Loom models of the hand-off protocol ("Grants, not wake-ups" in
//! `lib.rs`): a grant made to a waiter that is concurrently cancelled
//! must reach the next waiter, and no interleaving may strand one.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release
//! -p goro-sync --lib`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use std::sync::Arc;

use super::{Mutex, Notify, Semaphore};

/// Runs `future` on this loom thread, parking between polls.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(output) => return output,
            Poll::Pending => thread::park(),
        }
    }
}

/// Polls `future` once with a no-op waker.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// The unlock races with a queued waiter being cancelled and with a second
/// waiter queueing: whoever is granted the lock, the second waiter gets it
/// eventually and the lock ends up free.
#[test]
fn mutex_unlock_races_cancelled_waiter() {
    loom::model(|| {
        let mutex = Arc::new(Mutex::new(0usize));
        let owned = mutex.clone().try_lock_owned().expect("fresh mutex");

        let m1 = mutex.clone();
        let cancelled = thread::spawn(move || {
            let mut lock = pin!(m1.lock());
            if let Poll::Ready(mut g) = poll_once(lock.as_mut()) {
                *g += 10;
            }
            // Dropped here: queued, granted, or already done.
        });
        let m2 = mutex.clone();
        let waiter = thread::spawn(move || {
            let mut g = block_on(m2.lock());
            *g += 1;
        });
        drop(owned);
        cancelled.join().unwrap();
        waiter.join().unwrap();
        let g = mutex.try_lock().expect("lock leaked by a cancelled waiter");
        assert!(*g == 1 || *g == 11, "lost update: {}", *g);
    });
}

/// `notify_one` racing a waiter that is cancelled after possibly being
/// chosen: the notification is never lost, so a later `notified()`
/// completes unless the cancelled one consumed it.
#[test]
fn notify_one_passes_on_when_cancelled() {
    loom::model(|| {
        let notify = Arc::new(Notify::new());
        let n = notify.clone();
        let notifier = thread::spawn(move || n.notify_one());

        let consumed = {
            let mut first = pin!(notify.notified());
            poll_once(first.as_mut()).is_ready()
        };
        notifier.join().unwrap();
        if !consumed {
            // Passed on (stored as a permit): completes without blocking.
            let mut second = pin!(notify.notified());
            assert!(poll_once(second.as_mut()).is_ready(), "notification lost");
        }
    });
}

/// Two waiters on one permit, one of them cancelled at an arbitrary point:
/// the permit count is restored and the other waiter gets in.
#[test]
fn semaphore_cancel_returns_permit() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let inside = Arc::new(AtomicUsize::new(0));
        let held = sem.clone().try_acquire_owned().expect("one permit");

        let s1 = sem.clone();
        let cancelled = thread::spawn(move || {
            let mut acquire = pin!(s1.acquire());
            let _ = poll_once(acquire.as_mut());
        });
        let (s2, in2) = (sem.clone(), inside.clone());
        let waiter = thread::spawn(move || {
            let _permit = block_on(s2.acquire()).unwrap();
            in2.fetch_add(1, Ordering::SeqCst);
        });
        drop(held);
        cancelled.join().unwrap();
        waiter.join().unwrap();
        assert_eq!(inside.load(Ordering::SeqCst), 1);
        assert_eq!(
            sem.available_permits(),
            1,
            "permit lost to a cancelled waiter"
        );
    });
}

/// `OnceCell` publishes its value with Release/Acquire on `initialized`:
/// a reader that sees the value sees it fully written, and racing
/// initialisers write once.
#[test]
fn once_cell_publishes_value() {
    use super::OnceCell;
    loom::model(|| {
        let cell = Arc::new(OnceCell::new());
        let c1 = cell.clone();
        let setter = thread::spawn(move || c1.set(String::from("one")).is_ok());
        let c2 = cell.clone();
        let initer = thread::spawn(move || {
            block_on(c2.get_or_init(|| async { String::from("two") })).clone()
        });
        if let Some(v) = cell.get() {
            assert!(v == "one" || v == "two");
        }
        let set_won = setter.join().unwrap();
        let seen = initer.join().unwrap();
        assert_eq!(seen, if set_won { "one" } else { "two" });
        assert_eq!(cell.get(), Some(&seen));
    });
}

/// A write lock released while a queued writer is cancelled and a reader
/// queues: nobody is stranded and the lock ends up free.
#[test]
fn rwlock_release_races_cancelled_writer() {
    use super::RwLock;
    loom::model(|| {
        let rw = Arc::new(RwLock::new(1u32));
        let held = rw.try_write().expect("fresh lock");
        let r1 = rw.clone();
        let writer = thread::spawn(move || {
            let mut write = pin!(r1.write());
            if let Poll::Ready(mut g) = poll_once(write.as_mut()) {
                *g += 1;
            }
        });
        let r2 = rw.clone();
        let reader = thread::spawn(move || *block_on(r2.read()));
        drop(held);
        writer.join().unwrap();
        let seen = reader.join().unwrap();
        assert!(seen == 1 || seen == 2);
        assert!(rw.try_write().is_ok(), "lock stranded");
    });
}

/// The lock word's fast paths against the slow path: two lockers and a
/// `try_lock`, with the guarded data in a loom `UnsafeCell` (inside the
/// `Mutex`), so loom flags any overlapping access.
#[test]
fn mutex_excludes_across_fast_and_slow_paths() {
    loom::model(|| {
        let mutex = Arc::new(Mutex::new(0usize));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let m = mutex.clone();
                thread::spawn(move || *block_on(m.lock()) += 1)
            })
            .collect();
        let tried = mutex.try_lock().map(|mut g| *g += 1).is_ok();
        for h in handles {
            h.join().unwrap();
        }
        let g = mutex.try_lock().expect("mutex left locked");
        assert_eq!(*g, 2 + usize::from(tried));
    });
}

/// `done` racing an async `wait`: the waiter is released exactly when the
/// counter reaches zero, never before.
#[test]
fn wait_group_done_races_wait() {
    use super::WaitGroup;
    loom::model(|| {
        let wg = WaitGroup::new();
        let finished = Arc::new(AtomicUsize::new(0));
        wg.add(2);
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (wg, finished) = (wg.clone(), finished.clone());
                thread::spawn(move || {
                    finished.fetch_add(1, Ordering::SeqCst);
                    wg.done();
                })
            })
            .collect();
        block_on(wg.wait());
        assert_eq!(finished.load(Ordering::SeqCst), 2, "released early");
        for w in workers {
            w.join().unwrap();
        }
    });
}

/// Two parties over two generations: one leader per generation.
#[test]
fn barrier_two_generations() {
    use super::Barrier;
    loom::model(|| {
        let barrier = Arc::new(Barrier::new(2));
        let b = barrier.clone();
        let other = thread::spawn(move || {
            (0..2)
                .map(|_| usize::from(block_on(b.wait()).is_leader()))
                .sum::<usize>()
        });
        let mine: usize = (0..2)
            .map(|_| usize::from(block_on(barrier.wait()).is_leader()))
            .sum();
        assert_eq!(mine + other.join().unwrap(), 2);
        assert_eq!(barrier.generation(), 2);
    });
}

/// `send` racing the receiver's drop: the value is either received or
/// handed back / dropped, exactly once.
#[test]
fn oneshot_send_races_receiver_drop() {
    use super::oneshot;
    loom::model(|| {
        let (tx, rx) = oneshot::channel::<Arc<()>>();
        let value = Arc::new(());
        let v = value.clone();
        let sender = thread::spawn(move || tx.send(v).is_ok());
        drop(rx);
        let _sent = sender.join().unwrap();
        assert_eq!(Arc::strong_count(&value), 1, "value leaked or kept");
    });
}

/// The receiver waiting while the value is sent from another thread: it
/// gets the value exactly once, and the end that leaves second frees the
/// channel (a leak or a double drop of the value shows in its count).
#[test]
fn oneshot_receive_while_sending() {
    use super::oneshot;
    loom::model(|| {
        let (tx, rx) = oneshot::channel::<Arc<()>>();
        let value = Arc::new(());
        let v = value.clone();
        let sender = thread::spawn(move || tx.send(v).is_ok());
        let got = block_on(rx);
        assert!(sender.join().unwrap());
        assert!(got.is_ok());
        drop(got);
        assert_eq!(Arc::strong_count(&value), 1, "value leaked or kept");
    });
}

/// A stand-in for a goro task's Waker (registered as the task waker
/// vtable, so the oneshot keeps it as one word): an `Arc` of the loom
/// thread to unpark, its pointer the data.
mod task_waker {
    use super::*;
    use std::task::{RawWaker, RawWakerVTable};

    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

    fn clone(data: *const ()) -> RawWaker {
        // SAFETY: every Waker of this vtable owns one count of an
        // `Arc<thread::Thread>` whose pointer is `data` (`waker`).
        unsafe { Arc::increment_strong_count(data.cast::<thread::Thread>()) };
        RawWaker::new(data, &VTABLE)
    }
    fn wake(data: *const ()) {
        // SAFETY: as in `clone`; the Waker gives its count up.
        unsafe { Arc::from_raw(data.cast::<thread::Thread>()) }.unpark();
    }
    fn wake_by_ref(data: *const ()) {
        // SAFETY: as in `clone`; the Waker's count keeps it alive.
        unsafe { &*data.cast::<thread::Thread>() }.unpark();
    }
    fn drop_waker(data: *const ()) {
        // SAFETY: as in `clone`; the Waker gives its count up.
        drop(unsafe { Arc::from_raw(data.cast::<thread::Thread>()) });
    }

    /// A Waker of the registered vtable that unparks this loom thread.
    pub(super) fn waker() -> Waker {
        assert!(goro_coop::register_task_waker_vtable(&VTABLE));
        let data = Arc::into_raw(Arc::new(thread::current())).cast::<()>();
        // SAFETY: the vtable's functions treat `data` as the `Arc` just
        // leaked, whose one count the new Waker owns.
        unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
    }

    /// `block_on` with that waker.
    pub(super) fn block_on<F: Future>(future: F) -> F::Output {
        let waker = waker();
        let mut future = pin!(future);
        loop {
            match future.as_mut().poll(&mut Context::from_waker(&waker)) {
                Poll::Ready(output) => return output,
                Poll::Pending => thread::park(),
            }
        }
    }
}

/// As `oneshot_receive_while_sending`, with the receiver's waker kept as
/// one word (a goro task's): the send rebuilds and wakes it, and no
/// reference is lost or left behind (the waker's `Arc` count shows both).
#[test]
fn oneshot_task_waker_receive_while_sending() {
    use super::oneshot;
    loom::model(|| {
        let (tx, rx) = oneshot::channel::<Arc<()>>();
        let value = Arc::new(());
        let v = value.clone();
        let sender = thread::spawn(move || tx.send(v).is_ok());
        let got = task_waker::block_on(rx);
        assert!(sender.join().unwrap());
        assert!(got.is_ok());
        drop(got);
        assert_eq!(Arc::strong_count(&value), 1, "value leaked or kept");
    });
}

/// The sender parked in `closed` with a one-word waker while the receiver
/// is dropped on another thread: it is woken, and the slot's reference to
/// the waker is given back whichever end frees the channel.
#[test]
fn oneshot_task_waker_closed_races_receiver_drop() {
    use super::oneshot;
    loom::model(|| {
        let (mut tx, rx) = oneshot::channel::<()>();
        let receiver = thread::spawn(move || drop(rx));
        let waker = task_waker::waker();
        let mut closed = pin!(tx.closed());
        loop {
            match closed.as_mut().poll(&mut Context::from_waker(&waker)) {
                Poll::Ready(()) => break,
                Poll::Pending => thread::park(),
            }
        }
        receiver.join().unwrap();
        drop(tx);
        // SAFETY: `waker`'s data pointer is the `Arc` made by `waker()`;
        // borrowed here only to read its count.
        let arc = std::mem::ManuallyDrop::new(unsafe {
            Arc::from_raw(waker.data().cast::<thread::Thread>())
        });
        assert_eq!(Arc::strong_count(&arc), 1, "a waker reference left behind");
    });
}
