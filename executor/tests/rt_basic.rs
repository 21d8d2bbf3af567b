//! Spawn, block_on and JoinHandle on both flavors.

use goro_executor::runtime::{Builder, Runtime};
use goro_executor::task::{self, JoinError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn flavors() -> Vec<Runtime> {
    vec![
        Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
        Builder::new_current_thread().build().unwrap(),
    ]
}

#[test]
fn spawn_and_join() {
    for rt in flavors() {
        let out = rt.block_on(async {
            let h = goro_executor::spawn(async { 40 + 2 });
            h.await.unwrap()
        });
        assert_eq!(out, 42);
    }
}

#[test]
fn spawn_from_outside_and_join_many() {
    for rt in flavors() {
        let counter = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..1000)
            .map(|i| {
                let c = counter.clone();
                rt.spawn(async move {
                    task::yield_now().await;
                    c.fetch_add(1, Ordering::Relaxed);
                    i
                })
            })
            .collect();
        let sum = rt.block_on(async move {
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, (0..1000).sum::<usize>());
        assert_eq!(counter.load(Ordering::Relaxed), 1000);
    }
}

#[test]
fn panic_is_reported_and_worker_survives() {
    for rt in flavors() {
        rt.block_on(async {
            let err: JoinError = goro_executor::spawn(async { panic!("boom") })
                .await
                .unwrap_err();
            assert!(err.is_panic());
            assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
            assert_eq!(goro_executor::spawn(async { 7 }).await.unwrap(), 7);
        });
    }
}

#[test]
fn spawn_outside_runtime_panics_with_message() {
    let err = std::panic::catch_unwind(|| {
        drop(goro_executor::spawn(async {}));
    })
    .unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(msg.contains("outside a goro runtime"), "{msg}");
}

#[test]
fn bad_builder_input_is_an_error() {
    use std::io::ErrorKind::InvalidInput;
    let e = Builder::new_multi_thread()
        .worker_threads(0)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), InvalidInput);
    assert!(e.to_string().contains("worker"), "{e}");
    let e = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(0)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), InvalidInput);
    let e = Builder::new_current_thread()
        .global_queue_interval(0)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), InvalidInput);
}

#[test]
fn handle_current_inside_and_outside() {
    assert!(goro_executor::runtime::Handle::try_current().is_none());
    for rt in flavors() {
        let h = rt.block_on(async {
            let h = goro_executor::runtime::Handle::current();
            goro_executor::spawn(async { goro_executor::runtime::Handle::try_current().is_some() })
                .await
                .unwrap()
                .then_some(h)
        });
        assert!(h.is_some());
        let _g = rt.enter();
        assert!(goro_executor::runtime::Handle::try_current().is_some());
    }
    assert!(goro_executor::runtime::Handle::try_current().is_none());
}

#[test]
fn spawn_after_shutdown_is_cancelled() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    drop(rt);
    let h = handle.spawn(async { 1 });
    let err = Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(h)
        .unwrap_err();
    assert!(err.is_cancelled());
}

#[test]
fn nested_block_on_panics() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let inner = Builder::new_current_thread().build().unwrap();
    let res = rt.block_on(async {
        let h = goro_executor::spawn(async move {
            inner.block_on(async {});
        });
        h.await
    });
    assert!(res.unwrap_err().is_panic());
}

#[test]
fn abort_pending_task() {
    for rt in flavors() {
        rt.block_on(async {
            let h = goro_executor::spawn(std::future::pending::<()>());
            task::yield_now().await;
            h.abort();
            let err = h.await.unwrap_err();
            assert!(err.is_cancelled());
        });
    }
}

#[test]
fn join_handle_id_and_is_finished() {
    let rt = Builder::new_current_thread().build().unwrap();
    let a = rt.spawn(async {});
    let b = rt.spawn(async {});
    assert_ne!(a.id(), b.id());
    assert!(!a.is_finished());
    rt.block_on(async {
        let _ = (&mut { a }).await;
    });
    rt.block_on(async { b.await.unwrap() });
}

#[test]
fn spawn_blocking_runs_off_the_workers() {
    for rt in flavors() {
        let v = rt.block_on(async {
            let worker = std::thread::current().id();
            task::spawn_blocking(move || {
                assert_ne!(std::thread::current().id(), worker);
                // A blocking thread is inside the runtime too.
                goro_executor::spawn(async { 5 })
            })
            .await
            .unwrap()
            .await
            .unwrap()
        });
        assert_eq!(v, 5);
        let err = rt
            .block_on(async { task::spawn_blocking(|| panic!("blocking boom")).await })
            .unwrap_err();
        assert!(err.is_panic());
    }
}

#[test]
fn futures_spawn_trait() {
    use futures::task::SpawnExt;
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    let (tx, rx) = futures::channel::oneshot::channel();
    handle
        .spawn(async move {
            tx.send(11).unwrap();
        })
        .is_finished();
    let spawner = rt.handle().clone();
    let out = rt.block_on(async move {
        let got = spawner.spawn_with_handle(async { 3 }).unwrap().await;
        got + rx.await.unwrap()
    });
    assert_eq!(out, 14);
}

#[test]
fn thread_names_and_callbacks() {
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (s1, s2) = (started.clone(), stopped.clone());
    let rt = Builder::new_multi_thread()
        .worker_threads(3)
        .thread_name("my-worker")
        .thread_stack_size(1 << 20)
        .on_thread_start(move || {
            s1.fetch_add(1, Ordering::SeqCst);
        })
        .on_thread_stop(move || {
            s2.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let name = rt.block_on(async {
        goro_executor::spawn(async { std::thread::current().name().map(str::to_owned) }).await
    });
    assert_eq!(name.unwrap().as_deref(), Some("my-worker"));
    drop(rt);
    assert_eq!(started.load(Ordering::SeqCst), 3);
    assert_eq!(stopped.load(Ordering::SeqCst), 3);
}

#[test]
fn current_thread_block_on_from_two_threads() {
    let rt = Arc::new(Builder::new_current_thread().build().unwrap());
    let threads: Vec<_> = (0..2)
        .map(|i| {
            let rt = rt.clone();
            std::thread::spawn(move || {
                rt.block_on(async move {
                    let mut sum = 0;
                    for j in 0..100 {
                        sum += goro_executor::spawn(async move { j }).await.unwrap();
                        task::yield_now().await;
                    }
                    sum + i
                })
            })
        })
        .collect();
    let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(total, 2 * 4950 + 1);
}

#[test]
fn default_block_on() {
    assert_eq!(
        goro_executor::block_on(async { goro_executor::spawn(async { 2 }).await.unwrap() }),
        2
    );
}

/// A task parked in runnext behind a poll that blocks its thread is stolen
/// by a searching worker (tokio's LIFO slot cannot be stolen).
#[test]
fn runnext_task_is_stolen_when_its_worker_is_stuck() {
    use std::sync::mpsc;
    use std::time::Duration;
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let stuck = rt.spawn(async move {
        // B lands in this worker's runnext...
        drop(goro_executor::spawn(async move {
            done_tx.send(()).unwrap();
        }));
        ready_tx.send(()).unwrap();
        // ...and this poll blocks the thread until B has run elsewhere.
        done_rx.recv_timeout(Duration::from_secs(30)).is_ok()
    });
    ready_rx.recv().unwrap();
    // Wake the other worker: it runs this, then searches and finds B.
    drop(rt.spawn(async {}));
    assert!(
        rt.block_on(async { stuck.await.unwrap() }),
        "the runnext task was never stolen"
    );
}
