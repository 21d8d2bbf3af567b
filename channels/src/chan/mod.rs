//! Go channels and select (SKELETON).
