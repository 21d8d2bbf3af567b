//! The first example of README.md, kept compiling and running.

use goro::chan;
use goro::hyper::{Connector, GoroExecutor, GoroTimer};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;

#[goro::main]
async fn main() {
    let url = std::env::args().nth(1).expect("usage: URL (http:// only)");
    let (tx, rx) = chan::bounded(0);
    goro::spawn(async move {
        let client = Client::builder(GoroExecutor::new())
            .timer(GoroTimer::new())
            .build::<_, Empty<bytes::Bytes>>(Connector::new());
        let res = client.get(url.parse().unwrap()).await.unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        tx.send(body).await.unwrap();
    });

    println!("Program continues...");
    // Do other things, then wait for the HTTP response to come back.
    let result = rx.recv().await.unwrap();
    println!("Done, result is {}", String::from_utf8_lossy(&result));
}
