//! Unit tests of the channel core (also run under Miri).

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

use crate::chan::{self, TryRecvError, TrySendError};

struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<Count>, Waker) {
    let c = Arc::new(Count(AtomicUsize::new(0)));
    (c.clone(), Waker::from(c))
}

#[test]
fn buffered_fifo_and_close_drains() {
    let (tx, rx) = chan::bounded(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
    assert_eq!(tx.len(), 2);
    assert!(tx.close());
    assert!(!rx.close(), "second close reports false");
    assert!(matches!(tx.try_send(4), Err(TrySendError::Closed(4))));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn rendezvous_try_send_needs_a_receiver() {
    let (tx, rx) = chan::bounded::<u8>(0);
    assert!(matches!(tx.try_send(1), Err(TrySendError::Full(1))));
    let (count, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut recv = pin!(rx.recv());
    assert_eq!(recv.as_mut().poll(&mut cx), Poll::Pending);
    tx.try_send(9).unwrap();
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert_eq!(recv.as_mut().poll(&mut cx), Poll::Ready(Some(9)));
}

#[test]
fn dropped_recv_gives_the_value_back() {
    let (tx, rx) = chan::bounded::<u8>(0);
    let (_count, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    {
        let mut recv = Box::pin(rx.recv());
        assert_eq!(recv.as_mut().poll(&mut cx), Poll::Pending);
        tx.try_send(5).unwrap(); // handed to the parked receive
    } // dropped before it saw the value
    assert_eq!(rx.try_recv(), Ok(5));
}

#[test]
fn dropped_send_did_not_send() {
    let (tx, rx) = chan::bounded::<u8>(0);
    let (_count, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    {
        let mut send = Box::pin(tx.send(3));
        assert!(send.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn close_fails_parked_sender_with_its_value() {
    let (tx, rx) = chan::bounded::<String>(0);
    let (count, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut send = pin!(tx.send("v".to_string()));
    assert!(send.as_mut().poll(&mut cx).is_pending());
    drop(rx); // last receiver: closes
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    match send.as_mut().poll(&mut cx) {
        Poll::Ready(Err(e)) => assert_eq!(e.0, "v"),
        other => panic!("expected a closed error, got {other:?}"),
    }
}

#[test]
fn threads_transfer_every_value_once() {
    let (tx, rx) = chan::bounded::<u64>(1);
    let n = if cfg!(miri) { 50 } else { 10_000 };
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..n {
                    tx.send_blocking(p * n + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || {
                let mut sum = 0;
                let mut count = 0;
                while let Some(v) = rx.recv_blocking() {
                    sum += v;
                    count += 1;
                }
                (sum, count)
            })
        })
        .collect();
    producers.into_iter().for_each(|p| p.join().unwrap());
    let (sum, count) = consumers
        .into_iter()
        .map(|c| c.join().unwrap())
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    assert_eq!(count, 2 * n);
    assert_eq!(sum, (0..2 * n).sum::<u64>());
}

#[test]
fn select_commits_exactly_one_rendezvous() {
    // Two parked senders on two rendezvous channels; one blocking select
    // receives from one of them, and the other sender stays parked.
    let (tx1, rx1) = chan::bounded::<u8>(0);
    let (tx2, rx2) = chan::bounded::<u8>(0);
    let t1 = thread::spawn(move || tx1.send_blocking(1));
    let t2 = thread::spawn(move || tx2.send_blocking(2));
    let got = crate::select_blocking! {
        recv(rx1) -> v => v.unwrap(),
        recv(rx2) -> v => v.unwrap(),
    };
    let other = if got == 1 {
        rx2.recv_blocking()
    } else {
        rx1.recv_blocking()
    };
    assert_eq!(other, Some(3 - got));
    t1.join().unwrap().unwrap();
    t2.join().unwrap().unwrap();
}

#[test]
fn select_send_and_recv_on_one_channel_does_not_match_itself() {
    let (tx, rx) = chan::bounded::<u8>(0);
    let got = crate::select_blocking! {
        send(tx, 1) -> _r => "send",
        recv(rx) -> _v => "recv",
        default => "default",
    };
    assert_eq!(got, "default");
    // And a parked select on both ends is completed by another thread.
    let tx2 = tx.clone();
    let t = thread::spawn(move || tx2.send_blocking(7));
    let got = crate::select_blocking! {
        send(tx, 1) -> _r => None,
        recv(rx) -> v => v,
    };
    // Either our recv took 7, or our send was taken... by nobody else: the
    // only other party is a sender, so the recv must win.
    assert_eq!(got, Some(7));
    t.join().unwrap().unwrap();
}
