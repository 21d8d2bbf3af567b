//! Shutdown: every unfinished future is dropped, blocking work is waited
//! for (or not, with a timeout), destructors may use the runtime.

use goro_executor::runtime::{Builder, Handle, Runtime};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Runs `f` on a thread and fails, instead of hanging, if it has not
/// finished within `bound` (generous: CI machines are small and noisy).
fn within(what: &str, bound: Duration, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    rx.recv_timeout(bound)
        .unwrap_or_else(|_| panic!("{what}: did not finish within {bound:?}"));
}

struct Count(Arc<AtomicUsize>);
impl Drop for Count {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn drop_with_pending(rt: Runtime, n: usize) {
    let dropped = Arc::new(AtomicUsize::new(0));
    // Half get polled and park forever, half may still be queued.
    rt.block_on(async {
        for _ in 0..n / 2 {
            let c = Count(dropped.clone());
            drop(goro_executor::spawn(async move {
                let _c = c;
                std::future::pending::<()>().await;
            }));
        }
        goro_executor::task::yield_now().await;
    });
    for _ in 0..n / 2 {
        let c = Count(dropped.clone());
        drop(rt.spawn(async move {
            let _c = c;
            std::future::pending::<()>().await;
        }));
    }
    drop(rt);
    assert_eq!(dropped.load(Ordering::SeqCst), n);
}

#[test]
fn dropping_runtime_drops_100k_pending_futures_multi_thread() {
    drop_with_pending(
        Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
        100_000,
    );
}

#[test]
fn dropping_runtime_drops_100k_pending_futures_current_thread() {
    drop_with_pending(Builder::new_current_thread().build().unwrap(), 100_000);
}

#[test]
fn destructors_may_use_the_runtime() {
    struct SpawnOnDrop(Arc<AtomicUsize>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            assert!(Handle::try_current().is_some());
            // The runtime is shutting down: this task is cancelled, not run.
            drop(goro_executor::spawn(async {}));
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let n = Arc::new(AtomicUsize::new(0));
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    for _ in 0..100 {
        let s = SpawnOnDrop(n.clone());
        drop(rt.spawn(async move {
            let _s = s;
            std::future::pending::<()>().await;
        }));
    }
    drop(rt);
    assert_eq!(n.load(Ordering::SeqCst), 100);
}

#[test]
fn shutdown_timeout_does_not_wait_for_stuck_blocking_task() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let _h = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        let _ = release_rx.recv();
    });
    started_rx.recv().unwrap();
    // Dropped however the test ends, which lets the blocking task finish.
    let _release = release_tx;
    // If shutdown_timeout waited for the stuck task it would never return:
    // the watchdog turns that into a failure.
    within(
        "shutdown_timeout(50 ms) with a blocking task that never ends",
        Duration::from_secs(30),
        move || rt.shutdown_timeout(Duration::from_millis(50)),
    );
}

#[test]
fn drop_waits_for_running_blocking_task() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let _h = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        d.store(1, Ordering::SeqCst);
    });
    started_rx.recv().unwrap();
    drop(rt);
    assert_eq!(done.load(Ordering::SeqCst), 1);
}

#[test]
fn wakers_outliving_the_runtime_are_harmless() {
    let slot: Arc<std::sync::Mutex<Option<std::task::Waker>>> = Default::default();
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let s = slot.clone();
    let s2 = slot.clone();
    rt.block_on(async move {
        let slot = s2;
        goro_executor::spawn(std::future::poll_fn(move |cx| {
            *s.lock().unwrap() = Some(cx.waker().clone());
            std::task::Poll::<()>::Pending
        }));
        while slot.lock().unwrap().is_none() {
            goro_executor::task::yield_now().await;
        }
    });
    drop(rt);
    let w = slot.lock().unwrap().take().unwrap();
    w.wake_by_ref();
    w.wake();
}

#[test]
fn runtime_dropped_inside_its_own_task_and_blocking_thread() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let other = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    // Move `rt` into one of its own tasks and drop it there.
    let rt = Arc::new(std::sync::Mutex::new(Some(rt)));
    let rt2 = rt.clone();
    let handle = rt.lock().unwrap().as_ref().unwrap().handle().clone();
    drop(handle.spawn(async move {
        drop(rt2.lock().unwrap().take());
        tx.send(()).unwrap();
    }));
    rx.recv_timeout(Duration::from_secs(30)).unwrap();

    let (tx, rx) = mpsc::channel();
    let h = other.handle().clone();
    drop(h.spawn_blocking(move || {
        drop(other);
        tx.send(()).unwrap();
    }));
    rx.recv_timeout(Duration::from_secs(30)).unwrap();
}

/// Sends on `tx` when dropped: tells the test that a future was dropped,
/// and on which thread.
struct DropSignal(mpsc::Sender<std::thread::ThreadId>);
impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(std::thread::current().id());
    }
}

/// A runtime with one task stuck inside a poll (`stuck` runs in it before
/// the task parks for ever) that first spawns `children` pending tasks
/// onto its own P's queue. Returns when the stuck poll has begun, with the
/// channel its future's drop signals on and the children's drop counter.
fn runtime_with_stuck_poll(
    children: usize,
    stuck: impl FnOnce() + Send + 'static,
) -> (
    Runtime,
    mpsc::Receiver<std::thread::ThreadId>,
    Arc<AtomicUsize>,
) {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (dropped_tx, dropped_rx) = mpsc::channel();
    let (started_tx, started_rx) = mpsc::channel();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    drop(rt.spawn(async move {
        let _signal = DropSignal(dropped_tx);
        for _ in 0..children {
            let c = Count(c.clone());
            drop(goro_executor::spawn(async move {
                let _c = c;
                std::future::pending::<()>().await;
            }));
        }
        started_tx.send(()).unwrap();
        stuck();
        std::future::pending::<()>().await;
    }));
    started_rx.recv().unwrap();
    (rt, dropped_rx, count)
}

/// Shuts `rt` down with `timeout` on a watchdog thread and returns how long
/// the call took.
fn timed_shutdown(rt: Runtime, timeout: Duration) -> Duration {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let start = std::time::Instant::now();
        rt.shutdown_timeout(timeout);
        let _ = tx.send(start.elapsed());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("shutdown_timeout did not return within 30 s")
}

#[test]
fn shutdown_timeout_detaches_a_task_that_never_yields() {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    let (rt, dropped, children) = runtime_with_stuck_poll(100, move || {
        while !s.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
    });
    let timeout = Duration::from_millis(500);
    let took = timed_shutdown(rt, timeout);
    assert!(
        took >= timeout,
        "returned after {took:?}, before the deadline with a worker still busy"
    );
    assert!(
        took < 2 * timeout,
        "returned after {took:?}, over twice the {timeout:?} timeout"
    );
    // Every task not inside a poll was dropped before it returned ...
    assert_eq!(children.load(Ordering::SeqCst), 100);
    // ... the stuck one was not (its future belongs to its worker) ...
    assert!(dropped.try_recv().is_err(), "a running future was dropped");
    // ... and is dropped by its worker once its poll returns. Stopping the
    // loop also lets the test process exit with no thread spinning.
    stop.store(true, Ordering::SeqCst);
    let on = dropped
        .recv_timeout(Duration::from_secs(30))
        .expect("the detached worker did not drop its task after its poll returned");
    assert_ne!(on, std::thread::current().id());
}

#[test]
fn shutdown_timeout_detaches_a_poll_blocked_for_3_s() {
    let (rt, dropped, children) =
        runtime_with_stuck_poll(100, || std::thread::sleep(Duration::from_secs(3)));
    let timeout = Duration::from_millis(500);
    let took = timed_shutdown(rt, timeout);
    assert!(
        took < 2 * timeout,
        "returned after {took:?}, over twice the {timeout:?} timeout"
    );
    assert_eq!(children.load(Ordering::SeqCst), 100);
    dropped
        .recv_timeout(Duration::from_secs(30))
        .expect("the detached worker did not drop its task after its 3 s poll");
}

#[test]
fn shutdown_background_returns_at_once_with_a_stuck_poll() {
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (rt, dropped, children) = runtime_with_stuck_poll(100, move || {
        let _ = release_rx.recv();
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let start = std::time::Instant::now();
        rt.shutdown_background();
        let _ = tx.send(start.elapsed());
    });
    let took = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("shutdown_background did not return");
    // "At once": no waiting at all; the bound only absorbs a noisy machine.
    assert!(
        took < Duration::from_millis(500),
        "shutdown_background took {took:?}"
    );
    assert_eq!(children.load(Ordering::SeqCst), 100);
    drop(release_tx);
    dropped
        .recv_timeout(Duration::from_secs(30))
        .expect("the detached worker did not drop its task after its poll returned");
}

#[test]
fn shutdown_timeout_with_idle_workers_joins_them_before_the_deadline() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let took = timed_shutdown(rt, Duration::from_secs(20));
    assert!(
        took < Duration::from_secs(10),
        "idle workers took {took:?} to stop"
    );
}
