//! goro-load end to end: against a hyper-on-goro server in this process (both protocols,
//! the faults goro-load must survive), against nginx started here, and the CLI's exit codes.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use goro_load::{Config, Limit, Rate, Report};
use support::{refused_port, runtime, serve, Opts, Stats};

fn cfg(addr: std::net::SocketAddr) -> Config {
    let mut c = Config::new(&format!("http://{addr}/")).expect("config");
    c.progress = false;
    c
}

fn ok_count(r: &Report) -> u64 {
    r.tally.status.get(&200).copied().unwrap_or(0)
}

#[test]
fn closed_loop_sends_exactly_n() {
    runtime(2).block_on(async {
        let (addr, stats) = serve(Opts::default()).await;
        let mut c = cfg(addr);
        c.connections = 4;
        c.limit = Limit::Requests(500);
        let r = goro_load::run(c).await.expect("run");
        assert_eq!(r.tally.requests, 500, "{r}");
        assert_eq!(ok_count(&r), 500);
        assert_eq!(r.tally.errors.total(), 0, "{r}");
        assert_eq!(Stats::get(&stats.requests), 500);
        assert_eq!(r.tally.uncorrected.len(), 500);
        assert_eq!(
            r.tally.corrected.len(),
            0,
            "no corrected histogram in a closed loop"
        );
        assert_eq!(Stats::get(&stats.accepted), 4);
    });
}

#[test]
fn fewer_requests_than_connections() {
    runtime(2).block_on(async {
        let (addr, stats) = serve(Opts::default()).await;
        let mut c = cfg(addr);
        c.connections = 50;
        c.limit = Limit::Requests(10);
        let r = goro_load::run(c).await.expect("run");
        assert_eq!(r.tally.requests, 10, "{r}");
        assert_eq!(Stats::get(&stats.requests), 10);
    });
}

#[test]
fn closed_loop_runs_for_the_duration() {
    runtime(2).block_on(async {
        let (addr, _stats) = serve(Opts::default()).await;
        let mut c = cfg(addr);
        c.connections = 4;
        c.limit = Limit::Duration(Duration::from_millis(800));
        let t = Instant::now();
        let r = goro_load::run(c).await.expect("run");
        let wall = t.elapsed();
        assert!(r.tally.requests > 0);
        assert_eq!(r.tally.errors.total(), 0, "{r}");
        assert!(
            (0.75..=1.2).contains(&r.duration.as_secs_f64()),
            "measured window {:?}",
            r.duration
        );
        assert!(wall < Duration::from_secs(3), "run took {wall:?}");
    });
}

#[test]
fn open_loop_achieves_the_rate() {
    runtime(2).block_on(async {
        let (addr, _stats) = serve(Opts::default()).await;
        let mut c = cfg(addr);
        c.connections = 8;
        c.rate = Rate::Constant(500.0);
        c.limit = Limit::Duration(Duration::from_secs(2));
        let r = goro_load::run(c).await.expect("run");
        let asked = r.asked_rps.expect("open loop has an asked rate");
        assert!((asked - 500.0).abs() < 1.0, "asked {asked}");
        let achieved = r.sent as f64 / r.duration.as_secs_f64();
        assert!(
            (achieved - 500.0).abs() / 500.0 < 0.02,
            "achieved {achieved} req/s\n{r}"
        );
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.tally.corrected.len(), r.tally.requests);
        assert_eq!(r.tally.lag.len(), r.tally.requests);
        assert!(r.json_string().contains("\"corrected\""));
    });
}

#[test]
fn http2_streams_share_connections() {
    runtime(2).block_on(async {
        let (addr, stats) = serve(Opts {
            http2: true,
            delay: Duration::from_millis(2),
            ..Opts::default()
        })
        .await;
        let mut c = cfg(addr);
        c.http2 = true;
        c.connections = 2;
        c.streams = 8;
        c.limit = Limit::Requests(1000);
        let r = goro_load::run(c).await.expect("run");
        assert_eq!(r.tally.requests, 1000, "{r}");
        assert_eq!(ok_count(&r), 1000);
        assert_eq!(r.tally.errors.total(), 0, "{r}");
        assert_eq!(
            Stats::get(&stats.http2_requests),
            1000,
            "all requests spoke HTTP/2"
        );
        assert_eq!(Stats::get(&stats.accepted), 2, "one TCP connection per -c");
        // With a 2 ms answer, 2 connections x 8 streams keep more than one request per
        // connection in flight.
        assert!(
            Stats::get(&stats.max_inflight) > 2,
            "max in flight {}",
            Stats::get(&stats.max_inflight)
        );
    });
}

#[test]
fn http2_open_loop() {
    runtime(2).block_on(async {
        let (addr, stats) = serve(Opts {
            http2: true,
            ..Opts::default()
        })
        .await;
        let mut c = cfg(addr);
        c.http2 = true;
        c.connections = 2;
        c.streams = 4;
        c.rate = Rate::Constant(400.0);
        c.limit = Limit::Duration(Duration::from_secs(1));
        let r = goro_load::run(c).await.expect("run");
        let achieved = r.sent as f64 / r.duration.as_secs_f64();
        assert!((achieved - 400.0).abs() / 400.0 < 0.03, "{achieved}\n{r}");
        assert_eq!(r.tally.errors.total(), 0, "{r}");
        assert_eq!(
            Stats::get(&stats.http2_requests),
            Stats::get(&stats.requests)
        );
    });
}

/// The server freezes 500 ms every 5 s; a constant-rate run of 10 s sees two freezes. Requests
/// due during a freeze wait up to 500 ms (about 10 % of all requests, evenly spread over 0..500
/// ms), so the corrected p99 falls near 450 ms. The connections stuck in the freeze carry only
/// 2 x 8 slow uncorrected samples out of ~4000, so the uncorrected p99 stays at the normal
/// response time.
#[test]
fn coordinated_omission_is_corrected() {
    runtime(2).block_on(async {
        let (addr, _stats) = serve(Opts {
            freeze: Some((
                Duration::from_secs(5),
                Duration::from_secs(2),
                Duration::from_millis(500),
            )),
            ..Opts::default()
        })
        .await;
        let mut c = cfg(addr);
        c.connections = 8;
        c.rate = Rate::Constant(400.0);
        c.limit = Limit::Duration(Duration::from_secs(10));
        let r = goro_load::run(c).await.expect("run");
        let corrected = r.tally.corrected.value_at_quantile(0.99);
        let uncorrected = r.tally.uncorrected.value_at_quantile(0.99);
        assert!(
            (400_000..=500_000).contains(&corrected),
            "corrected p99 {corrected} us\n{r}"
        );
        assert!(
            uncorrected < 100_000,
            "uncorrected p99 {uncorrected} us\n{r}"
        );
        assert!(r.tally.corrected.max() >= 450_000, "{r}");
        assert_eq!(r.tally.errors.total(), 0, "{r}");
    });
}

#[test]
fn refused_port_counts_connect_errors_and_ends_on_time() {
    runtime(2).block_on(async {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], refused_port()));
        let mut c = cfg(addr);
        c.connections = 4;
        c.limit = Limit::Duration(Duration::from_millis(700));
        let t = Instant::now();
        let r = goro_load::run(c).await.expect("run");
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "took {:?}",
            t.elapsed()
        );
        assert_eq!(r.tally.requests, 0);
        // Back-off from 10 ms doubling: each connection tries at least 4 times in 700 ms.
        assert!(r.tally.errors.connect >= 8, "{r}");
        assert_eq!(r.tally.errors.total(), r.tally.errors.connect, "{r}");
        assert!(r.to_string().contains("connect"));
    });
}

#[test]
fn server_closing_connections_means_reconnects() {
    runtime(2).block_on(async {
        let (addr, stats) = serve(Opts {
            close_each: true,
            ..Opts::default()
        })
        .await;
        let mut c = cfg(addr);
        c.connections = 2;
        c.limit = Limit::Requests(200);
        let r = goro_load::run(c).await.expect("run");
        assert_eq!(r.tally.requests, 200, "{r}");
        assert_eq!(r.tally.errors.total(), 0, "{r}");
        assert!(r.tally.reconnects >= 190, "{r}");
        assert!(Stats::get(&stats.accepted) >= 198);
    });
}

#[test]
fn response_timeout_replaces_the_connection() {
    runtime(2).block_on(async {
        let (addr, stats) = serve(Opts {
            hang_first: 2,
            ..Opts::default()
        })
        .await;
        let mut c = cfg(addr);
        c.connections = 2;
        c.timeout = Duration::from_millis(200);
        c.limit = Limit::Requests(50);
        let t = Instant::now();
        let r = goro_load::run(c).await.expect("run");
        assert!(t.elapsed() < Duration::from_secs(5));
        assert_eq!(r.tally.errors.timeout, 2, "{r}");
        assert_eq!(r.tally.requests, 48, "{r}");
        assert!(r.tally.reconnects >= 2, "{r}");
        assert!(
            Stats::get(&stats.accepted) >= 4,
            "timed-out connections were replaced"
        );
    });
}

#[test]
fn server_dying_mid_run_is_counted_and_the_run_ends_on_time() {
    // The runtime that serves is dropped after 300 ms: its listener and connections close.
    let server_rt = runtime(1);
    let (addr, _stats) = server_rt.block_on(serve(Opts::default()));
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let killer = std::thread::spawn(move || {
        let _ = rx.recv_timeout(Duration::from_millis(300));
        drop(server_rt);
    });
    runtime(2).block_on(async {
        let mut c = cfg(addr);
        c.connections = 4;
        c.limit = Limit::Duration(Duration::from_millis(1200));
        let t = Instant::now();
        let r = goro_load::run(c).await.expect("run");
        assert!(
            t.elapsed() < Duration::from_secs(4),
            "took {:?}",
            t.elapsed()
        );
        assert!(r.tally.requests > 0, "{r}");
        assert!(r.tally.errors.connect > 0, "{r}");
    });
    drop(tx);
    killer.join().unwrap();
}

// ---- nginx ----

struct Nginx {
    child: std::process::Child,
    port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> Option<std::path::PathBuf> {
    let candidates = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"];
    candidates
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

/// nginx on 127.0.0.1 with one worker serving a small static file, configured in a temp dir.
fn start_nginx() -> Option<Nginx> {
    let bin = nginx_binary()?;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("nginx-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("www")).unwrap();
    std::fs::write(dir.join("www/index.html"), "hello from nginx\n").unwrap();
    let port = refused_port();
    let d = dir.display();
    // One process (no master): killing the child stops nginx whole; a killed
    // master would leave its worker running, holding the port and any fd it inherited.
    let conf = format!(
        "worker_processes 1;\ndaemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         keepalive_requests 1000000;\n\
         server {{ listen 127.0.0.1:{port}; root {d}/www; }}\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(bin)
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("spawn nginx");
    let nginx = Nginx { child, port };
    // Readiness: the port accepts connections (bounded wait, not a sleep for ordering).
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nginx did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(nginx)
}

#[test]
fn against_nginx() {
    let Some(nginx) = start_nginx() else {
        println!("against_nginx: SKIPPED, nginx is not installed");
        return;
    };
    let port = nginx.port;
    runtime(2).block_on(async move {
        let mut c = Config::new(&format!("http://127.0.0.1:{port}/index.html")).unwrap();
        c.progress = false;
        c.connections = 8;
        c.limit = Limit::Requests(2000);
        let r = goro_load::run(c.clone()).await.expect("run");
        assert_eq!(ok_count(&r), 2000, "{r}");
        assert_eq!(r.tally.errors.total(), 0, "{r}");
        assert_eq!(r.tally.bytes, 2000 * "hello from nginx\n".len() as u64);

        c.rate = Rate::Constant(1000.0);
        c.limit = Limit::Duration(Duration::from_secs(1));
        let r = goro_load::run(c).await.expect("run");
        // The schedule is exact, but a generator starved of CPU (CI shares
        // two cores with the nginx under test) sends late and so fewer in
        // the second; 1% is the bench's figure, 10% this test's bound.
        let achieved = r.sent as f64 / r.duration.as_secs_f64();
        assert!((achieved - 1000.0).abs() / 1000.0 < 0.10, "{achieved}\n{r}");
        assert_eq!(r.tally.errors.total(), 0, "{r}");
    });
    drop(nginx);
}

// ---- the CLI ----

fn cli(args: &[&str]) -> (Option<i32>, String, String, Duration) {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_goro-load"))
        .args(args)
        .output()
        .expect("run goro-load");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        t.elapsed(),
    )
}

#[test]
fn cli_refused_port_exits_1_with_a_report() {
    let url = format!("http://127.0.0.1:{}/", refused_port());
    let (code, out, _err, wall) = cli(&["-c", "2", "-d", "500ms", "--no-progress", &url]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("connect"), "{out}");
    assert!(wall < Duration::from_secs(5), "took {wall:?}");
    let (code, out, _, _) = cli(&["-c", "2", "-d", "300ms", "--json", &url]);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert!(v["errors"]["connect"].as_u64().unwrap() > 0, "{out}");
    assert_eq!(v["requests"].as_u64(), Some(0));
}

#[test]
fn cli_bad_input_is_one_line_and_exit_2_with_nothing_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let cases: &[(&[&str], &str)] = &[
        (&["ftp://example.com/"], "ftp"),
        (&["not a url"], "url"),
        (&["--bogus", &url], "--bogus"),
        (&["-c", "many", &url], "many"),
        (&["-R", "fast", &url], "fast"),
        (&["-d", "10parsecs", &url], "10parsecs"),
        (&["-c", "0", &url], "connections"),
        (&["-H", "no colon", &url], "no colon"),
        (&["-p", "4", &url], "http2"),
        (&["--rate", "10..20", &url], "ramp"),
    ];
    for (args, names) in cases {
        let (code, out, err, _) = cli(args);
        assert_eq!(code, Some(2), "{args:?}: stdout {out} stderr {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.to_lowercase().contains(&names.to_lowercase()),
            "{args:?} should name {names}: {err}"
        );
        assert!(out.is_empty(), "{args:?}: {out}");
    }
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("bad input must send nothing, got {other:?}"),
    }
}
