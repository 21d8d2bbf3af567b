//! futures' `AsyncReadExt::read_to_end` on a goro `File`: the number of
//! pool round trips.

use futures::AsyncReadExt;
use goro_fs::File;

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
