//! The workspace's loom facade, `goro_loom`, under the crate-local name the
//! executor's code uses (`crate::loom::sync::...`): loom's synchronisation
//! types under `--cfg loom`, std's otherwise.

#[allow(unused_imports)]
pub(crate) use goro_loom::*;
