//! The public API on other executors (futures' ThreadPool and LocalPool),
//! `Stream`/`Sink`, the blocking calls, the coop budget, and cancellation of
//! a committed select.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

use futures::executor::{block_on, LocalPool, ThreadPool};
use futures::task::{LocalSpawnExt, SpawnExt};
use futures::{SinkExt, StreamExt};
use goro_channels::chan::{self, Receiver, SendError, Sender, TryRecvError};
use goro_channels::select;

#[test]
fn handles_are_send_sync_clone() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Sender<Vec<u8>>>();
    check::<Receiver<Vec<u8>>>();
    fn send<T: Send>(_: &T) {}
    let (tx, rx) = chan::bounded::<u8>(1);
    send(&tx.send(1));
    send(&rx.recv());
}

#[test]
fn ping_pong_on_futures_thread_pool() {
    let pool = ThreadPool::builder().pool_size(2).create().unwrap();
    for cap in [0, 1] {
        let (atx, arx) = chan::bounded::<u32>(cap);
        let (btx, brx) = chan::bounded::<u32>(cap);
        pool.spawn(async move {
            while let Some(v) = arx.recv().await {
                btx.send(v + 1).await.unwrap();
            }
        })
        .unwrap();
        let done = pool
            .spawn_with_handle(async move {
                for i in 0..10_000 {
                    atx.send(i).await.unwrap();
                    assert_eq!(brx.recv().await, Some(i + 1));
                }
                atx.close()
            })
            .unwrap();
        assert!(block_on(done));
    }
}

#[test]
fn select_on_a_local_pool() {
    let mut pool = LocalPool::new();
    let (tx1, rx1) = chan::bounded::<u32>(0);
    let (tx2, rx2) = chan::bounded::<u32>(0);
    let spawner = pool.spawner();
    spawner
        .spawn_local(async move {
            for i in 0..100 {
                if i % 2 == 0 {
                    tx1.send(i).await.unwrap();
                } else {
                    tx2.send(i).await.unwrap();
                }
            }
        })
        .unwrap();
    let got = pool.run_until(async move {
        let mut got = Vec::new();
        loop {
            let v = select! {
                recv(rx1) -> v => v,
                recv(rx2) -> v => v,
            };
            match v {
                Some(v) => got.push(v),
                None => break got,
            }
        }
    });
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

#[test]
fn stream_and_sink() {
    let (tx, rx) = chan::bounded::<u32>(2);
    let pool = ThreadPool::builder().pool_size(2).create().unwrap();
    let sender = pool
        .spawn_with_handle(async move {
            let mut tx = tx;
            let mut values = futures::stream::iter(0..500).map(Ok);
            tx.send_all(&mut values).await.unwrap();
            SinkExt::close(&mut tx).await.unwrap(); // closes the channel
        })
        .unwrap();
    let got: Vec<u32> = block_on(rx.collect());
    block_on(sender);
    assert_eq!(got, (0..500).collect::<Vec<_>>());

    // A Sink on a closed channel gives the value back.
    let (mut tx, rx) = chan::bounded::<u32>(1);
    drop(rx);
    let err = block_on(SinkExt::send(&mut tx, 5)).unwrap_err();
    assert_eq!(err, SendError(5));
}

#[test]
fn blocking_calls() {
    let (tx, rx) = chan::unbounded::<String>();
    assert_eq!(tx.capacity(), None);
    let t = thread::spawn(move || {
        for i in 0..100 {
            tx.send_blocking(i.to_string()).unwrap();
        }
    });
    for i in 0..100 {
        assert_eq!(rx.recv_blocking(), Some(i.to_string()));
    }
    t.join().unwrap();
    assert_eq!(rx.recv_blocking(), None);

    let (tx, rx) = chan::bounded::<u8>(3);
    assert_eq!(rx.capacity(), Some(3));
    assert!(rx.is_empty());
    tx.send_blocking(1).unwrap();
    assert_eq!(rx.len(), 1);
    assert!(rx.close(), "a receiver can close too");
    assert!(tx.is_closed());
    assert_eq!(tx.send_blocking(2), Err(SendError(2)));
    assert_eq!(rx.recv_blocking(), Some(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn never_is_never_ready() {
    let rx = chan::never::<u8>();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(!rx.close());
    let mut recv = pin!(rx.recv());
    assert!(recv
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_pending());
}

struct CountWake(AtomicUsize);

impl Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Under a coop budget, a task draining an always-ready channel yields
/// after spending the budget (and wakes itself to be polled again).
#[test]
fn coop_budget_makes_a_draining_task_yield() {
    let (tx, rx) = chan::unbounded::<u32>();
    for i in 0..1000 {
        tx.try_send(i).unwrap();
    }
    let received = AtomicUsize::new(0);
    let mut drain = pin!(async {
        while rx.recv().await.is_some() {
            received.fetch_add(1, Ordering::SeqCst);
        }
    });
    let wakes = Arc::new(CountWake(AtomicUsize::new(0)));
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    let r = goro_coop::with_budget(|| drain.as_mut().poll(&mut cx));
    assert!(r.is_pending());
    assert_eq!(
        received.load(Ordering::SeqCst),
        goro_coop::INITIAL_BUDGET as usize
    );
    assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "the task woke itself");
    // Outside a budget nothing is constrained.
    drop(tx);
    assert!(drain.as_mut().poll(&mut cx).is_ready());
    assert_eq!(received.load(Ordering::SeqCst), 1000);
}

/// A select that was committed (a value handed to its recv arm) but is
/// dropped before it saw the result gives the value back to the channel.
#[test]
fn dropped_committed_select_returns_the_value() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let (_tx2, rx2) = chan::bounded::<u32>(0);
    {
        let mut sel = Box::pin(async {
            select! {
                recv(rx) -> v => v,
                recv(rx2) -> v => v,
            }
        });
        let mut cx = Context::from_waker(Waker::noop());
        assert!(sel.as_mut().poll(&mut cx).is_pending());
        tx.try_send(42).unwrap(); // handed to the parked select
    }
    assert_eq!(rx.try_recv(), Ok(42));
}

/// A pending send arm that was not chosen never delivers its value.
#[test]
fn unchosen_send_arm_does_not_deliver() {
    let (tx1, rx1) = chan::bounded::<u32>(0);
    let (tx2, rx2) = chan::bounded::<u32>(1);
    tx2.try_send(0).unwrap(); // full
    let r = block_on(async {
        let mut cx_polls = 0;
        let sel = async {
            select! {
                send(tx1, 1) -> r => r.map(|_| "tx1"),
                send(tx2, 2) -> r => r.map(|_| "tx2"),
            }
        };
        let mut sel = pin!(sel);
        futures::future::poll_fn(|cx| {
            cx_polls += 1;
            if cx_polls == 1 {
                assert!(sel.as_mut().poll(cx).is_pending());
                // Make room in tx2: the select's send there completes.
                assert_eq!(rx2.try_recv(), Ok(0));
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            sel.as_mut().poll(cx)
        })
        .await
    });
    assert_eq!(r, Ok("tx2"));
    assert_eq!(rx2.try_recv(), Ok(2));
    assert_eq!(rx1.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn sender_closed_resolves_when_the_last_receiver_goes() {
    let (tx, rx) = goro_channels::chan::bounded::<u8>(1);
    let rx2 = rx.clone();
    let mut closed = std::pin::pin!(tx.closed());
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    assert!(closed.as_mut().poll(&mut cx).is_pending());
    drop(rx);
    assert!(closed.as_mut().poll(&mut cx).is_pending());
    let t = std::thread::spawn(move || drop(rx2));
    futures::executor::block_on(closed);
    t.join().unwrap();
    // Resolves at once on a closed channel, and on an explicit close.
    futures::executor::block_on(tx.closed());
    let (tx, _rx) = goro_channels::chan::unbounded::<u8>();
    tx.close();
    futures::executor::block_on(tx.closed());
}
