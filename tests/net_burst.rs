//! A connection burst on the multi-thread runtime: 10,000 clients connect
//! to one listener at once, all stay connected together, and each makes
//! 10 echo round trips, with no error. Its own test binary, because it
//! raises the descriptor limit and holds 20,000 sockets.

use futures::{AsyncReadExt, AsyncWriteExt};
use goro::net::{TcpListener, TcpStream};
use goro::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 10_000;
const ROUND_TRIPS: usize = 10;
/// Descriptors kept free for the runtime (epoll, eventfd, blocking pool,
/// the test harness) beside the two per connection.
const SPARE_FDS: u64 = 500;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft
/// limit.
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for getrlimit to fill.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: `lim` is a valid rlimit; a soft limit equal to the hard one
    // is always allowed.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    lim.rlim_cur
}

async fn echo(mut s: TcpStream) {
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if s.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[derive(Default)]
struct Progress {
    connected: AtomicUsize,
    finished: AtomicUsize,
}

async fn client(
    id: usize,
    addr: std::net::SocketAddr,
    all_connected: Arc<Barrier>,
    progress: Arc<Progress>,
) -> std::io::Result<()> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    // Relaxed: progress counters, read only for the watchdog's message.
    progress.connected.fetch_add(1, Ordering::Relaxed);
    all_connected.wait().await;
    for round in 0..ROUND_TRIPS {
        let msg = format!("client {id} round {round}\n");
        s.write_all(msg.as_bytes()).await?;
        let mut back = vec![0u8; msg.len()];
        s.read_exact(&mut back).await?;
        if back != msg.as_bytes() {
            return Err(std::io::Error::other(format!(
                "client {id}: echoed {back:?} for {msg:?}"
            )));
        }
    }
    progress.finished.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

#[test]
fn ten_thousand_concurrent_connections_round_trip_without_error() {
    let limit = raise_fd_limit();
    let n = CONNECTIONS.min((limit.saturating_sub(SPARE_FDS) / 2) as usize);
    if n < CONNECTIONS {
        println!(
            "RLIMIT_NOFILE hard limit is {limit}: {CONNECTIONS} connections need \
             2 descriptors each plus {SPARE_FDS} spare, so running {n}"
        );
    }
    assert!(
        n >= 1_000,
        "hard descriptor limit {limit} is too low for a burst test"
    );

    let progress = Arc::new(Progress::default());
    let (tx, rx) = mpsc::channel();
    let p = progress.clone();
    std::thread::spawn(move || {
        let rt = goro::runtime::Builder::new_multi_thread().build().unwrap();
        let result = rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            goro::spawn(async move {
                while let Ok((s, _)) = listener.accept_with_backoff().await {
                    goro::spawn(echo(s));
                }
            });
            let barrier = Arc::new(Barrier::new(n));
            let start = Instant::now();
            let clients: Vec<_> = (0..n)
                .map(|id| goro::spawn(client(id, addr, barrier.clone(), p.clone())))
                .collect();
            let mut errors = Vec::new();
            for c in clients {
                match c.await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => errors.push(e.to_string()),
                    Err(e) => errors.push(format!("client task failed: {e}")),
                }
            }
            Ok::<_, std::io::Error>((start.elapsed(), errors))
        });
        let _ = tx.send(result);
    });

    // Watchdog: on 2 loaded cores a debug build needs a few seconds; a
    // stuck client is a failure with a progress report, not a hang.
    let (elapsed, errors) = match rx.recv_timeout(Duration::from_secs(180)) {
        Ok(r) => r.unwrap(),
        Err(_) => panic!(
            "burst not done after 180 s: {} of {n} connected, {} finished",
            progress.connected.load(Ordering::Relaxed),
            progress.finished.load(Ordering::Relaxed),
        ),
    };
    println!("{n} connections x {ROUND_TRIPS} round trips: {elapsed:?}");
    assert!(
        errors.is_empty(),
        "{} of {n} clients failed; first: {}",
        errors.len(),
        errors[0]
    );
    assert_eq!(progress.finished.load(Ordering::Relaxed), n);
}
