//! Spawn, block_on and JoinHandle on both flavors.

use goro_executor::runtime::{Builder, Runtime};
use goro_executor::task::{self, JoinError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn flavors() -> Vec<Runtime> {
    vec![
        Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
        Builder::new_current_thread().build().unwrap(),
    ]
}

#[test]
fn spawn_and_join() {
    for rt in flavors() {
        let out = rt.block_on(async {
            let h = goro_executor::spawn(async { 40 + 2 });
            h.await.unwrap()
        });
        assert_eq!(out, 42);
    }
}

#[test]
fn spawn_from_outside_and_join_many() {
    for rt in flavors() {
        let counter = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..1000)
            .map(|i| {
                let c = counter.clone();
                rt.spawn(async move {
                    task::yield_now().await;
                    c.fetch_add(1, Ordering::Relaxed);
                    i
                })
            })
            .collect();
        let sum = rt.block_on(async move {
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, (0..1000).sum::<usize>());
        assert_eq!(counter.load(Ordering::Relaxed), 1000);
    }
}

#[test]
fn panic_is_reported_and_worker_survives() {
    for rt in flavors() {
        rt.block_on(async {
            let err: JoinError = goro_executor::spawn(async { panic!("boom") })
                .await
                .unwrap_err();
            assert!(err.is_panic());
            assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
            assert_eq!(goro_executor::spawn(async { 7 }).await.unwrap(), 7);
        });
    }
}
