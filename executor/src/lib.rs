//! # goro-executor
//!
//! SKELETON: the executor issue replaces this overview.

#![allow(dead_code)]

mod loom;
mod queue;
