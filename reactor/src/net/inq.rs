//! Reads that also say whether they emptied the socket.
//!
//! After a read that filled the caller's buffer exactly, a readiness
//! cache cannot tell "the socket is empty now" from "more bytes are
//! queued": the only way to learn it is the next read, which then answers
//! `WouldBlock`. In a request/response exchange that is one wasted system
//! call per message per side. Linux's `TCP_INQ` socket option (4.18+)
//! answers the question in the same call: every `recvmsg` on the socket
//! carries a `TCP_CM_INQ` control message with the number of bytes still
//! queued after it. A read that leaves zero behind clears the readiness
//! (see `Registration::poll_io_drain`), and the next read waits for the
//! reactor without a system call. The kernel reports one byte left when
//! the peer has closed and the queue is empty, so EOF is still read.
//!
//! Sockets without the option (Unix streams, kernels without it, other
//! systems) get no control message, and reads fall back to the short-read
//! rule alone.

use std::io;

/// `TCP_INQ` from `<linux/tcp.h>` (not in every libc release).
#[cfg(any(target_os = "linux", target_os = "android"))]
const TCP_INQ: libc::c_int = 36;
/// The control message type carrying the count: the same number.
#[cfg(any(target_os = "linux", target_os = "android"))]
const TCP_CM_INQ: libc::c_int = TCP_INQ;

/// Asks the kernel to attach the queued-bytes count to every read of the
/// TCP socket `fd`. Best effort: a kernel without the option leaves reads
/// as they were.
pub(crate) fn enable(fd: std::os::fd::RawFd) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let one: libc::c_int = 1;
        // SAFETY: `fd` is an open socket owned by the caller; the option
        // value is a live `c_int` of the length passed.
        let _ = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_TCP,
                TCP_INQ,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = fd;
}

/// Room for one `cmsghdr` plus an `int`, aligned as `cmsghdr` needs.
#[repr(C, align(8))]
struct Control([u8; 32]);

/// `recvmsg(2)` into `iovcnt` buffers at `iov`: the bytes read, and the
/// bytes still queued if the kernel said (`TCP_INQ` enabled).
///
/// # Safety
/// `iov` points at `iovcnt` `iovec`s, each describing memory writable for
/// its length for the whole call (possibly uninitialised: the kernel only
/// writes there); `fd` is an open socket.
pub(crate) unsafe fn recv(
    fd: std::os::fd::RawFd,
    iov: *mut libc::iovec,
    iovcnt: usize,
) -> io::Result<(usize, Option<usize>)> {
    let mut control = Control([0; 32]);
    // SAFETY: `msghdr` is plain old data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = iovcnt as _;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of::<Control>() as _;
    // SAFETY: the caller vouches for `fd` and the buffers; `msg` and the
    // control buffer it points at live on this frame for the call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((n as usize, queued(&msg)))
}

/// The `TCP_CM_INQ` count in a header `recvmsg` filled, if present.
fn queued(msg: &libc::msghdr) -> Option<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: `msg` was filled by `recvmsg`, so its control pointer
        // and length describe the kernel-written messages inside our
        // buffer; the CMSG_* macros stay within `msg_controllen`.
        let mut c = unsafe { libc::CMSG_FIRSTHDR(msg) };
        while !c.is_null() {
            // SAFETY: `c` is non-null and was produced by CMSG_FIRSTHDR or
            // CMSG_NXTHDR for this header, so it points at a whole cmsghdr.
            let hdr = unsafe { &*c };
            if hdr.cmsg_level == libc::SOL_TCP && hdr.cmsg_type == TCP_CM_INQ {
                // SAFETY: a TCP_CM_INQ message carries one `int` after its
                // header; CMSG_DATA points at it, possibly unaligned.
                let v =
                    unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>()) };
                return Some(v.max(0) as usize);
            }
            // SAFETY: as above; returns null past the last message.
            c = unsafe { libc::CMSG_NXTHDR(msg, c) };
        }
        None
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = msg;
        None
    }
}

#[cfg(all(test, not(loom), any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;

    fn recv_into(fd: std::os::fd::RawFd, buf: &mut [u8]) -> (usize, Option<usize>) {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: `iov` describes `buf`, borrowed mutably for the call.
        unsafe { recv(fd, &mut iov, 1) }.unwrap()
    }

    #[test]
    fn the_kernel_reports_what_is_left_after_each_read() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        enable(s.as_raw_fd());
        c.write_all(&[5u8; 100]).unwrap();
        let mut buf = [0u8; 60];
        // Blocking socket: the first read waits for the bytes.
        assert_eq!(recv_into(s.as_raw_fd(), &mut buf), (60, Some(40)));
        assert_eq!(recv_into(s.as_raw_fd(), &mut buf), (40, Some(0)));
        drop(c);
        let (n, _) = recv_into(s.as_raw_fd(), &mut buf);
        assert_eq!(n, 0, "EOF");
    }

    #[test]
    fn without_the_option_there_is_no_count() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        c.write_all(&[5u8; 10]).unwrap();
        let mut buf = [0u8; 60];
        assert_eq!(recv_into(s.as_raw_fd(), &mut buf), (10, None));
    }
}
