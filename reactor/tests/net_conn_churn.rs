//! 10,000 loopback connections (both ends in this process) opened and
//! closed three times: the registrations are freed every time and the
//! resident set comes back to the plateau of the first round (no leak).
//! Its own test binary, so no other test moves the resident set.

mod support;

use goro_reactor::net::{TcpListener, TcpStream};
use std::future::Future;
use std::os::fd::AsRawFd;
use support::run_with_driver;

const CONNS: usize = 10_000;
const ROUNDS: usize = 3;

/// Resident set size of this process, in bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: `sysconf` has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize
}

/// Two descriptors per connection: makes room for them if the limit is
/// lower (raising the hard limit needs privilege; without it the soft
/// limit goes up to the hard one). Returns how many connections fit.
fn room_for_connections() -> usize {
    let want = (2 * CONNS + 256) as libc::rlim_t;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid out-pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_cur < want {
        let raised = libc::rlimit {
            rlim_cur: want.max(lim.rlim_cur),
            rlim_max: want.max(lim.rlim_max),
        };
        // SAFETY: `raised` is a valid rlimit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            lim.rlim_cur = lim.rlim_max;
            // SAFETY: as above.
            unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
        }
        // SAFETY: as above.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    }
    let fit = ((lim.rlim_cur as usize).saturating_sub(256) / 2).min(CONNS);
    if fit < CONNS {
        eprintln!(
            "descriptor limit {}: {fit} connections per round",
            lim.rlim_cur
        );
    }
    fit
}

/// Closes with a reset instead of a FIN (`SO_LINGER` 0), so that 30,000
/// client ports do not sit in TIME_WAIT and run out.
fn reset_on_close(s: &TcpStream) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: an open socket and a live `linger` of the length passed.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0);
}

#[test]
fn ten_thousand_connections_three_times_leave_nothing_behind() {
    let conns = room_for_connections();
    let ((), handle) = run_with_driver(|handle| {
        let handle = handle.clone();
        async move {
            // `open`: every connection up, every server end parked in a
            // read; `plateau`: after everything closed.
            let (mut open, mut plateau) = (Vec::new(), Vec::new());
            for round in 0..ROUNDS {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let mut pairs = Vec::with_capacity(conns);
                for _ in 0..conns {
                    let c = TcpStream::connect(addr).await.unwrap();
                    let (s, _) = listener.accept().await.unwrap();
                    reset_on_close(&c);
                    pairs.push((c, s));
                }
                assert_eq!(handle.io_registrations(), 2 * conns + 1, "round {round}");
                // Every server end parked in a read, as a server's tasks
                // would be (one future each, polled together in place: the
                // test harness never frees a spawned task's slot, which
                // would grow the resident set by itself), then the clients
                // reset their ends and every parked read returns.
                let (clients, servers): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
                {
                    // Each read checks its own result, so that the join
                    // collects `()`s: a `Vec` of 10,000 results, allocated
                    // while the connections close, would land in the
                    // closed plateau it is measuring.
                    let mut reads = std::pin::pin!(futures::future::join_all(servers.iter().map(
                        |s| async move {
                            let mut b = [0u8; 16];
                            let r = futures::AsyncReadExt::read(&mut &*s, &mut b).await;
                            assert!(r.map_or(true, |n| n == 0), "a reset or EOF");
                        }
                    )));
                    std::future::poll_fn(|cx| {
                        assert!(reads.as_mut().poll(cx).is_pending(), "no byte was sent");
                        std::task::Poll::Ready(())
                    })
                    .await;
                    assert_eq!(handle.waiting_sockets(), conns, "round {round}");
                    open.push(rss());
                    drop(clients);
                    reads.await;
                }
                drop(servers);
                drop(listener);
                assert_eq!(handle.io_registrations(), 0, "round {round}");
                plateau.push(rss());
            }
            eprintln!("RSS open {open:?}, closed {plateau:?}");
            // The first plateau: round 0 with everything open.
            let first = open[0] as f64;
            for (round, (&o, &c)) in open.iter().zip(&plateau).enumerate() {
                assert!(
                    (o as f64) <= first * 1.10 && (c as f64) <= first * 1.10,
                    "round {round}: RSS {o} B open, {c} B closed, against {first} B"
                );
            }
            // A leak of even a few dozen bytes per connection shows as
            // growth between the last two rounds (the allocator settles
            // during the first).
            let (a, b) = (plateau[ROUNDS - 2] as f64, plateau[ROUNDS - 1] as f64);
            assert!(b <= a * 1.02, "RSS grew from {a} B to {b} B in one round");
        }
    });
    assert_eq!(handle.io_registrations(), 0);
}
