//! tokio's IO traits on goro sockets (feature `tokio-io`) and tokio-only
//! code inside `goro::compat::tokio` (feature `tokio`).

use futures::{SinkExt, StreamExt};
use goro::net::{TcpListener, TcpStream, UnixStream};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::{Framed, LinesCodec};

fn rt(workers: usize) -> goro::runtime::Runtime {
    goro::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

#[test]
fn framed_lines_over_a_goro_tcp_stream() {
    rt(2).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Server: answers each line with its length.
        goro::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let mut framed = Framed::new(s, LinesCodec::new());
            while let Some(Ok(line)) = framed.next().await {
                framed.send(format!("{}", line.len())).await.unwrap();
            }
        });
        let s = TcpStream::connect(addr).await.unwrap();
        let mut framed = Framed::new(s, LinesCodec::new());
        for line in ["", "a", "hello goro", &"x".repeat(100_000)] {
            framed.send(line).await.unwrap();
            let back = framed.next().await.unwrap().unwrap();
            assert_eq!(back, line.len().to_string());
        }
    });
}

#[test]
fn tokio_io_on_unix_stream_halves() {
    rt(2).block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut ar, mut aw) = a.into_split();
        let (mut br, mut bw) = b.into_split();
        let echo = goro::spawn(async move {
            let mut buf = vec![0u8; 1 << 20];
            br.read_exact(&mut buf).await.unwrap();
            bw.write_all(&buf).await.unwrap();
            bw.shutdown().await.unwrap();
        });
        let data: Vec<u8> = (0..1 << 20).map(|i| (i % 253) as u8).collect();
        aw.write_all(&data).await.unwrap();
        let mut back = Vec::new();
        ar.read_to_end(&mut back).await.unwrap();
        assert!(back == data);
        echo.await.unwrap();
    });
}

#[test]
fn tokio_spawn_sleep_and_net_inside_compat_tokio() {
    let got = rt(2).block_on(goro::compat::tokio(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            s.write_all(b"from tokio").await.unwrap();
        });
        let start = std::time::Instant::now();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(start.elapsed() >= Duration::from_millis(10));
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).await.unwrap();
        server.await.unwrap();
        // goro works inside it too.
        let goro_task = goro::spawn(async { 6 * 7 }).await.unwrap();
        (buf, goro_task)
    }));
    assert_eq!(got, ("from tokio".to_string(), 42));
}

#[test]
fn compat_tokio_futures_run_concurrently_on_goro_workers() {
    rt(2).block_on(async {
        let mut tasks = Vec::new();
        for i in 0..100u64 {
            tasks.push(goro::spawn(goro::compat::tokio(async move {
                tokio::time::sleep(Duration::from_millis(1 + i % 5)).await;
                tokio::spawn(async move { i * 2 }).await.unwrap()
            })));
        }
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap();
        }
        assert_eq!(sum, (0..100).map(|i| i * 2).sum::<u64>());
    });
}
