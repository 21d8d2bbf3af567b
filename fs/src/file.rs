//! [`File`] and [`OpenOptions`]: an open file whose reads, writes and
//! seeks run on the blocking pool, one operation in flight at a time, with
//! a buffer that moves to the pool thread and back (tokio's design).
//!
//! A read asks the pool for `len` bytes, clamped to `MIN_READ..=MAX_READ`,
//! into the file's own buffer and copies them out when it returns; what
//! the caller did not ask for serves the next reads. The upper bound
//! follows the caller's slice rather than a fixed 2 MiB because of how
//! futures' `AsyncReadExt::read_to_end` works: on every `Pending` it
//! shrinks its `Vec` back to the bytes read and on the next poll fills the
//! whole spare capacity with zeros again, so each pool round trip costs
//! it O(capacity). With fixed 2 MiB reads a file of n bytes costs
//! O(n² / 2 MiB) of zeroing (tens of seconds for 100 MiB in a debug
//! build); reading as much as its slice asks for (its spare capacity
//! doubles) keeps the round trips, and the zeroing, logarithmic in n. A
//! buffer grown past `MAX_BUF` is freed once it has been handed out. A write copies
//! up to `MAX_BUF` bytes into the buffer, starts `write_all` on the pool
//! and reports success at once; its error, if any, is returned by the
//! next operation or by `flush`. Bytes read ahead but not yet handed out
//! are given back with a relative seek before a write or seek, so the file
//! position is always the one the caller has observed.

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};
use goro_executor::task::JoinHandle;
use std::future::{poll_fn, Future};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// The most bytes one pool operation moves.
const MAX_BUF: usize = 2 * 1024 * 1024;
/// The most bytes one pool read moves, when the caller's slice is that
/// large (see the module docs).
const MAX_READ: usize = 64 * 1024 * 1024;
/// The fewest bytes a read asks the pool for: smaller reads are served
/// from this read-ahead without another pool round trip.
const MIN_READ: usize = 256 * 1024;

/// The buffer that moves between the file and the pool thread. `data`
/// only grows and stays initialised, so a read does not zero it again
/// (in a debug build, zeroing 2 MiB per read costs more than the read).
#[derive(Default)]
struct Buf {
    data: Vec<u8>,
    /// `data[pos..end]` was read ahead and not yet handed out; for a write,
    /// `data[..end]` is what the pool writes.
    pos: usize,
    end: usize,
}

impl Buf {
    fn unread(&self) -> usize {
        self.end - self.pos
    }

    fn ahead(&self) -> &[u8] {
        &self.data[self.pos..self.end]
    }

    fn clear(&mut self) {
        self.pos = 0;
        self.end = 0;
    }

    /// Makes `data` at least `len` long (zeroing only the growth).
    fn reserve(&mut self, len: usize) {
        if self.data.len() < len {
            self.data.resize(len, 0);
        }
    }
}

enum Op {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    Seek(io::Result<u64>),
}

enum State {
    Idle(Buf),
    Busy(JoinHandle<(Op, Buf)>),
}

/// An open file. Implements futures-io's `AsyncRead`, `AsyncWrite` and
/// `AsyncSeek`.
pub struct File {
    std: Arc<std::fs::File>,
    state: State,
    /// The error of a write that already reported success.
    last_write_err: Option<io::Error>,
    /// A seek is in flight and its result is for `poll_seek`.
    seeking: bool,
    /// A pool read finished and `poll_read` has not reported it yet: an
    /// empty buffer then means EOF. It must outlive the `poll_read` call
    /// that started the read, which returned `Pending`: otherwise the next
    /// call sees an empty buffer and starts another read, and at EOF
    /// every read is empty, so the file re-reads forever (each round a
    /// pool trip and a wake).
    read_done: bool,
}

fn join_error(e: goro_executor::task::JoinError) -> io::Error {
    io::Error::other(format!("goro-fs: blocking file operation failed: {e}"))
}

impl File {
    /// Opens `path` for reading.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Creates (or truncates) `path` for writing.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// A builder of open options.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open std file.
    pub fn from_std(std: std::fs::File) -> File {
        File {
            std: Arc::new(std),
            state: State::Idle(Buf::default()),
            last_write_err: None,
            seeking: false,
            read_done: false,
        }
    }

    /// Waits for the operation in flight and absorbs its result.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<u64>>> {
        let State::Busy(handle) = &mut self.state else {
            return Poll::Ready(Ok(None));
        };
        let res = ready!(Pin::new(handle).poll(cx));
        let (op, mut buf) = match res {
            Ok(done) => done,
            Err(e) => {
                self.state = State::Idle(Buf::default());
                return Poll::Ready(Err(join_error(e)));
            }
        };
        let out = match op {
            Op::Read(Ok(n)) => {
                buf.pos = 0;
                buf.end = n;
                self.read_done = true;
                Ok(None)
            }
            Op::Read(Err(e)) => {
                buf.clear();
                Err(e)
            }
            Op::Write(r) => {
                buf.clear();
                if let Err(e) = r {
                    self.last_write_err = Some(e);
                }
                Ok(None)
            }
            Op::Seek(r) => {
                buf.clear();
                r.map(Some)
            }
        };
        self.state = State::Idle(buf);
        Poll::Ready(out)
    }

    /// Takes the idle buffer to start an operation; a finished read not
    /// yet reported is forgotten (the new operation supersedes it).
    fn idle_buf(&mut self) -> Buf {
        self.read_done = false;
        match std::mem::replace(&mut self.state, State::Idle(Buf::default())) {
            State::Idle(buf) => buf,
            State::Busy(_) => unreachable!("idle_buf while busy"),
        }
    }

    /// Runs `f` on the pool once every earlier operation has finished and
    /// read-ahead bytes have been given back.
    async fn run<R: Send + 'static>(
        &mut self,
        f: impl FnOnce(&std::fs::File) -> io::Result<R> + Send + 'static,
    ) -> io::Result<R> {
        poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await?;
        let back = self.idle_buf().unread() as i64;
        let std = self.std.clone();
        let job = goro_executor::task::spawn_blocking(move || {
            if back > 0 {
                (&*std).seek(SeekFrom::Current(-back))?;
            }
            f(&std)
        });
        job.await.map_err(join_error)?
    }

    /// Reads to EOF, appending to `buf`. Shadows futures'
    /// `AsyncReadExt::read_to_end` with a faster path: `buf` itself moves
    /// to the pool and back, so the bytes are copied once, by the kernel.
    pub async fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await?;
        let mut ahead = self.idle_buf();
        let start = buf.len();
        buf.extend_from_slice(ahead.ahead());
        ahead.clear();
        self.state = State::Idle(ahead);
        let mut taken = std::mem::take(buf);
        let std = self.std.clone();
        let (back, res) = goro_executor::task::spawn_blocking(move || {
            let res = (&*std).read_to_end(&mut taken);
            (taken, res)
        })
        .await
        .map_err(join_error)?;
        *buf = back;
        res.map(|_| buf.len() - start)
    }

    /// Metadata of the open file.
    pub async fn metadata(&self) -> io::Result<std::fs::Metadata> {
        let std = self.std.clone();
        goro_executor::task::spawn_blocking(move || std.metadata())
            .await
            .map_err(join_error)?
    }

    /// Flushes pending writes, then `fsync`s data and metadata.
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.run(|f| f.sync_all()).await
    }

    /// Flushes pending writes, then `fdatasync`s.
    pub async fn sync_data(&mut self) -> io::Result<()> {
        self.run(|f| f.sync_data()).await
    }

    /// Truncates or extends the file (the position is unchanged).
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.run(move |f| f.set_len(size)).await
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        loop {
            ready!(me.poll_idle(cx))?;
            let State::Idle(buf) = &mut me.state else {
                unreachable!("poll_idle returned Ready, so the file is idle")
            };
            if buf.unread() > 0 || dst.is_empty() || me.read_done {
                let n = buf.unread().min(dst.len());
                dst[..n].copy_from_slice(&buf.ahead()[..n]);
                buf.pos += n;
                if !dst.is_empty() {
                    me.read_done = false;
                }
                if buf.unread() == 0 && buf.data.capacity() > MAX_BUF {
                    *buf = Buf::default();
                }
                return Poll::Ready(Ok(n));
            }
            if let Some(e) = me.last_write_err.take() {
                return Poll::Ready(Err(e));
            }
            let mut buf = me.idle_buf();
            let want = dst.len().clamp(MIN_READ, MAX_READ);
            buf.reserve(want);
            let std = me.std.clone();
            me.state = State::Busy(goro_executor::task::spawn_blocking(move || {
                let res = loop {
                    match (&*std).read(&mut buf.data[..want]) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        r => break r,
                    }
                };
                (Op::Read(res), buf)
            }));
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        ready!(me.poll_idle(cx))?;
        if let Some(e) = me.last_write_err.take() {
            return Poll::Ready(Err(e));
        }
        let mut buf = me.idle_buf();
        let back = buf.unread() as i64;
        let n = src.len().min(MAX_BUF);
        buf.reserve(n);
        buf.data[..n].copy_from_slice(&src[..n]);
        buf.pos = 0;
        buf.end = n;
        let std = me.std.clone();
        me.state = State::Busy(goro_executor::task::spawn_blocking(move || {
            let res = (|| {
                if back > 0 {
                    (&*std).seek(SeekFrom::Current(-back))?;
                }
                (&*std).write_all(&buf.data[..buf.end])
            })();
            (Op::Write(res), buf)
        }));
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        ready!(me.poll_idle(cx))?;
        match me.last_write_err.take() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let me = self.get_mut();
        loop {
            if let State::Busy(_) = me.state {
                match ready!(me.poll_idle(cx)) {
                    Err(e) => {
                        me.seeking = false;
                        return Poll::Ready(Err(e));
                    }
                    Ok(Some(p)) if me.seeking => {
                        me.seeking = false;
                        return Poll::Ready(Ok(p));
                    }
                    Ok(_) => {}
                }
            }
            if let Some(e) = me.last_write_err.take() {
                return Poll::Ready(Err(e));
            }
            let mut buf = me.idle_buf();
            let pos = match pos {
                SeekFrom::Current(n) => SeekFrom::Current(n - buf.unread() as i64),
                p => p,
            };
            buf.clear();
            let std = me.std.clone();
            me.state = State::Busy(goro_executor::task::spawn_blocking(move || {
                (Op::Seek((&*std).seek(pos)), buf)
            }));
            me.seeking = true;
        }
    }
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("std", &self.std)
            .finish_non_exhaustive()
    }
}

/// std's `OpenOptions`, opening on the blocking pool.
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// All options off.
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }
    /// Open for reading.
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.0.read(on);
        self
    }
    /// Open for writing.
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.0.write(on);
        self
    }
    /// Append to the end.
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.0.append(on);
        self
    }
    /// Truncate to zero length.
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.0.truncate(on);
        self
    }
    /// Create if missing.
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.0.create(on);
        self
    }
    /// Create, failing if it exists.
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.0.create_new(on);
        self
    }
    /// Opens `path` (errors name the path, see the crate docs).
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let opts = self.0.clone();
        crate::one("open", path.as_ref(), move |p| opts.open(p))
            .await
            .map(File::from_std)
    }
}
