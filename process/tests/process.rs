//! Child processes on a goro runtime: many at once without leaks, pipes,
//! kill, and the bad-input cases.

use futures::{AsyncReadExt, AsyncWriteExt};
use goro_process::Command;
use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::Mutex;

/// The leak checks count the whole process's fds and children, so the
/// tests of this file run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn rt() -> goro_executor::runtime::Runtime {
    goro_executor::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// `waitpid(-1, WNOHANG)`: -1/ECHILD means no child at all, running or
/// zombie.
fn no_children_left() -> bool {
    // SAFETY: waitpid with a null status pointer writes nothing.
    let r = unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) };
    r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD)
}

#[test]
fn a_thousand_concurrent_children_leak_no_fds_or_zombies() {
    let _s = serial();
    rt().block_on(async {
        let before = open_fds();
        let tasks: Vec<_> = (0..1000)
            .map(|_| goro_executor::spawn(async { Command::new("true").status().await }))
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().unwrap().success());
        }
        assert_eq!(open_fds(), before, "fds leaked");
        assert!(no_children_left(), "a child was left unreaped");
    });
}

#[test]
fn a_missing_program_is_not_found_from_spawn() {
    let _s = serial();
    rt().block_on(async {
        let err = Command::new("/nonexistent/goro-no-such-program")
            .spawn()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = Command::new("goro-no-such-program-on-path")
            .output()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    });
}

#[test]
fn output_collects_stdout_stderr_and_status() {
    let _s = serial();
    rt().block_on(async {
        let out = Command::new("sh")
            .args([
                "-c",
                "echo out; echo err >&2; read x; echo \"[$x]\"; exit 3",
            ])
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        // stdin is null for `output`: `read` sees EOF at once.
        assert_eq!(out.stdout, b"out\n[]\n");
        assert_eq!(out.stderr, b"err\n");
    });
}

#[test]
fn stdin_to_stdout_through_cat_streams_a_megabyte() {
    let _s = serial();
    rt().block_on(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let data: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();
        // More than a pipe holds: the writer must wait for the reader.
        let writer = goro_executor::spawn(async move {
            stdin.write_all(&data).await.unwrap();
            stdin.close().await.unwrap();
        });
        let mut got = Vec::new();
        stdout.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert!(got == expected, "cat returned {} bytes", got.len());
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn kill_ends_the_child_and_id_goes_away_after_reaping() {
    let _s = serial();
    rt().block_on(async {
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        assert!(child.id().is_some());
        assert!(child.try_wait().unwrap().is_none());
        child.kill().await.unwrap();
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert_eq!(child.id(), None);
        // Waiting again answers the same status.
        assert_eq!(child.wait().await.unwrap(), status);
        child.start_kill().unwrap(); // reaped already: a no-op
    });
}

#[test]
fn kill_on_drop_kills_and_a_later_spawn_reaps_it() {
    let _s = serial();
    rt().block_on(async {
        let child = Command::new("sleep")
            .arg("1000")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap() as libc::pid_t;
        // Our own pidfd on it, to wait for the death without reaping.
        // SAFETY: pidfd_open takes a pid and flags, touches no memory.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        assert!(raw >= 0);
        // SAFETY: a fresh descriptor owned by nothing else.
        let pidfd =
            unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw as i32) };
        drop(child);
        let watch = goro_reactor::fd::AsyncFd::new(pidfd).unwrap();
        let _ready =
            goro_reactor::time::timeout(std::time::Duration::from_secs(20), watch.readable())
                .await
                .expect("the dropped child was not killed")
                .unwrap();
        drop(watch);
        // Dead but unreaped until this crate's next spawn sweeps orphans.
        assert!(Command::new("true").status().await.unwrap().success());
        // SAFETY: waitpid with a null status pointer writes nothing.
        let r = unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
        assert_eq!(r, -1, "the killed child should have been reaped already");
        assert!(no_children_left());
    });
}
