//! An axum app on goro: a `Router` with a JSON route, a path parameter
//! and shared state, served by hyper on goro's netpoller through
//! hyper-util's `TowerToHyperService`. No tokio runtime runs in this
//! process.
//!
//!     cargo run --release --features hyper --example axum [ADDR]
//!
//! Listens on ADDR (default 127.0.0.1:3000) and prints the address.
//! `GET /hello/{name}` answers `{"hello":NAME,"visits":N}`, counting
//! visits in the app state; `POST /sum` takes a JSON array of numbers and
//! answers their sum.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use goro::hyper::{GoroExecutor, GoroIo, GoroTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Default)]
struct AppState {
    visits: AtomicU64,
}

#[derive(Serialize)]
struct Hello {
    hello: String,
    visits: u64,
}

async fn hello(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Json<Hello> {
    // Relaxed: a counter; no other memory is published through it.
    let visits = state.visits.fetch_add(1, Ordering::Relaxed) + 1;
    Json(Hello {
        hello: name,
        visits,
    })
}

async fn sum(Json(numbers): Json<Vec<f64>>) -> Json<f64> {
    Json(numbers.iter().sum())
}

fn app() -> Router {
    Router::new()
        .route("/hello/{name}", get(hello))
        .route("/sum", post(sum))
        .with_state(Arc::new(AppState::default()))
}

#[goro::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = match goro::net::TcpListener::bind(addr.as_str()).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("axum: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!("listening on http://{}", listener.local_addr().unwrap());
    let _ = std::io::Write::flush(&mut std::io::stdout());

    let app = app();
    let mut builder = Builder::new(GoroExecutor::new());
    builder.http1().timer(GoroTimer::new());
    builder.http2().timer(GoroTimer::new());
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("axum: accept: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let builder = builder.clone();
        goro::spawn(async move {
            let _ = builder
                .serve_connection_with_upgrades(GoroIo::new(stream), service)
                .await;
        });
    }
}
