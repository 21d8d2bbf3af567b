//! # goro-io: the IO toolkit over futures-io
//!
//! goro's sockets (and every other goro IO type) implement the futures-io
//! traits [`AsyncRead`], [`AsyncWrite`], [`AsyncBufRead`] and
//! [`AsyncSeek`]. This crate (exported as `goro::io`) gathers what a
//! program needs on top of them, so that `use goro::prelude::*;` is enough
//! to call `read`, `write_all` or `read_line` on a goro socket:
//!
//! * re-exported from `futures-util` (the implementations the futures-io
//!   ecosystem shares): the extension traits [`AsyncReadExt`],
//!   [`AsyncWriteExt`], [`AsyncBufReadExt`], [`AsyncSeekExt`], [`copy`],
//!   [`copy_buf`], [`BufReader`], [`BufWriter`], [`LineWriter`],
//!   [`Cursor`], [`empty`], [`sink`], [`repeat`], [`ReadHalf`] and
//!   [`WriteHalf`];
//! * written here, having no futures equivalent: [`split`] as a free
//!   function, [`copy_bidirectional`] (`copy_bidirectional.rs`) and
//!   [`duplex`], an in-memory pipe with a capacity for tests
//!   (`duplex.rs`).
//!
//! ## Where goro differs from tokio
//!
//! tokio has its own `AsyncRead` (reading into a `ReadBuf` of possibly
//! uninitialised memory); goro uses futures-io's, which reads into an
//! initialised `&mut [u8]`. The extension methods are futures-util's, so a
//! few spellings differ from tokio's (`read_u32` and friends do not exist;
//! `close` is tokio's `shutdown`). [`split`] returns futures-util's halves,
//! joined by a lock: a half that is in use makes the other wait for the
//! lock for the length of one poll, never across an `.await`.

#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

mod copy_bidirectional;
mod duplex;

pub use copy_bidirectional::{copy_bidirectional, copy_bidirectional_with_sizes};
pub use duplex::{duplex, DuplexStream};

pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use futures_util::io::{
    copy, copy_buf, empty, repeat, sink, AllowStdIo, AsyncBufReadExt, AsyncReadExt, AsyncSeekExt,
    AsyncWriteExt, BufReader, BufWriter, Chain, Copy, CopyBuf, Cursor, Empty, LineWriter, Lines,
    ReadHalf, Repeat, ReuniteError, Sink, Take, WriteHalf,
};
pub use std::io::{Error, ErrorKind, IoSlice, IoSliceMut, Result, SeekFrom};

/// Splits one reader-writer into a read half and a write half that can be
/// used from different tasks (futures-util's `AsyncReadExt::split`).
///
/// The halves share `io` through a lock held only during a poll. For goro
/// sockets prefer their own `split`/`into_split`, which need no lock.
/// [`ReadHalf::reunite`] puts the two halves back together.
pub fn split<T: AsyncRead + AsyncWrite>(io: T) -> (ReadHalf<T>, WriteHalf<T>) {
    AsyncReadExt::split(io)
}

/// The IO traits and their extension traits, for `use goro::prelude::*`.
pub mod prelude {
    pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
    pub use futures_util::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
}
