//! # goro-macros
//!
//! SKELETON: the executor issue replaces this file.
