//! Helpers shared by the executor's integration tests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// A child process re-running this test binary on the one test `test`,
/// with `envs` set, its stdin piped, and its stderr forwarded line by
/// line to the returned receiver by the returned thread (which ends with
/// the child's stderr).
pub fn spawn_child_test(
    test: &str,
    envs: &[(&str, &str)],
) -> (Child, mpsc::Receiver<String>, JoinHandle<()>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in stderr.lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    (child, rx, reader)
}
