//! Go's `go func() { resp, _ := http.Get(url); ...; ch <- body }()`, on
//! goro: a task does an HTTP GET with hyper's client and sends the body
//! back over a goro channel while `main` goes on.
//!
//!     cargo run --release --features hyper --example http_get [URL]
//!
//! With no URL it starts a small HTTP server of its own on loopback and
//! fetches from that. Only `http://` URLs work (no TLS yet).

use bytes::Bytes;
use goro::chan;
use goro::hyper::{Connector, GoroExecutor, GoroIo, GoroTimer};
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::client::legacy::Client;
use std::convert::Infallible;

/// Serves `{"hello":"goro"}` to every request, for the run without a URL.
async fn local_server() -> String {
    let listener = goro::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    goro::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = hyper::service::service_fn(|_req| async {
                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                    b"{\"hello\":\"goro\"}\n",
                ))))
            });
            goro::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(GoroTimer::new())
                    .serve_connection(GoroIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}/")
}

#[goro::main]
async fn main() {
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => local_server().await,
    };
    let uri: hyper::Uri = match url.parse() {
        Ok(uri) => uri,
        Err(e) => {
            eprintln!("http_get: bad URL {url:?}: {e}");
            std::process::exit(2);
        }
    };

    let (tx, rx) = chan::bounded::<Result<Bytes, String>>(0);
    goro::spawn(async move {
        let client: Client<Connector, Empty<Bytes>> = Client::builder(GoroExecutor::new())
            .timer(GoroTimer::new())
            .build(Connector::new());
        let body = async {
            let res = client
                .get(uri)
                .await
                .map_err(|e| match std::error::Error::source(&e) {
                    Some(cause) => format!("{e}: {cause}"),
                    None => e.to_string(),
                })?;
            let body = res.into_body().collect().await.map_err(|e| e.to_string())?;
            Ok(body.to_bytes())
        };
        let _ = tx.send(body.await).await;
    });

    println!("Program continues...");
    // Do other things, then wait for the HTTP response to come back.
    match rx.recv().await {
        Some(Ok(body)) => print!("Done, result is {}", String::from_utf8_lossy(&body)),
        Some(Err(e)) => {
            eprintln!("http_get: GET {url} failed: {e}");
            std::process::exit(1);
        }
        None => unreachable!("the task sends before it ends"),
    }
}
