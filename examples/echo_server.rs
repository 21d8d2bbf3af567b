//! An echo server on goro: one task per connection, each echoing what it
//! reads until the peer closes. Try it with `nc 127.0.0.1 7878`.
//!
//! Run: `cargo run --example echo_server [addr]`.
//! With `GORO_ECHO_SELFTEST=N` it binds a free port, runs N clients of its
//! own (1 if N is not a number) that each check 10 echoed round trips,
//! then shuts the runtime down and exits (a smoke test, and the load
//! `scripts/sanitizers.sh` runs it under valgrind with).

use futures::{AsyncReadExt, AsyncWriteExt};
use goro::net::{TcpListener, TcpStream};
use std::net::SocketAddr;

async fn serve(mut stream: TcpStream) -> std::io::Result<u64> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

async fn accept_loop(listener: TcpListener, verbose: bool) -> std::io::Result<()> {
    loop {
        // Out of descriptors (EMFILE and kin), this sleeps 5 ms to 1 s
        // between retries instead of spinning; any other accept error
        // ends the server.
        let (stream, peer) = listener.accept_with_backoff().await?;
        goro::spawn(async move {
            match serve(stream).await {
                Ok(n) if verbose => println!("{peer}: closed after {n} bytes"),
                Ok(_) => {}
                Err(e) => println!("{peer}: {e}"),
            }
        });
    }
}

/// One self-test client: 10 round trips, each checked.
async fn client(id: usize, addr: SocketAddr) -> std::io::Result<usize> {
    let mut c = TcpStream::connect(addr).await?;
    c.set_nodelay(true)?;
    let mut bytes = 0;
    for round in 0..10 {
        let msg = format!("hello goro {id}/{round}");
        c.write_all(msg.as_bytes()).await?;
        let mut back = vec![0u8; msg.len()];
        c.read_exact(&mut back).await?;
        if back != msg.as_bytes() {
            return Err(std::io::Error::other(format!("bad echo for {msg:?}")));
        }
        bytes += back.len();
    }
    Ok(bytes)
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7878".to_string());
    let selftest = std::env::var("GORO_ECHO_SELFTEST")
        .ok()
        .map(|v| v.parse::<usize>().unwrap_or(1).max(1));
    let rt = goro::runtime::Builder::new_multi_thread().build()?;
    rt.block_on(async move {
        let bind_to = if selftest.is_some() {
            "127.0.0.1:0"
        } else {
            addr.as_str()
        };
        let listener = TcpListener::bind(bind_to).await?;
        let local = listener.local_addr()?;
        println!("echo server listening on {local}");
        let Some(clients) = selftest else {
            return accept_loop(listener, true).await;
        };
        goro::spawn(accept_loop(listener, false));
        let handles: Vec<_> = (0..clients)
            .map(|id| goro::spawn(client(id, local)))
            .collect();
        let mut total = 0;
        for h in handles {
            total += h.await.map_err(std::io::Error::other)??;
        }
        println!("selftest: {clients} clients echoed {total} bytes");
        Ok(())
    })
    // Dropping the runtime here cancels the accept loop and shuts down.
}
