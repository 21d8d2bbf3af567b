//! # goro
//!
//! The facade: everything here is re-exported from the workspace crates.

pub use goro_coop as coop;
