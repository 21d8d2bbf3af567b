//! MPMC stress: 8 producers x 8 consumers x 100,000 values, with random
//! cancellation of pending sends and receives (a future is polled once and
//! dropped), checked value by value, by count and by sum.
//!
//! Each value travels in a `Token` that raises its producer's flag if it is
//! dropped without being received. A producer whose cancelled send dropped
//! the token knows the value was not sent and sends it again; if the flag
//! stayed down, a receiver took the value before the drop and the send
//! stands. So every value must arrive exactly once.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread;

use futures::executor::block_on;
use goro_channels::chan;

const PRODUCERS: u64 = 8;
const CONSUMERS: usize = 8;
const PER_PRODUCER: u64 = 100_000;

struct Token {
    v: u64,
    /// Raised on drop unless a consumer disarmed it.
    dropped: Option<Arc<AtomicBool>>,
}

impl Drop for Token {
    fn drop(&mut self) {
        if let Some(flag) = self.dropped.take() {
            flag.store(true, Ordering::SeqCst);
        }
    }
}

struct Rng(u64);

impl Rng {
    fn one_in(&mut self, n: u64) -> bool {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n == 0
    }
}

fn poll_once<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

fn stress(cap: usize) {
    let (tx, rx) = chan::bounded::<Token>(cap);
    let seen: Arc<Vec<AtomicU8>> = Arc::new(
        (0..PRODUCERS * PER_PRODUCER)
            .map(|_| AtomicU8::new(0))
            .collect(),
    );
    let cancelled = Arc::new(AtomicU64::new(0));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (tx, cancelled) = (tx.clone(), cancelled.clone());
            thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9 + p);
                let flag = Arc::new(AtomicBool::new(false));
                for i in 0..PER_PRODUCER {
                    let v = p * PER_PRODUCER + i;
                    loop {
                        flag.store(false, Ordering::SeqCst);
                        let token = Token {
                            v,
                            dropped: Some(flag.clone()),
                        };
                        if rng.one_in(4) {
                            let mut send = Box::pin(tx.send(token));
                            if let Poll::Ready(r) = poll_once(send.as_mut()) {
                                assert!(r.is_ok());
                                break;
                            }
                            drop(send);
                            cancelled.fetch_add(1, Ordering::Relaxed);
                            if flag.load(Ordering::SeqCst) {
                                continue; // not sent: the token died with the future
                            }
                            break; // a receiver took it before the drop
                        }
                        assert!(block_on(tx.send(token)).is_ok());
                        break;
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|c| {
            let (rx, seen, cancelled) = (rx.clone(), seen.clone(), cancelled.clone());
            thread::spawn(move || {
                let mut rng = Rng(0x51_7CC1_B727 + c as u64);
                let (mut count, mut sum) = (0u64, 0u64);
                loop {
                    let got = if rng.one_in(4) {
                        let mut recv = Box::pin(rx.recv());
                        match poll_once(recv.as_mut()) {
                            Poll::Ready(got) => got,
                            Poll::Pending => {
                                cancelled.fetch_add(1, Ordering::Relaxed);
                                continue; // dropped: must not have taken a value
                            }
                        }
                    } else {
                        block_on(rx.recv())
                    };
                    let Some(mut token) = got else { break };
                    token.dropped = None; // received: disarm
                    let prev = seen[token.v as usize].fetch_add(1, Ordering::Relaxed);
                    assert_eq!(prev, 0, "value {} received twice", token.v);
                    count += 1;
                    sum += token.v;
                }
                (count, sum)
            })
        })
        .collect();
    drop(rx);
    for p in producers {
        p.join().unwrap();
    }
    let (count, sum) = consumers
        .into_iter()
        .map(|c| c.join().unwrap())
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let n = PRODUCERS * PER_PRODUCER;
    assert_eq!(count, n, "values lost");
    assert_eq!(sum, n * (n - 1) / 2);
    assert!(seen.iter().all(|s| s.load(Ordering::Relaxed) == 1));
    // The test exercised cancellation on both sides.
    assert!(cancelled.load(Ordering::Relaxed) > 0);
}

#[test]
fn mpmc_stress_rendezvous() {
    stress(0);
}

#[test]
fn mpmc_stress_capacity_1() {
    stress(1);
}

#[test]
fn mpmc_stress_capacity_64() {
    stress(64);
}
