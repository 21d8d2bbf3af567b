//! goro::sync::OnceCell across threads: the initialiser runs once.

#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use futures::executor::block_on;
use goro_sync::OnceCell;

#[test]
fn initialiser_runs_exactly_once() {
    for _ in 0..if cfg!(miri) { 3 } else { 50 } {
        let cell = Arc::new(OnceCell::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (cell, runs) = (cell.clone(), runs.clone());
                thread::spawn(move || {
                    *block_on(cell.get_or_init(|| async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        t
                    }))
                })
            })
            .collect();
        let values: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(values.iter().all(|v| *v == values[0]), "{values:?}");
        assert_eq!(cell.get(), Some(&values[0]));
    }
}

#[test]
fn failed_initialisers_retry_until_one_succeeds() {
    let cell = Arc::new(OnceCell::new());
    let attempts = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (cell, attempts) = (cell.clone(), attempts.clone());
            thread::spawn(move || {
                loop {
                    let r = block_on(cell.get_or_try_init(|| async {
                        // The first two attempts fail.
                        match attempts.fetch_add(1, Ordering::SeqCst) {
                            0 | 1 => Err("flaky"),
                            n => Ok(n),
                        }
                    }));
                    if let Ok(v) = r {
                        return *v;
                    }
                }
            })
        })
        .collect();
    let values: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(values.iter().all(|v| *v == 2), "{values:?}");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
}

static GREETING: OnceCell<String> = OnceCell::const_new();

#[test]
fn usable_in_a_static() {
    let handles: Vec<_> = (0..3)
        .map(|i| {
            thread::spawn(move || {
                block_on(GREETING.get_or_init(|| async move { format!("hello {i}") })).len()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), "hello 0".len());
    }
    assert!(GREETING.get().unwrap().starts_with("hello "));
}
