//! Every spelling the porting guides promise resolves on the facade (a
//! compile check, plus a few calls that need a runtime).

#[allow(unused_imports)]
use goro::{
    context::{
        background, with_cancel, with_deadline, with_timeout, with_value, Cancel, Context,
        ContextError,
    },
    fs::{
        canonicalize, copy, create_dir, create_dir_all, hard_link, metadata, read, read_dir,
        read_to_string, remove_dir, remove_dir_all, remove_file, rename, symlink, write, DirEntry,
        File, OpenOptions, ReadDir,
    },
    io::{
        copy as io_copy, copy_bidirectional, duplex, empty, repeat, sink, split, AsyncBufReadExt,
        AsyncReadExt, AsyncWriteExt, BufReader, BufWriter,
    },
    process::Command,
    signal::{
        ctrl_c,
        unix::{signal, Signal, SignalKind},
    },
    sync::ErrGroup,
    task::{spawn_blocking, JoinError, JoinSet},
    time::{after, tick, Instant},
};

goro::task_local! {
    static ID: u32;
}

#[test]
fn signal_kinds_and_builders_resolve() {
    let kinds = [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
        SignalKind::quit(),
        SignalKind::user_defined1(),
        SignalKind::user_defined2(),
        // SIGUSR1 on Linux.
        SignalKind::from_raw(10),
    ];
    assert_eq!(kinds.len(), 7);
    let mut cmd = Command::new("true");
    cmd.kill_on_drop(true);
    let _set: JoinSet<u32> = JoinSet::new();
    let _limit = ErrGroup::<std::io::Error>::with_limit;
    let ctx = background();
    let (child, cancel) = with_cancel(&ctx);
    cancel.cancel();
    cancel.cancel();
    assert_eq!(child.err(), Some(ContextError::Canceled));
}
