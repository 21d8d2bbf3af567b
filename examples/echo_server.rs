//! An echo server on goro: one task per connection, each echoing what it
//! reads until the peer closes. Try it with `nc 127.0.0.1 7878`.
//!
//! Run: `cargo run --example echo_server [addr]`.
//! With `GORO_ECHO_SELFTEST=1` it connects to itself once, checks the echo
//! and exits (used as a smoke test).

use futures::{AsyncReadExt, AsyncWriteExt};
use goro::net::{TcpListener, TcpStream};

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

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7878".to_string());
    let selftest = std::env::var_os("GORO_ECHO_SELFTEST").is_some();
    let rt = goro::runtime::Builder::new_multi_thread().build()?;
    rt.block_on(async move {
        let bind_to = if selftest { "127.0.0.1:0" } else { addr.as_str() };
        let listener = TcpListener::bind(bind_to).await?;
        let local = listener.local_addr()?;
        println!("echo server listening on {local}");
        if selftest {
            goro::spawn(async move {
                let mut c = TcpStream::connect(local).await.unwrap();
                c.write_all(b"hello goro").await.unwrap();
                c.close().await.unwrap();
                let mut back = Vec::new();
                c.read_to_end(&mut back).await.unwrap();
                assert_eq!(back, b"hello goro");
                println!("selftest: echoed {} bytes", back.len());
                std::process::exit(0);
            });
        }
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(v) => v,
                Err(e) => {
                    // E.g. EMFILE: report it and back off briefly instead of
                    // spinning; the listener stays usable.
                    eprintln!("accept failed: {e}");
                    goro::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            goro::spawn(async move {
                match serve(stream).await {
                    Ok(n) => println!("{peer}: closed after {n} bytes"),
                    Err(e) => println!("{peer}: {e}"),
                }
            });
        }
    })
}
