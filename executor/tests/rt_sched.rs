//! Scheduling order: runnext (LIFO) vs queue (FIFO), the injector check
//! every `global_queue_interval` ticks, and the runnext starvation guard.

use goro_executor::runtime::Builder;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Runs `f` on a thread and fails (instead of hanging) if it does not
/// finish within a generous bound: a starved task would hang forever.
fn within(what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what}: starved (no progress in 60 s)"));
}

fn order(lifo: bool) -> Vec<u32> {
    let mut b = Builder::new_current_thread();
    if !lifo {
        b.disable_lifo_slot();
    }
    let rt = b.build().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    rt.block_on(async move {
        goro_executor::spawn(async move {
            let hs: Vec<_> = (1..=3)
                .map(|i| {
                    let l = l.clone();
                    goro_executor::spawn(async move { l.lock().unwrap().push(i) })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        })
        .await
        .unwrap();
    });
    let v = log.lock().unwrap().clone();
    v
}

#[test]
fn newest_spawn_runs_next_unless_lifo_disabled() {
    assert_eq!(order(true), vec![3, 1, 2]);
    assert_eq!(order(false), vec![1, 2, 3]);
}

#[test]
fn injector_is_checked_while_local_work_never_ends() {
    within("injector task", injector_check);
}

fn injector_check() {
    let rt = Builder::new_current_thread().build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let handle = rt.handle().clone();
    let s = stop.clone();
    rt.block_on(async move {
        let spinner = goro_executor::spawn({
            let s = s.clone();
            async move {
                let mut n = 0u64;
                while !s.load(Ordering::SeqCst) {
                    goro_executor::task::yield_now().await;
                    n += 1;
                }
                n
            }
        });
        // From another thread: lands in the injector while the local
        // queue always holds the spinner.
        let s2 = s.clone();
        std::thread::spawn(move || {
            drop(handle.spawn(async move { s2.store(true, Ordering::SeqCst) }));
        })
        .join()
        .unwrap();
        assert!(spinner.await.unwrap() >= 1);
    });
}

/// Wakes its partner and waits to be woken, forever, until `stop`.
struct PingPong {
    me: Arc<Mutex<(bool, Option<Waker>)>>,
    other: Arc<Mutex<(bool, Option<Waker>)>>,
    stop: Arc<AtomicBool>,
}

impl Future for PingPong {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.stop.load(Ordering::SeqCst) {
            // Let the partner see `stop` too.
            if let Some(w) = self.other.lock().unwrap().1.take() {
                w.wake();
            }
            return Poll::Ready(());
        }
        {
            let mut me = self.me.lock().unwrap();
            me.0 = false;
            me.1 = Some(cx.waker().clone());
        }
        let w = {
            let mut o = self.other.lock().unwrap();
            o.0 = true;
            o.1.take()
        };
        if let Some(w) = w {
            w.wake(); // into runnext: the partner runs next
        }
        Poll::Pending
    }
}

#[test]
fn two_tasks_waking_each_other_do_not_starve_the_queue() {
    within("queued task behind a runnext ping-pong", runnext_guard);
}

fn runnext_guard() {
    let rt = Builder::new_current_thread().build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let a: Arc<Mutex<(bool, Option<Waker>)>> = Default::default();
    let b: Arc<Mutex<(bool, Option<Waker>)>> = Default::default();
    let s = stop.clone();
    rt.block_on(async move {
        goro_executor::spawn(async move {
            let pa = goro_executor::spawn(PingPong {
                me: a.clone(),
                other: b.clone(),
                stop: s.clone(),
            });
            let pb = goro_executor::spawn(PingPong {
                me: b,
                other: a,
                stop: s.clone(),
            });
            // After this yield we are in the local queue while the pair
            // hands off through runnext forever: only the runnext streak
            // cap lets us run again.
            goro_executor::task::yield_now().await;
            s.store(true, Ordering::SeqCst);
            pa.await.unwrap();
            pb.await.unwrap();
        })
        .await
        .unwrap();
    });
    assert!(stop.load(Ordering::SeqCst));
}
