//! Loom models of the channel core and the select commit.
