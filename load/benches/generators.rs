//! What a generator costs: requests per CPU-second of the generator process (user + sys from
//! `/usr/bin/time`, requests from the tool's own report), goro-load against wrk, oha and h2load,
//! interleaved, medians of 3. Plus an open-loop run at 20k req/s for 30 s: achieved rate and RSS.
//!
//!     cargo bench -p goro-load --bench generators
//!
//! The bench takes the machine's bench lock (`flock` on `/tmp/goro-bench.lock`, or the file in
//! `GENERATORS_LOCK`) for each round of the tools and for the open-loop run, not for the whole
//! series, so other benchmarks can run between rounds; do not wrap it in `flock` yourself.
//!
//! Needs nginx, wrk, oha (`cargo install oha`) and h2load on PATH (or in ~/.cargo/bin) and, for
//! HTTP/2, `cargo build --release --features hyper --example http_server` (the goro HTTP/2
//! server). A missing tool skips its rows with a message. `GENERATORS_QUICK=1`: 1 round of 2 s,
//! open loop 5 s.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Cost {
    requests: f64,
    cpu_s: f64,
    wall_s: f64,
    max_rss_kib: u64,
}

/// Runs `cmd` under `/usr/bin/time`, returning its stdout and cost.
fn timed(cmd: &[String]) -> Option<(String, f64, f64, u64)> {
    let tfile = std::env::temp_dir().join(format!("generators-time-{}", std::process::id()));
    let t0 = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%U %S %M")
        .arg("-o")
        .arg(&tfile)
        .args(cmd)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let wall = t0.elapsed().as_secs_f64();
    let t = std::fs::read_to_string(&tfile).ok()?;
    let f: Vec<&str> = t.split_whitespace().collect();
    let (u, s, m): (f64, f64, u64) = (f[0].parse().ok()?, f[1].parse().ok()?, f[2].parse().ok()?);
    Some((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        u + s,
        wall,
        m,
    ))
}

fn find(tool: &str) -> Option<PathBuf> {
    let home = std::env::var("HOME").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(PathBuf::from)
        .collect();
    dirs.push(Path::new(&home).join(".cargo/bin"));
    dirs.push("/usr/sbin".into());
    dirs.into_iter().map(|d| d.join(tool)).find(|p| p.exists())
}

fn json_u64(out: &str, key: &str) -> Option<f64> {
    let v: serde_json::Value = serde_json::from_str(out.trim()).ok()?;
    v[key].as_u64().map(|n| n as f64)
}

/// Reads the request count from a tool's output.
type CountFn = fn(&str) -> Option<f64>;

fn run_tool(name: &str, url: &str, conns: u32, secs: u32) -> Option<Cost> {
    let c = conns.to_string();
    let d = format!("{secs}s");
    let (cmd, parse): (Vec<String>, CountFn) = match name {
        "goro-load" => (
            vec![
                env!("CARGO_BIN_EXE_goro-load").into(),
                "-c".into(),
                c,
                "-d".into(),
                d,
                "--json".into(),
                "--no-progress".into(),
                url.into(),
            ],
            |o| json_u64(o, "requests"),
        ),
        "goro-load-1w" => (
            vec![
                env!("CARGO_BIN_EXE_goro-load").into(),
                "-w".into(),
                "1".into(),
                "-c".into(),
                c,
                "-d".into(),
                d,
                "--json".into(),
                "--no-progress".into(),
                url.into(),
            ],
            |o| json_u64(o, "requests"),
        ),
        "goro-load-h2" => (
            vec![
                env!("CARGO_BIN_EXE_goro-load").into(),
                "--http2".into(),
                "-c".into(),
                "4".into(),
                "-p".into(),
                "16".into(),
                "-d".into(),
                d,
                "--json".into(),
                "--no-progress".into(),
                url.into(),
            ],
            |o| json_u64(o, "requests"),
        ),
        "wrk" => (
            vec![
                find("wrk")?.display().to_string(),
                "-t1".into(),
                "-c".into(),
                c,
                "-d".into(),
                d,
                url.into(),
            ],
            |o| {
                o.lines()
                    .find(|l| l.contains("requests in"))
                    .and_then(|l| l.split_whitespace().next()?.parse().ok())
            },
        ),
        "oha" => (
            vec![
                find("oha")?.display().to_string(),
                "--no-tui".into(),
                "--output-format".into(),
                "json".into(),
                "-c".into(),
                c,
                "-z".into(),
                d,
                url.into(),
            ],
            |o| {
                let v: serde_json::Value = serde_json::from_str(o.trim()).ok()?;
                let m = v["statusCodeDistribution"].as_object()?;
                Some(m.values().filter_map(|n| n.as_u64()).sum::<u64>() as f64)
            },
        ),
        "h2load" => (
            vec![
                find("h2load")?.display().to_string(),
                "-c".into(),
                "4".into(),
                "-m".into(),
                "16".into(),
                "-t".into(),
                "1".into(),
                "-D".into(),
                secs.to_string(),
                url.into(),
            ],
            |o| {
                let l = o
                    .lines()
                    .find(|l| l.trim_start().starts_with("requests:"))?;
                // "requests: N total, N started, N done, N succeeded, ..."
                let f: Vec<&str> = l.split_whitespace().collect();
                let i = f.iter().position(|w| w.starts_with("succeeded"))?;
                f.get(i - 1)?.parse().ok()
            },
        ),
        _ => return None,
    };
    let (out, cpu_s, wall_s, max_rss_kib) = timed(&cmd)?;
    let requests = parse(&out)?;
    Some(Cost {
        requests,
        cpu_s,
        wall_s,
        max_rss_kib,
    })
}

/// The bench lock, held while this value lives: a `flock` child that has taken the lock and
/// waits on its stdin (closing it releases the lock). `None` when `flock` is missing.
struct BenchLock(Option<Child>);

impl BenchLock {
    fn take() -> BenchLock {
        let path =
            std::env::var("GENERATORS_LOCK").unwrap_or_else(|_| "/tmp/goro-bench.lock".into());
        let child = Command::new("flock")
            .arg(&path)
            .args(["sh", "-c", "echo locked; read _"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            println!("  (flock not found: running without the bench lock)");
            return BenchLock(None);
        };
        let mut line = [0u8; 7];
        let _ = child.stdout.take().map(|mut o| o.read_exact(&mut line));
        BenchLock(Some(child))
    }
}

impl Drop for BenchLock {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            drop(c.stdin.take());
            let _ = c.wait();
        }
    }
}

struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_port(port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn nginx() -> Option<(Guard, u16)> {
    let bin = find("nginx")?;
    let dir = std::env::temp_dir().join(format!("generators-nginx-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("www")).ok()?;
    std::fs::write(dir.join("www/index.html"), "hello from nginx\n").ok()?;
    let port = free_port();
    let d = dir.display();
    // One process (no master): killing the child stops nginx whole; a killed
    // master would leave its worker running, holding the port and any fd it inherited.
    let conf = format!(
        "worker_processes 1;\ndaemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 4096; }}\n\
         http {{ access_log off; keepalive_requests 100000000; client_body_temp_path {d}/b;\n\
         proxy_temp_path {d}/p; fastcgi_temp_path {d}/f; uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;\n\
         server {{ listen 127.0.0.1:{port}; root {d}/www; }} }}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).ok()?;
    let child = Command::new(bin)
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    let g = Guard(child);
    wait_port(port).then_some((g, port))
}

fn h2_server() -> Option<(Guard, u16)> {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/examples/http_server");
    if !bin.exists() {
        return None;
    }
    let port = free_port();
    let child = Command::new(bin)
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    let g = Guard(child);
    wait_port(port).then_some((g, port))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn compare(title: &str, url: &str, tools: &[&str], rounds: usize, secs: u32) {
    println!("\n{title}: {url}, {rounds} rounds of {secs} s, interleaved");
    let mut per: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = vec![(vec![], vec![], vec![]); tools.len()];
    for round in 0..rounds {
        let _lock = BenchLock::take();
        for (i, t) in tools.iter().enumerate() {
            match run_tool(t, url, 64, secs) {
                Some(c) => {
                    println!(
                        "  round {round} {t:<13} {:>9.0} req  {:>6.2} cpu-s  {:>9.0} req/s  {:>9.0} req/cpu-s  {:>6.1} us cpu/req  rss {} KiB",
                        c.requests, c.cpu_s, c.requests / c.wall_s.max(1e-9),
                        c.requests / c.cpu_s.max(1e-9), c.cpu_s * 1e6 / c.requests.max(1.0), c.max_rss_kib
                    );
                    per[i].0.push(c.requests / c.cpu_s.max(1e-9));
                    per[i].1.push(c.requests / secs as f64);
                    per[i].2.push(c.max_rss_kib as f64);
                }
                None => println!(
                    "  round {round} {t:<13} SKIPPED (tool missing or output not understood)"
                ),
            }
        }
    }
    let base = per[0].0.clone();
    for (i, t) in tools.iter().enumerate() {
        if per[i].0.is_empty() {
            continue;
        }
        let m = median(per[i].0.clone());
        let ratio = if base.is_empty() {
            f64::NAN
        } else {
            median(base.clone()) / m
        };
        println!(
            "  median {t:<13} {m:>9.0} req/cpu-s  {:>9.0} req/s  rss {:>6.0} KiB  goro-load/{t} = {ratio:.2}x",
            median(per[i].1.clone()), median(per[i].2.clone())
        );
    }
}

fn rss_kib(pid: u32) -> u64 {
    let mut s = String::new();
    if let Ok(mut f) = std::fs::File::open(format!("/proc/{pid}/status")) {
        let _ = f.read_to_string(&mut s);
    }
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn open_loop(url: &str, secs: u64) {
    println!("\nopen loop: goro-load -c 64 -R 20000 -d {secs}s {url}");
    let _lock = BenchLock::take();
    let mut child = Command::new(env!("CARGO_BIN_EXE_goro-load"))
        .args([
            "-c",
            "64",
            "-R",
            "20000",
            "-d",
            &format!("{secs}s"),
            "--json",
            "--no-progress",
            url,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("goro-load");
    let pid = child.id();
    let t0 = Instant::now();
    let mut samples = Vec::new();
    let mut peak = 0;
    // The last mark is just before the run ends (the process exits at `secs`).
    let marks = [1000u64, 5000, (secs * 1000).saturating_sub(200).max(5100)];
    for m in marks {
        while t0.elapsed() < Duration::from_millis(m) {
            std::thread::sleep(Duration::from_millis(100));
            peak = peak.max(rss_kib(pid));
        }
        samples.push((m, rss_kib(pid)));
    }
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let _ = child.wait();
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_default();
    let rps = v["rps"].as_f64().unwrap_or(0.0);
    println!(
        "  achieved {rps:.1} req/s ({:+.2}% of 20000), p99 corrected {} us, lag p99 {} us",
        (rps / 20000.0 - 1.0) * 100.0,
        v["latency_us"]["corrected"]["p99"],
        v["latency_us"]["lag"]["p99"]
    );
    for (m, r) in samples {
        println!(
            "  RSS at {:>4.1} s: {:.1} MiB",
            m as f64 / 1000.0,
            r as f64 / 1024.0
        );
    }
    println!(
        "  peak RSS (sampled every 100 ms): {:.1} MiB",
        peak as f64 / 1024.0
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let quick = std::env::var_os("GENERATORS_QUICK").is_some();
    let (rounds, secs, ol_secs) = if quick { (1, 2, 5) } else { (3, 5, 30) };
    match nginx() {
        Some((_g, port)) => {
            let url = format!("http://127.0.0.1:{port}/index.html");
            compare(
                "HTTP/1.1 against nginx (1 worker, 17-byte static file, keep-alive, 64 connections)",
                &url,
                &["goro-load", "goro-load-1w", "wrk", "oha"],
                rounds,
                secs,
            );
            open_loop(&url, ol_secs);
        }
        None => println!("nginx not found: HTTP/1.1 rows SKIPPED"),
    }
    match h2_server() {
        Some((_g, port)) => compare(
            "HTTP/2 against goro's examples/http_server (4 connections x 16 streams)",
            &format!("http://127.0.0.1:{port}/"),
            &["goro-load-h2", "h2load"],
            rounds,
            secs,
        ),
        None => println!("target/release/examples/http_server not built: HTTP/2 rows SKIPPED"),
    }
}
