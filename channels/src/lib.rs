//! # goro-channels
//!
//! SKELETON: the channels issue replaces this overview. Module ownership:
//! `chan/` (channels and select) and `sync/` (the sync toolkit).

mod loom;

pub mod chan;
pub mod sync;
