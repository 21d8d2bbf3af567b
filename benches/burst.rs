//! burst: N clients connect to one listener at once (N = 10,000, fewer if
//! the descriptor limit cannot hold 2 per connection), wait until all are
//! connected, then each makes 10 echo round trips of about 20 bytes.
//! Server and clients share one runtime (2 worker threads). Measured: from
//! the first client spawned to the last client done, per run; goro and
//! tokio alternate run by run in one process, and the medians and their
//! ratio are printed.
//!
//! Both listeners use the system's `net.core.somaxconn` as the backlog
//! (goro's `TcpListener::bind` does so itself; tokio's `bind` listens
//! with 1,024, so its arm goes through `TcpSocket::listen`), so the
//! figures compare runtimes, not backlogs.
//!
//! Each run also prints how many connections the kernel dropped from a
//! full accept queue meanwhile (`ListenOverflows`): each drop costs that
//! client a SYN retransmit, 1 s and more, which dominates the run time.
//!
//! Run: `cargo bench --bench burst [-- RUNS [N]]` (default 5 runs each,
//! N = 10,000).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 10_000;
const ROUND_TRIPS: usize = 10;
const WORKERS: usize = 2;
const SPARE_FDS: u64 = 500;

fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for getrlimit to fill.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: `lim` is a valid rlimit; soft = hard is always allowed.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    lim.rlim_cur
}

fn message(id: usize, round: usize) -> Vec<u8> {
    format!("client {id} round {round}\n").into_bytes()
}

// ------------------------------------------------------------------ goro --

fn goro_run(n: usize) -> Duration {
    use futures::{AsyncReadExt, AsyncWriteExt};
    use goro::net::{TcpListener, TcpStream};
    use std::sync::Arc;

    let rt = goro::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        goro::spawn(async move {
            while let Ok((mut s, _)) = listener.accept_with_backoff().await {
                goro::spawn(async move {
                    let mut buf = [0u8; 256];
                    while let Ok(k @ 1..) = s.read(&mut buf).await {
                        if s.write_all(&buf[..k]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let barrier = Arc::new(goro::sync::Barrier::new(n));
        let start = Instant::now();
        let clients: Vec<_> = (0..n)
            .map(|id| {
                let barrier = barrier.clone();
                goro::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    s.set_nodelay(true).unwrap();
                    barrier.wait().await;
                    for round in 0..ROUND_TRIPS {
                        let msg = message(id, round);
                        s.write_all(&msg).await.unwrap();
                        let mut back = vec![0u8; msg.len()];
                        s.read_exact(&mut back).await.unwrap();
                        assert_eq!(back, msg);
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        start.elapsed()
    })
}

// ----------------------------------------------------------------- tokio --

fn tokio_run(n: usize, backlog: u32) -> Duration {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpSocket, TcpStream};

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(backlog).unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 256];
                    while let Ok(k @ 1..) = s.read(&mut buf).await {
                        if s.write_all(&buf[..k]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let barrier = Arc::new(tokio::sync::Barrier::new(n));
        let start = Instant::now();
        let clients: Vec<_> = (0..n)
            .map(|id| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    s.set_nodelay(true).unwrap();
                    barrier.wait().await;
                    for round in 0..ROUND_TRIPS {
                        let msg = message(id, round);
                        s.write_all(&msg).await.unwrap();
                        let mut back = vec![0u8; msg.len()];
                        s.read_exact(&mut back).await.unwrap();
                        assert_eq!(back, msg);
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        start.elapsed()
    })
}

/// The kernel's count of connections dropped because an accept queue was
/// full (`TcpExt: ListenOverflows` in /proc/net/netstat; system-wide, so
/// other processes' listeners count too). `None` where unreadable.
fn listen_overflows() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let (names, values) = (lines.next()?, lines.next()?);
    let i = names
        .split_whitespace()
        .position(|n| n == "ListenOverflows")?;
    values.split_whitespace().nth(i)?.parse().ok()
}

fn overflows_during(f: impl FnOnce() -> Duration) -> (Duration, String) {
    let before = listen_overflows();
    let d = f();
    let delta = match (before, listen_overflows()) {
        (Some(a), Some(b)) => (b - a).to_string(),
        _ => "?".to_string(),
    };
    (d, delta)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let runs = args.first().copied().unwrap_or(5);
    let wanted = args.get(1).copied().unwrap_or(CONNECTIONS);
    let limit = raise_fd_limit();
    let n = wanted.min((limit.saturating_sub(SPARE_FDS) / 2) as usize);
    let backlog = goro::net::tcp::default_backlog();
    println!(
        "burst: {n} connections x {ROUND_TRIPS} round trips, {WORKERS} workers, \
         backlog {backlog}, RLIMIT_NOFILE {limit}, {runs} runs each"
    );
    let (mut g, mut t) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let (gd, go) = overflows_during(|| goro_run(n));
        let (td, to) = overflows_during(|| tokio_run(n, backlog));
        println!(
            "run {run}: goro {gd:.2?} ({go} listen overflows)  tokio {td:.2?} ({to} listen overflows)"
        );
        g.push(gd);
        t.push(td);
    }
    let (gm, tm) = (median(&mut g), median(&mut t));
    println!(
        "median: goro {gm:.2?}  tokio {tm:.2?}  goro/tokio {:.2}",
        gm.as_secs_f64() / tm.as_secs_f64()
    );
}
