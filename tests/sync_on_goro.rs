//! goro::sync on goro's own multi-thread runtime (the crate's own tests use
//! futures::executor and plain threads).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use goro::sync::{Mutex, Semaphore, WaitGroup};

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_counts_every_increment_across_workers() {
    const TASKS: usize = 64;
    const INCS: usize = 1_000;
    let counter = Arc::new(Mutex::new(0usize));
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let counter = counter.clone();
        handles.push(goro::spawn(async move {
            for i in 0..INCS {
                let mut g = counter.lock().await;
                let before = *g;
                if i % 64 == 0 {
                    // Hold the lock across a yield so that others queue up.
                    goro::task::yield_now().await;
                }
                *g = before + 1;
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(*counter.lock().await, TASKS * INCS);
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_bounds_concurrency_and_wait_group_waits() {
    const LIMIT: usize = 3;
    const TASKS: usize = 200;
    let sem = Arc::new(Semaphore::new(LIMIT));
    let inside = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let wg = WaitGroup::new();
    wg.add(TASKS as isize);
    for _ in 0..TASKS {
        let (sem, inside, max_seen, finished, wg) = (
            sem.clone(),
            inside.clone(),
            max_seen.clone(),
            finished.clone(),
            wg.clone(),
        );
        goro::spawn(async move {
            let permit = sem.acquire().await.unwrap();
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            max_seen.fetch_max(now, Ordering::SeqCst);
            goro::task::yield_now().await;
            inside.fetch_sub(1, Ordering::SeqCst);
            finished.fetch_add(1, Ordering::SeqCst);
            // The permit goes back before done(), so that once wait()
            // returns every permit is home.
            drop(permit);
            wg.done();
        });
    }
    wg.wait().await;
    assert_eq!(finished.load(Ordering::SeqCst), TASKS);
    assert!(max_seen.load(Ordering::SeqCst) <= LIMIT);
    assert_eq!(sem.available_permits(), LIMIT);
}

/// goro::sync::oneshot keeps a goro task's waker as its record pointer
/// alone: tasks parked on receivers and in `Sender::closed` are woken
/// through it by senders on another thread and by the other end's drop.
#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn oneshot_wakes_goro_tasks() {
    use goro::sync::oneshot;
    const TASKS: u32 = 500;
    let mut senders = Vec::new();
    let mut handles = Vec::new();
    for i in 0..TASKS {
        let (tx, rx) = oneshot::channel::<u32>();
        senders.push(tx);
        handles.push(goro::spawn(async move { rx.await.map(|v| v + i) }));
    }
    let (mut watched, rx) = oneshot::channel::<()>();
    let closer = goro::spawn(async move {
        goro::task::yield_now().await;
        drop(rx);
    });
    let sender = std::thread::spawn(move || {
        for (i, tx) in senders.into_iter().enumerate() {
            if i % 10 == 0 {
                drop(tx);
            } else {
                tx.send(1).unwrap();
            }
        }
    });
    watched.closed().await;
    assert!(watched.is_closed());
    for (i, h) in handles.into_iter().enumerate() {
        let got = h.await.unwrap();
        if i % 10 == 0 {
            assert!(got.is_err());
        } else {
            assert_eq!(got, Ok(1 + i as u32));
        }
    }
    sender.join().unwrap();
    closer.await.unwrap();
}
