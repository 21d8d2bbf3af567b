//! The sync toolkit (SKELETON).
