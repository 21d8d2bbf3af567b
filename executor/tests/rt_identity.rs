//! Task identity: `task::id`, `task::try_id`, `task::Builder`.

use goro_executor::runtime::Builder;
use goro_executor::task;

#[test]
fn id_inside_a_task_is_its_handles_id() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        assert_eq!(task::try_id(), None, "block_on's own future is not a task");
        let h = goro_executor::spawn(async { task::id() });
        let expected = h.id();
        assert_eq!(h.await.unwrap(), expected);
        let b = task::spawn_blocking(task::id);
        let expected = b.id();
        assert_eq!(b.await.unwrap(), expected);
    });
    assert_eq!(task::try_id(), None);
}

#[test]
fn builder_spawns_named_tasks_and_blocking_jobs() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let h = task::Builder::new()
            .name("acceptor")
            .spawn(async { 1 + 1 })
            .unwrap();
        assert_eq!(h.await.unwrap(), 2);
        let b = task::Builder::new()
            .name("hasher")
            .spawn_blocking(|| 3)
            .unwrap();
        assert_eq!(b.await.unwrap(), 3);
    });
}

#[test]
fn builder_outside_a_runtime_is_an_error_not_a_panic() {
    let err = task::Builder::new().name("x").spawn(async {}).unwrap_err();
    assert!(err.to_string().contains("outside a goro runtime"), "{err}");
    assert!(task::Builder::new().spawn_blocking(|| ()).is_err());
}

#[test]
#[should_panic(expected = "goro::task::id called outside a task")]
fn id_outside_a_task_panics() {
    let _ = task::id();
}
