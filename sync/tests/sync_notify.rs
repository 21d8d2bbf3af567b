//! goro::sync::Notify across threads: no notification is lost.

#![cfg(not(loom))]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use futures::executor::block_on;
use goro_sync::Notify;

/// Producer/consumer over a counter: the consumer sleeps on `notified()`
/// whenever it has caught up; a lost wake-up would hang the test.
#[test]
fn notify_one_is_never_lost() {
    const ITEMS: usize = if cfg!(miri) { 200 } else { 20_000 };
    let notify = Arc::new(Notify::new());
    let produced = Arc::new(AtomicUsize::new(0));
    let consumer = {
        let (notify, produced) = (notify.clone(), produced.clone());
        thread::spawn(move || {
            block_on(async {
                let mut seen = 0;
                while seen < ITEMS {
                    let now = produced.load(Ordering::SeqCst);
                    if now == seen {
                        notify.notified().await;
                    }
                    seen = now;
                }
            })
        })
    };
    for _ in 0..ITEMS {
        produced.fetch_add(1, Ordering::SeqCst);
        notify.notify_one();
    }
    consumer.join().unwrap();
}

#[test]
fn notify_waiters_releases_every_thread() {
    let notify = Arc::new(Notify::new());
    let ready = Arc::new(AtomicUsize::new(0));
    let go = Arc::new(AtomicBool::new(false));
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let (notify, ready, go) = (notify.clone(), ready.clone(), go.clone());
            thread::spawn(move || {
                block_on(async {
                    // Create the future before announcing readiness: a
                    // notify_waiters after creation must reach it even if
                    // it was not yet polled.
                    let notified = notify.notified();
                    ready.fetch_add(1, Ordering::SeqCst);
                    notified.await;
                    assert!(go.load(Ordering::SeqCst));
                })
            })
        })
        .collect();
    while ready.load(Ordering::SeqCst) < 4 {
        thread::yield_now();
    }
    go.store(true, Ordering::SeqCst);
    notify.notify_waiters();
    for w in waiters {
        w.join().unwrap();
    }
}

/// As `notify_one_is_never_lost`, but the consumer also starts waits and
/// abandons them after one poll; a notification granted to an abandoned
/// wait must pass on (here: become the stored permit), or the consumer
/// would sleep forever.
#[test]
fn abandoned_waits_pass_notifications_on() {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Waker};

    let items = if cfg!(miri) { 100 } else { 20_000 };
    let notify = Arc::new(Notify::new());
    let produced = Arc::new(AtomicUsize::new(0));
    let consumer = {
        let (notify, produced) = (notify.clone(), produced.clone());
        thread::spawn(move || {
            let mut seen = 0;
            let mut rng = 0x1234_5678_u64;
            while seen < items {
                let now = produced.load(Ordering::SeqCst);
                if now == seen {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let mut notified = false;
                    if rng % 2 == 0 {
                        let mut abandoned = pin!(notify.notified());
                        notified = abandoned
                            .as_mut()
                            .poll(&mut Context::from_waker(Waker::noop()))
                            .is_ready();
                        // Dropped here: if it was chosen after this poll,
                        // the notification becomes the stored permit.
                    }
                    if !notified {
                        block_on(notify.notified());
                    }
                }
                seen = now;
            }
        })
    };
    for _ in 0..items {
        produced.fetch_add(1, Ordering::SeqCst);
        notify.notify_one();
    }
    consumer.join().unwrap();
}
