//! # goro-load
//!
//! placeholder

mod config;
mod error;
pub mod hist;
pub mod hlog;
mod report;
pub mod schedule;

pub use config::{
    parse_duration, parse_header, parse_rate, Config, Limit, Rate, StopHandle, Target,
};
pub use error::Error;
pub use report::{JsonLatency, JsonReport, LatencySummary, Report};
