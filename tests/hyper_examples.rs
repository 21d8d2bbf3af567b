//! The hyper examples, run end to end as processes on loopback.
//!
//! The examples need the `hyper` feature (`required-features`), which
//! `cargo test --workspace` does not turn on for them, so this file builds
//! them once with the cargo that runs it (same target directory, same
//! profile, same features as the test build, so nothing but the examples
//! themselves is compiled) and finds them in `target/<profile>/examples`.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::*;

/// Builds the hyper examples once per test process.
fn build_examples() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--quiet", "--features", "hyper tokio-io tokio"])
            .args(["--example", "http_server", "--example", "http_get"])
            .args(["--example", "axum", "--example", "readme_http"]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo to build the examples");
        assert!(status.success(), "building the examples failed: {status}");
    });
}

fn example(name: &str) -> PathBuf {
    build_examples();
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// A running example server and the address it printed.
struct Running {
    child: Child,
    addr: std::net::SocketAddr,
    out: BufReader<std::process::ChildStdout>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(name: &str) -> Running {
    let mut child = Command::new(example(name))
        .arg("127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{name} printed {line:?}"))
        .parse()
        .unwrap();
    Running { child, addr, out }
}

async fn get(send_h1: bool, addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let req = hyper::Request::get(format!("http://{addr}{path}"))
        .body(full(""))
        .unwrap();
    let res = if send_h1 {
        h1(addr).await.send_request(req).await.unwrap()
    } else {
        h2(addr).await.send_request(req).await.unwrap()
    };
    let status = res.status().as_u16();
    (
        status,
        String::from_utf8(body_bytes(res).await.to_vec()).unwrap(),
    )
}

#[test]
fn http_server_serves_both_protocols_and_shuts_down_on_sigint() {
    let mut server = start("http_server");
    let addr = server.addr;
    rt(1).block_on(async move {
        assert_eq!(get(true, addr, "/").await, (200, "Hello, world!\n".into()));
        assert_eq!(get(false, addr, "/").await, (200, "Hello, world!\n".into()));
        assert_eq!(get(true, addr, "/nope").await.0, 404);
        let mut send = h1(addr).await;
        let req = hyper::Request::post("/echo")
            .body(streamed(1 << 20))
            .unwrap();
        let body = body_bytes(send.send_request(req).await.unwrap()).await;
        assert!(body[..] == pattern(1 << 20)[..]);
    });
    // SAFETY: kill(2) has no memory effects; the pid is our own child,
    // not yet reaped, so it names no other process.
    let sent = unsafe { libc::kill(server.child.id() as i32, libc::SIGINT) };
    assert_eq!(sent, 0);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut server.out, &mut rest).unwrap();
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(rest.contains("shut down"), "{rest:?}");
}

#[test]
fn axum_app_runs_with_no_tokio_runtime() {
    let server = start("axum");
    let addr = server.addr;
    rt(1).block_on(async move {
        let (status, body) = get(true, addr, "/hello/gopher").await;
        assert_eq!(status, 200);
        assert_eq!(body, r#"{"hello":"gopher","visits":1}"#);
        let (_, body) = get(false, addr, "/hello/ferris").await;
        assert_eq!(body, r#"{"hello":"ferris","visits":2}"#);
        let req = hyper::Request::post("/sum")
            .header("content-type", "application/json")
            .body(full("[1, 2, 3.5]"))
            .unwrap();
        let res = h1(addr).await.send_request(req).await.unwrap();
        assert_eq!(body_bytes(res).await, "6.5");
        let req = hyper::Request::post("/sum")
            .header("content-type", "application/json")
            .body(full("not json"))
            .unwrap();
        let res = h1(addr).await.send_request(req).await.unwrap();
        assert_eq!(res.status(), 400);
    });
    // No thread of the process is a tokio one.
    let tasks = std::fs::read_dir(format!("/proc/{}/task", server.child.id())).unwrap();
    for t in tasks {
        let comm = std::fs::read_to_string(t.unwrap().path().join("comm")).unwrap();
        assert!(!comm.contains("tokio"), "thread {comm:?}");
    }
}

fn run(name: &str, args: &[&str]) -> std::process::Output {
    let mut child = Command::new(example(name))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: a hang fails the test instead of blocking it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{name} {args:?} did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn http_get_fetches_from_its_own_server() {
    let out = run("http_get", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("Program continues...\n"), "{stdout}");
    assert!(
        stdout.contains(r#"Done, result is {"hello":"goro"}"#),
        "{stdout}"
    );
}

#[test]
fn http_get_reports_bad_urls_https_and_refused_ports() {
    let out = run("http_get", &["not a url"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad URL"));
    let out = run("http_get", &["https://127.0.0.1:1/"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TLS"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run("http_get", &[&format!("http://127.0.0.1:{port}/")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused"));
}

#[test]
fn readme_example_fetches_a_url() {
    let server = start("http_server");
    let out = run("readme_http", &[&format!("http://{}/", server.addr)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("Done, result is Hello, world!"), "{stdout}");
}
