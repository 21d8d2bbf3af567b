//! goro::sync::oneshot across threads and with futures' combinators.

#![cfg(not(loom))]

use std::thread;

use futures::executor::block_on;
use futures::future::{select, Either};
use goro_sync::oneshot;

#[test]
fn value_crosses_threads() {
    for i in 0..if cfg!(miri) { 10 } else { 200 } {
        let (tx, rx) = oneshot::channel();
        let t = thread::spawn(move || tx.send(i).unwrap());
        let got = if i % 2 == 0 {
            block_on(rx)
        } else {
            rx.blocking_recv()
        };
        assert_eq!(got, Ok(i));
        t.join().unwrap();
    }
}

#[test]
fn losing_select_arm_does_not_lose_the_value() {
    let (tx_a, mut rx_a) = oneshot::channel::<u32>();
    let (tx_b, mut rx_b) = oneshot::channel::<u32>();
    tx_b.send(2).unwrap();
    let winner = block_on(async {
        match select(&mut rx_a, &mut rx_b).await {
            Either::Left((v, _)) => ('a', v.unwrap()),
            Either::Right((v, _)) => ('b', v.unwrap()),
        }
    });
    assert_eq!(winner, ('b', 2));
    tx_a.send(1).unwrap();
    assert_eq!(block_on(rx_a), Ok(1));
}

#[test]
fn sender_learns_receiver_left() {
    let (mut tx, rx) = oneshot::channel::<()>();
    let t = thread::spawn(move || drop(rx));
    block_on(tx.closed());
    assert!(tx.is_closed());
    assert_eq!(tx.send(()), Err(()));
    t.join().unwrap();
}

/// A receiver parked by one foreign executor and then by another: the
/// first executor's waker (boxed in the channel) is replaced, and the
/// send wakes the second one (a stale first waker would leave the second
/// thread parked forever).
#[test]
fn foreign_waker_replaced_then_woken() {
    use std::future::{poll_fn, Future};
    use std::pin::Pin;
    use std::task::Poll;

    let (tx, mut rx) = oneshot::channel::<u32>();
    // Parked once by this thread's block_on...
    block_on(poll_fn(|cx| {
        assert!(Pin::new(&mut rx).poll(cx).is_pending());
        Poll::Ready(())
    }));
    // ...then by another thread's, which is left waiting.
    let (parked_tx, parked_rx) = std::sync::mpsc::channel();
    let t = thread::spawn(move || {
        let mut told = false;
        block_on(poll_fn(|cx| {
            let poll = Pin::new(&mut rx).poll(cx);
            if poll.is_pending() && !told {
                told = true;
                parked_tx.send(()).unwrap();
            }
            poll
        }))
    });
    parked_rx.recv().unwrap();
    tx.send(5).unwrap();
    assert_eq!(t.join().unwrap(), Ok(5));
}
