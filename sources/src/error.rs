//! Errors of the sources crate.

use std::path::PathBuf;

/// Why a source could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The data is not an image of the expected kind.
    #[error("{name} is not a {expected} image{}", found.as_ref().map(|f| format!(" (looks like {f})")).unwrap_or_default())]
    WrongFormat {
        /// The file (or `<memory>`).
        name: String,
        /// What was expected.
        expected: &'static str,
        /// What it looks like, if recognisable.
        found: Option<String>,
    },
    /// The image header does not parse.
    #[error("{name}: invalid {kind} header: {detail}")]
    BadHeader {
        /// The file (or `<memory>`).
        name: String,
        /// JPEG or PNG.
        kind: &'static str,
        /// The decoder's message.
        detail: String,
    },
    /// The image ends before its end marker.
    #[error("{name}: truncated {kind} (no end marker)")]
    Truncated {
        /// The file (or `<memory>`).
        name: String,
        /// JPEG or PNG.
        kind: &'static str,
    },
    /// A frame update could not be applied.
    #[error("{name}: {source}")]
    Update {
        /// The file (or `<memory>`).
        name: String,
        /// The cause.
        source: savant_sdk_core::ModelError,
    },
}

impl From<SourceError> for savant_sdk_core::Error {
    fn from(e: SourceError) -> Self {
        savant_sdk_core::Error::source("image", e)
    }
}
