//! `AsyncFd` over a plain non-blocking Unix socket pair (single-thread
//! harness): readiness, the WouldBlock clear, deregistration.

mod support;

use goro_reactor::fd::{AsyncFd, Interest};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use support::{run, run_with_driver, spawn_with, yield_now};

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

#[test]
fn readable_wakes_when_the_peer_writes() {
    let got = run(|| async {
        let (a, mut b) = pair();
        let fd = AsyncFd::with_interest(a, Interest::READABLE).unwrap();
        let reader = spawn_with(async move {
            let mut buf = [0u8; 16];
            loop {
                let mut guard = fd.readable().await.unwrap();
                match guard.try_io(|fd| fd.get_ref().read(&mut buf)) {
                    Ok(n) => return buf[..n.unwrap()].to_vec(),
                    Err(_would_block) => continue,
                }
            }
        });
        // Let the reader find the socket empty and go to sleep first.
        for _ in 0..3 {
            yield_now().await;
        }
        b.write_all(b"ping").unwrap();
        reader.join().await
    });
    assert_eq!(got, b"ping");
}

#[test]
fn would_block_clears_and_a_new_edge_sets_again() {
    run(|| async {
        let (a, mut b) = pair();
        let fd = AsyncFd::new(a).unwrap();
        b.write_all(b"x").unwrap();
        let mut buf = [0u8; 8];
        // Drain through the poll helper, then the next op must wait.
        let n = fd
            .async_io(Interest::READABLE, |s| (&*s).read(&mut buf))
            .await
            .unwrap();
        assert_eq!(n, 1);
        let mut guard = fd.readable().await.unwrap();
        assert!(guard.try_io(|s| s.get_ref().read(&mut buf)).is_err());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(
            fd.poll_read_ready(&mut cx).is_pending(),
            "a cleared fd must wait for a new edge"
        );
        b.write_all(b"yz").unwrap();
        let n = fd
            .async_io(Interest::READABLE, |s| (&*s).read(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"yz");
        // Writable: a fresh socket has room.
        let mut g = fd.writable().await.unwrap();
        assert_eq!(g.try_io(|s| s.get_ref().write(b"!")).unwrap().unwrap(), 1);
        let mut one = [0u8; 1];
        assert_eq!(b.read(&mut one).unwrap(), 1);
        // EOF: the peer closes, the read end turns readable and reads 0.
        drop(b);
        let n = fd
            .async_io(Interest::READABLE, |s| (&*s).read(&mut buf))
            .await
            .unwrap();
        assert_eq!(n, 0);
    });
}

#[test]
fn drop_and_into_inner_deregister() {
    let ((), handle) = run_with_driver(|h| {
        let h = h.clone();
        async move {
            let (a, b) = pair();
            let fa = AsyncFd::new(a).unwrap();
            let fb = AsyncFd::new(b).unwrap();
            assert_eq!(h.io_registrations(), 2);
            drop(fa);
            assert_eq!(h.io_registrations(), 1);
            let mut b = fb.into_inner();
            assert_eq!(h.io_registrations(), 0);
            // `b` is still open after into_inner (a closed descriptor would
            // fail with EBADF); dropping `fa` closed its peer, so: EOF.
            assert_eq!(b.read(&mut [0u8; 1]).unwrap(), 0);
        }
    });
    assert_eq!(handle.io_registrations(), 0);
}
