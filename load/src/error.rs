//! The one error type of the library. Failed requests are not errors of the run: they are
//! counted by kind in the [`Report`](crate::Report).

use std::fmt;

/// Why a run could not be made or finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A setting is invalid (bad URL, unresolvable host, bad log file); nothing was sent.
    Config(String),
    /// Writing the interval log failed.
    Io(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(s) | Error::Io(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for Error {}
