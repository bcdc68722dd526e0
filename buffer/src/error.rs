//! Errors of the buffer crate.

use std::path::PathBuf;

/// Why the buffer could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum BufferError {
    /// The embedded store failed (open, read, write, commit).
    #[error("store {path}: {what}: {source}")]
    Store {
        /// The store file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The cause, from redb.
        source: Box<redb::Error>,
    },
    /// A stored record does not decode (the file was damaged or written by
    /// an incompatible version).
    #[error("store {path}: record {key} is damaged: {detail}")]
    Damaged {
        /// The store file.
        path: PathBuf,
        /// The record's key.
        key: u64,
        /// What is wrong with it.
        detail: String,
    },
    /// A file or directory could not be created.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file, directory or address.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The settings are inconsistent.
    #[error("invalid setting: {0}")]
    Settings(String),
    /// The metrics endpoint could not be served.
    #[error("metrics endpoint on {addr}: {detail}")]
    Metrics {
        /// The address it was to listen on.
        addr: std::net::SocketAddr,
        /// Why not.
        detail: String,
    },
    /// The transport (the input reader or the output writer) failed.
    #[error("transport: {0}")]
    Transport(#[from] savant_sdk_core::Error),
    /// A worker thread panicked.
    #[error("the {0} thread panicked")]
    Panicked(&'static str),
}

/// The crate's result type.
pub type Result<T, E = BufferError> = std::result::Result<T, E>;
