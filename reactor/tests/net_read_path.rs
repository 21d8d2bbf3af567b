//! The stream read path: a read that empties the socket clears the read
//! readiness in the same system call (`net/inq.rs`), so these tests check
//! that no byte and no wake-up is lost around that clear, and that `peek`
//! and `try_read` keep their meaning.

mod support;

use futures::{AsyncReadExt, AsyncWriteExt};
use goro_reactor::net::{TcpListener, TcpStream};
use std::io::{ErrorKind, Read, Write};
use support::{run, spawn, spawn_with};

/// Byte `i` of the test stream.
fn byte(i: usize) -> u8 {
    (i % 251) as u8
}

/// A blocking std peer on its own thread, connected to a goro listener.
async fn std_peer(
    body: impl FnOnce(std::net::TcpStream) + Send + 'static,
) -> (TcpStream, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let s = std::net::TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        body(s)
    });
    let (s, _) = listener.accept().await.unwrap();
    (s, peer)
}

/// The peer sends pieces smaller than, equal to and larger than the
/// reader's 64-byte buffer, and waits for an acknowledgement after each,
/// so the socket is empty between pieces: every piece that fits the
/// buffer is read by a call that drains the socket exactly, and the next
/// piece must still wake the reader.
#[test]
fn pieces_smaller_and_larger_than_the_buffer_arrive_whole_and_in_order() {
    const PIECES: [usize; 12] = [1, 63, 64, 65, 64, 128, 7, 64, 4096, 64, 100_000, 64];
    let total: usize = PIECES.iter().sum();
    let got = run(|| async move {
        let (mut s, peer) = std_peer(|mut s| {
            let mut at = 0;
            for len in PIECES {
                let piece: Vec<u8> = (at..at + len).map(byte).collect();
                s.write_all(&piece).unwrap();
                at += len;
                let mut ack = [0u8; 1];
                s.read_exact(&mut ack).unwrap();
                assert_eq!(ack[0], 1, "the reader acknowledges each piece");
            }
        })
        .await;
        let mut at = 0;
        for len in PIECES {
            let end = at + len;
            let mut buf = [0u8; 64];
            while at < end {
                let want = (end - at).min(buf.len());
                // Exactly the rest of the piece (or a full buffer): reads
                // that leave the socket empty, or leave bytes behind.
                let n = s.read(&mut buf[..want]).await.unwrap();
                assert!(n > 0, "EOF before byte {at}");
                for (k, &b) in buf[..n].iter().enumerate() {
                    assert_eq!(b, byte(at + k), "byte {}", at + k);
                }
                at += n;
            }
            s.write_all(&[1]).await.unwrap();
        }
        peer.join().unwrap();
        // The peer closed after the last acknowledgement: EOF, not a hang.
        assert_eq!(s.read(&mut [0u8; 64]).await.unwrap(), 0);
        at
    });
    assert_eq!(got, total);
}

/// Vectored reads and reads into a buffer far larger than what arrived.
#[test]
fn vectored_and_oversized_reads_see_every_byte() {
    let got = run(|| async {
        let (mut s, peer) = std_peer(|mut s| {
            let data: Vec<u8> = (0..300_000).map(byte).collect();
            for chunk in data.chunks(999) {
                s.write_all(chunk).unwrap();
            }
        })
        .await;
        let mut at = 0;
        let mut turn = 0;
        loop {
            let (mut a, mut b) = ([0u8; 10], vec![0u8; 70_000]);
            let n = if turn % 2 == 0 {
                let mut bufs = [
                    std::io::IoSliceMut::new(&mut a),
                    std::io::IoSliceMut::new(&mut b),
                ];
                s.read_vectored(&mut bufs).await.unwrap()
            } else {
                s.read(&mut b).await.unwrap()
            };
            if n == 0 {
                break;
            }
            let bytes: Vec<u8> = if turn % 2 == 0 {
                a.iter().chain(b.iter()).take(n).copied().collect()
            } else {
                b[..n].to_vec()
            };
            for (k, &x) in bytes.iter().enumerate() {
                assert_eq!(x, byte(at + k), "byte {}", at + k);
            }
            at += n;
            turn += 1;
        }
        peer.join().unwrap();
        at
    });
    assert_eq!(got, 300_000);
}

/// The two halves of one stream, in two tasks: the write half streams
/// 1 MiB to an echo peer while the read half reads the echo back.
#[test]
fn split_halves_read_while_the_other_half_writes() {
    const LEN: usize = 1 << 20;
    let got = run(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let (mut r, mut w) = s.into_split();
            let mut buf = [0u8; 1000];
            loop {
                let n = r.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                w.write_all(&buf[..n]).await.unwrap();
            }
        });
        let s = TcpStream::connect(addr).await.unwrap();
        let (mut r, mut w) = s.into_split();
        let writer = spawn_with(async move {
            let data: Vec<u8> = (0..LEN).map(byte).collect();
            for chunk in data.chunks(1500) {
                w.write_all(chunk).await.unwrap();
            }
            w.close().await.unwrap();
        });
        let reader = spawn_with(async move {
            let mut at = 0;
            let mut buf = [0u8; 64];
            loop {
                let n = r.read(&mut buf).await.unwrap();
                if n == 0 {
                    return at;
                }
                for (k, &b) in buf[..n].iter().enumerate() {
                    assert_eq!(b, byte(at + k), "byte {}", at + k);
                }
                at += n;
            }
        });
        writer.join().await;
        reader.join().await
    });
    assert_eq!(got, LEN);
}

/// `peek` leaves the bytes queued; `try_read` takes what is there without
/// waiting and answers `WouldBlock` once the socket is empty, also right
/// after a read that took exactly what had arrived.
#[test]
fn peek_and_try_read_keep_their_meaning() {
    run(|| async {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (s, peer) = std_peer(move |mut s| {
            s.write_all(b"0123456789").unwrap();
            rx.recv().unwrap();
            s.write_all(b"abcdef").unwrap();
            rx.recv().unwrap();
            // Dropping `s` closes: the reader sees EOF.
        })
        .await;
        s.readable().await.unwrap();
        let mut p = [0u8; 4];
        // Loopback delivers a 10-byte write as one segment.
        assert_eq!(s.peek(&mut p).await.unwrap(), 4);
        assert_eq!(&p, b"0123");
        assert_eq!(s.peek(&mut p).await.unwrap(), 4, "peek consumes nothing");
        assert_eq!(&p, b"0123");
        let mut b = [0u8; 4];
        assert_eq!(s.try_read(&mut b).unwrap(), 4);
        assert_eq!(&b, b"0123");
        let mut rest = [0u8; 6];
        assert_eq!(s.try_read(&mut rest).unwrap(), 6, "exactly what is left");
        assert_eq!(&rest, b"456789");
        let e = s.try_read(&mut rest).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock, "the socket is empty");

        tx.send(()).unwrap();
        s.readable().await.unwrap();
        let mut six = [0u8; 6];
        let mut got = 0;
        while got < 6 {
            match s.try_read(&mut six[got..]) {
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => s.readable().await.unwrap(),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(&six, b"abcdef");
        assert_eq!(
            s.try_read(&mut six).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );

        tx.send(()).unwrap();
        peer.join().unwrap();
        s.readable().await.unwrap();
        loop {
            match s.try_read(&mut six) {
                Ok(0) => break, // EOF
                Ok(n) => panic!("{n} bytes after the peer closed"),
                Err(e) if e.kind() == ErrorKind::WouldBlock => s.readable().await.unwrap(),
                Err(e) => panic!("{e}"),
            }
        }
    });
}

/// Lockstep 64-byte messages read with `read_exact`: each read drains the
/// socket exactly, the readiness is cleared by that read, and the peer's
/// next message must still wake the reader (100 times over).
#[test]
fn exact_read_then_peer_data_still_wakes() {
    run(|| async {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (mut s, peer) = std_peer(move |mut s| {
            for _ in 0..100 {
                s.write_all(&[9u8; 64]).unwrap();
                rx.recv().unwrap();
            }
        })
        .await;
        for _ in 0..100 {
            let mut buf = [0u8; 64];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, [9u8; 64]);
            tx.send(()).unwrap();
        }
        peer.join().unwrap();
        assert_eq!(s.read(&mut [0u8; 8]).await.unwrap(), 0);
    });
}
