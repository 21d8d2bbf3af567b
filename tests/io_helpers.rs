//! `goro::io` and `goro::prelude` on the goro runtime.

use goro::io::{self, duplex, BufReader, ErrorKind};
use goro::net::{TcpListener, TcpStream};
use goro::prelude::*;

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prelude_is_enough_for_a_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = goro::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).await.unwrap();
        s.write_all(&buf).await.unwrap();
        s.close().await.unwrap();
    });
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"hello").await.unwrap();
    let mut back = Vec::new();
    c.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, b"hello");
    server.await.unwrap();
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplex_moves_more_than_its_capacity_with_backpressure() {
    let (mut a, mut b) = duplex(16);
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let sent = data.clone();
    let writer = goro::spawn(async move {
        a.write_all(&sent).await.unwrap();
        a.close().await.unwrap();
        a
    });
    let mut got = Vec::new();
    b.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, data);
    drop(writer.await.unwrap());
}

#[goro::test]
async fn duplex_write_waits_for_room() {
    let (mut a, mut b) = duplex(4);
    // 4 bytes fit; the fifth must wait until the peer reads.
    assert_eq!(a.write(b"abcdef").await.unwrap(), 4);
    let mut w = a.write(b"ef");
    assert!(futures::poll!(&mut w).is_pending());
    let mut buf = [0u8; 2];
    b.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ab");
    assert_eq!(w.await.unwrap(), 2);
}

#[goro::test]
async fn duplex_eof_and_broken_pipe() {
    let (mut a, mut b) = duplex(64);
    a.write_all(b"tail").await.unwrap();
    drop(a);
    let mut s = String::new();
    // Buffered bytes survive the writer's drop; then EOF.
    b.read_to_string(&mut s).await.unwrap();
    assert_eq!(s, "tail");
    let err = b.write_all(b"x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
}

#[test]
#[should_panic(expected = "max_buf_size must be at least 1")]
fn duplex_of_zero_capacity_is_refused() {
    let _ = duplex(0);
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_bidirectional_proxies_both_ways_and_half_closes() {
    // client <-> (proxy_a | proxy_b) <-> server
    let (mut client, mut proxy_a) = duplex(1024);
    let (mut proxy_b, mut server) = duplex(1024);
    let proxy =
        goro::spawn(async move { io::copy_bidirectional(&mut proxy_a, &mut proxy_b).await });
    let server = goro::spawn(async move {
        let mut req = Vec::new();
        server.read_to_end(&mut req).await.unwrap();
        let reply = vec![b'r'; req.len() * 2];
        server.write_all(&reply).await.unwrap();
        server.close().await.unwrap();
        req.len()
    });
    let req = vec![b'q'; 50_000];
    client.write_all(&req).await.unwrap();
    client.close().await.unwrap();
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).await.unwrap();
    assert_eq!(reply.len(), 100_000);
    assert_eq!(server.await.unwrap(), 50_000);
    assert_eq!(proxy.await.unwrap().unwrap(), (50_000, 100_000));
}

#[goro::test]
async fn copy_empty_sink_repeat() {
    let n = io::copy(io::repeat(7).take(10_000), &mut io::sink())
        .await
        .unwrap();
    assert_eq!(n, 10_000);
    let mut v = Vec::new();
    assert_eq!(io::empty().read_to_end(&mut v).await.unwrap(), 0);
    let mut cursor = io::Cursor::new(Vec::new());
    io::copy(&b"abc"[..], &mut cursor).await.unwrap();
    assert_eq!(cursor.into_inner(), b"abc");
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_halves_work_from_two_tasks_and_buffered_lines() {
    let (a, mut b) = duplex(8);
    let (r, mut w) = io::split(a);
    let writer = goro::spawn(async move {
        w.write_all(b"one\ntwo\n").await.unwrap();
        w
    });
    b.write_all(b"x\ny\n").await.unwrap();
    let mut lines = Vec::new();
    let mut rb = BufReader::new(r);
    for _ in 0..2 {
        let mut l = String::new();
        rb.read_line(&mut l).await.unwrap();
        lines.push(l);
    }
    assert_eq!(lines, ["x\n", "y\n"]);
    let mut from_w = [0u8; 8];
    b.read_exact(&mut from_w).await.unwrap();
    assert_eq!(&from_w, b"one\ntwo\n");
    let w = writer.await.unwrap();
    let a = rb.into_inner().reunite(w).unwrap();
    drop(a);
}
