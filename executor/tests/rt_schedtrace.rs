//! `GORO_DEBUG=schedtrace=N,scheddetail=1`: a child process (this test
//! binary, re-run on one test) prints the trace, and a strict parser reads
//! every line of its stderr.

use goro_executor::runtime::Builder;
use std::process::Command;
use std::time::{Duration, Instant};

const CHILD: &str = "GORO_SCHEDTRACE_CHILD";

/// The child's workload: a 2-worker runtime, busy for about 300 ms.
#[test]
fn child_workload() {
    if std::env::var_os(CHILD).is_none() {
        return; // only meaningful as the child
    }
    // No blocked-worker reports: on a loaded machine a worker descheduled
    // for 10 ms looks blocked, and its report line is not schedtrace's.
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .blocking_threshold(None)
        .build()
        .unwrap();
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_millis(300);
        let hs: Vec<_> = (0..64)
            .map(|_| {
                goro_executor::spawn(async move {
                    while Instant::now() < deadline {
                        goro_executor::task::yield_now().await;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
}

fn run_child(debug: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_workload",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("GORO_DEBUG", debug)
        .output()
        .unwrap();
    assert!(out.status.success(), "child failed: {out:?}");
    String::from_utf8(out.stderr).unwrap()
}

/// `key=<number>`, exactly.
fn field(token: Option<&str>, key: &str) -> u64 {
    let token = token.unwrap_or_else(|| panic!("missing {key}="));
    let value = token
        .strip_prefix(key)
        .and_then(|t| t.strip_prefix('='))
        .unwrap_or_else(|| panic!("expected {key}=, got {token:?}"));
    value
        .parse()
        .unwrap_or_else(|_| panic!("{key}={value:?} is not a number"))
}

struct Sched {
    ms: u64,
    workers: u64,
    idle: u64,
    searching: u64,
    queues: Vec<u64>,
}

/// `SCHED 1004ms: workers=2 idle=1 threads=4 searching=0 blocking=0
/// injector=0 [3 0] tasks=1024`
fn parse_sched(line: &str) -> Sched {
    let rest = line.strip_prefix("SCHED ").expect("SCHED prefix");
    let (ms, rest) = rest.split_once("ms: ").expect("<n>ms: ");
    let ms = ms.parse().expect("uptime in ms");
    let (head, rest) = rest.split_once(" [").expect("queue list");
    let (queues, tail) = rest.split_once("] ").expect("end of queue list");
    let mut t = head.split(' ');
    let workers = field(t.next(), "workers");
    let idle = field(t.next(), "idle");
    let threads = field(t.next(), "threads");
    let searching = field(t.next(), "searching");
    field(t.next(), "blocking");
    field(t.next(), "injector");
    assert_eq!(t.next(), None, "extra fields in {line:?}");
    let queues: Vec<u64> = queues
        .split(' ')
        .map(|q| q.parse().expect("queue length"))
        .collect();
    let mut t = tail.split(' ');
    field(t.next(), "tasks");
    assert_eq!(t.next(), None, "extra fields in {line:?}");
    assert_eq!(queues.len() as u64, workers, "{line:?}");
    assert!(idle <= workers && searching <= workers, "{line:?}");
    assert!(threads > workers, "workers + sysmon at least: {line:?}");
    Sched {
        ms,
        workers,
        idle,
        searching,
        queues,
    }
}

#[test]
fn schedtrace_lines_parse() {
    let stderr = run_child("schedtrace=50,scheddetail=1");
    let mut lines = stderr.lines().filter(|l| !l.is_empty()).peekable();
    let mut scheds = Vec::new();
    while let Some(line) = lines.next() {
        if !line.starts_with("SCHED ") {
            continue; // libtest's own chatter
        }
        let s = parse_sched(line);
        for i in 0..s.workers {
            let p = lines.next().expect("a P line");
            let rest = p
                .strip_prefix(&format!("  P{i}: "))
                .unwrap_or_else(|| panic!("P{i} line expected, got {p:?}"));
            let mut t = rest.split(' ');
            assert_eq!(field(t.next(), "m"), i);
            assert_eq!(field(t.next(), "queue"), s.queues[i as usize]);
            assert!(field(t.next(), "runnext") <= 1);
            field(t.next(), "tick");
            assert_eq!(t.next(), None, "{p:?}");
        }
        let (mut parked, mut spinning) = (0, 0);
        for i in 0..s.workers {
            let m = lines.next().expect("an M line");
            let rest = m
                .strip_prefix(&format!("  M{i}: "))
                .unwrap_or_else(|| panic!("M{i} line expected, got {m:?}"));
            let mut t = rest.split(' ');
            assert_eq!(field(t.next(), "p"), i);
            parked += field(t.next(), "parked");
            spinning += field(t.next(), "spinning");
            assert_eq!(t.next(), None, "{m:?}");
        }
        // One report reads each flag once: its counts and its M lines agree.
        assert_eq!(parked, s.idle, "{line}");
        assert_eq!(spinning, s.searching, "{line}");
        scheds.push(s);
    }
    // 300 ms at one line per 50 ms: at least a couple, in time order.
    assert!(scheds.len() >= 2, "too few SCHED lines:\n{stderr}");
    assert!(scheds.windows(2).all(|w| w[0].ms < w[1].ms), "{stderr}");
    assert!(scheds.iter().all(|s| s.workers == 2));
}

#[test]
fn unknown_key_warns_once() {
    let stderr = run_child("bogus=1,schedtrace=100000");
    let warnings: Vec<_> = stderr.lines().filter(|l| l.starts_with("goro: ")).collect();
    assert_eq!(
        warnings,
        ["goro: GORO_DEBUG: unknown key \"bogus\" ignored (known: schedtrace, scheddetail)"],
        "{stderr}"
    );
    assert!(!stderr.contains("SCHED "), "{stderr}");
}
