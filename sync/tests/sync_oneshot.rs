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
