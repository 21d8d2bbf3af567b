//! Address resolution: [`ToSocketAddrs`] and [`lookup_host`].
//!
//! Literal addresses resolve inline; host names go through the runtime's
//! blocking pool (`spawn_blocking`), because `getaddrinfo` blocks.

use crate::driver::Handle;
use crate::registration::shutdown_error;
use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

/// Anything goro can turn into socket addresses: `SocketAddr`s, `(ip,
/// port)` pairs, `"host:port"` strings and `(host, port)` pairs. Sealed.
pub trait ToSocketAddrs: sealed::Sealed {}

pub(crate) mod sealed {
    use std::io;
    use std::net::SocketAddr;

    /// How an address resolves: at once, or by a blocking lookup.
    pub enum Resolve {
        Done(io::Result<Vec<SocketAddr>>),
        Lookup(String),
    }

    pub trait Sealed {
        fn resolve(&self) -> Resolve;
    }
}
use sealed::{Resolve, Sealed};

macro_rules! literal {
    ($($t:ty),*) => {$(
        impl ToSocketAddrs for $t {}
        impl Sealed for $t {
            fn resolve(&self) -> Resolve {
                Resolve::Done(std::net::ToSocketAddrs::to_socket_addrs(self).map(Iterator::collect))
            }
        }
    )*};
}
literal!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for [SocketAddr] {}
impl Sealed for [SocketAddr] {
    fn resolve(&self) -> Resolve {
        Resolve::Done(Ok(self.to_vec()))
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: Sealed + ?Sized> Sealed for &T {
    fn resolve(&self) -> Resolve {
        (**self).resolve()
    }
}

impl ToSocketAddrs for str {}
impl Sealed for str {
    fn resolve(&self) -> Resolve {
        match self.parse::<SocketAddr>() {
            Ok(a) => Resolve::Done(Ok(vec![a])),
            Err(_) => Resolve::Lookup(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl Sealed for String {
    fn resolve(&self) -> Resolve {
        self.as_str().resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl Sealed for (&str, u16) {
    fn resolve(&self) -> Resolve {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Resolve::Done(Ok(vec![SocketAddr::new(ip, self.1)])),
            Err(_) => Resolve::Lookup(format!("{}:{}", self.0, self.1)),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl Sealed for (String, u16) {
    fn resolve(&self) -> Resolve {
        (self.0.as_str(), self.1).resolve()
    }
}

/// Resolves `host` ("name:port", or any [`ToSocketAddrs`]) to addresses;
/// host names are looked up on the blocking pool.
///
/// # Panics
/// Outside a goro runtime, when a host name needs a lookup.
pub async fn lookup_host(host: impl ToSocketAddrs) -> io::Result<std::vec::IntoIter<SocketAddr>> {
    resolve(&host).await.map(Vec::into_iter)
}

pub(crate) async fn resolve(addr: &(impl ToSocketAddrs + ?Sized)) -> io::Result<Vec<SocketAddr>> {
    match addr.resolve() {
        Resolve::Done(r) => r,
        Resolve::Lookup(host) => lookup_blocking(host).await,
    }
}

#[derive(Default)]
struct Slot {
    result: Option<io::Result<Vec<SocketAddr>>>,
    waker: Option<Waker>,
}

/// Delivers a result exactly once; if the blocking pool drops the job
/// without running it (shutdown), delivers an error instead of leaving the
/// caller waiting forever.
struct Sender(Arc<Mutex<Slot>>);

impl Sender {
    fn send(&self, r: io::Result<Vec<SocketAddr>>) {
        let waker = {
            let mut s = self.0.lock().unwrap();
            if s.result.is_some() {
                return;
            }
            s.result = Some(r);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.send(Err(shutdown_error()));
    }
}

async fn lookup_blocking(host: String) -> io::Result<Vec<SocketAddr>> {
    let slot = Arc::new(Mutex::new(Slot::default()));
    let sender = Sender(slot.clone());
    Handle::current().spawn_blocking(Box::new(move || {
        let r = std::net::ToSocketAddrs::to_socket_addrs(&host).map(Iterator::collect);
        sender.send(r);
    }));
    poll_fn(|cx| {
        let mut s = slot.lock().unwrap();
        match s.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
    .await
}

/// Tries `f` on each address in turn; returns the first success or the
/// last error.
pub(crate) async fn each_addr<T, F, Fut>(
    addr: &(impl ToSocketAddrs + ?Sized),
    mut f: F,
) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for a in resolve(addr).await? {
        match f(a).await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}
