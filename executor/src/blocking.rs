//! The blocking pool: threads for work that blocks (file IO, DNS, CPU-heavy
//! closures), so it does not hold an M and starve the Ps' queues.
//!
//! Threads are started on demand up to `max_blocking_threads` (512 by
//! default); an idle thread exits after `keep_alive` (10 s). A blocking
//! call is a task like any other (it is in the owned-task list, has a
//! JoinHandle, and is cancelled if the runtime shuts down before it
//! starts), but its first `Notified` goes to this pool's queue instead of a
//! run queue, and its future never returns `Pending`.

use crate::context;
use crate::shared::Shared;
use crate::task::{JoinHandle, Notified};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Runs `f` on the runtime's blocking pool and returns a handle to its
/// result. A panic in `f` becomes a panic `JoinError`.
///
/// # Panics
/// Outside a goro runtime.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let location = Location::caller();
    match context::with_current(|shared| shared.spawn_blocking(f, location)) {
        Some(join) => join,
        None => panic!(
            "goro::task::spawn_blocking called outside a goro runtime: call it from a task, \
             from Runtime::block_on, or after Handle::enter"
        ),
    }
}

/// A closure as a future that completes on its first poll.
pub(crate) struct BlockingTask<F>(pub(crate) Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self
            .0
            .take()
            .expect("blocking task polled after completion");
        Poll::Ready(f())
    }
}

enum Job {
    Task(Notified),
    Closure(Box<dyn FnOnce() + Send>),
}

pub(crate) struct BlockingPool {
    inner: Arc<Inner>,
}

struct Inner {
    /// Queue and thread accounting; the lock is held only to change them.
    state: Mutex<PoolState>,
    /// Idle threads wait here for a job.
    work: Condvar,
    /// Shutdown waits here for the threads to exit.
    exited: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    stack_size: Option<usize>,
    /// The runtime, so pool threads can enter it (set once after build).
    runtime: OnceLock<Weak<Shared>>,
}

struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    /// Threads waiting for work and not yet claimed by a submitter.
    idle: usize,
    /// Wake-ups handed out by submitters and not yet taken by a thread.
    notified: usize,
    shutdown: bool,
}

impl BlockingPool {
    pub(crate) fn new(
        max_threads: usize,
        keep_alive: Duration,
        thread_name: Arc<dyn Fn() -> String + Send + Sync>,
        stack_size: Option<usize>,
    ) -> BlockingPool {
        BlockingPool {
            inner: Arc::new(Inner {
                state: Mutex::new(PoolState {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    notified: 0,
                    shutdown: false,
                }),
                work: Condvar::new(),
                exited: Condvar::new(),
                max_threads,
                keep_alive,
                thread_name,
                stack_size,
                runtime: OnceLock::new(),
            }),
        }
    }

    /// Threads of the pool, and how many of them wait for a job.
    pub(crate) fn thread_counts(&self) -> (usize, usize) {
        let st = self.inner.state.lock().unwrap();
        (st.threads, st.idle)
    }

    pub(crate) fn set_runtime(&self, shared: Weak<Shared>) {
        let _ = self.inner.runtime.set(shared);
    }

    /// A spawner for the reactor (DNS).
    pub(crate) fn spawner(&self) -> goro_reactor::BlockingSpawner {
        let inner = Arc::downgrade(&self.inner);
        Arc::new(move |f: Box<dyn FnOnce() + Send>| match inner.upgrade() {
            Some(inner) => {
                if let Err(Job::Closure(f)) = Inner::submit(&inner, Job::Closure(f)) {
                    // Shut down: run it on a plain thread rather than lose it.
                    std::thread::spawn(f);
                }
            }
            None => {
                std::thread::spawn(f);
            }
        })
    }

    /// Whether a job is queued or running (or a thread is between the two,
    /// or exiting: it errs on the side of busy). For deadlock detection.
    pub(crate) fn is_busy(&self) -> bool {
        let st = self.inner.state.lock().unwrap();
        !st.queue.is_empty() || st.threads > st.idle
    }

    pub(crate) fn submit_task(&self, task: Notified) {
        // On shutdown the Notified is dropped; the owned-list shutdown
        // cancels the task.
        let _ = Inner::submit(&self.inner, Job::Task(task));
    }

    /// Stops taking jobs and waits up to `timeout` (`None`: forever) for
    /// running jobs to finish; queued ones are dropped.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut st = self.inner.state.lock().unwrap();
        st.shutdown = true;
        let queued: Vec<Job> = st.queue.drain(..).collect();
        self.inner.work.notify_all();
        drop(st);
        drop(queued);
        // Shut down from a pool thread (a blocking task dropped the runtime):
        // do not wait for ourselves.
        let own = usize::from(context::in_pool());
        let mut st = self.inner.state.lock().unwrap();
        while st.threads > own {
            st = match deadline {
                None => self.inner.exited.wait(st).unwrap(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break;
                    }
                    self.inner.exited.wait_timeout(st, d - now).unwrap().0
                }
            };
        }
    }
}

impl Inner {
    fn submit(inner: &Arc<Inner>, job: Job) -> Result<(), Job> {
        let mut st = inner.state.lock().unwrap();
        if st.shutdown {
            return Err(job);
        }
        st.queue.push_back(job);
        if st.idle > 0 {
            st.idle -= 1;
            st.notified += 1;
            inner.work.notify_one();
        } else if st.threads < inner.max_threads {
            st.threads += 1;
            drop(st);
            if let Err(e) = Inner::start_thread(inner) {
                let mut st = inner.state.lock().unwrap();
                st.threads -= 1;
                if st.threads == 0 {
                    // Nobody will run the queue: fail loudly rather than hang.
                    panic!("goro: failed to start a blocking-pool thread: {e}");
                }
            }
        }
        // Otherwise all threads are busy; the first to finish takes it.
        Ok(())
    }

    fn start_thread(inner: &Arc<Inner>) -> std::io::Result<()> {
        let mut builder = std::thread::Builder::new().name((inner.thread_name)());
        if let Some(size) = inner.stack_size {
            builder = builder.stack_size(size);
        }
        let inner = inner.clone();
        builder.spawn(move || inner.run())?;
        Ok(())
    }

    fn run(self: Arc<Self>) {
        context::set_in_pool();
        let runtime = self.runtime.get().and_then(Weak::upgrade);
        let _enter = runtime.as_ref().map(context::enter);
        drop(runtime);
        let mut st = self.state.lock().unwrap();
        'outer: loop {
            while let Some(job) = st.queue.pop_front() {
                drop(st);
                match job {
                    Job::Task(task) => task.run(),
                    Job::Closure(f) => {
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
                    }
                }
                st = self.state.lock().unwrap();
            }
            if st.shutdown {
                break;
            }
            st.idle += 1;
            loop {
                let (guard, res) = self.work.wait_timeout(st, self.keep_alive).unwrap();
                st = guard;
                if st.notified > 0 {
                    st.notified -= 1;
                    continue 'outer;
                }
                if st.shutdown || res.timed_out() {
                    st.idle -= 1;
                    if st.shutdown || st.queue.is_empty() {
                        break 'outer;
                    }
                    continue 'outer;
                }
            }
        }
        st.threads -= 1;
        if st.threads == 0 {
            self.exited.notify_all();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    fn pool(max: usize, keep_alive: Duration) -> BlockingPool {
        BlockingPool::new(max, keep_alive, Arc::new(|| "test-blocking".into()), None)
    }

    #[test]
    fn idle_threads_exit_after_keep_alive() {
        let pool = pool(4, Duration::from_millis(20));
        let (tx, rx) = mpsc::channel();
        (pool.spawner())(Box::new(move || tx.send(()).unwrap()));
        rx.recv().unwrap();
        let st = pool.inner.state.lock().unwrap();
        let (st, _) = pool
            .inner
            .exited
            .wait_timeout_while(st, Duration::from_secs(30), |s| s.threads > 0)
            .unwrap();
        assert_eq!(st.threads, 0, "an idle blocking thread did not exit");
    }

    #[test]
    fn max_threads_bounds_concurrency_and_every_job_runs() {
        let pool = pool(2, Duration::from_secs(10));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel();
        for _ in 0..8 {
            let (running, peak, tx) = (running.clone(), peak.clone(), tx.clone());
            (pool.spawner())(Box::new(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::yield_now();
                running.fetch_sub(1, Ordering::SeqCst);
                tx.send(()).unwrap();
            }));
        }
        for _ in 0..8 {
            rx.recv_timeout(Duration::from_secs(30)).unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 2);
        assert!(pool.inner.state.lock().unwrap().threads <= 2);
        pool.shutdown(None);
        assert_eq!(pool.inner.state.lock().unwrap().threads, 0);
    }
}
