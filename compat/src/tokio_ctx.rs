//! [`tokio()`]: run a future that needs a tokio context (it calls
//! `tokio::spawn`, `tokio::time` or `tokio::net` internally) on goro.
//!
//! The idea is async-compat's: keep one tokio runtime per process whose
//! drivers run on a background thread, and enter its context around
//! every poll of the wrapped future, so the future itself still runs as
//! a goro task while the tokio types it creates register with tokio's
//! reactor and timer.

use std::future::Future;
use std::pin::Pin;
use std::sync::{LazyLock, Once};
use std::task::{Context, Poll};

/// The process's tokio runtime: a current-thread runtime with every
/// driver its enabled features allow, created on first use and never shut
/// down.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("goro-compat-tokio")
        .build()
        .expect("goro::compat::tokio: could not build the tokio runtime")
});

/// Starts the one thread that drives `RUNTIME` (its IO driver, timers and
/// the tasks spawned on it) by blocking on a future that never ends.
static DRIVER: Once = Once::new();

fn runtime() -> &'static tokio::runtime::Runtime {
    DRIVER.call_once(|| {
        std::thread::Builder::new()
            .name("goro-compat-tokio".into())
            .spawn(|| RUNTIME.block_on(std::future::pending::<()>()))
            .expect("goro::compat::tokio: could not start the tokio driver thread");
    });
    &RUNTIME
}

/// Wraps `future` so that each poll (and its drop) runs inside the
/// process's tokio context; see [`Tokio`].
pub fn tokio<F: Future>(future: F) -> Tokio<F> {
    Tokio::new(future)
}

pin_project_lite::pin_project! {
    /// A future polled on goro inside a tokio runtime context.
    ///
    /// Inside it, `tokio::spawn`, `tokio::time::sleep`,
    /// `tokio::net::TcpStream::connect` and `Handle::current()` work as in
    /// a tokio program. The tokio runtime is a current-thread one whose
    /// drivers run on one background thread, created lazily once per
    /// process.
    ///
    /// Cost: readiness and timer events for tokio's types are seen by that
    /// thread, so every such wake-up of the goro task is a cross-thread
    /// wake (goro's own types never cross a thread this way). Use goro's
    /// types, or [`hyper`](crate::hyper)'s adapters, where a crate lets
    /// you.
    ///
    /// Limits: tasks the library spawns with `tokio::spawn` run on tokio's
    /// one thread, not on goro's workers; `tokio::task::block_in_place`
    /// panics inside it (the runtime is current-thread); `#[tokio::main]`
    /// or `Runtime::block_on` inside it panics as in any tokio context.
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Tokio<F> {
        #[pin]
        inner: Option<F>,
    }

    impl<F> PinnedDrop for Tokio<F> {
        fn drop(this: Pin<&mut Self>) {
            // Dropped inside the context too: some tokio types deregister
            // from the current runtime when they drop.
            let _guard = runtime().enter();
            this.project().inner.set(None);
        }
    }
}

impl<F> Tokio<F> {
    /// Wraps `future`; the tokio runtime starts on first poll.
    pub fn new(future: F) -> Self {
        Tokio {
            inner: Some(future),
        }
    }
}

impl<F: Future> Future for Tokio<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _guard = runtime().enter();
        self.project()
            .inner
            .as_pin_mut()
            .expect("goro::compat::Tokio polled after it was dropped")
            .poll(cx)
    }
}
