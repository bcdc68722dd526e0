//! Errors of the record crate.

use std::path::PathBuf;

/// Why a dump could not be written, read or replayed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A file or directory could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done (`cannot create`, `cannot write`, ...).
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The dump location holds no segment files.
    #[error("no message dump segments (*.msgpack) in {0}")]
    NoSegments(PathBuf),
    /// A record is too large for the layout (a part over 4 GiB).
    #[error("a record part of {0} bytes does not fit a msgpack bin")]
    TooLarge(usize),
    /// The options are inconsistent.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// A paced [`crate::Replayer::send`] was stopped while waiting (its
    /// stop flag was set); the record was not sent.
    #[error("stopped before the record was sent")]
    Stopped,
    /// The transport (sending a replayed message) failed.
    #[error("transport: {0}")]
    Transport(#[from] savant_sdk_core::Error),
}

/// The crate's result type.
pub type Result<T, E = RecordError> = std::result::Result<T, E>;
