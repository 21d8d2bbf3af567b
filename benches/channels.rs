//! Channel benchmarks: goro's channels against tokio::sync::mpsc,
//! async-channel, flume and kanal, every one hosted on the same runtime
//! (`host_block_on`/`host_spawn`), plus tokio's mpsc on tokio's own
//! multi-thread runtime as a separate row.
//!
//! Workloads: ping_pong over capacity 0 and 1 (two tasks, 100,000
//! round trips), mpsc_contended (4 producers x 250,000 -> 1 consumer,
//! capacity 1,024), mpmc (4 x 4, 250,000 per producer, capacity 1,024),
//! unbounded (1,000,000 values, one producer, one consumer), select over 4
//! channels (4 producers x 250,000, capacity 1,024, one selecting consumer).
//!
//! The ping-pong groups also run a *floor*: the same two tasks handing the
//! value through a bare Mutex + Waker slot (`benches/slot`), no channel at
//! all, which shows what the host runtime alone costs per round trip.
//!
//! Besides criterion's own report, every iteration's time is recorded and a
//! table of medians (ns per message or per round trip) and ratios against
//! the fastest Rust peer is printed at the end. Peers run interleaved in
//! one process on the same (noisy, 2-core, shared) machine.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use criterion::Criterion;

const ROUND_TRIPS: usize = 100_000;
const PER_PRODUCER: usize = 250_000;
const PRODUCERS: usize = 4;
const CONSUMERS: usize = 4;
const CAP: usize = 1024;
const UNBOUNDED_N: usize = 1_000_000;

// ---------------------------------------------------------------------------
// The host runtime: every channel below runs on goro's multi-thread runtime
// with two workers (this isolates the channel); the `tokio_mt` rows are
// tokio's mpsc on tokio's multi-thread runtime with two workers.
// ---------------------------------------------------------------------------

const HOST: &str = "goro multi-thread, 2 workers";

fn host() -> &'static goro::runtime::Runtime {
    static RT: OnceLock<goro::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        goro::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
    })
}

fn host_block_on<F: Future>(f: F) -> F::Output {
    host().block_on(f)
}

/// A spawned task's handle on whichever runtime runs the workload.
enum Join<T> {
    Goro(goro::task::JoinHandle<T>),
    Tokio(tokio::task::JoinHandle<T>),
}

impl<T> Join<T> {
    async fn join(self) -> T {
        match self {
            Join::Goro(h) => h.await.unwrap(),
            Join::Tokio(h) => h.await.unwrap(),
        }
    }
}

/// Spawns on the runtime the caller runs on: tokio's when inside a tokio
/// runtime (the `tokio_mt` rows), goro's otherwise.
fn host_spawn<F>(f: F) -> Join<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(h) => Join::Tokio(h.spawn(f)),
        Err(_) => Join::Goro(goro::spawn(f)),
    }
}

/// tokio's mpsc in its usual home, for the `tokio_mt` rows.
fn tokio_mt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
    })
}

// ---------------------------------------------------------------------------
// Workloads, written once per channel by `peer!`.
// ---------------------------------------------------------------------------

macro_rules! peer {
    (
        $m:ident,
        bounded: |$cap:ident| $bounded:expr,
        send: |$tx:ident, $v:ident| $send:expr,
        recv: |$rx:ident| $recv:expr,
        unbounded: $unbounded:expr,
        usend: |$utx:ident, $uv:ident| $usend:expr,
        $(mpmc: $mpmc:ident,)?
    ) => {
        mod $m {
            #![allow(unused_mut, clippy::redundant_locals)]
            use super::*;

            pub async fn ping_pong($cap: usize) {
                let (atx, mut arx) = $bounded;
                let (btx, mut brx) = $bounded;
                let echo = host_spawn(async move {
                    for _ in 0..ROUND_TRIPS {
                        let v: usize = {
                            let $rx = &mut arx;
                            $recv.unwrap()
                        };
                        let $tx = &btx;
                        let $v = v;
                        $send;
                    }
                });
                let ping = host_spawn(async move {
                    for i in 0..ROUND_TRIPS {
                        {
                            let $tx = &atx;
                            let $v = i;
                            $send;
                        }
                        let $rx = &mut brx;
                        assert_eq!($recv, Some(i));
                    }
                });
                echo.join().await;
                ping.join().await;
            }

            pub async fn mpsc() {
                let $cap = CAP;
                let (tx, mut rx) = $bounded;
                let producers: Vec<_> = (0..PRODUCERS)
                    .map(|_| {
                        let tx = tx.clone();
                        host_spawn(async move {
                            for i in 0..PER_PRODUCER {
                                let $tx = &tx;
                                let $v = i;
                                $send;
                            }
                        })
                    })
                    .collect();
                drop(tx);
                let consumer = host_spawn(async move {
                    let mut sum = 0usize;
                    for _ in 0..PRODUCERS * PER_PRODUCER {
                        let $rx = &mut rx;
                        sum += $recv.unwrap();
                    }
                    sum
                });
                for p in producers {
                    p.join().await;
                }
                let sum = consumer.join().await;
                assert_eq!(sum, PRODUCERS * PER_PRODUCER * (PER_PRODUCER - 1) / 2);
            }

            pub async fn unbounded() {
                let (tx, mut rx) = $unbounded;
                let producer = host_spawn(async move {
                    for i in 0..UNBOUNDED_N {
                        let $utx = &tx;
                        let $uv = i;
                        $usend;
                    }
                });
                let consumer = host_spawn(async move {
                    let mut sum = 0usize;
                    for _ in 0..UNBOUNDED_N {
                        let $rx = &mut rx;
                        sum += $recv.unwrap();
                    }
                    sum
                });
                producer.join().await;
                assert_eq!(consumer.join().await, UNBOUNDED_N * (UNBOUNDED_N - 1) / 2);
            }

            $(pub async fn mpmc() {
                let _ = stringify!($mpmc);
                let $cap = CAP;
                let (tx, rx) = $bounded;
                let producers: Vec<_> = (0..PRODUCERS)
                    .map(|_| {
                        let tx = tx.clone();
                        host_spawn(async move {
                            for i in 0..PER_PRODUCER {
                                let $tx = &tx;
                                let $v = i;
                                $send;
                            }
                        })
                    })
                    .collect();
                drop(tx);
                let consumers: Vec<_> = (0..CONSUMERS)
                    .map(|_| {
                        let mut rx = rx.clone();
                        host_spawn(async move {
                            let mut sum = 0usize;
                            loop {
                                let $rx = &mut rx;
                                match $recv {
                                    Some(v) => sum += v,
                                    None => break sum,
                                }
                            }
                        })
                    })
                    .collect();
                drop(rx);
                for p in producers {
                    p.join().await;
                }
                let mut sum = 0;
                for c in consumers {
                    sum += c.join().await;
                }
                assert_eq!(sum, PRODUCERS * PER_PRODUCER * (PER_PRODUCER - 1) / 2);
            })?
        }
    };
}

peer!(
    goro_chan,
    bounded: |cap| goro::chan::bounded::<usize>(cap),
    send: |tx, v| tx.send(v).await.unwrap(),
    recv: |rx| rx.recv().await,
    unbounded: goro::chan::unbounded::<usize>(),
    usend: |tx, v| tx.send(v).await.unwrap(),
    mpmc: yes,
);

peer!(
    tokio_mpsc,
    bounded: |cap| tokio::sync::mpsc::channel::<usize>(cap),
    send: |tx, v| tx.send(v).await.unwrap(),
    recv: |rx| rx.recv().await,
    unbounded: tokio::sync::mpsc::unbounded_channel::<usize>(),
    usend: |tx, v| tx.send(v).unwrap(),
);

peer!(
    async_channel_,
    bounded: |cap| async_channel::bounded::<usize>(cap),
    send: |tx, v| tx.send(v).await.unwrap(),
    recv: |rx| rx.recv().await.ok(),
    unbounded: async_channel::unbounded::<usize>(),
    usend: |tx, v| tx.send(v).await.unwrap(),
    mpmc: yes,
);

peer!(
    flume_,
    bounded: |cap| flume::bounded::<usize>(cap),
    send: |tx, v| tx.send_async(v).await.unwrap(),
    recv: |rx| rx.recv_async().await.ok(),
    unbounded: flume::unbounded::<usize>(),
    usend: |tx, v| tx.send(v).unwrap(),
    mpmc: yes,
);

peer!(
    kanal_,
    bounded: |cap| kanal::bounded_async::<usize>(cap),
    send: |tx, v| tx.send(v).await.unwrap(),
    recv: |rx| rx.recv().await.ok(),
    unbounded: kanal::unbounded_async::<usize>(),
    usend: |tx, v| tx.send(v).await.unwrap(),
    mpmc: yes,
);

// ---------------------------------------------------------------------------
// The floor: the same two-task ping-pong over the scheduler benches' minimal
// Mutex + Waker slot, with no channel at all. Not a peer (it is left out of
// "fastest Rust peer"): it shows how much of a round trip is the host
// runtime's own work (two wake-ups, two task polls), which every channel
// pays on top of its own.
// ---------------------------------------------------------------------------

#[allow(dead_code)]
mod slot;

mod floor {
    use super::*;
    use std::sync::Arc;

    pub async fn ping_pong() {
        let (a, b) = (
            Arc::new(slot::Slot::default()),
            Arc::new(slot::Slot::default()),
        );
        let (a2, b2) = (a.clone(), b.clone());
        let echo = host_spawn(async move {
            for _ in 0..ROUND_TRIPS {
                let v: usize = a2.take().await;
                b2.put(v);
            }
        });
        let ping = host_spawn(async move {
            for i in 0..ROUND_TRIPS {
                a.put(i);
                assert_eq!(b.take().await, i);
            }
        });
        echo.join().await;
        ping.join().await;
    }
}

/// The pseudo-peer name of the floor rows.
const FLOOR: &str = "floor (no channel)";

/// `n` values spread over four channels, consumed by one task that selects
/// over all four (each peer with the select its users would write).
mod select4 {
    use super::*;

    pub async fn goro() {
        // Producers hand their sender back so no channel closes early.
        let (producers, rxs): (Vec<_>, Vec<_>) = (0..4)
            .map(|_| {
                let (tx, rx) = goro::chan::bounded::<usize>(CAP);
                let p = host_spawn(async move {
                    for i in 0..PER_PRODUCER {
                        tx.send(i).await.unwrap();
                    }
                    tx
                });
                (p, rx)
            })
            .unzip();
        let consumer = host_spawn(async move {
            let [a, b, c, d] = &rxs[..] else {
                unreachable!()
            };
            let mut sum = 0;
            for _ in 0..4 * PER_PRODUCER {
                sum += goro::select! {
                    recv(a) -> v => v.unwrap(),
                    recv(b) -> v => v.unwrap(),
                    recv(c) -> v => v.unwrap(),
                    recv(d) -> v => v.unwrap(),
                };
            }
            sum
        });
        assert_eq!(
            consumer.join().await,
            4 * PER_PRODUCER * (PER_PRODUCER - 1) / 2
        );
        for p in producers {
            p.join().await;
        }
    }

    macro_rules! tokio_select_peer {
        ($name:ident, $bounded:expr, |$tx:ident, $v:ident| $send:expr, |$rx:ident| $recv:expr) => {
            pub async fn $name() {
                let (producers, mut rxs): (Vec<_>, Vec<_>) = (0..4)
                    .map(|_| {
                        let (tx, rx) = $bounded;
                        let p = host_spawn(async move {
                            for i in 0..PER_PRODUCER {
                                let $tx = &tx;
                                let $v = i;
                                $send;
                            }
                            tx
                        });
                        (p, rx)
                    })
                    .unzip();
                let consumer = host_spawn(async move {
                    let [a, b, c, d] = &mut rxs[..] else {
                        unreachable!()
                    };
                    let mut sum = 0;
                    for _ in 0..4 * PER_PRODUCER {
                        sum += tokio::select! {
                            v = async { let $rx = &mut *a; $recv } => v.unwrap(),
                            v = async { let $rx = &mut *b; $recv } => v.unwrap(),
                            v = async { let $rx = &mut *c; $recv } => v.unwrap(),
                            v = async { let $rx = &mut *d; $recv } => v.unwrap(),
                        };
                    }
                    sum
                });
                assert_eq!(
                    consumer.join().await,
                    4 * PER_PRODUCER * (PER_PRODUCER - 1) / 2
                );
                for p in producers {
                    p.join().await;
                }
            }
        };
    }

    tokio_select_peer!(
        tokio_mpsc,
        tokio::sync::mpsc::channel::<usize>(CAP),
        |tx, v| tx.send(v).await.unwrap(),
        |rx| rx.recv().await
    );
    tokio_select_peer!(
        async_channel_,
        async_channel::bounded::<usize>(CAP),
        |tx, v| tx.send(v).await.unwrap(),
        |rx| rx.recv().await.ok()
    );
    tokio_select_peer!(
        flume_,
        flume::bounded::<usize>(CAP),
        |tx, v| tx.send_async(v).await.unwrap(),
        |rx| rx.recv_async().await.ok()
    );
    // kanal is left out: with its receive futures inside tokio::select!
    // this workload never finished here (a dropped kanal receive future
    // seems to lose its value), so there is no figure to compare.
}

// ---------------------------------------------------------------------------
// Measurement: criterion drives the iterations; each iteration's time per
// message is also kept here for the summary table.
// ---------------------------------------------------------------------------

type Samples = BTreeMap<(&'static str, &'static str), Vec<f64>>;

fn samples() -> &'static Mutex<Samples> {
    static S: OnceLock<Mutex<Samples>> = OnceLock::new();
    S.get_or_init(Default::default)
}

/// Benchmarks `run` (one whole workload of `ops` messages) as `peer` in
/// `group`, recording ns per message.
fn bench(c: &mut Criterion, group: &'static str, peer: &'static str, ops: usize, run: &dyn Fn()) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g.bench_function(peer, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                run();
            }
            let t = start.elapsed();
            let per_op = t.as_nanos() as f64 / (iters as f64 * ops as f64);
            samples()
                .lock()
                .unwrap()
                .entry((group, peer))
                .or_default()
                .push(per_op);
            t
        })
    });
    g.finish();
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn summary() {
    let mut s = samples().lock().unwrap();
    println!("\nchannel benchmarks: median ns per message (per round trip for ping_pong)");
    println!(
        "host runtime for every channel: {HOST}; tokio_mt = tokio mpsc on tokio's own runtime"
    );
    println!("ratio = goro / fastest Rust peer in the same run (lower is better)\n");
    let groups: Vec<&str> = {
        let mut g: Vec<&str> = s.keys().map(|k| k.0).collect();
        g.dedup();
        g
    };
    for group in groups {
        let mut rows: Vec<(&str, f64)> = s
            .iter_mut()
            .filter(|(k, _)| k.0 == group)
            .map(|(k, v)| (k.1, median(v)))
            .collect();
        rows.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap());
        let goro = rows.iter().find(|r| r.0 == "goro").map(|r| r.1);
        let best_peer = rows
            .iter()
            .filter(|r| r.0 != "goro" && r.0 != FLOOR)
            .map(|r| r.1)
            .fold(f64::INFINITY, f64::min);
        println!("{group}");
        for (peer, ns) in &rows {
            println!("  {peer:<16} {ns:>9.1} ns");
        }
        if let Some(g) = goro {
            println!("  goro / fastest Rust peer = {:.2}", g / best_peer);
            if let Some(t) = rows.iter().find(|r| r.0 == "tokio_mt") {
                println!("  goro / tokio_mt = {:.2}", g / t.1);
            }
            if let Some(f) = rows.iter().find(|r| r.0 == FLOOR) {
                println!("  floor / fastest Rust peer = {:.2}", f.1 / best_peer);
            }
        }
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let c = &mut c;

    let pp = ROUND_TRIPS;
    bench(c, "ping_pong_cap0", "goro", pp, &|| {
        host_block_on(goro_chan::ping_pong(0))
    });
    bench(c, "ping_pong_cap0", "flume", pp, &|| {
        host_block_on(flume_::ping_pong(0))
    });
    bench(c, "ping_pong_cap0", "kanal", pp, &|| {
        host_block_on(kanal_::ping_pong(0))
    });
    bench(c, "ping_pong_cap0", FLOOR, pp, &|| {
        host_block_on(floor::ping_pong())
    });

    bench(c, "ping_pong_cap1", "goro", pp, &|| {
        host_block_on(goro_chan::ping_pong(1))
    });
    bench(c, "ping_pong_cap1", "tokio_mt", pp, &|| {
        tokio_mt().block_on(tokio_mpsc::ping_pong(1))
    });
    bench(c, "ping_pong_cap1", "tokio", pp, &|| {
        host_block_on(tokio_mpsc::ping_pong(1))
    });
    bench(c, "ping_pong_cap1", "async-channel", pp, &|| {
        host_block_on(async_channel_::ping_pong(1))
    });
    bench(c, "ping_pong_cap1", "flume", pp, &|| {
        host_block_on(flume_::ping_pong(1))
    });
    bench(c, "ping_pong_cap1", "kanal", pp, &|| {
        host_block_on(kanal_::ping_pong(1))
    });
    bench(c, "ping_pong_cap1", FLOOR, pp, &|| {
        host_block_on(floor::ping_pong())
    });

    let n = PRODUCERS * PER_PRODUCER;
    bench(c, "mpsc_contended", "goro", n, &|| {
        host_block_on(goro_chan::mpsc())
    });
    bench(c, "mpsc_contended", "tokio_mt", n, &|| {
        tokio_mt().block_on(tokio_mpsc::mpsc())
    });
    bench(c, "mpsc_contended", "tokio", n, &|| {
        host_block_on(tokio_mpsc::mpsc())
    });
    bench(c, "mpsc_contended", "async-channel", n, &|| {
        host_block_on(async_channel_::mpsc())
    });
    bench(c, "mpsc_contended", "flume", n, &|| {
        host_block_on(flume_::mpsc())
    });
    bench(c, "mpsc_contended", "kanal", n, &|| {
        host_block_on(kanal_::mpsc())
    });

    bench(c, "mpmc_4x4", "goro", n, &|| {
        host_block_on(goro_chan::mpmc())
    });
    bench(c, "mpmc_4x4", "async-channel", n, &|| {
        host_block_on(async_channel_::mpmc())
    });
    bench(c, "mpmc_4x4", "flume", n, &|| host_block_on(flume_::mpmc()));
    bench(c, "mpmc_4x4", "kanal", n, &|| host_block_on(kanal_::mpmc()));

    let u = UNBOUNDED_N;
    bench(c, "unbounded", "goro", u, &|| {
        host_block_on(goro_chan::unbounded())
    });
    bench(c, "unbounded", "tokio_mt", u, &|| {
        tokio_mt().block_on(tokio_mpsc::unbounded())
    });
    bench(c, "unbounded", "tokio", u, &|| {
        host_block_on(tokio_mpsc::unbounded())
    });
    bench(c, "unbounded", "async-channel", u, &|| {
        host_block_on(async_channel_::unbounded())
    });
    bench(c, "unbounded", "flume", u, &|| {
        host_block_on(flume_::unbounded())
    });
    bench(c, "unbounded", "kanal", u, &|| {
        host_block_on(kanal_::unbounded())
    });

    bench(c, "select_4", "goro", n, &|| host_block_on(select4::goro()));
    bench(c, "select_4", "tokio_mt", n, &|| {
        tokio_mt().block_on(select4::tokio_mpsc())
    });
    bench(c, "select_4", "tokio", n, &|| {
        host_block_on(select4::tokio_mpsc())
    });
    bench(c, "select_4", "async-channel", n, &|| {
        host_block_on(select4::async_channel_())
    });
    bench(c, "select_4", "flume", n, &|| {
        host_block_on(select4::flume_())
    });

    c.final_summary();
    summary();
}
