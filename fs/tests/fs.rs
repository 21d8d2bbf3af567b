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
        // The trait path (chunked reads) gives the same bytes.
        f.seek(SeekFrom::Start(0)).await.unwrap();
        let mut chunked = Vec::new();
        AsyncReadExt::read_to_end(&mut f, &mut chunked)
            .await
            .unwrap();
        assert!(chunked == all);
        f.set_len(100).await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 100);
        drop(f);
        goro_fs::remove_file(&p).await.unwrap();
        let err = File::open(&p).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert!(err.to_string().contains(&p.display().to_string()));
    });
}

#[test]
fn read_dir_lists_every_entry_in_batches() {
    rt().block_on(async {
        use futures::StreamExt;
        let dir = scratch("listing");
        goro_fs::create_dir_all(dir.join("sub")).await.unwrap();
        // More than one batch.
        for i in 0..100 {
            goro_fs::write(dir.join(format!("f{i}")), [i as u8])
                .await
                .unwrap();
        }
        let mut names = Vec::new();
        let mut rd = goro_fs::read_dir(&dir).await.unwrap();
        while let Some(e) = rd.next_entry().await.unwrap() {
            assert_eq!(e.path(), dir.join(e.file_name()));
            let ty = e.file_type().await.unwrap();
            assert_eq!(ty.is_dir(), e.file_name() == "sub");
            if ty.is_file() {
                assert_eq!(e.metadata().await.unwrap().len(), 1);
            }
            names.push(e.file_name().into_string().unwrap());
        }
        assert!(rd.next_entry().await.unwrap().is_none());
        names.sort();
        let mut want: Vec<String> = (0..100).map(|i| format!("f{i}")).collect();
        want.push("sub".into());
        want.sort();
        assert_eq!(names, want);
        // The Stream view sees the same entries.
        let n = goro_fs::read_dir(&dir).await.unwrap().count().await;
        assert_eq!(n, 101);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn read_dir_of_a_missing_path_names_it() {
    rt().block_on(async {
        let p = scratch("no-such-dir");
        let err = goro_fs::read_dir(&p).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains(&p.display().to_string()), "{err}");
        let file = scratch("a-file");
        std::fs::write(&file, "x").unwrap();
        let err = goro_fs::read_dir(&file).await.unwrap_err();
        assert_eq!(err.kind(), std::fs::read_dir(&file).unwrap_err().kind());
        std::fs::remove_file(&file).unwrap();
    });
}
