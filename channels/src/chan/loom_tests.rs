//! Loom models of the channel core (capacity 0 and 1), cancellation, close,
//! and the select commit across two rendezvous channels. Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p goro-channels --lib`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use loom::future::block_on;
use loom::thread;

use crate::chan::{self, SendError, TryRecvError};

#[test]
fn rendezvous_hands_the_value_over() {
    loom::model(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        let t = thread::spawn(move || block_on(tx.send(1)));
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(t.join().unwrap(), Ok(()));
    });
}

#[test]
fn capacity_one_keeps_order_and_closes() {
    loom::model(|| {
        let (tx, rx) = chan::bounded::<u32>(1);
        let t = thread::spawn(move || {
            block_on(tx.send(1)).unwrap();
            block_on(tx.send(2)).unwrap();
        });
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(block_on(rx.recv()), Some(2));
        assert_eq!(block_on(rx.recv()), None);
        t.join().unwrap();
    });
}

#[test]
fn cancelled_recv_never_takes_a_value() {
    loom::model(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        let t = thread::spawn(move || tx.try_send(7).is_ok());
        let first = {
            let mut recv = pin!(rx.recv());
            recv.as_mut().poll(&mut Context::from_waker(Waker::noop()))
        }; // dropped here, possibly after the value was handed to it
        let sent = t.join().unwrap();
        let later = rx.try_recv();
        // The value is in exactly one place if it was sent, nowhere if not.
        match (sent, first, later) {
            (true, Poll::Ready(Some(7)), Err(TryRecvError::Closed)) => {}
            (true, Poll::Pending, Ok(7)) => {}
            (false, Poll::Pending | Poll::Ready(None), Err(TryRecvError::Closed)) => {}
            other => panic!("value lost or duplicated: {other:?}"),
        }
    });
}

#[test]
fn close_fails_a_parked_rendezvous_send() {
    loom::model(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        let t = thread::spawn(move || block_on(tx.send(1)));
        assert!(rx.close());
        assert_eq!(t.join().unwrap(), Err(SendError(1)));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn select_commits_exactly_one_of_two_rendezvous_sends() {
    loom::model(|| {
        let (tx1, rx1) = chan::bounded::<u32>(0);
        let (tx2, rx2) = chan::bounded::<u32>(0);
        let t = thread::spawn(move || {
            block_on(async {
                crate::select! {
                    send(tx1, 1) -> r => { r.unwrap(); 1 }
                    send(tx2, 2) -> r => { r.unwrap(); 2 }
                }
            })
        });
        let got = block_on(async {
            crate::select! {
                recv(rx1) -> v => v.unwrap(),
                recv(rx2) -> v => v.unwrap(),
            }
        });
        assert_eq!(t.join().unwrap(), got);
        // Nothing else was delivered, and the senders are gone.
        assert_eq!(rx1.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(rx2.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn repoll_with_a_new_waker_races_the_commit() {
    // A single receive is claimed without a CAS (see `claim`); its owner
    // re-polling with another waker must either see the commit or leave a
    // waker the committer will use.
    loom::model(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        let t = thread::spawn(move || block_on(tx.send(4)));
        let mut recv = pin!(rx.recv());
        let first = recv.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        let got = match first {
            Poll::Ready(v) => v,
            // The second poll installs a real waker, then block_on waits.
            Poll::Pending => block_on(recv),
        };
        assert_eq!(got, Some(4));
        assert_eq!(t.join().unwrap(), Ok(()));
    });
}

#[test]
fn select_default_sees_a_send_that_happened_before() {
    // The select's first pass skips channels by a lock-free readiness hint
    // ("Readiness hint" in hchan.rs); a send that happens-before the select
    // must still be found, not reported as `default`.
    use loom::sync::atomic::{AtomicBool, Ordering};
    use loom::sync::Arc;
    loom::model(|| {
        let (tx, rx) = chan::bounded::<u32>(1);
        let sent = Arc::new(AtomicBool::new(false));
        let t = {
            let sent = sent.clone();
            thread::spawn(move || {
                tx.try_send(5).unwrap();
                sent.store(true, Ordering::Release);
                tx // keep the channel open
            })
        };
        if sent.load(Ordering::Acquire) {
            let got = crate::select_blocking! {
                recv(rx) -> v => v,
                default => None,
            };
            assert_eq!(got, Some(5));
        }
        drop(t.join().unwrap());
    });
}
