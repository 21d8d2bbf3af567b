//! The whole-file and directory functions and `File` (through futures-io)
//! on a goro runtime.

use futures::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use goro_fs::File;
use std::io::{ErrorKind, SeekFrom};

fn rt() -> goro_executor::runtime::Runtime {
    goro_executor::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("goro-fs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

#[test]
fn a_missing_path_keeps_the_kind_and_names_the_path() {
    rt().block_on(async {
        let p = scratch("missing").join("nope.txt");
        let err = goro_fs::read(&p).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains(&p.display().to_string()), "{err}");
        let inner = err.get_ref().unwrap().source().unwrap();
        let os = inner.downcast_ref::<std::io::Error>().unwrap();
        let from_std = std::fs::read(&p).unwrap_err();
        assert_eq!(os.raw_os_error(), from_std.raw_os_error());
        let err = goro_fs::rename(&p, p.with_extension("b"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("nope.b"), "{err}");
    });
}

#[test]
fn files_and_directories_round_trip() {
    rt().block_on(async {
        let dir = scratch("tree");
        goro_fs::create_dir_all(dir.join("a/b")).await.unwrap();
        goro_fs::create_dir(dir.join("c")).await.unwrap();
        let f = dir.join("a/b/f.txt");
        goro_fs::write(&f, "hello").await.unwrap();
        assert_eq!(goro_fs::read_to_string(&f).await.unwrap(), "hello");
        assert_eq!(goro_fs::copy(&f, dir.join("c/g.txt")).await.unwrap(), 5);
        goro_fs::rename(dir.join("c/g.txt"), dir.join("c/h.txt"))
            .await
            .unwrap();
        goro_fs::hard_link(&f, dir.join("hard")).await.unwrap();
        goro_fs::symlink(&f, dir.join("soft")).await.unwrap();
        assert_eq!(goro_fs::read(dir.join("soft")).await.unwrap(), b"hello");
        assert_eq!(
            goro_fs::canonicalize(dir.join("soft")).await.unwrap(),
            std::fs::canonicalize(&f).unwrap()
        );
        assert_eq!(goro_fs::metadata(dir.join("hard")).await.unwrap().len(), 5);
        goro_fs::remove_file(dir.join("hard")).await.unwrap();
        goro_fs::remove_dir(dir.join("c")).await.unwrap_err(); // not empty
        goro_fs::remove_file(dir.join("c/h.txt")).await.unwrap();
        goro_fs::remove_dir(dir.join("c")).await.unwrap();
        goro_fs::remove_dir_all(&dir).await.unwrap();
        assert_eq!(
            goro_fs::metadata(&dir).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    });
}

#[test]
fn write_seek_read_set_len() {
    rt().block_on(async {
        let p = std::env::temp_dir().join(format!("goro-fs-file-{}", std::process::id()));
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 253) as u8).collect();
        let mut f = File::create(&p).await.unwrap();
        f.write_all(&data).await.unwrap();
        f.sync_all().await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), data.len() as u64);
        drop(f);

        let mut f = File::options()
            .read(true)
            .write(true)
            .open(&p)
            .await
            .unwrap();
        let mut head = [0u8; 10];
        f.read_exact(&mut head).await.unwrap();
        assert_eq!(&head[..], &data[..10]);
        // Relative seek accounts for what was handed out, nothing more.
        assert_eq!(f.seek(SeekFrom::Current(5)).await.unwrap(), 15);
        f.read_exact(&mut head).await.unwrap();
        assert_eq!(&head[..], &data[15..25]);
        // A write lands at the position the reader observed.
        f.write_all(b"XY").await.unwrap();
        f.flush().await.unwrap();
        f.seek(SeekFrom::Start(0)).await.unwrap();
        let mut all = Vec::new();
        f.read_to_end(&mut all).await.unwrap();
        assert_eq!(&all[25..27], b"XY");
        assert_eq!(all.len(), data.len());
        f.set_len(100).await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 100);
        drop(f);
        goro_fs::remove_file(&p).await.unwrap();
        let err = File::open(&p).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert!(err.to_string().contains(&p.display().to_string()));
    });
}

/// Counts how often the reader is polled.
struct Counting<R> {
    inner: R,
    polls: usize,
}

impl<R: futures::AsyncRead + Unpin> futures::AsyncRead for Counting<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.polls += 1;
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

/// At EOF a pool read returns nothing; that result must be reported by
/// the next `poll_read`, not taken for "no read-ahead yet" (which starts
/// another empty read, forever).
#[test]
fn eof_is_reported_after_one_pool_read() {
    rt().block_on(async {
        let p = scratch("eof");
        std::fs::write(&p, b"").unwrap();
        let mut r = Counting {
            inner: File::open(&p).await.unwrap(),
            polls: 0,
        };
        let mut byte = [0u8; 1];
        assert_eq!(r.read(&mut byte).await.unwrap(), 0);
        // Once to start the read, once to see it finished.
        assert!(r.polls <= 2, "{} polls for one empty read", r.polls);
        std::fs::remove_file(&p).unwrap();
    });
}

/// futures' `read_to_end` (not `File`'s own) on a 5 MB file: a few polls
/// per 2 MiB pool read, and it ends at EOF.
#[test]
fn futures_read_to_end_ends_at_eof() {
    rt().block_on(async {
        let p = scratch("rte");
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let mut r = Counting {
            inner: File::open(&p).await.unwrap(),
            polls: 0,
        };
        let mut all = Vec::new();
        AsyncReadExt::read_to_end(&mut r, &mut all).await.unwrap();
        assert!(all == data);
        // 17 reads served from read-ahead while futures' buffer doubles,
        // then about 8 pool reads of at most 2 MiB, each polled twice.
        assert!(r.polls < 60, "{} polls", r.polls);
        std::fs::remove_file(&p).unwrap();
    });
}

#[test]
fn read_dir_lists_every_entry_in_batches() {
    rt().block_on(async {
        let dir = scratch("listing");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        // More than one pool batch.
        for i in 0..150 {
            std::fs::write(dir.join(format!("f{i}")), b"x").unwrap();
        }
        let mut rd = goro_fs::read_dir(&dir).await.unwrap();
        let mut names = Vec::new();
        while let Some(e) = rd.next_entry().await.unwrap() {
            assert_eq!(e.path(), dir.join(e.file_name()));
            if e.file_name() == "sub" {
                assert!(e.file_type().await.unwrap().is_dir());
            } else {
                assert_eq!(e.metadata().await.unwrap().len(), 1);
            }
            names.push(e.file_name());
        }
        assert_eq!(names.len(), 151);
        assert!(rd.next_entry().await.unwrap().is_none());
        // The same through `Stream`.
        use futures::StreamExt;
        let n = goro_fs::read_dir(&dir).await.unwrap().count().await;
        assert_eq!(n, 151);
        std::fs::remove_dir_all(&dir).unwrap();
        let err = goro_fs::read_dir(&dir).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(
            err.to_string().contains(&dir.display().to_string()),
            "{err}"
        );
    });
}

/// Counts the `Pending`s of the reader it wraps.
struct CountPending<R> {
    inner: R,
    pending: usize,
}

impl<R: futures::AsyncRead + Unpin> futures::AsyncRead for CountPending<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        dst: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, dst);
        if r.is_pending() {
            self.pending += 1;
        }
        r
    }
}

/// futures' `read_to_end` zero-fills its whole spare capacity after every
/// `Pending`, so the number of pool round trips must grow with the log of
/// the file's size, not linearly (linear is quadratic CPU: seconds to
/// minutes in a debug build).
///
/// Alone in its binary: with other runtimes starting and stopping in the
/// process, this read is re-polled hundreds of times while one pool read
/// is in flight (wake source not found; see docs/os.md).
#[test]
fn trait_read_to_end_makes_logarithmically_many_round_trips() {
    rt().block_on(async {
        let dir = scratch("trait-read");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("big");
        let data: Vec<u8> = (0..10_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let mut f = CountPending {
            inner: File::open(&p).await.unwrap(),
            pending: 0,
        };
        let mut v = Vec::new();
        AsyncReadExt::read_to_end(&mut f, &mut v).await.unwrap();
        assert!(v == data);
        // 10 MB in 2 MiB reads would be 5 round trips after the growth;
        // doubling slices from 256 KiB need about 8, each at most one `Pending`.
        assert!(f.pending <= 16, "{} round trips", f.pending);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}
