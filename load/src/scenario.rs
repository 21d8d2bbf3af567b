//! Load tests written in Rust: a [`Scenario`] is an async closure run over and over by virtual
//! users, each iteration one sample, driven by the same open- or closed-loop engine as the CLI.
//!
//! ```no_run
//! use goro_load::{Config, Scenario};
//! # async fn demo() -> Result<(), goro_load::Error> {
//! let scenario = Scenario::new(|ctx| async move {
//!     let login = http::Request::post("/login").body(bytes::Bytes::from("user=a"))?;
//!     ctx.step("login", ctx.request(login)).await?;
//!     let page = http::Request::get("/account").body(bytes::Bytes::new())?;
//!     ctx.step("account", ctx.request(page)).await?;
//!     Ok(())
//! });
//! let mut cfg = Config::new("http://127.0.0.1:8080/")?;
//! cfg.connections = 20; // virtual users
//! let report = goro_load::run_scenario(cfg, scenario).await?;
//! println!("{report}");
//! # Ok(()) }
//! ```
//!
//! ## What is measured
//! `Config::connections` is the number of virtual users, each one goro task with its own HTTP/1.1
//! connection to the configured target (opened on the first request, opened again when the server
//! closes it or a request fails on it). One iteration takes one slot from the engine, so `-n`,
//! `-d`, `-R` and the coordinated-omission correction mean what they mean for plain requests: the
//! iteration's latency is from its intended start (corrected) and from its actual start
//! (uncorrected). The report's `requests` counts iterations; the status counts are those of every
//! request made inside them; each named step has its own histogram (`step NAME` in the text,
//! `steps_us` in JSON, `step:NAME` in the interval log). An iteration that returns an error is
//! counted by the error's kind instead of as a sample; one that outlives `Config::timeout` is a
//! timeout and its user's connection is replaced.
//!
//! ## Rejected alternative
//! A scenario trait with `setup`/`run`/`teardown` methods (as goose has): a closure capturing what
//! it needs is shorter and async closures already give per-user state through `Ctx`'s connection.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{header, Request, Response, Uri};
use http_body_util::{BodyExt, Full};

use goro::hyper::GoroIo;
use goro::net::TcpStream;
use goro::task::JoinHandle;

use crate::engine::{Driver, Run};
use crate::hist::{ErrorKind, Times};
use crate::http::classify;
use crate::{Config, Error, Report};

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;
type BoxFut = Pin<Box<dyn Future<Output = Result<(), Failure>> + Send>>;

/// Why an iteration failed: a kind for the report's error counts and a message.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Where the failure is counted.
    pub kind: ErrorKind,
    /// What happened.
    pub message: String,
}

impl Failure {
    /// A failure of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Failure {}

impl From<http::Error> for Failure {
    fn from(e: http::Error) -> Failure {
        Failure::new(ErrorKind::Other, format!("bad request: {e}"))
    }
}

/// A load test as an async closure; see the [module docs](self).
#[derive(Clone)]
pub struct Scenario {
    body: Arc<dyn Fn(Ctx) -> BoxFut + Send + Sync>,
}

impl Scenario {
    /// A scenario whose iterations are `f(ctx)`.
    pub fn new<F, Fut>(f: F) -> Scenario
    where
        F: Fn(Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Failure>> + Send + 'static,
    {
        Scenario {
            body: Arc::new(move |ctx| Box::pin(f(ctx))),
        }
    }
}

/// One virtual user's handle, given to every iteration: its connection and the run's recorders.
#[derive(Clone)]
pub struct Ctx {
    user: Arc<User>,
}

struct User {
    run: Arc<Run>,
    addr: SocketAddr,
    authority: String,
    timeout: std::time::Duration,
    /// The open connection, taken out while a request is on it.
    conn: Mutex<Option<(Sender, JoinHandle<()>)>>,
    opened: std::sync::atomic::AtomicU64,
    /// Response body bytes of the current iteration.
    bytes: std::sync::atomic::AtomicU64,
    id: usize,
    /// Start of the current iteration (for the window check of status counts).
    started: Mutex<std::time::Duration>,
}

impl Drop for User {
    fn drop(&mut self) {
        if let Some((_, task)) = self.conn.get_mut().ok().and_then(|c| c.take()) {
            task.abort();
        }
    }
}

impl Ctx {
    /// The virtual user's number, `0..connections`.
    pub fn user(&self) -> usize {
        self.user.id
    }

    /// Sends `req` on this user's connection and reads the whole response. A relative URI
    /// (`/path`) goes to the configured target; `Host` is set when missing. Every status code is
    /// counted in the report; an error status is still `Ok` (check `status()` to fail on it).
    pub async fn request(&self, req: Request<Bytes>) -> Result<Response<Bytes>, Failure> {
        let u = &self.user;
        let (parts, body) = req.into_parts();
        let mut req = Request::from_parts(parts, Full::new(body));
        let origin: Uri = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .parse()
            .map_err(|e| Failure::new(ErrorKind::Other, format!("bad URI: {e}")))?;
        *req.uri_mut() = origin;
        if !req.headers().contains_key(header::HOST) {
            let host = header::HeaderValue::from_str(&u.authority)
                .map_err(|e| Failure::new(ErrorKind::Other, format!("bad host: {e}")))?;
            req.headers_mut().insert(header::HOST, host);
        }
        let taken = u.conn.lock().unwrap_or_else(|p| p.into_inner()).take();
        let (mut sender, task) = match taken {
            Some(c) if !c.0.is_closed() => c,
            other => {
                if let Some((_, t)) = other {
                    t.abort();
                }
                self.connect().await?
            }
        };
        if sender.ready().await.is_err() {
            task.abort();
            let (s, t) = self.connect().await?;
            sender = s;
            return self.send(sender, t, req).await;
        }
        self.send(sender, task, req).await
    }

    async fn send(
        &self,
        mut sender: Sender,
        task: JoinHandle<()>,
        req: Request<Full<Bytes>>,
    ) -> Result<Response<Bytes>, Failure> {
        let u = &self.user;
        let result = async {
            let resp = sender.send_request(req).await?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, hyper::Error>(Response::from_parts(parts, body))
        }
        .await;
        match result {
            Ok(resp) => {
                let at = *u.started.lock().unwrap_or_else(|p| p.into_inner());
                u.run.record_status(resp.status().as_u16(), at);
                // Relaxed: a per-user counter read only by this user's task.
                u.bytes.fetch_add(
                    resp.body().len() as u64,
                    std::sync::atomic::Ordering::Relaxed,
                );
                *u.conn.lock().unwrap_or_else(|p| p.into_inner()) = Some((sender, task));
                Ok(resp)
            }
            Err(e) => {
                task.abort();
                Err(Failure::new(classify(&e), e.to_string()))
            }
        }
    }

    async fn connect(&self) -> Result<(Sender, JoinHandle<()>), Failure> {
        let u = &self.user;
        let stream = match goro::time::timeout(u.timeout, TcpStream::connect(u.addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(Failure::new(ErrorKind::Connect, e.to_string())),
            Err(_) => return Err(Failure::new(ErrorKind::Connect, "connect timed out")),
        };
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(GoroIo::new(stream))
            .await
            .map_err(|e| Failure::new(classify(&e), e.to_string()))?;
        // Relaxed: a per-user counter read only by this user's task.
        if u.opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed) > 0 {
            u.run.record_reconnect();
        }
        let task = goro::spawn(async move {
            let _ = conn.await;
        });
        Ok((sender, task))
    }

    /// Runs `fut` as the step `name`: its duration goes into the step's own histogram (whether
    /// it succeeds or fails), and its output is returned.
    pub async fn step<T>(&self, name: &str, fut: impl Future<Output = T>) -> T {
        let run = &self.user.run;
        let started = run.now();
        let out = fut.await;
        run.record_step(name, started, run.now() - started);
        out
    }
}

struct ScenarioDriver {
    scenario: Scenario,
    addr: SocketAddr,
    authority: String,
    timeout: std::time::Duration,
}

/// Back-off after a failed iteration, so a dead server is not hammered by a tight loop.
const FAIL_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

impl Driver for ScenarioDriver {
    fn spawn(self: Arc<Self>, run: Arc<Run>, id: usize) -> JoinHandle<()> {
        goro::spawn(async move {
            let ctx = Ctx {
                user: Arc::new(User {
                    run: run.clone(),
                    addr: self.addr,
                    authority: self.authority.clone(),
                    timeout: self.timeout,
                    conn: Mutex::new(None),
                    opened: std::sync::atomic::AtomicU64::new(0),
                    bytes: std::sync::atomic::AtomicU64::new(0),
                    id,
                    started: Mutex::new(std::time::Duration::ZERO),
                }),
            };
            while let Some(intended) = run.next_slot().await {
                let sent = run.now();
                *ctx.user.started.lock().unwrap_or_else(|p| p.into_inner()) =
                    intended.unwrap_or(sent);
                let it = (self.scenario.body)(ctx.clone());
                let outcome = goro::time::timeout(self.timeout, it).await;
                // Relaxed: this task's own counter.
                let bytes = ctx.user.bytes.swap(0, std::sync::atomic::Ordering::Relaxed);
                match outcome {
                    Ok(Ok(())) => {
                        let times = Times {
                            intended,
                            sent,
                            done: run.now(),
                        };
                        run.record_iteration(times, bytes);
                    }
                    Ok(Err(f)) => {
                        run.record_error(f.kind, intended.unwrap_or(sent));
                        run.sleep_within(FAIL_PAUSE).await;
                    }
                    Err(_) => {
                        run.record_error(ErrorKind::Timeout, intended.unwrap_or(sent));
                        // The connection may still carry the late answer: replace it.
                        let old = ctx
                            .user
                            .conn
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .take();
                        if let Some((_, t)) = old {
                            t.abort();
                        }
                    }
                }
            }
        })
    }
}

/// Runs `scenario` as `cfg` says (connections are virtual users; `http2`, `method`, `headers`
/// and `body` do not apply: the scenario builds its own requests, over HTTP/1.1).
pub async fn run_scenario(cfg: Config, scenario: Scenario) -> Result<Report, Error> {
    cfg.validate()?;
    if cfg.http2 {
        return Err(Error::Config(
            "scenarios speak HTTP/1.1; --http2 is not supported with a scenario".into(),
        ));
    }
    let addr = cfg.target.resolve()?;
    let driver = Arc::new(ScenarioDriver {
        scenario,
        addr,
        authority: cfg.target.authority.clone(),
        timeout: cfg.timeout,
    });
    crate::engine::run_with(&cfg, driver).await
}
