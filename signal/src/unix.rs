//! Unix signals: [`signal`] and [`Signal`], with tokio's spelling of
//! [`SignalKind`].

use crate::registry::{globals, Globals, SLOTS};
use goro_reactor::fd::{AsyncFd, Interest};
use std::future::poll_fn;
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::task::{Context, Poll};

/// A signal number to listen for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// Any signal by number (checked by [`signal`], not here).
    pub const fn from_raw(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    pub const fn as_raw_value(&self) -> libc::c_int {
        self.0
    }

    /// SIGINT: Ctrl-C at a terminal.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// SIGTERM: the polite request to exit (`kill`'s default).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// SIGHUP: the terminal went away, or (by convention) "reload".
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// SIGQUIT: Ctrl-\ at a terminal.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// SIGUSR1.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// SIGUSR2.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// SIGCHLD: a child process changed state.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// SIGALRM.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// SIGPIPE: a write to a pipe with no reader.
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// SIGWINCH: the terminal was resized.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
}

impl From<libc::c_int> for SignalKind {
    fn from(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }
}

/// A listener for one signal: [`recv`](Signal::recv) completes once per
/// delivery (deliveries between two calls coalesce into one). Every
/// listener of a signal sees every delivery.
pub struct Signal {
    globals: &'static Globals,
    signum: usize,
    id: u64,
    /// The generation last returned by `recv` (or current at creation).
    seen: u64,
    /// This listener's duplicate of the self-pipe's read end.
    pipe: AsyncFd<UnixStream>,
}

/// Starts listening for `kind`, installing the process-wide handler the
/// first time the signal is asked for.
///
/// # Errors
/// `InvalidInput` for a signal that cannot be caught (SIGKILL, SIGSTOP,
/// SIGILL, SIGFPE, SIGSEGV) or a number outside `1..=64`; the OS error if
/// the pipe cannot be created or registered.
///
/// # Panics
/// Outside a goro runtime.
#[track_caller]
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let signum = kind.0;
    if signum <= 0 || signum as usize >= SLOTS || signal_hook_registry::FORBIDDEN.contains(&signum)
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signum} cannot be listened for"),
        ));
    }
    let globals = globals()?;
    globals.install(signum)?;
    let pipe = AsyncFd::with_interest(globals.receiver()?, Interest::READABLE)?;
    // Publish deliveries already in the pipe, so the generation read below
    // is this listener's true starting point.
    let _ = drain(pipe.get_ref()); // WouldBlock: empty now
    globals.dispatch();
    let slot = globals.slot(signum as usize);
    Ok(Signal {
        globals,
        signum: signum as usize,
        id: globals.next_id(),
        seen: slot.generation(),
        pipe,
    })
}

/// Reads the pipe until it is empty.
fn drain(mut pipe: &UnixStream) -> io::Result<()> {
    let mut buf = [0u8; 64];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => return Ok(()), // unreachable: the sender is never closed
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

impl Signal {
    /// Waits for the next delivery. `None` once the runtime the listener
    /// was created in has shut down.
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll form of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let slot = self.globals.slot(self.signum);
        loop {
            let generation = slot.generation();
            if generation != self.seen {
                self.seen = generation;
                return Poll::Ready(Some(()));
            }
            slot.register(self.id, cx.waker());
            // Re-check after registering: a dispatch between the load above
            // and the registration would otherwise go unnoticed.
            let generation = slot.generation();
            if generation != self.seen {
                self.seen = generation;
                return Poll::Ready(Some(()));
            }
            let mut guard = match self.pipe.poll_read_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_shutdown)) => return Poll::Ready(None),
                Poll::Ready(Ok(guard)) => guard,
            };
            // Drain until WouldBlock; the guard clears the readiness then,
            // so the next wait sleeps until a new byte arrives.
            match guard.try_io(|fd| drain(fd.get_ref())) {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Poll::Ready(None), // the pipe failed
                Err(_would_block) => {}
            }
            self.globals.dispatch();
        }
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        self.globals.slot(self.signum).unregister(self.id);
    }
}

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signal")
            .field("signum", &self.signum)
            .finish_non_exhaustive()
    }
}
