//! Task dumps: identity, wait reasons, the "no waker" mark, and the cost
//! of dumping many parked tasks.

use goro::runtime::{Builder, Dump, Handle, TaskStatus};
use goro::task::WaitReason;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Dumps until `done` holds (tasks park asynchronously), for at most 10 s.
fn dump_until(h: &Handle, done: impl Fn(&Dump) -> bool) -> Dump {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = h.dump();
        if done(&d) {
            return d;
        }
        assert!(Instant::now() < deadline, "condition never held:\n{d}");
        std::thread::yield_now();
    }
}

fn reason_of(d: &Dump, name: &str) -> Option<WaitReason> {
    d.tasks()
        .iter()
        .find(|t| t.name() == Some(name))
        .and_then(|t| t.wait_reason())
}

#[test]
fn dump_shows_names_parents_and_wait_reasons() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let h = rt.handle().clone();
    let (tx, rx) = goro::chan::bounded::<u8>(0);
    let (full_tx, _full_rx) = goro::chan::bounded::<u8>(0);
    let mutex = Arc::new(goro::sync::Mutex::new(()));
    let guard = rt.block_on(mutex.clone().lock_owned());
    let wg = Arc::new(goro::sync::WaitGroup::new());
    wg.add(1);
    let (block_tx, block_rx) = std::sync::mpsc::channel::<()>();
    let _g = rt.enter();
    let b = goro::task::Builder::new();
    let parent = b
        .name("parent")
        .spawn(async move {
            let child = goro::task::Builder::new()
                .name("child")
                .spawn(async move { rx.recv().await })
                .unwrap();
            let _ = child.await;
        })
        .unwrap();
    b.name("sender")
        .spawn(async move { full_tx.send(1).await })
        .unwrap();
    let m = mutex.clone();
    b.name("locker")
        .spawn(async move { drop(m.lock().await) })
        .unwrap();
    let w = wg.clone();
    b.name("waiter")
        .spawn(async move { w.wait().await })
        .unwrap();
    b.name("sleeper")
        .spawn(goro::time::sleep(Duration::from_secs(3600)))
        .unwrap();
    b.name("lost").spawn(std::future::pending::<()>()).unwrap();
    let job = b
        .name("job")
        .spawn_blocking(move || block_rx.recv().ok())
        .unwrap();
    b.name("joiner").spawn(job).unwrap();

    let expect = [
        ("child", WaitReason::ChanRecv),
        ("parent", WaitReason::Join),
        ("sender", WaitReason::ChanSend),
        ("locker", WaitReason::MutexLock),
        ("waiter", WaitReason::WaitGroup),
        ("sleeper", WaitReason::Sleep),
        ("lost", WaitReason::Idle),
        ("job", WaitReason::Blocking),
        ("joiner", WaitReason::Blocking),
    ];
    let d = dump_until(&h, |d| {
        expect.iter().all(|(n, r)| reason_of(d, n) == Some(*r))
            && d.tasks().iter().all(|t| {
                t.status()
                    == if t.name() == Some("job") {
                        TaskStatus::Running
                    } else {
                        TaskStatus::Waiting
                    }
            })
    });
    let text = d.to_string();
    let find = |n: &str| d.tasks().iter().find(|t| t.name() == Some(n)).unwrap();
    assert_eq!(find("child").parent(), Some(parent.id()), "{text}");
    assert_eq!(find("parent").parent(), None, "{text}");
    assert!(find("lost").has_no_waker(), "{text}");
    for n in ["child", "sender", "locker", "waiter", "sleeper", "joiner"] {
        assert!(
            !find(n).has_no_waker(),
            "{n} has a waker held by what it waits on:\n{text}"
        );
    }
    assert_eq!(find("job").status(), TaskStatus::Running, "{text}");
    assert!(text.starts_with("goro dump: 9 tasks, workers=2"), "{text}");
    assert!(
        text.contains(&format!(
            "task {} \"child\" [chan receive, ",
            find("child").id()
        )),
        "{text}"
    );
    assert!(text.contains(&format!("by task {}", parent.id())), "{text}");
    assert!(
        text.contains("[idle, ") && text.contains("no waker: can never run again]"),
        "{text}"
    );
    assert!(text.contains(&format!("spawned at {}:", file!())), "{text}");
    drop(tx);
    drop(guard);
    wg.done();
    block_tx.send(()).unwrap();
}

#[test]
fn dump_of_100_000_parked_tasks_is_quick() {
    const N: usize = 100_000;
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (_tx, rx) = goro::chan::bounded::<()>(0);
    let _g = rt.enter();
    for _ in 0..N {
        let rx = rx.clone();
        goro::spawn(async move { rx.recv().await });
    }
    let d = dump_until(rt.handle(), |d| {
        d.len() == N
            && d.tasks()
                .iter()
                .all(|t| t.wait_reason() == Some(WaitReason::ChanRecv))
    });
    drop(d);
    let start = Instant::now();
    let d = rt.handle().dump();
    let took = start.elapsed();
    assert_eq!(d.len(), N);
    // The release figure is in docs/benchmarks.md; this bound only catches
    // something quadratic, on a debug build on a noisy machine.
    assert!(
        took < Duration::from_secs(2),
        "dump of {N} tasks took {took:?}"
    );
    eprintln!("dump of {N} parked tasks: {took:?}");
}

/// Runs in a child process (the same test binary): SIGQUIT must print the
/// dump to stderr and leave the program running.
#[cfg(unix)]
#[test]
fn sigquit_prints_the_dump_and_the_program_goes_on() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    const NAME: &str = "sigquit_prints_the_dump_and_the_program_goes_on";
    if std::env::var_os("GORO_SIGQUIT_CHILD").is_some() {
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .dump_on_sigquit(true)
            .build()
            .unwrap();
        let _g = rt.enter();
        goro::task::Builder::new()
            .name("sleepy")
            .spawn(goro::time::sleep(Duration::from_secs(3600)))
            .unwrap();
        dump_until(rt.handle(), |d| {
            reason_of(d, "sleepy") == Some(WaitReason::Sleep)
        });
        println!("ready");
        std::io::stdout().flush().unwrap();
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).unwrap();
        println!("alive");
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
        .env("GORO_SIGQUIT_CHILD", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<(bool, String)>();
    let out = BufReader::new(child.stdout.take().unwrap());
    let err = BufReader::new(child.stderr.take().unwrap());
    let tx2 = tx.clone();
    let t1 = std::thread::spawn(move || {
        for l in out.lines().map_while(Result::ok) {
            let _ = tx.send((true, l));
        }
    });
    let t2 = std::thread::spawn(move || {
        for l in err.lines().map_while(Result::ok) {
            let _ = tx2.send((false, l));
        }
    });
    let wait_for = |stdout: bool, what: &str| loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok((s, l)) if s == stdout && l.contains(what) => return,
            Ok(_) => {}
            Err(e) => panic!("never saw {what:?}: {e}"),
        }
    };
    wait_for(true, "ready");
    // SAFETY: kill(2) with a live child's pid and a valid signal number.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGQUIT) };
    assert_eq!(rc, 0);
    wait_for(false, "\"sleepy\" [sleep, ");
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    wait_for(true, "alive");
    assert!(child.wait().unwrap().success());
    t1.join().unwrap();
    t2.join().unwrap();
}
