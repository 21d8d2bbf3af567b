//! [`Child`]: a running process, its exit watcher and the orphan list
//! (see "Noticing the exit" and "Children that are dropped" in the crate
//! docs).

use crate::pipe::{poll_read_to_end, ChildStderr, ChildStdin, ChildStdout};
use crate::Command;
use goro_reactor::fd::{AsyncFd, Interest};
use goro_signal::unix::{signal, Signal, SignalKind};
use std::future::poll_fn;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{ExitStatus, Output};
use std::sync::Mutex;
use std::task::{Context, Poll};

/// A spawned child process. Its pipes, where piped, are public fields to
/// `take()`, as in std.
#[derive(Debug)]
pub struct Child {
    /// The child's stdin, if it was piped.
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if it was piped.
    pub stderr: Option<ChildStderr>,
    /// `Some` until reaped.
    inner: Option<Running>,
    status: Option<ExitStatus>,
}

#[derive(Debug)]
struct Running {
    std: std::process::Child,
    exit: ExitWatch,
    kill_on_drop: bool,
}

/// How the child's exit is noticed.
#[derive(Debug)]
enum ExitWatch {
    /// Readable once the child has exited.
    Pidfd(AsyncFd<OwnedFd>),
    /// Woken on every SIGCHLD of the process.
    Sigchld(Signal),
}

/// Children dropped before they were reaped; see "Children that are
/// dropped" in the crate docs.
static ORPHANS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

/// Reaps every orphan that has exited.
fn reap_orphans() {
    let mut orphans = ORPHANS.lock().unwrap();
    // An error (ECHILD: reaped elsewhere) also ends our interest.
    orphans.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
}

pub(crate) fn spawn(cmd: &mut Command) -> io::Result<Child> {
    if goro_reactor::Handle::try_current().is_none() {
        panic!(
            "goro::process::Command::spawn called outside a goro runtime: call it from a task, \
             from Runtime::block_on or #[goro::main]"
        );
    }
    reap_orphans();
    // Without pidfds, listen for SIGCHLD before the child exists so that
    // its exit cannot be missed.
    let mut sigchld = if cmd.use_pidfd && pidfd_supported() {
        None
    } else {
        Some(signal(SignalKind::child())?)
    };
    let mut std = cmd.std.spawn()?;
    let exit = match sigchld.take() {
        Some(s) => ExitWatch::Sigchld(s),
        None => match pidfd_open(std.id()) {
            Ok(fd) => ExitWatch::Pidfd(AsyncFd::with_interest(fd, Interest::READABLE)?),
            // The child was reaped already (ESRCH cannot happen for our
            // own unreaped child), or pidfds are unavailable after all.
            Err(_) => ExitWatch::Sigchld(signal(SignalKind::child())?),
        },
    };
    let pipes = (
        std.stdin.take().map(ChildStdin::new).transpose(),
        std.stdout.take().map(ChildStdout::new).transpose(),
        std.stderr.take().map(ChildStderr::new).transpose(),
    );
    let mut child = Child {
        stdin: None,
        stdout: None,
        stderr: None,
        inner: Some(Running {
            std,
            exit,
            kill_on_drop: cmd.kill_on_drop,
        }),
        status: None,
    };
    // On a registration error, `child` drops: killed if asked, and reaped
    // or orphaned either way.
    child.stdin = pipes.0?;
    child.stdout = pipes.1?;
    child.stderr = pipes.2?;
    Ok(child)
}

impl Child {
    /// The OS process id, or `None` once the child has been reaped (the
    /// id may then belong to another process).
    pub fn id(&self) -> Option<u32> {
        self.inner.as_ref().map(|r| r.std.id())
    }

    /// Waits for the child to exit and reaps it. Closes the child's stdin
    /// first (if still held), so a child reading it sees EOF and can end.
    /// Cancel-safe: dropping the future leaves the child as it was.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        self.stdin.take();
        poll_fn(|cx| self.poll_wait(cx)).await
    }

    /// The exit status if the child has exited (reaping it), else `None`.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let running = self
            .inner
            .as_mut()
            .expect("a child without status is running");
        match running.std.try_wait()? {
            Some(status) => {
                self.finish(status);
                Ok(Some(status))
            }
            None => Ok(None),
        }
    }

    /// Records the status of a reaped child.
    fn finish(&mut self, status: ExitStatus) {
        self.status = Some(status);
        // Closes the pidfd (or drops the SIGCHLD listener) at once.
        self.inner = None;
        reap_orphans();
    }

    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        loop {
            if let Some(status) = self.try_wait()? {
                return Poll::Ready(Ok(status));
            }
            let running = self.inner.as_mut().expect("unreaped child");
            match &mut running.exit {
                ExitWatch::Pidfd(fd) => match fd.poll_read_ready(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    // A pidfd stays readable once the child has exited, so
                    // readiness without an exit is spurious: clear it.
                    Poll::Ready(Ok(mut guard)) => match running.std.try_wait()? {
                        Some(status) => {
                            drop(guard);
                            self.finish(status);
                            return Poll::Ready(Ok(status));
                        }
                        None => guard.clear_ready(),
                    },
                },
                ExitWatch::Sigchld(sig) => match sig.poll_recv(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(None) => {
                        return Poll::Ready(Err(io::Error::other(
                            "the goro runtime shut down while waiting for a child",
                        )))
                    }
                    Poll::Ready(Some(())) => {} // retry the waitpid
                },
            }
        }
    }

    /// Sends SIGKILL without waiting (a child already reaped: `Ok`).
    pub fn start_kill(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Some(running) => running.std.kill(),
            None => Ok(()),
        }
    }

    /// Sends SIGKILL and waits for the child to exit.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Waits for the child to exit while reading its stdout and stderr (if
    /// piped) to the end, concurrently so neither pipe can fill and stall
    /// the child.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        self.stdin.take();
        let mut out = self.stdout.take();
        let mut err = self.stderr.take();
        let (mut out_buf, mut err_buf) = (Vec::new(), Vec::new());
        poll_fn(|cx| {
            if let Some(pipe) = out.as_mut() {
                if poll_read_to_end(pipe, cx, &mut out_buf)?.is_ready() {
                    out = None; // EOF: close it now
                }
            }
            if let Some(pipe) = err.as_mut() {
                if poll_read_to_end(pipe, cx, &mut err_buf)?.is_ready() {
                    err = None;
                }
            }
            if out.is_some() || err.is_some() {
                return Poll::Pending;
            }
            Poll::Ready(Ok::<(), io::Error>(()))
        })
        .await?;
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout: out_buf,
            stderr: err_buf,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let Some(mut running) = self.inner.take() else {
            return;
        };
        if running.kill_on_drop {
            let _ = running.std.kill();
        }
        if matches!(running.std.try_wait(), Ok(None)) {
            ORPHANS.lock().unwrap().push(running.std);
        }
    }
}

#[cfg(target_os = "linux")]
fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open(2) takes a pid and a flags word and returns a new
    // descriptor (close-on-exec) or -1; it touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a fresh descriptor that nothing else
    // owns; the OwnedFd takes sole ownership and closes it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

#[cfg(not(target_os = "linux"))]
fn pidfd_open(_pid: u32) -> io::Result<OwnedFd> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Whether this kernel has `pidfd_open`; probed once, on our own pid.
fn pidfd_supported() -> bool {
    static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SUPPORTED.get_or_init(|| pidfd_open(std::process::id()).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> goro_executor::runtime::Runtime {
        goro_executor::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
    }

    /// The fallback path: every child watched through SIGCHLD.
    #[test]
    fn sigchld_path_waits_for_many_children() {
        rt().block_on(async {
            let mut tasks = Vec::new();
            for i in 0..50 {
                tasks.push(goro_executor::spawn(async move {
                    let mut cmd = Command::new("sh");
                    cmd.arg("-c").arg(format!("exit {}", i % 3));
                    cmd.use_pidfd = false;
                    let mut child = cmd.spawn().unwrap();
                    assert!(matches!(
                        child.inner.as_ref().unwrap().exit,
                        ExitWatch::Sigchld(_)
                    ));
                    child.wait().await.unwrap().code()
                }));
            }
            for (i, t) in tasks.into_iter().enumerate() {
                assert_eq!(t.await.unwrap(), Some(i as i32 % 3));
            }
        });
    }

    #[test]
    fn pidfd_path_is_used_where_available() {
        rt().block_on(async {
            let mut child = Command::new("true").spawn().unwrap();
            let watch = &child.inner.as_ref().unwrap().exit;
            assert_eq!(
                matches!(watch, ExitWatch::Pidfd(_)),
                pidfd_supported(),
                "{watch:?}"
            );
            assert!(child.wait().await.unwrap().success());
            assert!(child.inner.is_none(), "reaped child drops its watcher");
        });
    }
}
