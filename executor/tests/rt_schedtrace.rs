//! `GORO_DEBUG=schedtrace=N,scheddetail=1`: a child process (this test
//! binary, re-run on one test) prints the trace, and a strict parser reads
//! every line of its stderr.

use goro_executor::runtime::Builder;
use std::process::Command;
use std::time::{Duration, Instant};

mod support;

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
    threads: u64,
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
    assert!(searching <= workers, "{line:?}");
    assert!(threads > workers, "workers + sysmon at least: {line:?}");
    Sched {
        ms,
        workers,
        idle,
        threads,
        searching,
        queues,
    }
}

/// `key=<number>` or `key=-`.
fn maybe_field(token: Option<&str>, key: &str) -> Option<u64> {
    match token {
        Some(t) if t.strip_prefix(key).and_then(|t| t.strip_prefix('=')) == Some("-") => None,
        _ => Some(field(token, key)),
    }
}

/// A P line: `P<i>: [spare ]m=<M|-> queue=<n> runnext=<0|1> tick=<n>`.
#[derive(Debug)]
struct PLine {
    index: u64,
    spare: bool,
    m: Option<u64>,
}

/// An M line: `M<id>: p=<P|->[ spare| blocking] parked=<0|1>
/// spinning=<0|1>`.
#[derive(Debug)]
struct MLine {
    id: u64,
    p: Option<u64>,
    word: Option<String>,
    parked: u64,
    spinning: u64,
}

/// One report: the summary line and (with scheddetail) its P and M lines.
struct Report {
    sched: Sched,
    ps: Vec<PLine>,
    ms: Vec<MLine>,
}

impl Report {
    fn m(&self, id: u64) -> Option<&MLine> {
        self.ms.iter().find(|m| m.id == id)
    }

    fn p(&self, index: u64) -> Option<&PLine> {
        self.ps.iter().find(|p| p.index == index)
    }
}

fn index_of(line: &str, prefix: &str) -> (u64, String) {
    let rest = line
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} line expected, got {line:?}"));
    let (n, rest) = rest.split_once(": ").expect("<n>: ");
    (n.parse().expect("an index"), rest.to_string())
}

/// Parses the report that starts with `lines[0]` (a SCHED line) and
/// checks that its lines agree with each other; returns it and the number
/// of lines it took.
fn parse_report(lines: &[&str]) -> (Report, usize) {
    let sched = parse_sched(lines[0]);
    let mut n = 1;
    let mut ps: Vec<PLine> = Vec::new();
    while let Some(line) = lines.get(n).filter(|l| l.starts_with("  P")) {
        let (index, rest) = index_of(line, "  P");
        let mut t = rest.split(' ').peekable();
        let spare = t.next_if_eq(&"spare").is_some();
        let m = maybe_field(t.next(), "m");
        let queue = field(t.next(), "queue");
        assert!(field(t.next(), "runnext") <= 1, "{line:?}");
        field(t.next(), "tick");
        assert_eq!(t.next(), None, "{line:?}");
        // Every worker P, in order, then the spare Ps in use, in order.
        assert_eq!(spare, index >= sched.workers, "{line:?}");
        match ps.last() {
            None => assert_eq!(index, 0, "{line:?}"),
            Some(prev) if index < sched.workers => {
                assert_eq!(index, prev.index + 1, "{line:?}")
            }
            Some(prev) => assert!(index > prev.index, "{line:?}"),
        }
        if index < sched.workers {
            assert_eq!(queue, sched.queues[index as usize], "{line:?}");
        } else {
            assert!(index < 2 * sched.workers, "{line:?}");
        }
        ps.push(PLine { index, spare, m });
        n += 1;
    }
    let mut ms: Vec<MLine> = Vec::new();
    while let Some(line) = lines.get(n).filter(|l| l.starts_with("  M")) {
        let (id, rest) = index_of(line, "  M");
        let mut t = rest.split(' ').peekable();
        let p = maybe_field(t.next(), "p");
        let word = t.next_if(|w| !w.contains('=')).map(|w| w.to_string());
        let parked = field(t.next(), "parked");
        let spinning = field(t.next(), "spinning");
        assert_eq!(t.next(), None, "{line:?}");
        assert!(parked <= 1 && spinning <= 1, "{line:?}");
        assert!(
            ms.last().is_none_or(|prev| id > prev.id),
            "M lines by id: {line:?}"
        );
        // No word: it runs a worker P. `spare`: it runs a spare P, or has
        // no P and waits for one. `blocking`: in block_in_place, its P
        // lent.
        match (p, word.as_deref()) {
            (Some(p), None) => assert!(p < sched.workers, "{line:?}"),
            (Some(p), Some("spare")) => assert!(p >= sched.workers, "{line:?}"),
            (None, Some("spare")) => {}
            (None, Some("blocking")) => assert_eq!(parked, 0, "{line:?}"),
            _ => panic!("bad M line {line:?}"),
        }
        if p.is_none() {
            assert_eq!(spinning, 0, "{line:?}");
        }
        ms.push(MLine {
            id,
            p,
            word,
            parked,
            spinning,
        });
        n += 1;
    }
    let r = Report { sched, ps, ms };
    if r.ms.is_empty() {
        return (r, n); // no scheddetail
    }
    let all = lines[..n].join("\n");
    assert!(r.ps.len() as u64 >= r.sched.workers, "{all}");
    // The P and M lines come from one look: who runs what agrees both ways.
    for p in &r.ps {
        if let Some(m) = p.m {
            let m = r
                .m(m)
                .unwrap_or_else(|| panic!("P{} on a missing M:\n{all}", p.index));
            assert_eq!(m.p, Some(p.index), "{all}");
        }
    }
    for m in &r.ms {
        if let Some(p) = m.p {
            let p = r
                .p(p)
                .unwrap_or_else(|| panic!("M{} on a missing P:\n{all}", m.id));
            assert_eq!(p.m, Some(m.id), "{all}");
        }
    }
    // One report reads each flag once: its counts and its M lines agree.
    let parked: u64 = r.ms.iter().map(|m| m.parked).sum();
    let spinning: u64 = r.ms.iter().map(|m| m.spinning).sum();
    assert_eq!(parked, r.sched.idle, "{all}");
    assert_eq!(spinning, r.sched.searching, "{all}");
    // Ms, sysmon, and blocking-pool threads.
    assert!(r.sched.threads > r.ms.len() as u64, "{all}");
    assert!(r.ms.len() as u64 <= 2 * r.sched.workers, "{all}");
    (r, n)
}

/// Every report in a child's stderr (other lines skipped).
fn parse_all(stderr: &str) -> Vec<Report> {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.is_empty()).collect();
    let mut reports = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with("SCHED ") {
            i += 1; // libtest's own chatter, blocked-worker reports
            continue;
        }
        let (r, n) = parse_report(&lines[i..]);
        reports.push(r);
        i += n;
    }
    reports
}

#[test]
fn schedtrace_lines_parse() {
    let stderr = run_child("schedtrace=50,scheddetail=1");
    let scheds = parse_all(&stderr);
    // 300 ms at one line per 50 ms: at least a couple, in time order.
    assert!(scheds.len() >= 2, "too few SCHED lines:\n{stderr}");
    assert!(
        scheds.windows(2).all(|w| w[0].sched.ms < w[1].sched.ms),
        "{stderr}"
    );
    for r in &scheds {
        assert_eq!(r.sched.workers, 2);
        // No handoff in this workload (threshold off, no block_in_place):
        // each worker M runs its own P.
        assert_eq!(r.ps.len(), 2, "{stderr}");
        assert_eq!(r.ms.len(), 2, "{stderr}");
        for (i, (p, m)) in r.ps.iter().zip(&r.ms).enumerate() {
            assert_eq!((p.index, p.m), (i as u64, Some(i as u64)), "{stderr}");
            assert_eq!((m.id, m.p, &m.word), (i as u64, Some(i as u64), &None));
        }
    }
}

const SPARE_CHILD: &str = "GORO_SCHEDTRACE_SPARE_CHILD";

/// The parent's lines on stdin, counted: phase `n` starts after line `n`
/// (or at end of input, so the child cannot outlive its parent's end).
struct Phases {
    count: std::sync::Mutex<u32>,
    cv: std::sync::Condvar,
}

impl Phases {
    fn now(&self) -> u32 {
        *self.count.lock().unwrap()
    }

    fn wait(&self, n: u32) {
        let mut c = self.count.lock().unwrap();
        while *c < n {
            c = self.cv.wait(c).unwrap();
        }
    }
}

/// The child's workloads for the spare lines, on one worker, in phases
/// the parent advances once it has seen each in the trace.
///
/// `rescue`:
/// 0. task S queues task Y on its P and blocks the worker (unannotated)
///    until phase 2; sysmon moves Y to a spare P run by a spare M, where Y
///    yields until phase 1;
/// 1. Y calls `block_in_place` until phase 2: its M shows as blocking;
/// 2. everything returns.
///
/// `lend` (without the stuck-poll watch):
/// 0. task T queues task Z on its P and calls `block_in_place` until
///    phase 1: the worker M lends its P, which has work, so a new M runs
///    it (and Z, which yields until phase 2);
/// 1. T's `f` returns with its P taken: its M waits as a spare;
/// 2. everything returns.
#[test]
fn child_spare() {
    let Some(mode) = std::env::var_os(SPARE_CHILD) else {
        return; // only meaningful as the child
    };
    use goro_executor::{spawn, task};
    use std::sync::Arc;
    let phases = Arc::new(Phases {
        count: Default::default(),
        cv: Default::default(),
    });
    let p = phases.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            if line.is_err() {
                break;
            }
            *p.count.lock().unwrap() += 1;
            p.cv.notify_all();
        }
        *p.count.lock().unwrap() = u32::MAX;
        p.cv.notify_all();
    });
    let rescue = mode == "rescue";
    // `lend` runs without the stuck-poll watch: on a loaded machine a
    // descheduled M looks stuck, and a rescue would end phase 1 early
    // (the spare M it waits in would get a spare P). The keep-alive keeps
    // that spare M alive through a slow parent.
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .blocking_threshold(rescue.then_some(Duration::from_millis(10)))
        .thread_keep_alive(Duration::from_secs(120))
        .build()
        .unwrap();
    rt.block_on(async move {
        spawn(async move {
            let p = phases.clone();
            let second = spawn(async move {
                let until = if rescue { 1 } else { 2 };
                while p.now() < until {
                    task::yield_now().await;
                }
                if rescue {
                    task::block_in_place(|| p.wait(2));
                }
            });
            if rescue {
                phases.wait(2);
            } else {
                task::block_in_place(|| phases.wait(1));
            }
            second.await.unwrap();
        })
        .await
        .unwrap();
    });
}

/// Runs `child_spare` in `mode` with the trace on, parsing every report;
/// writes a line to its stdin each time a report satisfies the next of
/// `phases`; fails if one is not reached within a minute.
fn run_phased(mode: &str, phases: &[&dyn Fn(&Report) -> bool]) {
    use std::io::Write;
    let (mut child, rx, reader) = support::spawn_child_test(
        "child_spare",
        &[
            (SPARE_CHILD, mode),
            ("GORO_DEBUG", "schedtrace=20,scheddetail=1"),
        ],
    );
    let mut stdin = child.stdin.take();
    let mut seen: Vec<String> = Vec::new();
    // Reports are written with one call each, so a report's lines arrive
    // together: each is parsed once the next SCHED line arrives.
    let mut phase = 0;
    let mut parsed = 0;
    let mut deadline = Instant::now() + Duration::from_secs(60);
    while phase < phases.len() {
        let wait = deadline.saturating_duration_since(Instant::now());
        let line = match rx.recv_timeout(wait) {
            Ok(line) => line,
            Err(e) => {
                let _ = child.kill();
                let tail = &seen[seen.len().saturating_sub(40)..];
                panic!(
                    "{mode}: phase {phase} never showed ({e}); the last lines:\n{}",
                    tail.join("\n")
                );
            }
        };
        let is_sched = line.starts_with("SCHED ");
        seen.push(line);
        if !is_sched {
            continue;
        }
        let done = seen.len() - 1;
        let lines: Vec<&str> = seen[..done].iter().map(String::as_str).collect();
        for i in (parsed..done).filter(|&i| lines[i].starts_with("SCHED ")) {
            let (r, _) = parse_report(&lines[i..]);
            assert_eq!(r.sched.workers, 1);
            // No spawn_blocking here: the threads are the Ms and sysmon.
            assert_eq!(r.sched.threads, r.ms.len() as u64 + 1, "{}", lines[i]);
            if phase < phases.len() && phases[phase](&r) {
                phase += 1;
                deadline = Instant::now() + Duration::from_secs(60);
                let w = stdin.as_mut().unwrap();
                w.write_all(b"next\n").unwrap();
                w.flush().unwrap();
            }
        }
        parsed = done;
    }
    drop(stdin.take());
    seen.extend(rx.iter());
    reader.join().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "child failed:\n{}", seen.join("\n"));
    // The rest of the trace parses too.
    parse_all(&seen.join("\n"));
}

/// With the worker stuck in a poll, the spare P and the spare M that took
/// its work get their lines (`P1: spare m=1`, `M1: p=1 spare`), and then
/// that M, in `block_in_place`, shows as `M1: p=- blocking`; `threads=`
/// counts every M.
#[test]
fn schedtrace_shows_a_spare_p_and_its_m() {
    run_phased(
        "rescue",
        &[
            &|r| {
                let stuck = r.m(0).is_some_and(|m| m.p == Some(0) && m.parked == 0);
                let spare = r
                    .p(1)
                    .is_some_and(|p| p.spare && p.m.is_some_and(|m| m != 0));
                let m = r
                    .m(1)
                    .is_some_and(|m| m.p == Some(1) && m.word.as_deref() == Some("spare"));
                stuck && spare && m
            },
            &|r| {
                let blocking = r
                    .m(1)
                    .is_some_and(|m| m.p.is_none() && m.word.as_deref() == Some("blocking"));
                blocking && r.p(1).is_some_and(|p| p.m.is_none())
            },
        ],
    );
}

/// A worker M in `block_in_place` with work queued: its P runs on a new
/// M (`P0: m=1`, `M1: p=0`, `M0: p=- blocking`); when its `f` returns, M0
/// waits for a P as a spare (`M0: p=- spare parked=1`).
#[test]
fn schedtrace_shows_a_lent_p_and_the_blocking_m() {
    let p0_on_m1 = |r: &Report| {
        r.p(0).is_some_and(|p| p.m == Some(1))
            && r.m(1).is_some_and(|m| m.p == Some(0) && m.word.is_none())
    };
    run_phased(
        "lend",
        &[
            &|r| {
                p0_on_m1(r)
                    && r.m(0)
                        .is_some_and(|m| m.p.is_none() && m.word.as_deref() == Some("blocking"))
            },
            &|r| {
                p0_on_m1(r)
                    && r.m(0).is_some_and(|m| {
                        m.p.is_none() && m.word.as_deref() == Some("spare") && m.parked == 1
                    })
            },
        ],
    );
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
