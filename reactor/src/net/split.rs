//! Read and write halves of a stream, generated for TCP and Unix streams.
//!
//! A stream keeps separate reader and writer waiter lists (see
//! `scheduled_io.rs`), so its two halves can wait in two different tasks
//! at the same time. Borrowed halves (`split`) are free; owned halves
//! (`into_split`) share the stream through an `Arc` and can be put back
//! together with `reunite`.

/// Generates `ReadHalf`, `WriteHalf`, `OwnedReadHalf`, `OwnedWriteHalf` and
/// `ReuniteError` for `$stream`, whose address type is `$addr`.
macro_rules! split_halves {
    ($stream:ident, $addr:ty) => {
        use futures_io::{AsyncRead, AsyncWrite};
        use std::io;
        use std::pin::Pin;
        use std::sync::Arc;
        use std::task::{Context, Poll};

        /// The read half of a borrowed split; see the stream's `split`.
        #[derive(Debug)]
        pub struct ReadHalf<'a>(pub(crate) &'a $stream);

        /// The write half of a borrowed split. `poll_close` shuts down the
        /// write direction of the stream.
        #[derive(Debug)]
        pub struct WriteHalf<'a>(pub(crate) &'a $stream);

        /// The read half of an owned split; see the stream's `into_split`.
        #[derive(Debug)]
        pub struct OwnedReadHalf {
            inner: Arc<$stream>,
        }

        /// The write half of an owned split. Dropping it (or closing it)
        /// shuts down the write direction, so the peer sees EOF.
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            inner: Arc<$stream>,
            shutdown_on_drop: bool,
        }

        /// The halves passed to `reunite` came from different streams.
        #[derive(Debug)]
        pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

        impl std::fmt::Display for ReuniteError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tried to reunite halves that are not from the same socket")
            }
        }

        impl std::error::Error for ReuniteError {}

        pub(crate) fn split_owned(stream: $stream) -> (OwnedReadHalf, OwnedWriteHalf) {
            let inner = Arc::new(stream);
            (
                OwnedReadHalf {
                    inner: inner.clone(),
                },
                OwnedWriteHalf {
                    inner,
                    shutdown_on_drop: true,
                },
            )
        }

        impl OwnedReadHalf {
            /// Puts the stream back together.
            pub fn reunite(self, other: OwnedWriteHalf) -> Result<$stream, ReuniteError> {
                other.reunite(self)
            }
        }

        impl OwnedWriteHalf {
            /// Puts the stream back together.
            pub fn reunite(mut self, other: OwnedReadHalf) -> Result<$stream, ReuniteError> {
                if !Arc::ptr_eq(&self.inner, &other.inner) {
                    return Err(ReuniteError(other, self));
                }
                self.shutdown_on_drop = false;
                drop(other);
                let inner = self.inner.clone();
                drop(self);
                Ok(Arc::try_unwrap(inner).expect("goro: both halves were given back"))
            }
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                if self.shutdown_on_drop {
                    let _ = self.inner.shutdown(std::net::Shutdown::Write);
                }
            }
        }

        macro_rules! read_half_api {
            () => {
                /// Waits until the stream is believed readable.
                pub async fn readable(&self) -> io::Result<()> {
                    self.stream().readable().await
                }
                /// Reads without waiting; `WouldBlock` if nothing is there.
                pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                    self.stream().try_read(buf)
                }
                /// The stream's `poll_read_uninit`: reads into memory that
                /// may be uninitialised, never zeroing or reading it.
                pub fn poll_read_uninit(
                    &self,
                    cx: &mut Context<'_>,
                    buf: &mut [std::mem::MaybeUninit<u8>],
                ) -> Poll<io::Result<usize>> {
                    self.stream().poll_read_uninit(cx, buf)
                }
                /// The remote address.
                pub fn peer_addr(&self) -> io::Result<$addr> {
                    self.stream().peer_addr()
                }
                /// The local address.
                pub fn local_addr(&self) -> io::Result<$addr> {
                    self.stream().local_addr()
                }
            };
        }

        macro_rules! write_half_api {
            () => {
                /// Waits until the stream is believed writable.
                pub async fn writable(&self) -> io::Result<()> {
                    self.stream().writable().await
                }
                /// Writes without waiting; `WouldBlock` if the buffer is full.
                pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                    self.stream().try_write(buf)
                }
                /// The remote address.
                pub fn peer_addr(&self) -> io::Result<$addr> {
                    self.stream().peer_addr()
                }
                /// The local address.
                pub fn local_addr(&self) -> io::Result<$addr> {
                    self.stream().local_addr()
                }
            };
        }

        impl ReadHalf<'_> {
            fn stream(&self) -> &$stream {
                self.0
            }
            read_half_api!();
        }
        impl WriteHalf<'_> {
            fn stream(&self) -> &$stream {
                self.0
            }
            write_half_api!();
        }
        impl OwnedReadHalf {
            fn stream(&self) -> &$stream {
                &self.inner
            }
            read_half_api!();
        }
        impl OwnedWriteHalf {
            fn stream(&self) -> &$stream {
                &self.inner
            }
            write_half_api!();
        }

        impl AsyncRead for ReadHalf<'_> {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.0.poll_read_ref(cx, buf)
            }
        }
        impl AsyncRead for OwnedReadHalf {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_read_ref(cx, buf)
            }
        }
        impl AsyncWrite for WriteHalf<'_> {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.0.poll_write_ref(cx, buf)
            }
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.0.poll_write_vectored_ref(cx, bufs)
            }
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.0.shutdown(std::net::Shutdown::Write))
            }
        }
        impl AsyncWrite for OwnedWriteHalf {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_write_ref(cx, buf)
            }
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_write_vectored_ref(cx, bufs)
            }
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.inner.shutdown(std::net::Shutdown::Write))
            }
        }
    };
}
pub(crate) use split_halves;

/// Implements futures-io `AsyncRead`/`AsyncWrite` for a stream type and
/// for `&stream`, on top of its `poll_*_ref` methods.
macro_rules! stream_io_traits {
    ($stream:ty) => {
        impl futures_io::AsyncRead for $stream {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_read_ref(cx, buf)
            }
            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_read_vectored_ref(cx, bufs)
            }
        }
        impl futures_io::AsyncRead for &$stream {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_read_ref(cx, buf)
            }
        }
        impl futures_io::AsyncWrite for $stream {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_ref(cx, buf)
            }
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_vectored_ref(cx, bufs)
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.shutdown(std::net::Shutdown::Write))
            }
        }
        impl futures_io::AsyncWrite for &$stream {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_ref(cx, buf)
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.shutdown(std::net::Shutdown::Write))
            }
        }
    };
}
pub(crate) use stream_io_traits;
