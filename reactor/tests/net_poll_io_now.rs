//! `Handle::poll_io_now`: a non-blocking poll beside the driver, from any
//! thread. It must dispatch readiness as the driver does (the waiting
//! reader is woken and then reads), and it must not swallow the edge that
//! `Handle::unpark` raises for a thread parked in the driver.

use futures::AsyncReadExt;
use goro_reactor::net::TcpStream;
use goro_reactor::Driver;
use std::future::Future;
use std::io::Write;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

/// A connected pair: the goro end (registered with the current reactor)
/// and a blocking std peer.
fn pair() -> (TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (s, _) = listener.accept().unwrap();
    s.set_nonblocking(true).unwrap();
    (TcpStream::from_std(s).unwrap(), peer)
}

#[test]
fn a_poll_from_another_thread_wakes_the_reader() {
    let driver = Driver::new().unwrap();
    let handle = driver.handle();
    let _enter = handle.enter();
    let (mut stream, mut peer) = pair();
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0u8; 5];
    let mut read = pin!(stream.read_exact(&mut buf));
    assert!(read.as_mut().poll(&mut cx).is_pending(), "nothing sent yet");

    peer.write_all(b"hello").unwrap();
    // Loopback queues the bytes at the receiver before `write` returns, so
    // the edge is already in the epoll instance.
    let h = handle.clone();
    let polled = std::thread::spawn(move || h.poll_io_now()).join().unwrap();
    assert!(polled, "the readable edge reached the registration");
    assert!(flag.0.load(SeqCst), "the reader's waker was woken");
    assert!(matches!(read.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
    assert_eq!(&buf, b"hello");
    drop(driver);
}

#[test]
fn the_unpark_edge_survives_a_concurrent_poll() {
    let mut driver = Driver::new().unwrap();
    let handle = driver.handle();
    let _enter = handle.enter();
    // A registered socket, so that `poll_io_now` does call epoll_wait.
    let (_stream, _peer) = pair();
    // Let the registration's first (writable) edge go through the driver.
    driver.park(Some(std::time::Duration::ZERO));

    handle.unpark();
    // The waker's edge is the only event: this poll takes it, finds no
    // registration to dispatch to, and must raise the edge again.
    assert!(!handle.poll_io_now());
    // Were the edge lost, this would block for ever.
    driver.park(None);
}
