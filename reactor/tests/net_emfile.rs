//! `EMFILE` on accept: the error is returned and the listener stays usable.
//! Its own test binary, because it exhausts the process's descriptors.

mod support;

use goro_reactor::net::{TcpListener, TcpStream};
use support::run;

#[test]
fn emfile_on_accept_returns_the_error_and_the_listener_recovers() {
    run(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(addr).unwrap();
        // Wait until the connection is queued (readiness, not a sleep).
        listener.readable().await.unwrap();

        // Use up every descriptor the process may open.
        let mut hogs = support::exhaust_fds(10_000_000);
        // accept fails with EMFILE, more than once, without hanging.
        for _ in 0..3 {
            let err = listener.accept().await.unwrap_err();
            assert_eq!(err.raw_os_error(), Some(24), "{err}");
        }
        // Free a few descriptors: the queued connection is accepted now.
        hogs.truncate(hogs.len().saturating_sub(16));
        let (s, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        drop(hogs);
        // And the listener keeps serving new connections.
        let c2 = TcpStream::connect(addr).await.unwrap();
        let (s2, _) = listener.accept().await.unwrap();
        assert_eq!(s2.peer_addr().unwrap(), c2.local_addr().unwrap());
        drop(s);
    });
}
