//! Signals raised with `raise(3)` (the handler runs before `raise`
//! returns) and received through the reactor. Each test uses its own
//! signal number, because the tests of this file share one process.

use goro_signal::unix::{signal, SignalKind};
use std::future::Future;
use std::io::ErrorKind;
use std::time::Duration;

/// Generous bound so a lost wake-up fails the test instead of hanging it.
const LIMIT: Duration = Duration::from_secs(20);

fn rt() -> goro_executor::runtime::Runtime {
    goro_executor::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

async fn within<F: Future>(f: F) -> F::Output {
    goro_reactor::time::timeout(LIMIT, f)
        .await
        .expect("no delivery within the limit")
}

fn raise(sig: libc::c_int) {
    // SAFETY: raise(3) has no memory-safety preconditions; the signal has
    // a handler installed by the test before this call.
    assert_eq!(unsafe { libc::raise(sig) }, 0);
}

#[test]
fn user_defined1_is_received_once_per_delivery() {
    rt().block_on(async {
        let mut s = signal(SignalKind::user_defined1()).unwrap();
        raise(libc::SIGUSR1);
        assert_eq!(within(s.recv()).await, Some(()));
        // A second delivery after the first was received is seen too.
        let waiter = goro_executor::spawn(async move {
            within(s.recv()).await;
            s
        });
        raise(libc::SIGUSR1);
        let mut s = waiter.await.unwrap();
        // Nothing more was delivered: the next recv stays pending.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(s.poll_recv(&mut cx).is_pending());
    });
}

#[test]
fn every_listener_sees_each_delivery() {
    rt().block_on(async {
        let mut a = signal(SignalKind::user_defined2()).unwrap();
        let mut b = signal(SignalKind::user_defined2()).unwrap();
        for _ in 0..3 {
            let ta = goro_executor::spawn(async move {
                within(a.recv()).await;
                a
            });
            let tb = goro_executor::spawn(async move {
                within(b.recv()).await;
                b
            });
            raise(libc::SIGUSR2);
            a = ta.await.unwrap();
            b = tb.await.unwrap();
        }
    });
}

#[test]
fn a_listener_does_not_see_deliveries_before_it_existed() {
    rt().block_on(async {
        let _first = signal(SignalKind::window_change()).unwrap();
        raise(libc::SIGWINCH);
        let mut late = signal(SignalKind::window_change()).unwrap();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(late.poll_recv(&mut cx).is_pending());
        raise(libc::SIGWINCH);
        assert_eq!(within(late.recv()).await, Some(()));
    });
}

#[test]
fn ctrl_c_completes_on_sigint() {
    rt().block_on(async {
        // Keep a listener so SIGINT has our handler before the future's
        // own listener exists (it is created on first poll).
        let _installed = signal(SignalKind::interrupt()).unwrap();
        let mut ctrl_c = std::pin::pin!(goro_signal::ctrl_c());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(ctrl_c.as_mut().poll(&mut cx).is_pending());
        raise(libc::SIGINT);
        within(ctrl_c).await.unwrap();
    });
}

#[test]
fn uncatchable_and_out_of_range_signals_are_invalid_input() {
    rt().block_on(async {
        for sig in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, 0, -1, 65, 1000] {
            let err = signal(SignalKind::from_raw(sig)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "signal {sig}");
            assert!(err.to_string().contains(&sig.to_string()));
        }
    });
}

#[test]
fn dropping_listeners_frees_their_registrations() {
    rt().block_on(async {
        let h = goro_reactor::Handle::current();
        let before = h.io_registrations();
        let listeners: Vec<_> = (0..10)
            .map(|_| signal(SignalKind::hangup()).unwrap())
            .collect();
        assert!(h.io_registrations() >= before + 10);
        drop(listeners);
        assert!(h.io_registrations() <= before + 1);
    });
}
