//! [`read_dir`]: a directory's entries as a [`Stream`], read on the
//! blocking pool in batches so one pool trip serves many entries (tokio's
//! design: its `ReadDir` also refills a batch per trip).

use futures_core::Stream;
use goro_executor::task::JoinHandle;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::future::{poll_fn, Future};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// Entries fetched per pool trip.
const BATCH: usize = 64;

type Batch = (VecDeque<io::Result<DirEntry>>, std::fs::ReadDir, bool);

enum State {
    /// The entries of the last batch, the iterator, and whether it ended.
    Idle(Option<Batch>),
    Busy(JoinHandle<Batch>),
}

/// A directory's entries; from [`read_dir`].
pub struct ReadDir(State);

/// Opens `path` for listing (`std::fs::read_dir`); errors name the path.
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let it = crate::one("read directory", path.as_ref(), |p| std::fs::read_dir(p)).await?;
    Ok(ReadDir(State::Idle(Some((VecDeque::new(), it, false)))))
}

fn fill(mut it: std::fs::ReadDir) -> Batch {
    let mut out = VecDeque::with_capacity(BATCH);
    let mut done = false;
    while out.len() < BATCH {
        match it.next() {
            Some(e) => out.push_back(e.map(|std| DirEntry(Arc::new(std)))),
            None => {
                done = true;
                break;
            }
        }
    }
    (out, it, done)
}

impl ReadDir {
    /// The next entry, or `None` at the end.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry.
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.0 {
                State::Idle(slot) => {
                    let Some((batch, _, done)) = slot.as_mut() else {
                        return Poll::Ready(Ok(None));
                    };
                    if let Some(e) = batch.pop_front() {
                        return Poll::Ready(e.map(Some));
                    }
                    if *done {
                        *slot = None;
                        return Poll::Ready(Ok(None));
                    }
                    let (_, it, _) = slot.take().expect("checked above");
                    self.0 = State::Busy(goro_executor::task::spawn_blocking(move || fill(it)));
                }
                State::Busy(h) => {
                    let res = ready!(Pin::new(h).poll(cx));
                    // A failed pool job ends the listing.
                    self.0 = State::Idle(None);
                    match res {
                        Ok(batch) => self.0 = State::Idle(Some(batch)),
                        Err(e) => {
                            return Poll::Ready(Err(io::Error::other(format!(
                                "goro-fs: blocking read_dir failed: {e}"
                            ))))
                        }
                    }
                }
            }
        }
    }
}

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_entry(cx).map(|r| r.transpose())
    }
}

impl std::fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadDir").finish_non_exhaustive()
    }
}

/// One entry of a [`ReadDir`].
#[derive(Clone, Debug)]
pub struct DirEntry(Arc<std::fs::DirEntry>);

impl DirEntry {
    /// The full path (the directory joined with the file name).
    pub fn path(&self) -> PathBuf {
        self.0.path()
    }

    /// The bare file name.
    pub fn file_name(&self) -> OsString {
        self.0.file_name()
    }

    /// The entry's metadata (not following a symlink), on the pool.
    pub async fn metadata(&self) -> io::Result<std::fs::Metadata> {
        let e = self.0.clone();
        crate::asyncify(move || e.metadata()).await
    }

    /// The entry's file type, on the pool (often free: from the listing).
    pub async fn file_type(&self) -> io::Result<std::fs::FileType> {
        let e = self.0.clone();
        crate::asyncify(move || e.file_type()).await
    }
}
