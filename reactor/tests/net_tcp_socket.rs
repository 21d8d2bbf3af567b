//! `TcpSocket` (options before listen/connect) and the listen backlog of
//! `TcpListener::bind`, on the single-thread harness in `support`.

mod support;

use futures::{AsyncReadExt, AsyncWriteExt};
use goro_reactor::net::{TcpListener, TcpSocket, TcpStream};
use goro_reactor::time::timeout;
use std::io::ErrorKind;
use std::time::Duration;
use support::{run, spawn_with};

#[test]
fn listen_and_connect_through_tcp_socket() {
    run(|| async {
        let s = TcpSocket::new_v4().unwrap();
        s.set_reuseaddr(true).unwrap();
        s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = s.local_addr().unwrap();
        let listener = s.listen(64).unwrap();
        assert_eq!(listener.local_addr().unwrap(), addr);

        let c = TcpSocket::new_v4().unwrap();
        c.set_nodelay(true).unwrap();
        let client = spawn_with(async move { c.connect(addr).await.unwrap() });
        let (mut server_side, peer) = listener.accept().await.unwrap();
        let mut client = client.join().await;
        assert_eq!(peer, client.local_addr().unwrap());
        // The option set before connect is in force on the stream.
        assert!(client.nodelay().unwrap());

        client.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        server_side.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    run(|| async {
        // Bind without listening: the port is ours and nothing accepts.
        let hold = TcpSocket::new_v4().unwrap();
        hold.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = hold.local_addr().unwrap();
        let err = TcpSocket::new_v4()
            .unwrap()
            .connect(addr)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    });
}

#[test]
fn two_listeners_share_a_port_with_reuseport() {
    run(|| async {
        let a = TcpSocket::new_v4().unwrap();
        a.set_reuseport(true).unwrap();
        a.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = a.local_addr().unwrap();
        let la = a.listen(16).unwrap();
        let b = TcpSocket::new_v4().unwrap();
        b.set_reuseport(true).unwrap();
        b.bind(addr).unwrap();
        let lb = b.listen(16).unwrap();
        assert_eq!(la.local_addr().unwrap(), lb.local_addr().unwrap());
    });
}

/// With the old fixed backlog of 128, connects past the 129th to a
/// listener that does not accept have their SYNs dropped and wait out
/// retransmits (1 s, 3 s, 7 s, ...) that keep failing while the queue
/// stays full. `bind` listens with `net.core.somaxconn` (at least 128 and
/// 4,096 by default), so 500 connects complete at once without one
/// accept. Skipped where somaxconn itself is below the count.
#[test]
fn bind_backlog_holds_a_burst_without_accepting() {
    const N: usize = 500;
    let backlog = goro_reactor::net::tcp::default_backlog() as usize;
    if backlog <= N {
        eprintln!("net.core.somaxconn is {backlog}: too small for a {N}-connection burst; skipped");
        return;
    }
    run(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clients: Vec<_> = (0..N)
            .map(|_| spawn_with(async move { TcpStream::connect(addr).await }))
            .collect();
        let all = async {
            let mut streams = Vec::with_capacity(N);
            for c in clients {
                streams.push(c.join().await.unwrap());
            }
            streams
        };
        // Generous: on loopback they complete in milliseconds; a dropped
        // SYN alone would cost a second.
        let streams = timeout(Duration::from_secs(30), all)
            .await
            .expect("connects waited on SYN retransmits: the backlog is too small");
        assert_eq!(streams.len(), N);
        drop(listener);
    });
}
