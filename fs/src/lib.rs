//! # goro-fs: filesystem calls without blocking a worker
//!
//! Each function runs its `std::fs` counterpart on the runtime's blocking
//! pool (`goro_executor::task::spawn_blocking`) and awaits the result, so
//! a slow disk holds a blocking-pool thread, never a worker (an M with
//! its P). There is no non-blocking file IO to register with epoll; the
//! pool is the only way not to stall the run queues (tokio does the same).
//!
//! ## Errors
//!
//! std's errors carry no path ("No such file or directory (os error 2)").
//! Every error here keeps std's [`io::ErrorKind`] and names the path(s) in
//! its message; the original `io::Error` is its source
//! (`err.get_ref()`), which still has the raw OS error.
//!
//! ## Limits
//!
//! * `File::sync_all`, `sync_data` and `set_len` take `&mut self` (tokio:
//!   `&self`): they wait for the operation in flight.
//! * Called outside a goro runtime, these panic (the blocking pool's rule).

#![warn(missing_docs)]

mod file;
mod read_dir;

pub use file::{File, OpenOptions};
pub use read_dir::{read_dir, DirEntry, ReadDir};

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An `io::Error` from std with the path(s) it was about.
#[derive(Debug)]
struct PathError {
    op: &'static str,
    paths: String,
    source: io::Error,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.op, self.paths, self.source)
    }
}

impl std::error::Error for PathError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn with_path(op: &'static str, paths: String, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        PathError {
            op,
            paths,
            source: e,
        },
    )
}

/// Runs `f` on the blocking pool; a panic in `f` becomes an `io::Error`.
async fn asyncify<R: Send + 'static>(
    f: impl FnOnce() -> io::Result<R> + Send + 'static,
) -> io::Result<R> {
    match goro_executor::task::spawn_blocking(f).await {
        Ok(res) => res,
        Err(e) => Err(io::Error::other(format!(
            "goro-fs: blocking call failed: {e}"
        ))),
    }
}

async fn one<R: Send + 'static>(
    op: &'static str,
    path: &Path,
    f: impl FnOnce(&Path) -> io::Result<R> + Send + 'static,
) -> io::Result<R> {
    let path: PathBuf = path.to_owned();
    asyncify(move || f(&path).map_err(|e| with_path(op, format!("`{}`", path.display()), e))).await
}

async fn two<R: Send + 'static>(
    op: &'static str,
    from: &Path,
    to: &Path,
    f: impl FnOnce(&Path, &Path) -> io::Result<R> + Send + 'static,
) -> io::Result<R> {
    let (from, to) = (from.to_owned(), to.to_owned());
    asyncify(move || {
        f(&from, &to).map_err(|e| {
            let paths = format!("`{}` to `{}`", from.display(), to.display());
            with_path(op, paths, e)
        })
    })
    .await
}

/// `std::fs::read`.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    one("read", path.as_ref(), |p| std::fs::read(p)).await
}

/// `std::fs::read_to_string`.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    one("read", path.as_ref(), |p| std::fs::read_to_string(p)).await
}

/// `std::fs::write` (the contents are copied to the pool).
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let data = contents.as_ref().to_owned();
    one("write", path.as_ref(), move |p| std::fs::write(p, data)).await
}

/// `std::fs::copy`: the number of bytes copied.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    two("copy", from.as_ref(), to.as_ref(), |a, b| {
        std::fs::copy(a, b)
    })
    .await
}

/// `std::fs::rename`.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    two("rename", from.as_ref(), to.as_ref(), |a, b| {
        std::fs::rename(a, b)
    })
    .await
}

/// `std::fs::hard_link`.
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    two("hard-link", original.as_ref(), link.as_ref(), |a, b| {
        std::fs::hard_link(a, b)
    })
    .await
}

/// `std::os::unix::fs::symlink`.
#[cfg(unix)]
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    two("symlink", original.as_ref(), link.as_ref(), |a, b| {
        std::os::unix::fs::symlink(a, b)
    })
    .await
}

/// `std::fs::create_dir`.
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    one("create directory", path.as_ref(), |p| {
        std::fs::create_dir(p)
    })
    .await
}

/// `std::fs::create_dir_all`.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    one("create directory", path.as_ref(), |p| {
        std::fs::create_dir_all(p)
    })
    .await
}

/// `std::fs::remove_file`.
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    one("remove", path.as_ref(), |p| std::fs::remove_file(p)).await
}

/// `std::fs::remove_dir`.
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    one("remove directory", path.as_ref(), |p| {
        std::fs::remove_dir(p)
    })
    .await
}

/// `std::fs::remove_dir_all`.
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    one("remove directory", path.as_ref(), |p| {
        std::fs::remove_dir_all(p)
    })
    .await
}

/// `std::fs::metadata`.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<std::fs::Metadata> {
    one("stat", path.as_ref(), |p| std::fs::metadata(p)).await
}

/// `std::fs::canonicalize`.
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    one("canonicalize", path.as_ref(), |p| std::fs::canonicalize(p)).await
}
