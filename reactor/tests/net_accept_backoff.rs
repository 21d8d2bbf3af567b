//! `TcpListener::accept_with_backoff` under `EMFILE`: it sleeps between
//! retries instead of spinning, and accepts the queued connection once
//! descriptors are free.
//!
//! The test lowers `RLIMIT_NOFILE` and uses up every descriptor, so it
//! runs its body in a child process (this test binary again, selected by
//! an environment variable) where neither affects other tests.

mod support;

use goro_reactor::net::TcpListener;
use goro_reactor::time::{sleep, timeout};
use std::future::Future;
use std::pin::pin;
use std::process::Command;
use std::sync::mpsc;
use std::task::Poll;
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "GORO_ACCEPT_BACKOFF_CHILD";
const TEST_NAME: &str = "accept_with_backoff_sleeps_on_emfile_and_recovers";

/// How long the accept loop is watched while descriptors are exhausted.
const WATCH: Duration = Duration::from_millis(200);

#[test]
fn accept_with_backoff_sleeps_on_emfile_and_recovers() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let child = Command::new(exe)
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    // Watchdog: the child needs well under a second; a hang is a failure,
    // not a stuck test run.
    let out = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: kill(2) on the pid of a child this test spawned and
            // has not reaped (its waiter thread is still blocked in wait).
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!("the child accept loop did not finish within 60 s");
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    print!("{stdout}");
    assert!(
        out.status.success(),
        "child failed: {}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("1 passed"),
        "the child did not run the test:\n{stdout}"
    );
}

fn cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage for getrusage to fill.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0, "getrusage: {}", std::io::Error::last_os_error());
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn lower_fd_limit(soft: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = soft.min(lim.rlim_max);
    // SAFETY: `lim` is a valid rlimit; lowering the soft limit is always allowed.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
}

fn child() {
    lower_fd_limit(256);
    support::run(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(addr).unwrap();
        listener.readable().await.unwrap();

        let mut hogs = support::exhaust_fds(1024);
        // Plain accept fails at once: this is the loop that would spin.
        let err = listener.accept().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");

        // Watch accept_with_backoff for WATCH: count how often it is
        // polled (each retry after a sleep is one poll; a retry loop
        // without sleeps would be polled again every coop budget) and the
        // CPU the process burns meanwhile.
        let mut accept = pin!(listener.accept_with_backoff());
        let mut polls = 0u32;
        let cpu0 = cpu_time();
        let t0 = Instant::now();
        {
            let mut watch = pin!(sleep(WATCH));
            std::future::poll_fn(|cx| {
                if watch.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                polls += 1;
                match accept.as_mut().poll(cx) {
                    Poll::Ready(r) => panic!("accepted while out of descriptors: {r:?}"),
                    Poll::Pending => Poll::Pending,
                }
            })
            .await;
        }
        let cpu = cpu_time() - cpu0;
        let wall = t0.elapsed();
        println!("over {wall:?} with EMFILE: {polls} polls of the accept loop, {cpu:?} of CPU");
        // 5 + 10 + 20 + 40 + 80 ms of sleeps fit in 200 ms: about six
        // attempts. A spinning loop makes millions.
        assert!(polls < 50, "{polls} accept attempts in {wall:?}: spinning");
        assert!(
            cpu < wall / 2,
            "{cpu:?} of CPU in {wall:?}: the accept loop is spinning"
        );

        // Free some descriptors: the queued connection is accepted on the
        // next retry (at most 1 s away; 30 s is the generous bound).
        hogs.truncate(hogs.len() - 16);
        let (stream, peer) = timeout(Duration::from_secs(30), accept)
            .await
            .expect("accept_with_backoff did not recover once descriptors were free")
            .unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        drop((stream, hogs));
    });
}

#[test]
fn accept_with_backoff_returns_at_once_when_a_connection_is_queued() {
    support::run(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(addr).unwrap();
        let (_s, peer) = listener.accept_with_backoff().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
    });
}
