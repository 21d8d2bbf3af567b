//! A load test written in Rust with `goro_load::Scenario`: every virtual user loads the home
//! page, then posts to `/echo` and checks the answer, each as a named step.
//!
//!     cargo run --release --features hyper --example http_server &        # the target
//!     cargo run --release -p goro-load --example load_scenario -- http://127.0.0.1:3000/ 200
//!
//! Arguments: URL (default http://127.0.0.1:3000/) and an optional open-loop rate in
//! iterations/s (default: closed loop). Runs 5 s with 16 virtual users and prints the report,
//! with one latency block per step.

use std::time::Duration;

use bytes::Bytes;
use goro_load::{Config, ErrorKind, Failure, Limit, Rate, Scenario};

fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:3000/".into());
    let rate = args
        .next()
        .map(|r| r.parse::<f64>().expect("rate: a number"));

    let scenario = Scenario::new(|ctx| async move {
        let home = http::Request::get("/").body(Bytes::new())?;
        let resp = ctx.step("home", ctx.request(home)).await?;
        if !resp.status().is_success() {
            return Err(Failure::new(
                ErrorKind::Http,
                format!("home: {}", resp.status()),
            ));
        }
        let msg = format!("user {}", ctx.user());
        let echo = http::Request::post("/echo").body(Bytes::from(msg.clone()))?;
        let resp = ctx.step("echo", ctx.request(echo)).await?;
        if resp.body() != msg.as_bytes() {
            return Err(Failure::new(ErrorKind::Http, "echo: wrong body"));
        }
        Ok(())
    });

    let mut cfg = match Config::new(&url) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("load_scenario: {e}");
            std::process::exit(2);
        }
    };
    cfg.connections = 16;
    cfg.limit = Limit::Duration(Duration::from_secs(5));
    if let Some(r) = rate {
        cfg.rate = Rate::Constant(r);
    }
    let rt = goro::runtime::Builder::new_multi_thread()
        .build()
        .expect("goro runtime");
    match rt.block_on(goro_load::run_scenario(cfg, scenario)) {
        Ok(report) => print!("{report}"),
        Err(e) => {
            eprintln!("load_scenario: {e}");
            std::process::exit(2);
        }
    }
}
