//! `#[goro::test]` and `#[goro::main]` run their bodies on a real runtime
//! (trybuild in tests/macros.rs only checks that the attributes expand).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[goro::test]
async fn current_thread_runs_spawned_tasks() {
    let seen = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for i in 0..100 {
        let seen = seen.clone();
        handles.push(goro::spawn(async move {
            seen.fetch_add(1, Ordering::Relaxed);
            i * 2
        }));
    }
    let mut sum = 0;
    for h in handles {
        sum += h.await.unwrap();
    }
    assert_eq!(seen.load(Ordering::Relaxed), 100);
    assert_eq!(sum, (0..100).map(|i| i * 2).sum::<i32>());
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_runs_on_worker_threads() {
    let main_thread = std::thread::current().id();
    // A task spawned from the test body runs on one of the two workers,
    // never on the thread that called block_on.
    let worker = goro::spawn(async { std::thread::current().id() })
        .await
        .unwrap();
    assert_ne!(worker, main_thread);
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn returns_result() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "42".parse()?;
    assert_eq!(n, 42);
    Ok(())
}

#[goro::test]
#[should_panic(expected = "the body's own panic")]
async fn should_panic_sees_the_body_panic() {
    goro::task::yield_now().await;
    panic!("the body's own panic");
}
