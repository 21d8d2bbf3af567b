//! Task hooks and the unhandled-panic policy.

use goro_executor::runtime::{Builder, UnhandledPanic};
use goro_executor::task::Id;
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs `f` on a thread and fails (instead of hanging) if it does not
/// finish within a generous bound.
fn within<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what}: no progress in 60 s"))
}

#[derive(Default)]
struct Seen {
    spawned: Mutex<Vec<(Id, u32)>>,
    terminated: Mutex<HashSet<Id>>,
    before: AtomicUsize,
    after: AtomicUsize,
}

fn hooked(mut b: Builder, seen: &Arc<Seen>) -> goro_executor::runtime::Runtime {
    let (s1, s2, s3, s4) = (seen.clone(), seen.clone(), seen.clone(), seen.clone());
    b.on_task_spawn(move |m| {
        assert_eq!(m.spawned_at().file(), file!());
        assert_eq!(m.name(), None);
        s1.spawned
            .lock()
            .unwrap()
            .push((m.id(), m.spawned_at().line()));
    })
    .on_task_terminate(move |m| {
        assert!(
            s2.terminated.lock().unwrap().insert(m.id()),
            "terminated twice"
        );
    })
    .on_before_task_poll(move |_| {
        s3.before.fetch_add(1, SeqCst);
    })
    .on_after_task_poll(move |_| {
        s4.after.fetch_add(1, SeqCst);
    });
    b.build().unwrap()
}

fn hooks_see_every_task(b: Builder) {
    let seen = Arc::new(Seen::default());
    let rt = hooked(b, &seen);
    let ids = rt.block_on(async {
        let mut ids = Vec::new();
        for i in 0..50u32 {
            let h = goro_executor::spawn(async move {
                goro_executor::task::yield_now().await;
                i
            });
            ids.push(h.id());
            assert_eq!(h.await.unwrap(), i);
        }
        let b = goro_executor::task::spawn_blocking(|| 7);
        ids.push(b.id());
        assert_eq!(b.await.unwrap(), 7);
        ids
    });
    drop(rt); // every task has terminated once the runtime is gone
    let spawned = seen.spawned.lock().unwrap();
    assert_eq!(spawned.iter().map(|s| s.0).collect::<Vec<_>>(), ids);
    let terminated = seen.terminated.lock().unwrap();
    assert_eq!(terminated.len(), ids.len());
    assert!(ids.iter().all(|id| terminated.contains(id)));
    // Two polls per task (the yield), none for the blocking job.
    assert!(
        seen.before.load(SeqCst) >= 100,
        "{}",
        seen.before.load(SeqCst)
    );
    assert_eq!(seen.before.load(SeqCst), seen.after.load(SeqCst));
}

#[test]
fn hooks_see_every_task_multi_thread() {
    let mut b = Builder::new_multi_thread();
    b.worker_threads(2);
    hooks_see_every_task(b);
}

#[test]
fn hooks_see_every_task_current_thread() {
    hooks_see_every_task(Builder::new_current_thread());
}

fn shutdown_on_panic(mut b: Builder) {
    let rt = b
        .unhandled_panic(UnhandledPanic::ShutdownRuntime)
        .build()
        .unwrap();
    let ran_after = Arc::new(AtomicUsize::new(0));
    let r = ran_after.clone();
    let out = std::panic::catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async move {
            goro_executor::spawn(async { panic!("boom") });
            // Never completes on its own: only the panic policy ends it.
            std::future::pending::<()>().await;
            r.fetch_add(1, SeqCst);
        })
    }));
    let payload = out.expect_err("block_on must panic");
    let msg = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(msg.contains("UnhandledPanic::ShutdownRuntime"), "{msg}");
    // Later block_on calls panic too.
    let again = std::panic::catch_unwind(AssertUnwindSafe(|| rt.block_on(async {})));
    assert!(again.is_err());
    assert_eq!(ran_after.load(SeqCst), 0);
    drop(rt);
}

#[test]
fn shutdown_runtime_on_panic_multi_thread() {
    within("multi-thread", || {
        let mut b = Builder::new_multi_thread();
        b.worker_threads(2);
        shutdown_on_panic(b);
    });
}

#[test]
fn shutdown_runtime_on_panic_current_thread() {
    within("current-thread", || {
        shutdown_on_panic(Builder::new_current_thread())
    });
}

#[test]
fn ignore_reports_through_the_join_handle_and_goes_on() {
    for mut b in [Builder::new_current_thread(), Builder::new_multi_thread()] {
        let rt = b.unhandled_panic(UnhandledPanic::Ignore).build().unwrap();
        rt.block_on(async {
            let err = goro_executor::spawn(async { panic!("boom") })
                .await
                .unwrap_err();
            assert!(err.is_panic());
            assert_eq!(goro_executor::spawn(async { 5 }).await.unwrap(), 5);
        });
    }
}
