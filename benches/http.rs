//! HTTP hello-world: the same server on hyper + goro (`goro::hyper`),
//! hyper + tokio (hyper-util's `TokioIo`/`TokioExecutor`/`TokioTimer`) and
//! Go's net/http (`benches/go/http`), each driven by `wrk -t1 -c64 -d5s`
//! on loopback, interleaved ×3 in one run; medians are printed.
//!
//!     cargo bench --bench http --no-run
//!     flock /tmp/goro-bench.lock cargo bench --bench http
//!
//! Every server runs in its own process with two worker threads (Go:
//! GOMAXPROCS=2), and serves `Hello, world!\n` on HTTP/1.1 and (Rust
//! servers) HTTP/2 on one port. Figures per server:
//!
//! * req/s: wrk's `Requests/sec` (requests completed over the run);
//! * CPU per request: the server process's user + system time (from
//!   `/proc/PID/stat`, read just before and just after wrk) divided by the
//!   requests wrk completed;
//! * wrk CPU per request: the client's own user + system time per request.
//!   wrk and the server share the machine's cores, so when the two sums
//!   times req/s reach the core count the run is CPU-bound on both sides
//!   and req/s moves only with the server's CPU per request;
//! * syscalls per request: a separate 2 s wrk run with `strace -c -f`
//!   attached to the server (it slows the server down, so its req/s is
//!   not reported), total calls divided by that run's requests;
//! * HTTP/2 (Rust servers, if `h2load` is installed): `h2load -c64 -m10
//!   -n200000` req/s, interleaved ×3.
//!
//! The bench is a process that starts the servers as children (this same
//! binary with `--serve goro|tokio ADDR`, and the Go program built with
//! `go build`); missing tools (wrk, go, strace, h2load) drop their rows
//! with a message instead of failing. `GORO_HTTP_BENCH_HEADER_TIMEOUT=off`
//! turns off hyper's per-request header-read timer in both Rust servers.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const HELLO: &[u8] = b"Hello, world!\n";
const WORKERS: usize = 2;

// ---------------------------------------------------------------- servers --

mod goro_server {
    use super::HELLO;
    use bytes::Bytes;
    use goro::hyper::{GoroExecutor, GoroIo, GoroTimer};
    use http_body_util::Full;
    use hyper_util::server::conn::auto::Builder;
    use std::convert::Infallible;

    pub fn run(addr: &str) {
        let rt = goro::runtime::Builder::new_multi_thread()
            .worker_threads(super::WORKERS)
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = goro::net::TcpListener::bind(addr).await.unwrap();
            super::announce(listener.local_addr().unwrap());
            let mut builder = Builder::new(GoroExecutor::new());
            builder.http1().timer(GoroTimer::new());
            if !super::header_timeout() {
                builder.http1().header_read_timeout(None);
            }
            builder.http2().timer(GoroTimer::new());
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let builder = builder.clone();
                goro::spawn(async move {
                    let service = hyper::service::service_fn(|_req| async {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                            HELLO,
                        ))))
                    });
                    let _ = builder.serve_connection(GoroIo::new(stream), service).await;
                });
            }
        });
    }
}

mod tokio_server {
    use super::HELLO;
    use bytes::Bytes;
    use http_body_util::Full;
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use std::convert::Infallible;

    pub fn run(addr: &str) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(super::WORKERS)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
            super::announce(listener.local_addr().unwrap());
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new());
            if !super::header_timeout() {
                builder.http1().header_read_timeout(None);
            }
            builder.http2().timer(TokioTimer::new());
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let builder = builder.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_req| async {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                            HELLO,
                        ))))
                    });
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    }
}

/// hyper's HTTP/1 header-read timeout (30 s by default) arms one timer per
/// request; `GORO_HTTP_BENCH_HEADER_TIMEOUT=off` turns it off in both Rust
/// servers, to measure what that timer costs.
fn header_timeout() -> bool {
    std::env::var_os("GORO_HTTP_BENCH_HEADER_TIMEOUT").is_none_or(|v| v != "off")
}

fn announce(addr: std::net::SocketAddr) {
    use std::io::Write;
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
}

// ------------------------------------------------------------ measurement --

struct Server {
    name: &'static str,
    child: Child,
    url: String,
    h2: bool,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(name: &'static str, mut cmd: Command, h2: bool) -> Server {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting the {name} server: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{name} server printed {line:?}"))
        .to_string()
        + "/";
    Server {
        name,
        child,
        url,
        h2,
    }
}

/// User + system CPU time of a process so far, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks / hz
}

struct WrkRun {
    req_per_s: f64,
    requests: f64,
    /// wrk's own user + system CPU seconds over the run.
    client_cpu: f64,
}

/// User + system CPU seconds of this process's reaped children so far.
fn children_cpu_seconds() -> f64 {
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable `rusage` for the call to fill.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(ru.ru_utime) + secs(ru.ru_stime)
}

fn wrk(url: &str, secs: u32) -> WrkRun {
    // wrk is the only child reaped during the run, so the growth of the
    // children's CPU time is wrk's.
    let cpu_before = children_cpu_seconds();
    let out = Command::new("wrk")
        .args(["-t1", "-c64", &format!("-d{secs}s"), url])
        .output()
        .expect("running wrk");
    let client_cpu = children_cpu_seconds() - cpu_before;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "wrk saw errors:\n{text}"
    );
    let req_per_s = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"))
        .trim()
        .parse()
        .unwrap();
    let requests = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .unwrap()
        .0
        .parse()
        .unwrap();
    WrkRun {
        req_per_s,
        requests,
        client_cpu,
    }
}

fn h2load(url: &str) -> Option<f64> {
    let out = Command::new("h2load")
        .args(["-c64", "-m10", "-n200000", "-t1", url])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "finished in 1.23s, 162000.00 req/s, ..."
    let line = text.lines().find(|l| l.starts_with("finished in"))?;
    let rps = line.split(", ").nth(1)?.strip_suffix(" req/s")?;
    let failed = text.lines().find(|l| l.starts_with("requests:"))?;
    if !failed.contains(" 0 failed") {
        eprintln!("h2load saw failures: {failed}");
        return None;
    }
    rps.parse().ok()
}

/// System calls per request: strace attached to the server for a 2 s run.
fn syscalls_per_request(server: &Server) -> Option<f64> {
    // The server's name has a '/' in it ("go net/http"): name the file by pid.
    let out_file = std::env::temp_dir().join(format!("goro-http-strace-{}", server.child.id()));
    let mut strace = Command::new("strace")
        .args(["-c", "-f", "-o"])
        .arg(&out_file)
        .args(["-p", &server.child.id().to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    // strace reports each thread it attaches to on stderr; the first
    // report means tracing has begun. The rest is drained until strace
    // exits: a server that starts threads under load (Go's) makes strace
    // report more, and a closed pipe would kill it with SIGPIPE.
    let mut stderr = BufReader::new(strace.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).ok()?;
    let drain = std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let run = wrk(&server.url, 2);
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(strace.id() as i32, libc::SIGINT) };
    strace.wait().ok()?;
    let _ = drain.join();
    let text = std::fs::read_to_string(&out_file).ok()?;
    let _ = std::fs::remove_file(&out_file);
    let total: f64 = text
        .lines()
        .find(|l| l.trim_end().ends_with("total"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(total / run.requests)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        let addr = args.get(i + 2).map_or("127.0.0.1:0", String::as_str);
        match args.get(i + 1).map(String::as_str) {
            Some("goro") => goro_server::run(addr),
            Some("tokio") => tokio_server::run(addr),
            other => {
                eprintln!("http bench: --serve wants goro or tokio, got {other:?}");
                std::process::exit(2);
            }
        }
        return;
    }
    if !have("wrk") {
        println!("http bench: wrk is not installed (apt-get install wrk); nothing measured");
        return;
    }

    let me = std::env::current_exe().unwrap();
    let serve = |which: &str| {
        let mut c = Command::new(&me);
        c.args(["--serve", which, "127.0.0.1:0"]);
        c
    };
    let mut servers = vec![
        start("hyper+goro", serve("goro"), true),
        start("hyper+tokio", serve("tokio"), true),
    ];
    let go_bin = std::env::temp_dir().join("goro-bench-go-http");
    let go_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/go/http");
    let go_built = have("go")
        && Command::new("go")
            .args(["build", "-o"])
            .arg(&go_bin)
            .arg(".")
            .current_dir(go_dir)
            .status()
            .is_ok_and(|s| s.success());
    if go_built {
        let mut c = Command::new(&go_bin);
        c.arg("127.0.0.1:0").env("GOMAXPROCS", WORKERS.to_string());
        servers.push(start("go net/http", c, false));
    } else {
        println!("http bench: go is not installed or did not build benches/go/http; no Go row");
    }

    const ROUNDS: usize = 3;
    let n = servers.len();
    let mut rps = vec![Vec::new(); n];
    let mut cpu_us = vec![Vec::new(); n];
    let mut wrk_us = vec![Vec::new(); n];
    for round in 0..ROUNDS {
        for (i, s) in servers.iter().enumerate() {
            let before = cpu_seconds(s.child.id());
            let run = wrk(&s.url, 5);
            let after = cpu_seconds(s.child.id());
            let server_us = (after - before) * 1e6 / run.requests;
            let client_us = run.client_cpu * 1e6 / run.requests;
            println!(
                "round {round} {:<12} {:>10.0} req/s  {:>6.2} µs server CPU/req  {:>6.2} µs wrk CPU/req",
                s.name, run.req_per_s, server_us, client_us
            );
            rps[i].push(run.req_per_s);
            cpu_us[i].push(server_us);
            wrk_us[i].push(client_us);
        }
    }

    let mut h2 = vec![Vec::new(); n];
    if have("h2load") {
        for _ in 0..ROUNDS {
            for (i, s) in servers.iter().enumerate().filter(|(_, s)| s.h2) {
                if let Some(r) = h2load(&s.url) {
                    h2[i].push(r);
                }
            }
        }
    } else {
        println!(
            "http bench: h2load is not installed (apt-get install nghttp2-client); no HTTP/2 rows"
        );
    }

    let sys: Vec<Option<f64>> = if have("strace") {
        servers.iter().map(syscalls_per_request).collect()
    } else {
        println!("http bench: strace is not installed; no syscall counts");
        vec![None; n]
    };

    println!();
    println!(
        "{:<12} {:>12} {:>14} {:>14} {:>14} {:>14}",
        "server", "req/s (med)", "µs CPU/req", "wrk µs CPU/req", "syscalls/req", "h2 req/s (med)"
    );
    let mut med_rps = Vec::new();
    let mut med_h2 = Vec::new();
    for i in 0..n {
        let r = median(&mut rps[i]);
        let c = median(&mut cpu_us[i]);
        let w = median(&mut wrk_us[i]);
        let h = if h2[i].is_empty() {
            None
        } else {
            Some(median(&mut h2[i]))
        };
        med_rps.push(r);
        med_h2.push(h);
        println!(
            "{:<12} {:>12.0} {:>14.2} {:>14.2} {:>14} {:>14}",
            servers[i].name,
            r,
            c,
            w,
            sys[i].map_or("-".into(), |s| format!("{s:.2}")),
            h.map_or("-".into(), |h| format!("{h:.0}")),
        );
    }
    println!();
    println!(
        "goro / tokio, HTTP/1.1 req/s: {:.2} (target >= 1.15)",
        med_rps[0] / med_rps[1]
    );
    if n > 2 {
        println!(
            "goro / Go,    HTTP/1.1 req/s: {:.2} (target >= 2.5)",
            med_rps[0] / med_rps[2]
        );
    }
    if let (Some(g), Some(t)) = (med_h2[0], med_h2[1]) {
        println!("goro / tokio, HTTP/2 req/s:   {:.2} (target >= 1.1)", g / t);
    }
}
