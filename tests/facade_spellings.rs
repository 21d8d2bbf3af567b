//! Every spelling the public surface promises, named through the facade:
//! this file compiles only while each path exists.

#![allow(unused_imports)]

use goro::context::{
    background, with_cancel, with_deadline, with_timeout, with_value, Cancel, Context, ContextError,
};
use goro::fs::{
    canonicalize, copy, create_dir, create_dir_all, hard_link, metadata, read, read_to_string,
    remove_dir, remove_dir_all, remove_file, rename, symlink, write, File, OpenOptions,
};
use goro::io::{
    copy_bidirectional, duplex, empty, repeat, sink, split, AsyncBufReadExt, AsyncReadExt,
    AsyncWriteExt, BufReader, BufWriter,
};
use goro::process::Command;
use goro::signal::ctrl_c;
use goro::signal::unix::{signal, SignalKind};
use goro::sync::ErrGroup;
use goro::task::{JoinError, JoinSet};
use goro::time::{after, tick, Instant};

goro::task_local! {
    static SPELLED: u32;
}

#[test]
fn signal_kinds_and_builders_are_spelled_as_documented() {
    let kinds = [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
        SignalKind::quit(),
        SignalKind::user_defined1(),
        SignalKind::user_defined2(),
        SignalKind::from_raw(15), // SIGTERM on Linux
    ];
    assert_eq!(kinds.len(), 7);
    let mut cmd = Command::new("true");
    cmd.kill_on_drop(true);
    let _g: ErrGroup<std::io::Error> = ErrGroup::with_limit(2);
    let _e = [ContextError::Canceled, ContextError::DeadlineExceeded];
    let _s: JoinSet<()> = JoinSet::new();
    // Outside its scope a task-local read is an error, not UB.
    assert!(SPELLED.try_with(|v| *v).is_err());
}
