//! The behaviours Go's own channel tests (runtime/chan_test.go,
//! runtime/select_test.go) check, rewritten for goro's channels.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Waker};
use std::thread;

use futures::executor::block_on;
use goro_channels::chan::{self, SendError, TryRecvError, TrySendError};
use goro_channels::{select, select_blocking};

fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// Go's TestChan: for each capacity, receives block on an empty channel,
/// sends block on a full one, values come out in order, and a closed
/// channel drains its buffer and then reports closed.
#[test]
fn blocking_fifo_and_close_for_each_capacity() {
    for cap in [0usize, 1, 2, 10] {
        let (tx, rx) = chan::bounded::<usize>(cap);
        // A receive on an empty channel does not complete.
        assert!(poll_once(pin!(rx.recv())).is_pending(), "cap {cap}");
        // Fill the buffer; the next send does not complete.
        for i in 0..cap {
            tx.try_send(i).unwrap();
        }
        assert_eq!(tx.len(), cap);
        assert!(poll_once(pin!(tx.send(99))).is_pending(), "cap {cap}");
        // FIFO, also through the hand-off from parked senders.
        let sender = {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in cap..cap + 100 {
                    tx.send_blocking(i).unwrap();
                }
            })
        };
        for i in 0..cap + 100 {
            assert_eq!(rx.recv_blocking(), Some(i), "cap {cap}");
        }
        sender.join().unwrap();
        // Close with values buffered: they drain, then None.
        for i in 0..cap {
            tx.try_send(i).unwrap();
        }
        assert!(tx.close());
        assert!(!tx.close());
        assert!(tx.is_closed() && rx.is_closed());
        for i in 0..cap {
            assert_eq!(rx.recv_blocking(), Some(i));
        }
        assert_eq!(rx.recv_blocking(), None);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(tx.send_blocking(5), Err(SendError(5)));
    }
}

/// On an unbuffered channel a send completes only after a receiver took
/// the value (Go's TestChanSendBarrier idea, with a flag instead of timing).
#[test]
fn rendezvous_send_waits_for_the_receiver() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let sent = Arc::new(AtomicUsize::new(0));
    let t = {
        let sent = sent.clone();
        thread::spawn(move || {
            for i in 0..1000 {
                tx.send_blocking(i).unwrap();
                sent.store(i as usize + 1, Ordering::SeqCst);
            }
        })
    };
    for i in 0..1000u32 {
        // The sender cannot be more than one completed send ahead of us.
        assert!(sent.load(Ordering::SeqCst) <= i as usize);
        assert_eq!(rx.recv_blocking(), Some(i));
    }
    t.join().unwrap();
}

/// Closing wakes every parked receiver with `None` and fails every parked
/// sender with its own value.
#[test]
fn close_while_senders_and_receivers_wait() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let start = Arc::new(Barrier::new(5));
    let receivers: Vec<_> = (0..4)
        .map(|_| {
            let (rx, start) = (rx.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                rx.recv_blocking()
            })
        })
        .collect();
    start.wait();
    // Most of them are parked by now; the result is the same either way.
    assert!(rx.close());
    for r in receivers {
        assert_eq!(r.join().unwrap(), None);
    }

    let (tx2, rx2) = chan::bounded::<u32>(1);
    tx2.try_send(0).unwrap();
    let senders: Vec<_> = (1..=4)
        .map(|i| {
            let tx2 = tx2.clone();
            thread::spawn(move || tx2.send_blocking(i))
        })
        .collect();
    assert!(tx2.close());
    let mut failed: Vec<u32> = senders
        .into_iter()
        .map(|s| s.join().unwrap().unwrap_err().0)
        .collect();
    failed.sort();
    assert_eq!(failed, vec![1, 2, 3, 4]);
    assert_eq!(
        rx2.recv_blocking(),
        Some(0),
        "the buffered value survives close"
    );
    assert_eq!(rx2.recv_blocking(), None);
    drop(tx);
}

/// Go's TestMultiConsumer: one producer, several consumers, nothing lost.
#[test]
fn multi_consumer() {
    for cap in [0, 1, 16] {
        let (tx, rx) = chan::bounded::<u64>(cap);
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || {
                    let (mut n, mut s) = (0u64, 0u64);
                    while let Some(v) = rx.recv_blocking() {
                        n += 1;
                        s += v;
                    }
                    (n, s)
                })
            })
            .collect();
        drop(rx);
        for v in 0..20_000 {
            tx.send_blocking(v).unwrap();
        }
        drop(tx);
        let (n, s) = workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        assert_eq!(n, 20_000);
        assert_eq!(s, (0..20_000).sum::<u64>());
    }
}

/// Go's TestSelectFairness: with four ready channels, each is chosen about
/// a quarter of the time. Chi-square with 3 degrees of freedom; 30.66 is
/// the p = 1e-6 critical value, so an unbiased select fails this test once
/// in a million runs. The test keeps its power at this N: a select that
/// picks one arm 26% of the time instead of 25% fails it in about 19 runs
/// out of 20, and one that picks it 27% of the time fails it always.
#[test]
fn select_fairness_chi_square() {
    const N: usize = 100_000;
    let chans: Vec<_> = (0..4).map(|_| chan::bounded::<usize>(1)).collect();
    for (tx, _) in &chans {
        tx.try_send(0).unwrap();
    }
    let mut counts = [0usize; 4];
    for _ in 0..N {
        let i = select_blocking! {
            recv(chans[0].1) -> _v => 0,
            recv(chans[1].1) -> _v => 1,
            recv(chans[2].1) -> _v => 2,
            recv(chans[3].1) -> _v => 3,
        };
        counts[i] += 1;
        chans[i].0.try_send(0).unwrap();
    }
    let expected = N as f64 / 4.0;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    assert!(
        chi2 < 30.66,
        "unfair select: counts {counts:?}, chi-square {chi2}"
    );
}

/// A select with `default` runs the default when nothing is ready, and
/// never when something is.
#[test]
fn select_with_default() {
    let (tx, rx) = chan::bounded::<u8>(1);
    let (tx0, _rx0) = chan::bounded::<u8>(0);
    let r = select_blocking! {
        recv(rx) -> _v => "recv",
        send(tx0, 1) -> _r => "send",
        default => "default",
    };
    assert_eq!(r, "default");
    assert!(matches!(tx0.try_send(2), Err(TrySendError::Full(2))));
    tx.try_send(7).unwrap();
    let r = select_blocking! {
        recv(rx) -> v => v,
        default => None,
    };
    assert_eq!(r, Some(7));
    // A nil (never) channel alone with a default: the default.
    let r = select_blocking! {
        recv(chan::never::<u8>()) -> _v => false,
        default => true,
    };
    assert!(r);
}

/// Go's TestSelfSelect: two threads each select over a send and a receive
/// on the same channel. On an unbuffered channel a select never matches
/// itself, so every received value came from the other thread.
#[test]
fn select_send_and_recv_on_the_same_channel() {
    for cap in [0usize, 1] {
        let (tx, rx) = chan::bounded::<usize>(cap);
        let threads: Vec<_> = (0..2usize)
            .map(|p| {
                let (tx, rx) = (tx.clone(), rx.clone());
                thread::spawn(move || {
                    for _ in 0..2_000 {
                        select_blocking! {
                            send(tx, p) -> r => r.unwrap(),
                            recv(rx) -> v => {
                                let v = v.unwrap();
                                if cap == 0 {
                                    assert_ne!(v, p, "a select received its own value");
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}

/// Go's TestSelectDuplicateChannel: the same channel in two arms.
#[test]
fn select_duplicate_channel() {
    let (tx, rx) = chan::bounded::<u8>(0);
    let t = thread::spawn(move || tx.send_blocking(3).unwrap());
    let v = select_blocking! {
        recv(rx) -> v => v,
        recv(rx) -> v => v,
    };
    assert_eq!(v, Some(3));
    t.join().unwrap();
}

/// A recv arm on a closed channel is ready with `None`; a disabled arm is
/// never chosen even when it is the only other arm.
#[test]
fn select_closed_and_never() {
    let (tx, rx) = chan::bounded::<u8>(0);
    drop(tx);
    for _ in 0..100 {
        let v = select_blocking! {
            recv(chan::never::<u8>()) -> _v => unreachable!("a never arm was chosen"),
            recv(rx) -> v => v,
        };
        assert_eq!(v, None);
    }
    let (tx, rx) = chan::bounded::<u8>(0);
    drop(rx);
    let r = select_blocking! { send(tx, 9) -> r => r };
    assert_eq!(r, Err(SendError(9)));
}

/// Exactly one operation of a select takes effect, also across rendezvous
/// channels: two selects, each offering a send on two unbuffered channels,
/// against two receivers; every value arrives once, and each select's
/// unchosen value is not delivered.
#[test]
fn select_commits_one_send_across_rendezvous_channels() {
    for _ in 0..200 {
        let (tx1, rx1) = chan::bounded::<u32>(0);
        let (tx2, rx2) = chan::bounded::<u32>(0);
        let senders: Vec<_> = [10u32, 20]
            .into_iter()
            .map(|base| {
                let (tx1, tx2) = (tx1.clone(), tx2.clone());
                thread::spawn(move || {
                    select_blocking! {
                        send(tx1, base + 1) -> r => { r.unwrap(); base + 1 }
                        send(tx2, base + 2) -> r => { r.unwrap(); base + 2 }
                    }
                })
            })
            .collect();
        drop((tx1, tx2));
        let mut got = Vec::new();
        for _ in 0..2 {
            got.push(select_blocking! {
                recv(rx1) -> v => v.unwrap(),
                recv(rx2) -> v => v.unwrap(),
            });
        }
        let mut sent: Vec<u32> = senders.into_iter().map(|s| s.join().unwrap()).collect();
        got.sort();
        sent.sort();
        assert_eq!(got, sent);
        // The senders are gone and nothing else was delivered.
        assert_eq!(rx1.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(rx2.try_recv(), Err(TryRecvError::Closed));
    }
}

/// Go's TestSelectStress: many selects sending and receiving across four
/// channels of different capacities; every value is received exactly once.
#[test]
fn select_stress() {
    const N: u64 = 5_000;
    let caps = [0usize, 0, 1, 8];
    let chans: Vec<_> = caps.iter().map(|&c| chan::bounded::<u64>(c)).collect();
    let txs: Vec<_> = chans.iter().map(|c| c.0.clone()).collect();
    let rxs: Vec<_> = chans.iter().map(|c| c.1.clone()).collect();
    drop(chans);
    let senders: Vec<_> = (0..2)
        .map(|k| {
            let txs = txs.clone();
            thread::spawn(move || {
                for i in 0..N {
                    let v = k * N + i;
                    select_blocking! {
                        send(txs[0], v) -> r => r.unwrap(),
                        send(txs[1], v) -> r => r.unwrap(),
                        send(txs[2], v) -> r => r.unwrap(),
                        send(txs[3], v) -> r => r.unwrap(),
                    }
                }
            })
        })
        .collect();
    drop(txs);
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let rxs = rxs.clone();
            thread::spawn(move || {
                let mut seen = Vec::new();
                let mut open = [true; 4];
                while open.iter().any(|&o| o) {
                    let (i, v) = select_blocking! {
                        recv(if open[0] { rxs[0].clone() } else { chan::never() }) -> v => (0, v),
                        recv(if open[1] { rxs[1].clone() } else { chan::never() }) -> v => (1, v),
                        recv(if open[2] { rxs[2].clone() } else { chan::never() }) -> v => (2, v),
                        recv(if open[3] { rxs[3].clone() } else { chan::never() }) -> v => (3, v),
                    };
                    match v {
                        Some(v) => seen.push(v),
                        None => open[i] = false,
                    }
                }
                seen
            })
        })
        .collect();
    drop(rxs);
    senders.into_iter().for_each(|s| s.join().unwrap());
    let mut all: Vec<u64> = receivers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    all.sort();
    assert_eq!(all, (0..2 * N).collect::<Vec<_>>());
}

/// Go's TestNonblockRecvRace: a channel holding a value is never reported
/// empty, even while another thread closes it.
#[test]
fn nonblocking_recv_on_a_ready_channel_never_misses() {
    for _ in 0..2_000 {
        let (tx, rx) = chan::bounded::<u8>(1);
        tx.try_send(1).unwrap();
        let closer = thread::spawn(move || tx.close());
        let got = select_blocking! {
            recv(rx) -> v => v,
            default => panic!("a ready channel was reported empty"),
        };
        assert_eq!(got, Some(1));
        assert!(closer.join().unwrap());
    }
}

/// Async select with a future arm: the future wins only when no channel
/// operation took effect.
#[test]
fn select_future_arm() {
    let (tx, rx) = chan::bounded::<u8>(0);
    let r = block_on(async {
        select! {
            recv(rx) -> v => v.map(|_| "recv"),
            _u = std::future::ready(()) => Some("future"),
        }
    });
    assert_eq!(r, Some("future"));
    // The channel was not touched: a parked sender is still parked.
    let woke = Arc::new(AtomicBool::new(false));
    let t = {
        let woke = woke.clone();
        thread::spawn(move || {
            tx.send_blocking(1).unwrap();
            woke.store(true, Ordering::SeqCst);
        })
    };
    let r = block_on(async {
        select! {
            recv(rx) -> v => v,
            _ = std::future::pending::<()>() => None,
        }
    });
    assert_eq!(r, Some(1));
    t.join().unwrap();
    assert!(woke.load(Ordering::SeqCst));
}
