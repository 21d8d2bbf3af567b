//! `goro::task_local!` on the goro runtime.

use goro::task::AccessError;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

goro::task_local! {
    static NAME: String;
    /// A number.
    pub static NUM: u32;
}

#[test]
fn outside_any_scope_is_an_access_error() {
    let err: AccessError = NUM.try_with(|n| *n).unwrap_err();
    assert!(err.to_string().contains("not set"), "{err}");
    assert!(NAME.try_with(|_| ()).is_err());
}

#[test]
#[should_panic(expected = "task-local value not set")]
fn with_outside_a_scope_panics_saying_so() {
    NUM.with(|_| ());
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_value_follows_each_task_across_polls_and_workers() {
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let mut set = goro::task::JoinSet::new();
    for i in 0..32u32 {
        let threads = threads.clone();
        set.spawn(NUM.scope(i, async move {
            for _ in 0..200 {
                assert_eq!(NUM.get(), i);
                threads.lock().unwrap().insert(std::thread::current().id());
                goro::task::yield_now().await;
            }
            NUM.get()
        }));
    }
    let mut seen = HashSet::new();
    while let Some(res) = set.join_next().await {
        assert!(seen.insert(res.unwrap()));
    }
    assert_eq!(seen.len(), 32);
    // Not asserted (scheduling decides), shown for the reader.
    eprintln!("polled on {} threads", threads.lock().unwrap().len());
    assert!(NUM.try_with(|_| ()).is_err());
}

#[goro::test]
async fn nested_scopes_shadow_and_restore() {
    NAME.scope("outer".to_string(), async {
        assert_eq!(NAME.get(), "outer");
        NAME.scope("inner".to_string(), async {
            assert_eq!(NAME.get(), "inner");
            goro::task::yield_now().await;
            assert_eq!(NAME.get(), "inner");
        })
        .await;
        assert_eq!(NAME.get(), "outer");
        NAME.with(|n| assert_eq!(n.len(), 5));
    })
    .await;
    assert!(NAME.try_with(|_| ()).is_err());
}

#[goro::test]
async fn a_spawned_task_does_not_inherit_the_value() {
    NUM.scope(1, async {
        let inner = goro::spawn(async { NUM.try_with(|n| *n) }).await.unwrap();
        assert!(inner.is_err());
        let passed = goro::spawn(NUM.scope(NUM.get() + 1, async { NUM.get() }))
            .await
            .unwrap();
        assert_eq!(passed, 2);
    })
    .await;
}

#[test]
fn sync_scope_and_panics_restore_the_outer_value() {
    NUM.sync_scope(10, || {
        let r = std::panic::catch_unwind(|| {
            NUM.sync_scope(20, || {
                assert_eq!(NUM.get(), 20);
                panic!("inside");
            })
        });
        assert!(r.is_err());
        assert_eq!(NUM.get(), 10);
    });
    assert!(NUM.try_with(|_| ()).is_err());
}

#[test]
fn the_inner_future_is_dropped_inside_the_scope() {
    struct ReadsOnDrop(Arc<Mutex<Option<u32>>>);
    impl Drop for ReadsOnDrop {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = NUM.try_with(|n| *n).ok();
        }
    }
    let seen = Arc::new(Mutex::new(None));
    let guard = ReadsOnDrop(seen.clone());
    let fut = NUM.scope(5, async move {
        let _guard = guard;
        std::future::pending::<()>().await
    });
    drop(fut);
    assert_eq!(*seen.lock().unwrap(), Some(5));
}

#[test]
#[should_panic(expected = "inside `with` of the same key")]
fn entering_a_scope_inside_with_panics_saying_so() {
    NUM.sync_scope(1, || NUM.with(|_| NUM.sync_scope(2, || ())));
}
