//! Idle memory per task: how much resident memory 1,000,000 parked tasks
//! cost on goro, tokio and smol.
//!
//! ```text
//! cargo bench --bench idle_memory
//! ```
//!
//! Each task parks on its own [`Slot`] (the Waker-based hand-off the
//! scheduler bench uses), so it is a spawned future plus one registered
//! waker and nothing else. Every measurement runs in a fresh child process
//! (this same binary, re-executed with `GORO_IDLE_CHILD=<runtime>`), so no
//! runtime starts with memory another one freed: the figure is the growth of
//! the resident set (`/proc/self/statm`) from just before the first spawn to
//! when every task has parked, divided by the number of tasks.
//!
//! The `heap B/task` column is the growth of glibc's in-use heap bytes
//! (`mallinfo2`) over the same span: the chunks the allocations take,
//! headers and rounding included, without the resident set's page-level
//! slack and free lists. It is what "where the bytes go" is read from.
//!
//! The `slots only` row allocates the slots and the `Vec` of their handles
//! without any task: that part of each runtime's figure is the benchmark's,
//! not the runtime's, and the `net` column subtracts it.
//!
//! The `oneshot` rows park each task on its own runtime's oneshot channel
//! instead (`goro::sync::oneshot`, `tokio::sync::oneshot`, and
//! `futures::channel::oneshot` for smol, which has none of its own), the
//! way a user's program waits: the figure includes the channel and the
//! `Vec` of senders the benchmark keeps, 8 B per task.
//!
//! The `conns` rows open 8,000 loopback TCP connections with both ends in
//! the process (the client ends held in a `Vec`, each server end owned by
//! one task parked in `read`), and report the growth per connection
//! (user-space memory only: the kernel's socket buffers are not in the
//! resident set).
//!
//! Each runtime is measured three times, interleaved, and the median is
//! reported. Go's figure comes from `benches/go/sched.go`.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[allow(dead_code)] // only `Slot::take` is needed here
mod slot;
use slot::Slot;

mod memory;
use memory::rss;

/// A child's starting point: the resident set and glibc's heap bytes in
/// use (see [`heap_in_use`]).
struct Mark {
    rss: usize,
    heap: usize,
}

/// Growth since a [`Mark`], in bytes.
struct Grown {
    rss: usize,
    heap: usize,
}

impl Mark {
    fn now() -> Mark {
        Mark {
            rss: rss(),
            heap: heap_in_use(),
        }
    }

    fn grown(&self) -> Grown {
        Grown {
            rss: rss() - self.rss,
            heap: heap_in_use().saturating_sub(self.heap),
        }
    }
}

/// glibc's in-use heap bytes: the chunks in use in every arena
/// (`uordblks`: the requests plus chunk headers and rounding, free chunks
/// not counted) and the blocks it maps on its own (`hblkhd`: the large
/// ones, such as a `Vec` of a million handles).
fn heap_in_use() -> usize {
    // SAFETY: `mallinfo2` has no preconditions; it only reads the
    // allocator's counters.
    let info = unsafe { libc::mallinfo2() };
    info.uordblks + info.hblkhd
}

/// Tasks parked per measurement.
const TASKS: usize = 1_000_000;
/// Measurements per runtime.
const ROUNDS: usize = 3;
/// What each child measures, in the order the table prints them.
const CHILDREN: [&str; 9] = [
    "slots only",
    "goro",
    "tokio",
    "smol",
    "goro oneshot",
    "tokio oneshot",
    "smol oneshot",
    "goro conns",
    "tokio conns",
];
/// Connections per `conns` measurement.
const CONNS: usize = 8_000;
const CHILD_ENV: &str = "GORO_IDLE_CHILD";

fn main() {
    match std::env::var(CHILD_ENV) {
        Ok(which) => {
            let bytes = match which.as_str() {
                "slots only" => slots_only(),
                "goro" => goro_child(),
                "tokio" => tokio_child(),
                "smol" => smol_child(),
                "goro oneshot" => goro_oneshot_child(),
                "tokio oneshot" => tokio_oneshot_child(),
                "smol oneshot" => smol_oneshot_child(),
                "goro conns" => goro_conns_child(),
                "tokio conns" => tokio_conns_child(),
                other => panic!("{CHILD_ENV}={other:?}: expected one of {CHILDREN:?}"),
            };
            println!("{} {}", bytes.rss, bytes.heap);
            // The tasks stay parked; there is nothing to learn from tearing
            // a million of them down, so leave without doing it.
            std::process::exit(0);
        }
        Err(_) => parent(),
    }
}

/// Runs every child [`ROUNDS`] times, interleaved, and prints the table.
fn parent() {
    let exe = std::env::current_exe().expect("path of this benchmark");
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); CHILDREN.len()];
    let mut heaps: Vec<Vec<f64>> = vec![Vec::new(); CHILDREN.len()];
    for _ in 0..ROUNDS {
        for ((which, samples), heap) in CHILDREN.iter().zip(&mut results).zip(&mut heaps) {
            let out = Command::new(&exe)
                .env(CHILD_ENV, which)
                .output()
                .expect("run a measurement child");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let per = if which.ends_with("conns") {
                CONNS
            } else {
                TASKS
            };
            let mut fields = stdout.split_whitespace().map(str::parse::<f64>);
            match (fields.next(), fields.next()) {
                (Some(Ok(growth)), Some(Ok(heap_growth))) if out.status.success() => {
                    samples.push(growth / per as f64);
                    heap.push(heap_growth / per as f64);
                }
                _ => eprintln!(
                    "idle_memory: {which} failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            }
        }
    }

    let medians: Vec<Option<f64>> = results.iter_mut().map(|s| median(s)).collect();
    let heap_medians: Vec<Option<f64>> = heaps.iter_mut().map(|s| median(s)).collect();
    let base = medians[0].unwrap_or(0.0);
    println!(
        "idle memory, {TASKS} parked tasks ({CONNS} connections on the conns rows), \
         median of {ROUNDS} fresh processes"
    );
    println!(
        "{:<14} {:>12} {:>12} {:>12}   samples (B/task; B/connection on the conns rows)",
        "", "B/task", "net B/task", "heap B/task"
    );
    for (((which, median), heap), samples) in CHILDREN
        .iter()
        .zip(&medians)
        .zip(&heap_medians)
        .zip(&results)
    {
        let Some(m) = median else {
            println!("{which:<14} {:>12}", "failed");
            continue;
        };
        let heap = heap.map_or("-".to_string(), |h| format!("{h:.1}"));
        let samples: Vec<String> = samples.iter().map(|s| format!("{s:.0}")).collect();
        // Only the bare-slot rows share the slots' cost.
        let net = if matches!(*which, "goro" | "tokio" | "smol") {
            format!("{:.1}", m - base)
        } else {
            String::new()
        };
        println!(
            "{which:<14} {m:>12.1} {net:>12} {heap:>12}   {}",
            samples.join(" ")
        );
    }
    let net = |i: usize| medians[i].map(|m| m - base);
    for (name, a, b) in [
        ("goro/tokio", 1, 2),
        ("goro/smol", 1, 3),
        ("smol/tokio", 3, 2),
    ] {
        if let (Some(x), Some(y), Some(xn), Some(yn)) = (medians[a], medians[b], net(a), net(b)) {
            println!(
                "{name:<14} {:>12.2} {:>12.2}   (ratio of B/task; net excludes the slots)",
                x / y,
                xn / yn
            );
        }
    }
    for (name, a, b) in [
        ("oneshot g/t", 4, 5),
        ("oneshot g/s", 4, 6),
        ("conns g/t", 7, 8),
    ] {
        if let (Some(x), Some(y)) = (medians[a], medians[b]) {
            println!("{name:<14} {:>12.2}", x / y);
        }
    }
}

fn median(samples: &mut [f64]) -> Option<f64> {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied()
}

/// Waits until `parked` reaches [`TASKS`] (the runtime's threads do the
/// work; this thread only watches).
fn wait_parked(parked: &AtomicUsize) {
    while parked.load(Ordering::Acquire) < TASKS {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One parked task: counts itself, then waits on its slot forever.
async fn park(slot: Arc<Slot<()>>, parked: Arc<AtomicUsize>) {
    parked.fetch_add(1, Ordering::Release);
    slot.take().await;
}

/// The benchmark's own share: the slots and the `Vec` holding them.
fn slots_only() -> Grown {
    let before = Mark::now();
    let slots: Vec<Arc<Slot<()>>> = (0..TASKS).map(|_| Arc::new(Slot::default())).collect();
    let grown = before.grown();
    std::hint::black_box(&slots);
    grown
}

fn tokio_child() -> Grown {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime");
    // Start the workers and warm their queues before measuring.
    rt.block_on(async {
        for _ in 0..1_000 {
            tokio::spawn(async {}).await.unwrap();
        }
    });
    let parked = Arc::new(AtomicUsize::new(0));
    let before = Mark::now();
    let mut slots = Vec::new();
    for _ in 0..TASKS {
        let slot = Arc::new(Slot::default());
        slots.push(slot.clone());
        drop(rt.spawn(park(slot, parked.clone())));
    }
    wait_parked(&parked);
    before.grown()
}

fn smol_child() -> Grown {
    let ex = smol::Executor::new();
    smol::block_on(ex.run(async {
        for _ in 0..1_000 {
            ex.spawn(async {}).await;
        }
    }));
    let parked = Arc::new(AtomicUsize::new(0));
    let before = Mark::now();
    let mut slots = Vec::new();
    for _ in 0..TASKS {
        let slot = Arc::new(Slot::default());
        slots.push(slot.clone());
        ex.spawn(park(slot, parked.clone())).detach();
    }
    // smol's executor runs on the threads that call `run`: this one.
    smol::block_on(ex.run(async {
        while parked.load(Ordering::Acquire) < TASKS {
            smol::future::yield_now().await;
        }
    }));
    before.grown()
}

// ----------------------------------------------------------------------------
// GORO ARM
// ----------------------------------------------------------------------------
fn goro_child() -> Grown {
    let rt = goro::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("goro runtime");
    rt.block_on(async {
        for _ in 0..1_000 {
            assert!(goro::spawn(async {}).await.is_ok());
        }
    });
    let parked = Arc::new(AtomicUsize::new(0));
    let before = Mark::now();
    let mut slots = Vec::new();
    for _ in 0..TASKS {
        let slot = Arc::new(Slot::default());
        slots.push(slot.clone());
        drop(rt.spawn(park(slot, parked.clone())));
    }
    wait_parked(&parked);
    before.grown()
}

// ----------------------------------------------------------------------------
// ONESHOT ROWS
// ----------------------------------------------------------------------------
fn goro_oneshot_child() -> Grown {
    let rt = goro::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("goro runtime");
    rt.block_on(async {
        for _ in 0..1_000 {
            assert!(goro::spawn(async {}).await.is_ok());
        }
    });
    let parked = Arc::new(AtomicUsize::new(0));
    let before = Mark::now();
    let mut senders = Vec::new();
    for _ in 0..TASKS {
        let (tx, rx) = goro::sync::oneshot::channel::<()>();
        senders.push(tx);
        let parked = parked.clone();
        drop(rt.spawn(async move {
            parked.fetch_add(1, Ordering::Release);
            let _ = rx.await;
        }));
    }
    wait_parked(&parked);
    let grown = before.grown();
    std::hint::black_box(&senders);
    grown
}

fn tokio_oneshot_child() -> Grown {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        for _ in 0..1_000 {
            tokio::spawn(async {}).await.unwrap();
        }
    });
    let parked = Arc::new(AtomicUsize::new(0));
    let before = Mark::now();
    let mut senders = Vec::new();
    for _ in 0..TASKS {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        senders.push(tx);
        let parked = parked.clone();
        drop(rt.spawn(async move {
            parked.fetch_add(1, Ordering::Release);
            let _ = rx.await;
        }));
    }
    wait_parked(&parked);
    let grown = before.grown();
    std::hint::black_box(&senders);
    grown
}

fn smol_oneshot_child() -> Grown {
    let ex = smol::Executor::new();
    smol::block_on(ex.run(async {
        for _ in 0..1_000 {
            ex.spawn(async {}).await;
        }
    }));
    let parked = Arc::new(AtomicUsize::new(0));
    let before = Mark::now();
    let mut senders = Vec::new();
    for _ in 0..TASKS {
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        senders.push(tx);
        let parked = parked.clone();
        ex.spawn(async move {
            parked.fetch_add(1, Ordering::Release);
            let _ = rx.await;
        })
        .detach();
    }
    smol::block_on(ex.run(async {
        while parked.load(Ordering::Acquire) < TASKS {
            smol::future::yield_now().await;
        }
    }));
    let grown = before.grown();
    std::hint::black_box(&senders);
    grown
}

// ----------------------------------------------------------------------------
// IDLE CONNECTION ROWS
// ----------------------------------------------------------------------------
/// Waits until `parked` reaches [`CONNS`].
fn wait_conns(parked: &AtomicUsize) {
    while parked.load(Ordering::Acquire) < CONNS {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn goro_conns_child() -> Grown {
    use futures::AsyncReadExt;
    let rt = goro::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("goro runtime");
    let listener = rt
        .block_on(goro::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    // Warm up with one connection, as the task rows warm their queues.
    rt.block_on(async {
        let _c = goro::net::TcpStream::connect(addr).await.unwrap();
        let _s = listener.accept().await.unwrap();
    });
    let parked = Arc::new(AtomicUsize::new(0));
    let before = Mark::now();
    let clients = rt.block_on(async {
        let mut clients = Vec::with_capacity(CONNS);
        for _ in 0..CONNS {
            clients.push(goro::net::TcpStream::connect(addr).await.unwrap());
            let (mut s, _) = listener.accept().await.unwrap();
            let parked = parked.clone();
            drop(goro::spawn(async move {
                parked.fetch_add(1, Ordering::Release);
                let mut buf = [0u8; 64];
                let _ = s.read(&mut buf).await;
            }));
        }
        clients
    });
    wait_conns(&parked);
    let grown = before.grown();
    std::hint::black_box(&clients);
    grown
}

fn tokio_conns_child() -> Grown {
    use tokio::io::AsyncReadExt;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    rt.block_on(async {
        let _c = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _s = listener.accept().await.unwrap();
    });
    let parked = Arc::new(AtomicUsize::new(0));
    let before = Mark::now();
    let clients = rt.block_on(async {
        let mut clients = Vec::with_capacity(CONNS);
        for _ in 0..CONNS {
            clients.push(tokio::net::TcpStream::connect(addr).await.unwrap());
            let (mut s, _) = listener.accept().await.unwrap();
            let parked = parked.clone();
            drop(tokio::spawn(async move {
                parked.fetch_add(1, Ordering::Release);
                let mut buf = [0u8; 64];
                let _ = s.read(&mut buf).await;
            }));
        }
        clients
    });
    wait_conns(&parked);
    let grown = before.grown();
    std::hint::black_box(&clients);
    grown
}
