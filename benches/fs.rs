//! Reading a 100 MiB file (from the page cache: it is written, then read
//! once to warm up) four ways, interleaved round by round:
//!
//! * `std::fs::read` on the calling thread: the floor;
//! * goro `File::open` + `File::read_to_end` (the caller's Vec moves to
//!   the blocking pool and back);
//! * goro `File` through `futures::AsyncReadExt::read_to_end` (the
//!   chunked trait path: up to 2 MiB per pool round trip, one extra copy);
//! * tokio `File::open` + `AsyncReadExt::read_to_end`;
//! * `std::fs::read` inside goro's `spawn_blocking`: the pool's own floor.
//!
//! Each figure is the median over `ROUNDS` of open-to-last-byte time,
//! given as MiB/s and as a ratio to std.
//!
//! `flock /tmp/goro-bench.lock cargo bench --bench fs`

use std::path::Path;
use std::time::{Duration, Instant};

const SIZE: usize = 100 << 20;
const ROUNDS: usize = 9;

fn time<R>(f: impl FnOnce() -> R) -> (Duration, R) {
    let start = Instant::now();
    let r = f();
    (start.elapsed(), r)
}

fn goro_inherent(rt: &goro::runtime::Runtime, p: &Path) -> Vec<u8> {
    rt.block_on(async {
        let mut f = goro::fs::File::open(p).await.unwrap();
        let mut v = Vec::new();
        f.read_to_end(&mut v).await.unwrap();
        v
    })
}

fn goro_trait(rt: &goro::runtime::Runtime, p: &Path) -> Vec<u8> {
    rt.block_on(async {
        let mut f = goro::fs::File::open(p).await.unwrap();
        let mut v = Vec::new();
        futures::AsyncReadExt::read_to_end(&mut f, &mut v)
            .await
            .unwrap();
        v
    })
}

fn tokio_read(rt: &tokio::runtime::Runtime, p: &Path) -> Vec<u8> {
    rt.block_on(async {
        use tokio::io::AsyncReadExt;
        let mut f = tokio::fs::File::open(p).await.unwrap();
        let mut v = Vec::new();
        f.read_to_end(&mut v).await.unwrap();
        v
    })
}

/// `std::fs::read` itself on goro's blocking pool: what any pool-based
/// read costs at best (the pool round trip and a different thread).
fn std_on_pool(rt: &goro::runtime::Runtime, p: &Path) -> Vec<u8> {
    let p = p.to_owned();
    rt.block_on(async move {
        goro::task::spawn_blocking(move || std::fs::read(p).unwrap())
            .await
            .unwrap()
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let p = std::env::temp_dir().join(format!("goro-bench-fs-{}", std::process::id()));
    let data: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    std::fs::write(&p, &data).unwrap();
    let grt = goro::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let trt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(std::fs::read(&p).unwrap().len(), SIZE); // warm the cache
    let mut t = [vec![], vec![], vec![], vec![], vec![]];
    for _ in 0..ROUNDS {
        let (d, v) = time(|| std::fs::read(&p).unwrap());
        assert_eq!(v.len(), SIZE);
        t[0].push(d);
        let (d, v) = time(|| goro_inherent(&grt, &p));
        assert_eq!(v.len(), SIZE);
        t[1].push(d);
        let (d, v) = time(|| goro_trait(&grt, &p));
        assert_eq!(v.len(), SIZE);
        t[2].push(d);
        let (d, v) = time(|| tokio_read(&trt, &p));
        assert_eq!(v.len(), SIZE);
        t[3].push(d);
        let (d, v) = time(|| std_on_pool(&grt, &p));
        assert_eq!(v.len(), SIZE);
        t[4].push(d);
    }
    let _ = std::fs::remove_file(&p);
    let names = [
        "std::fs::read",
        "goro File::read_to_end",
        "goro File AsyncReadExt",
        "tokio File read_to_end",
        "std::fs::read on pool",
    ];
    let std_med = median(t[0].clone());
    println!("fs: 100 MiB read, median of {ROUNDS} interleaved rounds, 2 workers each");
    for (name, ts) in names.iter().zip(t) {
        let m = median(ts);
        println!(
            "{name:<24} {:>8.1} ms  {:>7.0} MiB/s  vs std {:.2}x",
            m.as_secs_f64() * 1e3,
            100.0 / m.as_secs_f64(),
            std_med.as_secs_f64() / m.as_secs_f64()
        );
    }
}
