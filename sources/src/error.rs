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
    /// The data is not an image of the expected kind: another image format
    /// (`found`), or no image at all (`found` is `None`).
    #[error("{name} is {}", match found {
        Some(f) => format!("not a {expected} image (looks like {f})"),
        None => format!("not an image: no image format recognised in its first bytes (expected {expected})"),
    })]
    WrongFormat {
        /// The file (or `<memory>`).
        name: String,
        /// What was expected (`JPEG`, `PNG`, or `JPEG or PNG`).
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
    /// A GStreamer element the source needs is not installed.
    #[error("GStreamer element `{element}` is missing: install the Debian package {package}")]
    MissingElement {
        /// The element's factory name.
        element: &'static str,
        /// The Debian package that provides it.
        package: &'static str,
    },
    /// The file's container is not one the source reads.
    #[error("{name}: unsupported container {container}")]
    UnsupportedContainer {
        /// The file or URL.
        name: String,
        /// The container's media type as GStreamer names it.
        container: String,
    },
    /// The stream's codec is not one the source passes through.
    #[error("{name}: unsupported video codec {codec}")]
    UnsupportedCodec {
        /// The file or URL.
        name: String,
        /// The codec's media type as GStreamer names it.
        codec: String,
    },
    /// The input has no video stream.
    #[error("{name}: no video stream")]
    NoVideoStream {
        /// The file or URL.
        name: String,
    },
    /// GStreamer could not be initialised or a pipeline failed.
    #[error("{name}: GStreamer: {message}")]
    Gstreamer {
        /// The file or URL (credentials removed).
        name: String,
        /// GStreamer's message, with the failing element.
        message: String,
    },
    /// An RTSP camera could not be reached after the configured attempts.
    #[error("{url}: unreachable after {attempts} attempt(s): {detail}")]
    RtspUnreachable {
        /// The URL, credentials removed.
        url: String,
        /// How many connections were tried.
        attempts: u32,
        /// The last failure.
        detail: String,
    },
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
    /// An input read into memory whole is larger than the limit.
    #[error("{name}: {bytes} bytes is more than the limit of {limit} bytes an input read into memory may have")]
    InputTooLarge {
        /// The input.
        name: String,
        /// Its size (or the size read so far).
        bytes: u64,
        /// The limit.
        limit: u64,
    },
}

impl SourceError {
    /// The kind of source the error comes from, for [`savant_sdk_core::Error::source`].
    fn source_kind(&self) -> &'static str {
        match self {
            SourceError::WrongFormat { .. }
            | SourceError::BadHeader { .. }
            | SourceError::Truncated { .. }
            | SourceError::Update { .. } => "image",
            SourceError::RtspUnreachable { .. } => "rtsp",
            SourceError::Io { .. } | SourceError::InputTooLarge { .. } => "file",
            SourceError::MissingElement { .. }
            | SourceError::UnsupportedContainer { .. }
            | SourceError::UnsupportedCodec { .. }
            | SourceError::NoVideoStream { .. }
            | SourceError::Gstreamer { .. }
            | SourceError::InvalidSetting(_) => "video",
        }
    }
}

impl From<SourceError> for savant_sdk_core::Error {
    fn from(e: SourceError) -> Self {
        savant_sdk_core::Error::source(e.source_kind(), e)
    }
}
