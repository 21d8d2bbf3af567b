//! Blocked-worker handoff: `block_in_place`, and sysmon moving the work of
//! a worker stuck in a poll to a spare thread (see `handoff.rs`).

use goro_executor::runtime::Builder;
use goro_executor::task::block_in_place;
use goro_executor::{spawn, task};
use std::collections::HashSet;
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod support;

/// A 1-worker runtime: nothing but the handoff can run a task queued
/// behind one that blocks.
fn one_worker(threshold: Option<Duration>) -> goro_executor::runtime::Runtime {
    Builder::new_multi_thread()
        .worker_threads(1)
        .blocking_threshold(threshold)
        .build()
        .unwrap()
}

/// A task queues 100 small tasks on its own P and then sleeps for 1 s
/// inside its poll. Returns how long after the sleep began the last of the
/// 100 ran, and the polls run on spare Ps.
fn delay_behind_blocker(threshold: Option<Duration>) -> (Duration, u64) {
    let rt = one_worker(threshold);
    let delay = rt.block_on(async {
        let blocker = spawn(async {
            let small: Vec<_> = (0..100).map(|_| spawn(async { Instant::now() })).collect();
            let start = Instant::now();
            std::thread::sleep(Duration::from_secs(1));
            (start, small)
        });
        let (start, small) = blocker.await.unwrap();
        let mut last = start;
        for h in small {
            last = last.max(h.await.unwrap());
        }
        last - start
    });
    (delay, rt.handle().metrics().spare.poll_count)
}

#[test]
fn stuck_worker_hands_its_queue_to_a_spare() {
    // Up to three attempts: on a loaded machine the spare M itself may wait
    // for a core past the bound, which says nothing about the handoff.
    // Without it every attempt waits the whole second (the test below).
    let mut delays = Vec::new();
    for _ in 0..3 {
        let (delay, spare_polls) = delay_behind_blocker(Some(Duration::from_millis(10)));
        assert!(spare_polls >= 100, "{spare_polls} polls on spare Ps");
        delays.push(delay);
        if delay < Duration::from_millis(50) {
            return;
        }
    }
    panic!("the tasks behind the blocked poll waited {delays:?} in three attempts");
}

/// A poll that keeps spawning is a long poll, not a blocked worker: its
/// P's spawn counter moves between sysmon's looks, so no spare takes its
/// queue (the bound is well above an OS time slice, so a worker merely
/// descheduled on a loaded machine does not trip it either).
#[test]
fn a_poll_that_keeps_spawning_is_not_rescued() {
    let rt = one_worker(Some(Duration::from_millis(100)));
    let spawned = rt.block_on(async {
        spawn(async {
            let start = Instant::now();
            let mut handles = Vec::new();
            while start.elapsed() < Duration::from_millis(500) {
                handles.push(spawn(async {}));
                let pace = Instant::now();
                while pace.elapsed() < Duration::from_micros(10) {
                    std::hint::spin_loop();
                }
            }
            let n = handles.len();
            for h in handles {
                h.await.unwrap();
            }
            n
        })
        .await
        .unwrap()
    });
    assert!(spawned > 1000, "only {spawned} spawns in 500 ms");
    assert_eq!(rt.handle().metrics().spare.poll_count, 0);
}

#[test]
fn without_threshold_the_queue_waits_for_the_blocker() {
    let (delay, spare_polls) = delay_behind_blocker(None);
    assert_eq!(spare_polls, 0);
    assert!(
        delay > Duration::from_millis(900),
        "the tasks behind the blocked poll ran after {delay:?}, before it returned"
    );
}

/// The task queued behind `block_in_place` is the one that ends it: on one
/// worker this only returns if the P went to another thread.
#[test]
fn block_in_place_hands_queued_work_over_at_once() {
    let rt = one_worker(None);
    let ok = rt.block_on(async {
        spawn(async {
            let (tx, rx) = mpsc::channel();
            let sender = spawn(async move { tx.send(()).unwrap() });
            let got = block_in_place(|| rx.recv_timeout(Duration::from_secs(10)));
            sender.await.unwrap();
            got.is_ok()
        })
        .await
        .unwrap()
    });
    assert!(ok, "the queued task never ran during block_in_place");
}

/// Nothing is queued when `block_in_place` starts: the P waits, and sysmon
/// hands it over when the call outlasts its tick and work has arrived.
#[test]
fn block_in_place_with_idle_p_is_handed_over_by_sysmon() {
    let rt = one_worker(None);
    let (entered_tx, entered_rx) = mpsc::channel();
    let (tx, rx) = mpsc::channel::<()>();
    let caller = rt.spawn(async move {
        block_in_place(move || {
            entered_tx.send(()).unwrap();
            rx.recv_timeout(Duration::from_secs(10)).is_ok()
        })
    });
    entered_rx.recv().unwrap();
    // From outside: to the injector, with the only P lent.
    let sender = rt.spawn(async move { tx.send(()).unwrap() });
    let ok = rt.block_on(async move {
        sender.await.unwrap();
        caller.await.unwrap()
    });
    assert!(ok, "the task spawned during block_in_place never ran");
}

/// After `f` returns the caller goes on running tasks (its P back, or as a
/// spare with another one), and the runtime never runs more than one extra
/// thread per worker.
#[test]
fn block_in_place_caller_resumes_and_threads_stay_bounded() {
    let rt = one_worker(None);
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let t = threads.clone();
    let sum = rt.block_on(async move {
        let mut sum = 0u64;
        for i in 0..200u64 {
            let t = t.clone();
            sum += spawn(async move {
                t.lock().unwrap().insert(std::thread::current().id());
                // Half the time with work queued (handed at once), half
                // without (taken back at once).
                let queued = (i % 2 == 0).then(|| spawn(async move { i }));
                let x = block_in_place(|| i * 2);
                t.lock().unwrap().insert(std::thread::current().id());
                let y = match queued {
                    Some(h) => h.await.unwrap(),
                    None => 0,
                };
                x + y
            })
            .await
            .unwrap();
        }
        sum
    });
    let expected: u64 = (0..200u64)
        .map(|i| i * 2 + if i % 2 == 0 { i } else { 0 })
        .sum();
    assert_eq!(sum, expected);
    let n = threads.lock().unwrap().len();
    assert!(
        (1..=2).contains(&n),
        "tasks ran on {n} threads, at most 2 may run"
    );
}

#[test]
fn block_in_place_nested_and_outside_a_runtime() {
    assert_eq!(block_in_place(|| 3), 3, "no runtime: f just runs");
    let rt = one_worker(None);
    let v = rt.block_on(async {
        // On the block_on thread (not a worker): f just runs.
        let a = block_in_place(|| 1);
        let b = spawn(async { block_in_place(|| block_in_place(|| 2)) })
            .await
            .unwrap();
        let c = task::spawn_blocking(|| block_in_place(|| 4)).await.unwrap();
        a + b + c
    });
    assert_eq!(v, 7);
}

#[test]
fn block_in_place_panics_on_current_thread() {
    let rt = Builder::new_current_thread().build().unwrap();
    let msg = rt.block_on(async {
        let err = std::panic::catch_unwind(|| block_in_place(|| ())).unwrap_err();
        err.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| err.downcast_ref::<String>().cloned())
            .unwrap()
    });
    assert!(msg.contains("current-thread runtime"), "{msg}");
    assert!(msg.contains("spawn_blocking"), "{msg}");
}

#[test]
fn block_in_place_panic_in_f_reaches_the_join_handle() {
    let rt = one_worker(None);
    let err = rt.block_on(async {
        let r = spawn(async { block_in_place(|| panic!("in f")) }).await;
        // The runtime still runs tasks afterwards.
        assert_eq!(spawn(async { 5 }).await.unwrap(), 5);
        r
    });
    assert!(err.unwrap_err().is_panic());
}

#[test]
fn zero_threshold_is_rejected() {
    let err = Builder::new_multi_thread()
        .blocking_threshold(Some(Duration::ZERO))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("blocking_threshold"), "{err}");
}

const CHILD: &str = "GORO_HANDOFF_CHILD";

/// The child's workload: task A blocks its worker twice for 60 ms (two
/// polls), task B once; then a task that only yields. With
/// `GORO_HANDOFF_CHILD=off` the threshold is off.
#[test]
fn child_blocking_tasks() {
    let Some(mode) = std::env::var_os(CHILD) else {
        return; // only meaningful as the child
    };
    let threshold = (mode != "off").then_some(Duration::from_millis(10));
    let rt = one_worker(threshold);
    rt.block_on(async {
        let a = spawn(async {
            std::thread::sleep(Duration::from_millis(60));
            task::yield_now().await;
            std::thread::sleep(Duration::from_millis(60));
        });
        a.await.unwrap();
        let b = spawn(async { std::thread::sleep(Duration::from_millis(60)) });
        b.await.unwrap();
        for _ in 0..100 {
            task::yield_now().await;
        }
    });
    // Sysmon reports a stall whose end it has not looked at yet when it
    // sees the shutdown.
    rt.shutdown_timeout(Duration::from_secs(1));
}

fn child_stderr(mode: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_blocking_tasks",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, mode)
        .output()
        .unwrap();
    assert!(out.status.success(), "child failed: {out:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn blocked_worker_is_reported_once_per_task() {
    let stderr = child_stderr("on");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("goro: task "))
        .collect();
    assert_eq!(lines.len(), 2, "one line per blocking task:\n{stderr}");
    let mut ids = HashSet::new();
    for line in lines {
        // goro: task <id> (<file>:<line>) blocked its worker for <n> ms; use ...
        let rest = line.strip_prefix("goro: task ").unwrap();
        let (id, rest) = rest.split_once(" (").unwrap();
        assert!(id.parse::<u64>().is_ok(), "{line}");
        assert!(ids.insert(id.to_string()), "task {id} reported twice");
        let (site, rest) = rest.split_once(") blocked its worker for ").unwrap();
        let (file, line_no) = site.rsplit_once(':').unwrap();
        assert_eq!(file, file!(), "{line}");
        assert!(line_no.parse::<u32>().is_ok(), "{line}");
        let (ms, tail) = rest.split_once(" ms; ").unwrap();
        let ms: u64 = ms.parse().unwrap();
        assert!((10..=1000).contains(&ms), "{line}");
        assert_eq!(tail, "use spawn_blocking or block_in_place");
    }
}

#[test]
fn no_report_with_threshold_off() {
    let stderr = child_stderr("off");
    assert!(!stderr.contains("blocked its worker"), "{stderr}");
}

/// Context switches of this process's thread named `name` (Linux).
#[cfg(target_os = "linux")]
fn switches_of(name: &str) -> Option<u64> {
    // Threads of other tests come and go while this reads: skip those
    // that vanish.
    for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let dir = entry.path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        if comm.trim_end() != name {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(dir.join("status")) else {
            continue;
        };
        let n = status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
            .sum();
        return Some(n);
    }
    None
}

/// An idle runtime's sysmon sleeps until an M wakes: over 300 ms of
/// idleness it does not wake (an IDLE_INTERVAL of 10 ms would wake it 30
/// times), and it wakes
/// again for work.
#[cfg(target_os = "linux")]
#[test]
fn sysmon_sleeps_deeply_when_idle() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("hidle")
        .build()
        .unwrap();
    rt.block_on(async { spawn(async { 1 }).await.unwrap() });
    let sysmon = "hidle-sysmon";
    // Wait (up to 5 s) for a 100 ms window without a sysmon wake-up: the
    // runtime has settled into idleness.
    let give_up = Instant::now() + Duration::from_secs(5);
    // A thread names itself once it runs, so the name may not be there
    // yet right after `build`.
    let mut before = loop {
        if let Some(n) = switches_of(sysmon) {
            break n;
        }
        assert!(Instant::now() < give_up, "no thread named {sysmon}");
        std::thread::sleep(Duration::from_millis(10));
    };
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = switches_of(sysmon).unwrap();
        if now == before {
            break;
        }
        before = now;
        assert!(Instant::now() < give_up, "sysmon never stopped waking");
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = switches_of(sysmon).unwrap();
    assert!(after - before <= 1, "sysmon woke {} times", after - before);
    // Work wakes it again (it watches busy workers), and it sleeps after.
    rt.block_on(async {
        spawn(async { std::thread::sleep(Duration::from_millis(30)) })
            .await
            .unwrap()
    });
    assert!(
        switches_of(sysmon).unwrap() > after,
        "sysmon did not wake for work"
    );
}

const HANG_CHILD: &str = "GORO_HANDOFF_HANG_CHILD";

/// The child's workload for the still-running report: task A blocks its
/// worker for 60 ms (a stall that ends before the still-running bound,
/// 1 s with a 10 ms threshold); then task B blocks its worker reading a
/// line from stdin, which the parent writes only once it has read the
/// still-running line, so B's poll is blocked when that line is printed.
#[test]
fn child_hung_poll() {
    if std::env::var_os(HANG_CHILD).is_none() {
        return; // only meaningful as the child
    }
    let rt = one_worker(Some(Duration::from_millis(10)));
    rt.block_on(async {
        spawn(async { std::thread::sleep(Duration::from_millis(60)) })
            .await
            .unwrap();
        spawn(async {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).unwrap();
            eprintln!("child: released");
        })
        .await
        .unwrap();
        for _ in 0..100 {
            task::yield_now().await;
        }
    });
    rt.shutdown_timeout(Duration::from_secs(1));
}

/// `goro: task <id> (<file>:<line>) <verb> <n> ms<tail>`: the id, the
/// spawn site's file, the time and the tail, for a report line.
fn parse_report<'a>(line: &'a str, verb: &str) -> Option<(u64, &'a str, u64, &'a str)> {
    let rest = line.strip_prefix("goro: task ")?;
    let (id, rest) = rest.split_once(" (")?;
    let (site, rest) = rest.split_once(&format!(") {verb} "))?;
    let (file, line_no) = site.rsplit_once(':')?;
    line_no.parse::<u32>().ok()?;
    let (ms, tail) = rest.split_once(" ms")?;
    Some((id.parse().ok()?, file, ms.parse().ok()?, tail))
}

/// A poll that does not return is reported while it is still blocked,
/// once; when it ends, its end line gives the total. A task whose stall
/// ended before the bound gets only the end line.
#[test]
fn hung_poll_is_reported_while_still_running() {
    use std::io::Write;
    let (mut child, rx, reader) =
        support::spawn_child_test("child_hung_poll", &[(HANG_CHILD, "1")]);
    const RUNNING: &str = "has blocked its worker for";
    let mut before = Vec::new();
    let still = loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.contains(RUNNING) => break line,
            Ok(line) => before.push(line),
            Err(e) => {
                let _ = child.kill();
                panic!("no still-running line ({e}); stderr so far:\n{before:#?}");
            }
        }
    };
    // B's poll is still blocked: stdin has not been written yet.
    assert!(
        child.try_wait().unwrap().is_none(),
        "child exited before release"
    );
    assert!(
        !before.iter().any(|l| l == "child: released"),
        "{before:#?}"
    );
    let (hung, file, ms, tail) =
        parse_report(&still, RUNNING).unwrap_or_else(|| panic!("bad line {still:?}"));
    assert_eq!(file, file!(), "{still}");
    assert!((1000..=60_000).contains(&ms), "{still}");
    assert_eq!(
        tail, " and is still running; use spawn_blocking or block_in_place",
        "{still}"
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"go\n").unwrap();
    drop(stdin);
    let after: Vec<String> = rx.iter().collect();
    reader.join().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "child failed: {after:#?}");
    let all: Vec<&String> = before.iter().chain([&still]).chain(&after).collect();
    let ends: Vec<(u64, u64)> = all
        .iter()
        .filter_map(|l| parse_report(l, "blocked its worker for"))
        .map(|(id, file, ms, tail)| {
            assert_eq!(file, file!());
            assert_eq!(tail, "; use spawn_blocking or block_in_place");
            (id, ms)
        })
        .collect();
    let runs = all.iter().filter(|l| l.contains(RUNNING)).count();
    assert_eq!(runs, 1, "one still-running line: {all:#?}");
    // A's end line (printed before B blocked), then B's with its total.
    assert_eq!(ends.len(), 2, "one end line per task: {all:#?}");
    assert_ne!(ends[0].0, hung, "{all:#?}");
    assert!((10..1000).contains(&ends[0].1), "{all:#?}");
    assert_eq!(ends[1].0, hung, "{all:#?}");
    assert!(ends[1].1 >= ms, "the total is not below {ms} ms: {all:#?}");
}
