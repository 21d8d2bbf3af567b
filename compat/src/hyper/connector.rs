//! [`Connector`]: hyper-util's legacy client connects through goro.

use super::GoroIo;
use ::http::Uri;
use goro_reactor::net::TcpStream;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A `tower_service::Service<Uri>` that opens plain-HTTP TCP connections
/// on goro, for `hyper_util::client::legacy::Client::builder(..).build(..)`.
///
/// * Host names resolve through goro's resolver (`getaddrinfo` on the
///   runtime's blocking pool); literal addresses resolve inline. Each
///   resolved address is tried in turn; the last error is returned.
/// * `TCP_NODELAY` is set on every connection (on by default; see
///   [`set_nodelay`](Self::set_nodelay)): HTTP writes whole messages, and
///   Nagle's algorithm would hold back the last segment of each.
/// * The connect (resolution included) is bounded by
///   [`set_connect_timeout`](Self::set_connect_timeout) (10 s by default);
///   running out gives `io::ErrorKind::TimedOut`.
/// * `http` only. An `https` URI fails with `io::ErrorKind::Unsupported`
///   saying that TLS is not provided; any other scheme, or a URI without
///   a host, fails with `InvalidInput`. A refused port fails with
///   `ConnectionRefused` (the client wraps it in its own error; its
///   `source()` is this `io::Error`).
///
/// # Panics
/// The returned future panics when first polled outside a goro runtime.
#[derive(Clone, Debug)]
pub struct Connector {
    connect_timeout: Option<Duration>,
    nodelay: bool,
}

impl Default for Connector {
    fn default() -> Self {
        Connector {
            connect_timeout: Some(Duration::from_secs(10)),
            nodelay: true,
        }
    }
}

impl Connector {
    /// A connector with a 10 s connect timeout and `TCP_NODELAY` on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bounds each connect, resolution included (`None`: no bound).
    pub fn set_connect_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.connect_timeout = timeout;
        self
    }

    /// Whether to set `TCP_NODELAY` on new connections.
    pub fn set_nodelay(&mut self, nodelay: bool) -> &mut Self {
        self.nodelay = nodelay;
        self
    }
}

/// Where to connect for `uri`, or why not.
fn target(uri: &Uri) -> io::Result<(String, u16)> {
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "goro::hyper::Connector cannot connect to {uri}: https needs TLS, which \
                     goro does not provide yet (use an http:// URI)"
                ),
            ))
        }
        Some(other) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("goro::hyper::Connector: unsupported URI scheme {other:?} in {uri}"),
            ))
        }
        None => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("goro::hyper::Connector: URI {uri} has no scheme (want http://)"),
            ))
        }
    }
    let host = uri.host().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("goro::hyper::Connector: URI {uri} has no host"),
        )
    })?;
    // `Uri::host` keeps the brackets of an IPv6 literal.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_owned(), uri.port_u16().unwrap_or(80)))
}

async fn connect(
    uri: Uri,
    timeout: Option<Duration>,
    nodelay: bool,
) -> io::Result<GoroIo<TcpStream>> {
    let (host, port) = target(&uri)?;
    let stream = match timeout {
        None => TcpStream::connect((host.as_str(), port)).await?,
        Some(limit) => {
            match goro_reactor::time::timeout(limit, TcpStream::connect((host.as_str(), port)))
                .await
            {
                Ok(res) => res?,
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("connect to {host}:{port} timed out after {limit:?}"),
                    ))
                }
            }
        }
    };
    if nodelay {
        stream.set_nodelay(true)?;
    }
    Ok(GoroIo::new(stream))
}

impl tower_service::Service<Uri> for Connector {
    type Response = GoroIo<TcpStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<GoroIo<TcpStream>>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Box::pin(connect(uri, self.connect_timeout, self.nodelay))
    }
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn targets() {
        let t = |s: &str| target(&s.parse().unwrap());
        assert_eq!(
            t("http://example.com/x").unwrap(),
            ("example.com".into(), 80)
        );
        assert_eq!(t("http://[::1]:8080/").unwrap(), ("::1".into(), 8080));
        let e = t("https://example.com/").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
        assert!(e.to_string().contains("TLS"), "{e}");
        assert_eq!(
            t("ftp://example.com/").unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
        assert_eq!(
            t("/path").unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
    }
}
