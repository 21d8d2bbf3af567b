//! A minimal single-thread executor over the reactor's public seam: poll
//! ready tasks; when none is ready, `driver.park(None)`. Wakers push the
//! task id onto a shared queue and call `handle.unpark()`. It proves the
//! reactor works under any executor, and is what these tests run on.
#![allow(dead_code)]

use goro_reactor::{Driver, Handle};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

type Task = Pin<Box<dyn Future<Output = ()>>>;

struct TaskWaker {
    id: usize,
    queue: Arc<Mutex<VecDeque<usize>>>,
    handle: Handle,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.queue.lock().unwrap().push_back(self.id);
        self.handle.unpark();
    }
}

thread_local! {
    static SPAWNED: RefCell<Vec<Task>> = const { RefCell::new(Vec::new()) };
}

/// Spawns a task onto the harness running on this thread.
pub fn spawn<F: Future<Output = ()> + 'static>(f: F) {
    SPAWNED.with(|s| s.borrow_mut().push(Box::pin(f)));
}

/// Spawns a task and returns a handle whose `join` yields its output.
pub fn spawn_with<T: 'static, F: Future<Output = T> + 'static>(f: F) -> JoinHandle<T> {
    let slot = std::rc::Rc::new(RefCell::new(None));
    let s2 = slot.clone();
    spawn(async move {
        let v = f.await;
        *s2.borrow_mut() = Some(v);
    });
    JoinHandle(slot)
}

pub struct JoinHandle<T>(std::rc::Rc<RefCell<Option<T>>>);

impl<T> JoinHandle<T> {
    pub async fn join(self) -> T {
        std::future::poll_fn(|cx| match self.0.borrow_mut().take() {
            Some(v) => Poll::Ready(v),
            None => {
                // The harness re-polls everything after each park; a plain
                // self-wake keeps this simple and correct.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await
    }
}

/// Runs `main` (and whatever it spawns) to completion on a fresh reactor,
/// then shuts the reactor down; returns main's output and the handle (for
/// leak checks after shutdown).
pub fn run<T, F: Future<Output = T>>(main: impl FnOnce() -> F) -> T {
    run_with_driver(|_| main()).0
}

pub fn run_with_driver<T, F: Future<Output = T>>(main: impl FnOnce(&Handle) -> F) -> (T, Handle) {
    let mut driver = Driver::new().unwrap();
    let handle = driver.handle();
    let _guard = handle.enter();
    let queue = Arc::new(Mutex::new(VecDeque::new()));
    let mut tasks: Vec<Option<(Task, Waker)>> = Vec::new();
    let main_waker = Waker::from(Arc::new(TaskWaker {
        id: usize::MAX,
        queue: queue.clone(),
        handle: handle.clone(),
    }));
    let mut main = std::pin::pin!(main(&handle));
    let mut poll_main = true;
    let out = loop {
        if poll_main {
            poll_main = false;
            if let Poll::Ready(v) = main.as_mut().poll(&mut Context::from_waker(&main_waker)) {
                break v;
            }
        }
        for f in SPAWNED.with(|s| std::mem::take(&mut *s.borrow_mut())) {
            let id = tasks.len();
            let waker = Waker::from(Arc::new(TaskWaker {
                id,
                queue: queue.clone(),
                handle: handle.clone(),
            }));
            tasks.push(Some((f, waker)));
            queue.lock().unwrap().push_back(id);
        }
        let ready: Vec<usize> = queue.lock().unwrap().drain(..).collect();
        if ready.is_empty() {
            driver.park(None);
            continue;
        }
        for id in ready {
            if id == usize::MAX {
                poll_main = true;
                continue;
            }
            let Some((task, waker)) = tasks[id].as_mut() else {
                continue;
            };
            let done = goro_coop::with_budget(|| {
                task.as_mut()
                    .poll(&mut Context::from_waker(waker))
                    .is_ready()
            });
            if done {
                tasks[id] = None;
            }
        }
        // Like the goro executor's busy loop: a non-blocking poll between
        // rounds keeps IO flowing while tasks stay runnable.
        driver.park(Some(std::time::Duration::ZERO));
    };
    drop(tasks);
    SPAWNED.with(|s| s.borrow_mut().clear());
    driver.shutdown();
    (out, handle)
}

/// Lets the other tasks run once.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

/// Opens `/dev/null` until the process hits its descriptor limit and
/// returns the files, so the caller decides when to free them. Panics if
/// the error is not `EMFILE` or if more than `at_most` files open (the
/// limit the caller expects did not apply).
pub fn exhaust_fds(at_most: usize) -> Vec<std::fs::File> {
    let mut hogs = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(f) => hogs.push(f),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(24), "expected EMFILE, got {e}");
                return hogs;
            }
        }
        assert!(hogs.len() < at_most, "no descriptor limit below {at_most}?");
    }
}
