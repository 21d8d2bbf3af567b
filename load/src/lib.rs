//! # goro-load
//!
//! An HTTP load generator and load-testing library on goro. The `goro-load` binary is a thin
//! CLI over this library: everything it measures is a [`run`] call a test can make.
//!
//! ```no_run
//! # async fn demo() -> Result<(), goro_load::Error> {
//! let mut cfg = goro_load::Config::new("http://127.0.0.1:8080/")?;
//! cfg.connections = 64;
//! cfg.rate = goro_load::Rate::Constant(20_000.0); // open loop
//! let report = goro_load::run(cfg).await?;
//! println!("{report}");
//! # Ok(()) }
//! ```
//!
//! ## Closed and open loop
//! In a closed loop (no rate), each connection sends its next request when the previous answer
//! arrives: the server sets the pace, and while it stalls, nothing is sent and nothing is
//! measured. A stall of 500 ms shows up as one slow sample per connection instead of the
//! thousands of users who would have waited during it: *coordinated omission*. In an open loop
//! (`-R`), requests have intended send times on a fixed schedule, and latency is measured from
//! the intended time, so every request the stall delayed is charged for its wait. Both figures
//! are kept: *corrected* (from the intended time) and *uncorrected* (from the actual send), plus
//! the *lag* between the two, which tells an overloaded generator (lag grows while the server's
//! own times stay low) from a slow server. See [`engine`] for how slots and connections meet and
//! [`hist`] for exactly what is measured from when.
//!
//! ## Constant memory
//! Samples go into HDR histograms, one set per worker thread, merged each second into the run's
//! totals; nothing grows with the run length or the request count.
//!
//! ## Many machines
//! `--hdr-log` writes a standard HdrHistogram interval log; `goro-load merge` adds the logs of
//! several machines into one report ([`hlog`]). There is no cluster protocol: start the same
//! command everywhere with any orchestrator, then merge the files.
//!
//! ## Rejected alternatives
//! - A pooled client (hyper-util's `Client`): it hides connection churn and queues requests
//!   inside the pool, where the wait is neither corrected nor counted. One hyper connection per
//!   goro task keeps `-c` exact and every reconnect visible.
//! - Per-connection schedules (rate / connections each, as wrk2 does): a stalled connection then
//!   holds back only its own share while idle connections sit out. One shared slot counter lets
//!   any free connection send the next due request, which is what independent users would do.
//! - Keeping raw samples (as oha does) for exact percentiles: memory grows with the run; HDR's
//!   3 significant digits bound the error at 0.1 %.

mod config;
mod deadline;
pub mod engine;
mod error;
pub mod hist;
pub mod hlog;
mod http;
mod report;
pub mod scenario;
pub mod schedule;

use std::sync::Arc;

pub use config::{
    parse_duration, parse_header, parse_rate, Config, Limit, Rate, StopHandle, Target,
};
pub use error::Error;
pub use hist::ErrorKind;
pub use report::{JsonLatency, JsonReport, LatencySummary, Report};
pub use scenario::{run_scenario, Ctx, Failure, Scenario};

/// Runs a load test as `cfg` says and returns what it measured. Fails only before sending (bad
/// settings, unresolvable host, unwritable log); failed requests are counted in the report.
/// Must be called inside a goro runtime.
pub async fn run(cfg: Config) -> Result<Report, Error> {
    cfg.validate()?;
    let addr = cfg.target.resolve()?;
    let driver = Arc::new(http::Http::new(&cfg, addr));
    engine::run_with(&cfg, driver).await
}
