//! Deadlock detection: Go's deadlock shapes are reported with their wait
//! reasons, and nothing that can still be woken is.

use goro::runtime::{Builder, Deadlock, Runtime};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

const MESSAGE: &str = "goro: all tasks are asleep - deadlock!";

fn runtime(multi: bool, grace: Duration) -> Runtime {
    let mut b = if multi {
        let mut b = Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        Builder::new_current_thread()
    };
    b.on_deadlock(Deadlock::Panic).deadlock_grace(grace);
    b.build().unwrap()
}

/// Runs `f` on both flavors and returns the deadlock report of each.
fn deadlock_report<F, Fut>(f: F) -> Vec<String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    [false, true]
        .into_iter()
        .map(|multi| {
            let rt = runtime(multi, Duration::from_millis(200));
            let err = catch_unwind(AssertUnwindSafe(|| rt.block_on(f())))
                .expect_err("a deadlock must make block_on panic");
            let msg = err
                .downcast_ref::<String>()
                .cloned()
                .expect("the panic carries the report");
            assert!(msg.starts_with(MESSAGE), "{msg}");
            assert!(msg.contains("goro dump: "), "{msg}");
            msg
        })
        .collect()
}

#[test]
fn receive_on_a_channel_nobody_sends_to() {
    for msg in deadlock_report(|| async {
        let (tx, rx) = goro::chan::bounded::<u8>(0);
        let h = goro::spawn(async move { rx.recv().await });
        let _ = h.await;
        drop(tx);
    }) {
        assert!(msg.contains("[chan receive, "), "{msg}");
    }
}

#[test]
fn two_tasks_each_waiting_on_the_others_channel() {
    for msg in deadlock_report(|| async {
        let (atx, arx) = goro::chan::bounded::<u8>(0);
        let (btx, brx) = goro::chan::bounded::<u8>(0);
        let a = goro::spawn(async move {
            let v = arx.recv().await;
            let _ = btx.send(v.unwrap_or(0)).await;
        });
        let b = goro::spawn(async move {
            let v = brx.recv().await;
            let _ = atx.send(v.unwrap_or(0)).await;
        });
        let _ = a.await;
        let _ = b.await;
    }) {
        assert_eq!(msg.matches("[chan receive, ").count(), 2, "{msg}");
    }
}

#[test]
fn a_wait_group_never_done() {
    for msg in deadlock_report(|| async {
        let wg = Arc::new(goro::sync::WaitGroup::new());
        wg.add(1);
        let w = wg.clone();
        let _ = goro::spawn(async move { w.wait().await }).await;
    }) {
        assert!(msg.contains("[wait group, "), "{msg}");
    }
}

#[test]
fn a_mutex_locked_twice() {
    for msg in deadlock_report(|| async {
        let m = Arc::new(goro::sync::Mutex::new(0));
        let _ = goro::spawn(async move {
            let _first = m.lock().await;
            let _second = m.lock().await;
        })
        .await;
    }) {
        assert!(msg.contains("[mutex lock, "), "{msg}");
    }
}

#[test]
fn select_with_no_arms() {
    for msg in deadlock_report(|| async {
        let _ = goro::spawn(async {
            goro::select! {}
        })
        .await;
    }) {
        assert!(msg.contains("[select (no cases), "), "{msg}");
    }
}

#[goro::test]
#[should_panic(expected = "goro: all tasks are asleep - deadlock!")]
async fn goro_test_panics_on_a_deadlock() {
    let (_tx, rx) = goro::chan::bounded::<u8>(0);
    let _ = goro::spawn(async move { rx.recv().await }).await;
}

/// Runs `f` on both flavors with a `Panic` policy and a `grace` shorter
/// than what it waits for: it must finish normally.
fn no_deadlock<F, Fut>(grace: Duration, f: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    for multi in [false, true] {
        runtime(multi, grace).block_on(f());
    }
}

#[test]
fn a_task_sleeping_on_a_timer_is_not_a_deadlock() {
    no_deadlock(Duration::from_millis(100), || async {
        goro::spawn(goro::time::sleep(Duration::from_millis(600)))
            .await
            .unwrap();
    });
}

#[test]
fn a_listener_accepting_is_not_a_deadlock() {
    no_deadlock(Duration::from_millis(100), || async {
        let l = goro::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let client = std::thread::spawn(move || {
            // Connects only once told to: the accept below is parked for
            // several grace periods by then.
            go_rx.recv().unwrap();
            std::net::TcpStream::connect(addr).unwrap()
        });
        let accept = goro::spawn(async move { l.accept().await.map(|_| ()) });
        let timer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(600));
            go_tx.send(()).unwrap();
        });
        accept.await.unwrap().unwrap();
        drop(client.join().unwrap());
        timer.join().unwrap();
    });
}

#[test]
fn an_os_thread_that_sends_after_100_ms_is_not_a_deadlock() {
    no_deadlock(Duration::from_secs(1), || async {
        let (tx, rx) = goro::chan::bounded::<u8>(0);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            tx.send_blocking(7).unwrap();
        });
        let got = goro::spawn(async move { rx.recv().await }).await.unwrap();
        assert_eq!(got, Some(7));
        t.join().unwrap();
    });
}

#[test]
fn a_blocking_job_of_2_s_is_not_a_deadlock() {
    no_deadlock(Duration::from_millis(100), || async {
        let (tx, rx) = goro::chan::bounded::<u8>(1);
        let job = goro::task::spawn_blocking(move || {
            std::thread::sleep(Duration::from_secs(2));
            tx.send_blocking(1).unwrap();
        });
        let got = goro::spawn(async move { rx.recv().await }).await.unwrap();
        assert_eq!(got, Some(1));
        job.await.unwrap();
    });
}

#[test]
fn zero_grace_is_rejected() {
    let err = Builder::new_current_thread()
        .deadlock_grace(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("deadlock_grace"), "{err}");
}

#[test]
fn report_prints_and_the_program_goes_on() {
    // Asleep for several grace periods (reported on stderr), then woken
    // from outside: Report must not stop the program.
    let rt = Builder::new_current_thread()
        .on_deadlock(Deadlock::Report)
        .deadlock_grace(Duration::from_millis(50))
        .build()
        .unwrap();
    let (tx, rx) = goro::chan::bounded::<u8>(0);
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        tx.send_blocking(5).unwrap();
    });
    let got = rt.block_on(async move { goro::spawn(async move { rx.recv().await }).await });
    assert_eq!(got.unwrap(), Some(5));
    t.join().unwrap();
}
