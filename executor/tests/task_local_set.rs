//! `LocalSet` and `spawn_local`: `!Send` futures on both flavors.

use goro_executor::runtime::{Builder, Runtime};
use goro_executor::task::{self, LocalSet};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};

fn flavors() -> Vec<Runtime> {
    vec![
        Builder::new_current_thread().build().unwrap(),
        Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    ]
}

/// Counts its drops and remembers the thread each happened on.
struct DropProbe {
    drops: Arc<AtomicUsize>,
    threads: Arc<Mutex<Vec<ThreadId>>>,
}

impl Drop for DropProbe {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        self.threads.lock().unwrap().push(thread::current().id());
    }
}

/// Pending until woken once (through a waker it hands to `out`).
struct WakeOnce {
    polled: bool,
    out: mpsc::Sender<Waker>,
}

impl Future for WakeOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.polled {
            return Poll::Ready(());
        }
        self.polled = true;
        self.out.send(cx.waker().clone()).unwrap();
        Poll::Pending
    }
}

#[test]
fn block_on_without_a_runtime_runs_not_send_tasks() {
    let set = LocalSet::new();
    let me = thread::current().id();
    let out = set.block_on(async move {
        let shared = Rc::new(RefCell::new(Vec::new()));
        let mut handles = Vec::new();
        for i in 0..100 {
            let s = shared.clone();
            handles.push(task::spawn_local(async move {
                assert_eq!(thread::current().id(), me);
                task::yield_now().await;
                s.borrow_mut().push(i);
                Rc::new(i) // a !Send output
            }));
        }
        let mut sum = 0;
        for h in handles {
            sum += *h.await.unwrap();
        }
        assert_eq!(shared.borrow().len(), 100);
        sum
    });
    assert_eq!(out, (0..100).sum::<i32>());
    assert!(set.is_empty());
}

#[test]
fn run_until_on_both_flavors_runs_on_the_driving_thread() {
    for (rt, current_thread) in flavors().into_iter().zip([true, false]) {
        let set = LocalSet::new();
        let me = thread::current().id();
        let seen = Rc::new(Cell::new(0));
        let s = seen.clone();
        set.spawn_local(async move {
            assert_eq!(thread::current().id(), me);
            s.set(s.get() + 1);
        });
        let out = rt.block_on(set.run_until(async {
            // A Send task on the runtime wakes a local task from (on the
            // multi-thread flavor) a worker thread.
            let worker = goro_executor::spawn(async { thread::current().id() });
            let local = task::spawn_local(async move {
                let id = worker.await.unwrap();
                assert_eq!(thread::current().id(), me);
                id
            });
            local.await.unwrap()
        }));
        assert_eq!(seen.get(), 1);
        // Runtime tasks run on the runtime's threads: this one on a
        // current-thread runtime, the workers on a multi-thread one.
        assert_eq!(out == me, current_thread);
    }
}

#[test]
fn spawn_local_from_a_local_task_and_many_tasks_past_one_tick() {
    let set = LocalSet::new();
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    set.block_on(async move {
        let outer = task::spawn_local(async move {
            let mut hs = Vec::new();
            for _ in 0..1000 {
                let c = c.clone();
                hs.push(task::spawn_local(async move {
                    task::yield_now().await;
                    c.set(c.get() + 1);
                }));
            }
            for h in hs {
                h.await.unwrap();
            }
        });
        outer.await.unwrap();
    });
    assert_eq!(count.get(), 1000);
}

#[test]
#[should_panic(expected = "spawn_local called outside a LocalSet")]
fn spawn_local_outside_a_local_set_panics() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        drop(task::spawn_local(async {}));
    });
}

#[test]
fn a_panicking_local_task_is_reported_through_its_join_handle() {
    let set = LocalSet::new();
    let err = set.block_on(async {
        let not_send = Rc::new(());
        task::spawn_local(async move {
            let _keep = not_send;
            panic!("local boom");
        })
        .await
        .unwrap_err()
    });
    assert!(err.is_panic());
    assert!(err.to_string().contains("local boom"), "{err}");
}

#[test]
fn dropping_the_set_drops_pending_tasks_on_its_thread() {
    let drops = Arc::new(AtomicUsize::new(0));
    let threads = Arc::new(Mutex::new(Vec::new()));
    let set = LocalSet::new();
    let mut handles = Vec::new();
    // Never driven.
    for _ in 0..10 {
        let p = DropProbe {
            drops: drops.clone(),
            threads: threads.clone(),
        };
        handles.push(set.spawn_local(async move {
            let _p = p;
            std::future::pending::<()>().await;
        }));
    }
    // Driven once, so it is parked in the set with a waker out there.
    let p = DropProbe {
        drops: drops.clone(),
        threads: threads.clone(),
    };
    let (tx, rx) = mpsc::channel();
    let parked = set.spawn_local(async move {
        let _p = p;
        let _rc = Rc::new(());
        WakeOnce {
            polled: false,
            out: tx,
        }
        .await;
        std::future::pending::<()>().await;
    });
    set.block_on(async {
        task::yield_now().await;
        task::yield_now().await;
    });
    let stray_waker = rx.recv().unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    assert_eq!(set.len(), 11);
    drop(set);
    assert_eq!(drops.load(Ordering::SeqCst), 11);
    let me = thread::current().id();
    assert!(threads.lock().unwrap().iter().all(|t| *t == me));
    // A wake after the set is gone does nothing (and frees nothing twice).
    thread::spawn(move || stray_waker.wake()).join().unwrap();
    for h in handles {
        assert!(h.is_finished());
        assert!(goro_executor::block_on(h).unwrap_err().is_cancelled());
    }
    assert!(goro_executor::block_on(parked).unwrap_err().is_cancelled());
}

#[test]
fn a_local_task_woken_from_another_thread_runs_on_the_set_thread() {
    for rt in flavors() {
        let set = LocalSet::new();
        let me = thread::current().id();
        let (tx, rx) = mpsc::channel::<Waker>();
        let waker_thread = thread::spawn(move || {
            let mut n = 0;
            while let Ok(w) = rx.recv() {
                w.wake();
                n += 1;
            }
            n
        });
        rt.block_on(set.run_until(async move {
            let mut hs = Vec::new();
            for _ in 0..50 {
                let tx = tx.clone();
                hs.push(task::spawn_local(async move {
                    let _rc = Rc::new(());
                    WakeOnce {
                        polled: false,
                        out: tx,
                    }
                    .await;
                    thread::current().id()
                }));
            }
            drop(tx);
            for h in hs {
                assert_eq!(h.await.unwrap(), me);
            }
        }));
        assert_eq!(waker_thread.join().unwrap(), 50);
    }
}

#[test]
fn abort_from_another_thread_drops_the_future_on_the_set_thread() {
    let drops = Arc::new(AtomicUsize::new(0));
    let threads = Arc::new(Mutex::new(Vec::new()));
    let p = DropProbe {
        drops: drops.clone(),
        threads: threads.clone(),
    };
    let set = LocalSet::new();
    let me = thread::current().id();
    let d = drops.clone();
    set.block_on(async move {
        let h = task::spawn_local(async move {
            let _p = p;
            let _rc = Rc::new(());
            std::future::pending::<u32>().await
        });
        task::yield_now().await; // let it park
                                 // The output (u32) is Send, so the handle may move; aborting only
                                 // queues the task, so joining the thread here cannot deadlock.
        let h = thread::spawn(move || {
            h.abort();
            h
        })
        .join()
        .unwrap();
        assert!(h.await.unwrap_err().is_cancelled());
        assert_eq!(d.load(Ordering::SeqCst), 1);
    });
    drop(set);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(threads.lock().unwrap().as_slice(), &[me]);
}

#[test]
fn local_tasks_share_the_thread_with_runtime_tasks_on_a_current_thread_runtime() {
    let rt = Builder::new_current_thread().build().unwrap();
    let set = LocalSet::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    rt.block_on(set.run_until(async move {
        let (tx, rx) = mpsc::channel();
        let remote = goro_executor::spawn(async move {
            for i in 0..3 {
                tx.send(i).unwrap();
                task::yield_now().await;
            }
        });
        let local = task::spawn_local(async move {
            remote.await.unwrap();
            while let Ok(i) = rx.try_recv() {
                l.borrow_mut().push(i);
            }
        });
        local.await.unwrap();
    }));
    assert_eq!(*log.borrow(), vec![0, 1, 2]);
}
