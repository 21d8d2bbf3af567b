//! The scenario API end to end against the in-process test server.

mod support;

use std::time::Duration;

use bytes::Bytes;
use goro_load::{Config, ErrorKind, Failure, Limit, Rate, Scenario};
use support::{refused_port, runtime, serve, Opts, Stats};

fn two_steps() -> Scenario {
    Scenario::new(|ctx| async move {
        let a = http::Request::get("/login").body(Bytes::new())?;
        let resp = ctx.step("login", ctx.request(a)).await?;
        if resp.body().as_ref() != b"hello\n" {
            return Err(Failure::new(ErrorKind::Http, "unexpected body"));
        }
        let b = http::Request::get("/page").body(Bytes::new())?;
        ctx.step("page", ctx.request(b)).await?;
        Ok(())
    })
}

#[test]
fn scenario_iterations_and_steps_are_reported() {
    runtime(2).block_on(async {
        let (addr, stats) = serve(Opts::default()).await;
        let mut c = Config::new(&format!("http://{addr}/")).unwrap();
        c.progress = false;
        c.connections = 4;
        c.limit = Limit::Requests(100);
        let r = goro_load::run_scenario(c, two_steps()).await.expect("run");
        assert_eq!(r.tally.requests, 100, "one sample per iteration\n{r}");
        assert_eq!(
            r.tally.status.get(&200),
            Some(&200),
            "two requests per iteration"
        );
        assert_eq!(Stats::get(&stats.requests), 200);
        assert_eq!(
            r.tally.bytes,
            200 * b"hello\n".len() as u64,
            "body bytes of every request"
        );
        assert_eq!(
            Stats::get(&stats.accepted),
            4,
            "one connection per virtual user"
        );
        assert_eq!(r.tally.step("login").map(|h| h.len()), Some(100));
        assert_eq!(r.tally.step("page").map(|h| h.len()), Some(100));
        assert!(r.to_string().contains("step login"), "{r}");
        let json: serde_json::Value = serde_json::from_str(&r.json_string()).unwrap();
        assert!(json["steps_us"]["page"]["p99"].as_u64().is_some(), "{json}");
        // An iteration is at least as long as its steps.
        assert!(r.tally.uncorrected.max() >= r.tally.step("page").unwrap().min());
    });
}

#[test]
fn scenario_open_loop_keeps_the_rate() {
    runtime(2).block_on(async {
        let (addr, _stats) = serve(Opts::default()).await;
        let mut c = Config::new(&format!("http://{addr}/")).unwrap();
        c.progress = false;
        c.connections = 8;
        c.rate = Rate::Constant(300.0);
        c.limit = Limit::Duration(Duration::from_secs(1));
        let r = goro_load::run_scenario(c, two_steps()).await.expect("run");
        let achieved = r.sent as f64 / r.duration.as_secs_f64();
        assert!((achieved - 300.0).abs() / 300.0 < 0.03, "{achieved}\n{r}");
        assert_eq!(r.tally.corrected.len(), r.tally.requests);
        assert_eq!(r.tally.errors.total(), 0, "{r}");
    });
}

#[test]
fn scenario_failures_are_counted_by_kind() {
    runtime(2).block_on(async {
        let mut c = Config::new(&format!("http://127.0.0.1:{}/", refused_port())).unwrap();
        c.progress = false;
        c.connections = 2;
        c.limit = Limit::Duration(Duration::from_millis(300));
        let r = goro_load::run_scenario(c, two_steps()).await.expect("run");
        assert_eq!(r.tally.requests, 0);
        assert!(r.tally.errors.connect > 0, "{r}");
        assert_eq!(r.tally.errors.total(), r.tally.errors.connect);
    });
}

#[test]
fn scenario_timeout_replaces_the_connection() {
    runtime(2).block_on(async {
        let (addr, stats) = serve(Opts {
            hang_first: 1,
            ..Opts::default()
        })
        .await;
        let mut c = Config::new(&format!("http://{addr}/")).unwrap();
        c.progress = false;
        c.connections = 1;
        c.timeout = Duration::from_millis(200);
        c.limit = Limit::Requests(10);
        let r = goro_load::run_scenario(c, two_steps()).await.expect("run");
        assert_eq!(r.tally.errors.timeout, 1, "{r}");
        assert_eq!(r.tally.requests, 9, "{r}");
        assert_eq!(Stats::get(&stats.accepted), 2, "{r}");
        assert_eq!(r.tally.reconnects, 1, "{r}");
    });
}

#[test]
fn scenario_rejects_http2() {
    runtime(1).block_on(async {
        let mut c = Config::new("http://127.0.0.1:1/").unwrap();
        c.http2 = true;
        let e = goro_load::run_scenario(c, two_steps()).await.unwrap_err();
        assert!(e.to_string().contains("HTTP/1.1"), "{e}");
    });
}
