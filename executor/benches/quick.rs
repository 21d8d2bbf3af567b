//! Quick scheduler timings, goro vs tokio multi-thread, interleaved, for
//! tuning (`cargo bench -p goro-executor --bench quick [-- name]`). The
//! official criterion benches live in the root package.

// The bench bodies spell out `+ Send` in their signatures on purpose.
#![allow(clippy::manual_async_fn)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

const WORKERS: usize = 2;

trait Rt {
    fn name(&self) -> &'static str;
    fn block_on<F: Future<Output = ()> + Send + 'static>(&self, f: F);
}

struct Goro(goro_executor::runtime::Runtime);
struct Tokio(tokio::runtime::Runtime);

impl Rt for Goro {
    fn name(&self) -> &'static str {
        "goro"
    }
    fn block_on<F: Future<Output = ()> + Send + 'static>(&self, f: F) {
        self.0.block_on(f)
    }
}
impl Rt for Tokio {
    fn name(&self) -> &'static str {
        "tokio"
    }
    fn block_on<F: Future<Output = ()> + Send + 'static>(&self, f: F) {
        self.0.block_on(f)
    }
}

macro_rules! spawn {
    ($rt:expr, $f:expr) => {
        match $rt {
            Kind::Goro => Either::A(goro_executor::spawn($f)),
            Kind::Tokio => Either::B(tokio::spawn($f)),
        }
    };
}

#[derive(Clone, Copy)]
enum Kind {
    Goro,
    Tokio,
}

enum Either<T> {
    A(goro_executor::JoinHandle<T>),
    B(tokio::task::JoinHandle<T>),
}

impl<T> Future for Either<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.get_mut() {
            Either::A(h) => Pin::new(h).poll(cx).map(|r| r.unwrap()),
            Either::B(h) => Pin::new(h).poll(cx).map(|r| r.unwrap()),
        }
    }
}

async fn yield_now(k: Kind) {
    match k {
        Kind::Goro => goro_executor::task::yield_now().await,
        Kind::Tokio => tokio::task::yield_now().await,
    }
}

/// The minimal Waker-based slot of the ping_pong and idle memory.
#[derive(Default)]
struct Slot {
    inner: Mutex<(Option<u64>, Option<Waker>)>,
}
impl Slot {
    fn put(&self, v: u64) {
        let w = {
            let mut g = self.inner.lock().unwrap();
            g.0 = Some(v);
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
    fn take(&self) -> impl Future<Output = u64> + '_ {
        std::future::poll_fn(move |cx| {
            let mut g = self.inner.lock().unwrap();
            match g.0.take() {
                Some(v) => Poll::Ready(v),
                None => {
                    g.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
    }
}

fn spawn_local(k: Kind) -> impl Future<Output = ()> + Send {
    async move {
        let hs: Vec<_> = (0..200_000).map(|_| spawn!(k, async {})).collect();
        for h in hs {
            h.await;
        }
    }
}

fn yield_many(k: Kind) -> impl Future<Output = ()> + Send {
    async move {
        let hs: Vec<_> = (0..256)
            .map(|_| {
                spawn!(k, async move {
                    for _ in 0..2000 {
                        yield_now(k).await;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await;
        }
    }
}

fn chain(k: Kind, depth: usize, done: Arc<Slot>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        if depth == 0 {
            done.put(1);
        } else {
            drop(spawn!(k, chain(k, depth - 1, done)));
        }
    })
}

fn chained_spawn(k: Kind) -> impl Future<Output = ()> + Send {
    async move {
        for _ in 0..20 {
            let done = Arc::new(Slot::default());
            drop(spawn!(k, chain(k, 1000, done.clone())));
            done.take().await;
        }
    }
}

fn ping_pong(k: Kind) -> impl Future<Output = ()> + Send {
    async move {
        let a = Arc::new(Slot::default());
        let b = Arc::new(Slot::default());
        let (a2, b2) = (a.clone(), b.clone());
        let pong = spawn!(k, async move {
            for _ in 0..100_000 {
                let v = a2.take().await;
                b2.put(v + 1);
            }
        });
        let mut v = 0;
        for _ in 0..100_000 {
            a.put(v);
            v = b.take().await;
        }
        pong.await;
        assert_eq!(v, 100_000);
    }
}

/// Runs `f` as a task (not as the block_on future, which lives on the
/// calling thread), so both runtimes measure their workers.
fn time<R: Rt>(rt: &R, k: Kind, f: impl Future<Output = ()> + Send + 'static) -> Duration {
    let t = Instant::now();
    rt.block_on(async move { spawn!(k, f).await });
    t.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rss_kb() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = s.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

fn idle_memory(k: Kind) {
    const N: usize = 1_000_000;
    let goro = goro_executor::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()
        .unwrap();
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()
        .unwrap();
    let slot = Arc::new(Slot::default());
    let before = rss_kb();
    let mut hs = Vec::with_capacity(N);
    let started = Arc::new(AtomicUsize::new(0));
    for _ in 0..N {
        let s = slot.clone();
        let st = started.clone();
        let f = async move {
            st.fetch_add(1, Ordering::Relaxed);
            std::future::poll_fn(|cx| {
                // Park forever on the slot (never filled).
                let _ = &s;
                let _ = cx;
                Poll::<()>::Pending
            })
            .await
        };
        match k {
            Kind::Goro => hs.push(Either::A(goro.spawn(f))),
            Kind::Tokio => hs.push(Either::B(tokio.spawn(f))),
        }
    }
    while started.load(Ordering::Relaxed) < N {
        std::thread::sleep(Duration::from_millis(10));
    }
    let after = rss_kb();
    let per = (after - before) as f64 * 1024.0 / N as f64;
    println!(
        "idle_memory {:5}: {per:.0} B/task (JoinHandle vec: {} B/task)",
        match k {
            Kind::Goro => "goro",
            Kind::Tokio => "tokio",
        },
        std::mem::size_of::<Either<()>>()
    );
    std::mem::forget(hs);
    std::mem::forget(goro);
    std::mem::forget(tokio);
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if let Some(f) = filter
        .as_deref()
        .and_then(|f| f.strip_prefix("idle_memory_"))
    {
        idle_memory(if f == "goro" { Kind::Goro } else { Kind::Tokio });
        return;
    }
    let goro = Goro(
        goro_executor::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .build()
            .unwrap(),
    );
    let tokio = Tokio(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .build()
            .unwrap(),
    );
    type Bench = (
        &'static str,
        fn(Kind) -> Pin<Box<dyn Future<Output = ()> + Send>>,
        f64,
    );
    let benches: Vec<Bench> = vec![
        ("spawn_local", |k| Box::pin(spawn_local(k)), 200_000.0),
        ("spawn_remote", |_| Box::pin(async {}), 200_000.0),
        ("yield_many", |k| Box::pin(yield_many(k)), 512_000.0),
        ("chained_spawn", |k| Box::pin(chained_spawn(k)), 20_000.0),
        ("ping_pong", |k| Box::pin(ping_pong(k)), 100_000.0),
    ];
    for (name, f, per) in benches {
        if filter.as_deref().is_some_and(|x| !name.contains(x)) {
            continue;
        }
        let (mut g, mut t) = (Vec::new(), Vec::new());
        for _ in 0..7 {
            if name == "spawn_remote" {
                g.push(spawn_remote_goro(&goro.0));
                t.push(spawn_remote_tokio(&tokio.0));
            } else {
                g.push(time(&goro, Kind::Goro, f(Kind::Goro)));
                t.push(time(&tokio, Kind::Tokio, f(Kind::Tokio)));
            }
        }
        let (g, t) = (median(g), median(t));
        println!(
            "{name:14} goro {:8.1} ns/op  tokio {:8.1} ns/op  ratio {:.2}  ({} {})",
            g.as_nanos() as f64 / per,
            t.as_nanos() as f64 / per,
            g.as_secs_f64() / t.as_secs_f64(),
            goro.name(),
            tokio.name()
        );
    }
}

fn spawn_remote_goro(rt: &goro_executor::runtime::Runtime) -> Duration {
    let t = Instant::now();
    let hs: Vec<_> = (0..200_000).map(|_| rt.spawn(async {})).collect();
    rt.block_on(async move {
        for h in hs {
            h.await.unwrap();
        }
    });
    t.elapsed()
}

fn spawn_remote_tokio(rt: &tokio::runtime::Runtime) -> Duration {
    let t = Instant::now();
    let hs: Vec<_> = (0..200_000).map(|_| rt.spawn(async {})).collect();
    rt.block_on(async move {
        for h in hs {
            h.await.unwrap();
        }
    });
    t.elapsed()
}
