//! [`read_dir`]: a directory's entries as a [`Stream`], fetched from the
//! blocking pool `BATCH` at a time so a large directory costs one pool
//! round trip per batch, not per entry (tokio's design).

use futures_core::Stream;
use goro_executor::task::JoinHandle;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::future::poll_fn;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Entries fetched per pool round trip.
const BATCH: usize = 32;

type Batch = (
    VecDeque<io::Result<std::fs::DirEntry>>,
    Option<std::fs::ReadDir>,
);

enum State {
    /// Entries fetched, and the std iterator (`None` once exhausted).
    Idle(Batch),
    Busy(JoinHandle<Batch>),
}

/// The entries of a directory, from [`read_dir`]: call
/// [`next_entry`](ReadDir::next_entry) or use it as a
/// `Stream<Item = io::Result<DirEntry>>`. The order is the OS's.
pub struct ReadDir {
    state: State,
    path: PathBuf,
}

/// Lists the directory at `path`. A missing or unreadable path gives
/// std's error kind with the path in the message.
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let std = crate::one("read directory", &path, |p| std::fs::read_dir(p)).await?;
    Ok(ReadDir {
        state: State::Idle((VecDeque::new(), Some(std))),
        path,
    })
}

impl ReadDir {
    /// The next entry, or `None` after the last.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry, or `None` after the last.
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.state {
                State::Busy(handle) => {
                    let batch = match ready!(Pin::new(handle).poll(cx)) {
                        Ok(batch) => batch,
                        Err(e) => {
                            self.state = State::Idle((VecDeque::new(), None));
                            return Poll::Ready(Err(io::Error::other(format!(
                                "goro-fs: blocking read_dir failed: {e}"
                            ))));
                        }
                    };
                    self.state = State::Idle(batch);
                }
                State::Idle((queue, iter)) => {
                    if let Some(next) = queue.pop_front() {
                        let path = &self.path;
                        return Poll::Ready(next.map(|std| Some(DirEntry { std })).map_err(|e| {
                            crate::with_path("read directory", format!("`{}`", path.display()), e)
                        }));
                    }
                    let Some(mut iter) = iter.take() else {
                        return Poll::Ready(Ok(None));
                    };
                    let mut queue = std::mem::take(queue);
                    self.state = State::Busy(goro_executor::task::spawn_blocking(move || {
                        queue.extend(iter.by_ref().take(BATCH));
                        let more = queue.len() == BATCH;
                        (queue, more.then_some(iter))
                    }));
                }
            }
        }
    }
}

use std::future::Future;

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_entry(cx).map(Result::transpose)
    }
}

impl std::fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadDir")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// One entry of a [`ReadDir`].
#[derive(Debug)]
pub struct DirEntry {
    std: std::fs::DirEntry,
}

impl DirEntry {
    /// The full path: the directory given to [`read_dir`] joined with
    /// [`file_name`](DirEntry::file_name).
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The bare file name.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// Metadata without following a symlink (on the blocking pool).
    pub async fn metadata(&self) -> io::Result<std::fs::Metadata> {
        crate::one("stat", &self.std.path(), |p| std::fs::symlink_metadata(p)).await
    }

    /// The entry's type without following a symlink (on most Unix file
    /// systems this needs no system call; run on the pool regardless).
    pub async fn file_type(&self) -> io::Result<std::fs::FileType> {
        crate::one("stat", &self.std.path(), |p| {
            std::fs::symlink_metadata(p).map(|m| m.file_type())
        })
        .await
    }
}
