//! [`Handle::poll_io_now`](crate::driver::Handle::poll_io_now) on Linux: a
//! non-blocking `epoll_wait` on the reactor's epoll instance, beside the
//! [`Driver`](crate::driver::Driver) rather than through it.
//!
//! The driver's `mio::Poll` needs `&mut` to poll, so it sits behind the
//! executor's lock and one thread at a time may use it. The epoll instance
//! itself has no such limit: this reads it through the registry's
//! descriptor (a `dup` of the same instance) into a buffer on the caller's
//! stack, and dispatches what it finds under the registration slab's lock,
//! as the driver does. Two threads dispatching at once is the same as one
//! dispatching after the other: readiness is OR-ed in with a tick (see
//! "The clear race" in `scheduled_io.rs`) and wakers are taken under the
//! slab lock.
//!
//! The waker's event: registrations and the waker are edge-triggered, so
//! an event is reported to one `epoll_wait` only. If this poll takes the
//! waker's edge, a thread blocked in the driver that the edge was meant to
//! end would sleep on; so the edge is raised again (one more write to the
//! eventfd), and the blocked thread sees that one.

use crate::driver::Inner;
use crate::scheduled_io::{READABLE, READ_CLOSED, WRITABLE, WRITE_CLOSED};
use std::cell::RefCell;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::task::Waker;

/// Events taken per call: enough for a worker's worth of woken tasks (a
/// busy socket set yields more on the next call).
const EVENTS: usize = 64;

thread_local! {
    /// Wakers collected under the slab lock, woken after it is released;
    /// kept per thread so that a poll does not allocate.
    static TO_WAKE: RefCell<Vec<Waker>> = const { RefCell::new(Vec::new()) };
}

/// Readiness bits of one epoll event, as `scheduled_io::bits_of` reads a
/// mio event (mio's Linux selector defines its predicates on these flags).
fn bits_of_epoll(events: u32) -> usize {
    let e = events as libc::c_int;
    let error = e & libc::EPOLLERR != 0;
    let hup = e & libc::EPOLLHUP != 0;
    let readable = e & (libc::EPOLLIN | libc::EPOLLPRI) != 0;
    let writable = e & libc::EPOLLOUT != 0;
    let mut bits = 0;
    if readable || error {
        bits |= READABLE;
    }
    if writable || error {
        bits |= WRITABLE;
    }
    if hup || (e & libc::EPOLLIN != 0 && e & libc::EPOLLRDHUP != 0) {
        bits |= READ_CLOSED;
    }
    if hup || (writable && error) || e == libc::EPOLLERR {
        bits |= WRITE_CLOSED;
    }
    bits
}

pub(crate) fn poll_io_now(inner: &Inner) -> bool {
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; EVENTS];
    // SAFETY: the descriptor is the registry's, open for as long as `inner`
    // lives; the buffer is valid for `EVENTS` entries; a zero timeout never
    // blocks.
    let n = unsafe {
        libc::epoll_wait(
            inner.registry.as_raw_fd(),
            events.as_mut_ptr(),
            EVENTS as libc::c_int,
            0,
        )
    };
    if n <= 0 {
        return false; // nothing ready, or EINTR: the next poll sees it
    }
    // Relaxed: a progress hint for the executor's monitor (see
    // `Handle::polls`).
    inner.polls.fetch_add(1, Ordering::Relaxed);
    let events = &events[..n as usize];
    let mut rewake = false;
    let dispatched = TO_WAKE
        .try_with(|to_wake| {
            let Ok(mut to_wake) = to_wake.try_borrow_mut() else {
                // Re-entered from a waker's `wake` below: poll with a
                // fresh list (rare; it allocates only if something is
                // ready).
                return dispatch(inner, events, &mut Vec::new(), &mut rewake);
            };
            dispatch(inner, events, &mut to_wake, &mut rewake)
        })
        // The thread's locals are being torn down: a fresh list too.
        .unwrap_or_else(|_| dispatch(inner, events, &mut Vec::new(), &mut rewake));
    if rewake {
        inner.waker_wake();
    }
    // Only the waker's edge: nothing for the caller to run.
    dispatched > 0
}

/// Dispatches `events` (see `Inner::dispatch`) and wakes what they
/// readied; returns how many reached a registration.
fn dispatch(
    inner: &Inner,
    events: &[libc::epoll_event],
    to_wake: &mut Vec<Waker>,
    rewake: &mut bool,
) -> u64 {
    let events = events
        .iter()
        .map(|e| (mio::Token(e.u64 as usize), bits_of_epoll(e.events)));
    let (dispatched, waker) = inner.dispatch(events, to_wake);
    *rewake |= waker;
    to_wake.drain(..).for_each(Waker::wake);
    dispatched
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::bits_of_epoll;
    use crate::scheduled_io::{READABLE, READ_CLOSED, WRITABLE, WRITE_CLOSED};

    #[test]
    fn epoll_bits_match_mio_predicates() {
        let e = |f: libc::c_int| f as u32;
        assert_eq!(bits_of_epoll(e(libc::EPOLLIN)), READABLE);
        assert_eq!(bits_of_epoll(e(libc::EPOLLOUT)), WRITABLE);
        assert_eq!(
            bits_of_epoll(e(libc::EPOLLIN | libc::EPOLLRDHUP)),
            READABLE | READ_CLOSED
        );
        assert_eq!(
            bits_of_epoll(e(libc::EPOLLERR)),
            READABLE | WRITABLE | WRITE_CLOSED
        );
        assert_eq!(bits_of_epoll(e(libc::EPOLLHUP)), READ_CLOSED | WRITE_CLOSED);
    }
}
