//! Errors of the sinks crate.

use std::path::PathBuf;

/// Why a sink could not start or write.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The output folder or file cannot be created or written.
    #[error("cannot write to {path}: {source}")]
    Unwritable {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing one output failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Encoding an output image failed.
    #[error("encoding {path}: {detail}")]
    Encode {
        /// The path.
        path: PathBuf,
        /// The encoder's message.
        detail: String,
    },
    /// The RTSP output failed.
    #[error("RTSP output: {what}: {detail}")]
    Rtsp {
        /// What was being done.
        what: String,
        /// The cause.
        detail: String,
    },
    /// A GStreamer element is not installed.
    #[error("GStreamer element {element} is missing; install the Debian package {package}")]
    MissingElement {
        /// The element's factory name.
        element: &'static str,
        /// The Debian package that provides it.
        package: &'static str,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line of a metadata JSON-lines file is not a record.
    #[error("{path}:{line}: not a metadata record: {detail}")]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        detail: String,
    },
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
    /// GStreamer failed while writing a file.
    #[error("GStreamer, writing {path}: {message}")]
    Gstreamer {
        /// The output file.
        path: PathBuf,
        /// GStreamer's message.
        message: String,
    },
}

#[cfg(feature = "gstreamer")]
impl SinkError {
    /// The GStreamer layer's error at this crate's boundary: a missing
    /// element stays [`SinkError::MissingElement`] (with its Debian
    /// package), anything else becomes `otherwise(message)`.
    pub(crate) fn from_gst(
        e: savant_sdk_gst::GstError,
        otherwise: impl FnOnce(String) -> SinkError,
    ) -> SinkError {
        match e {
            savant_sdk_gst::GstError::MissingElement { element, package } => {
                SinkError::MissingElement { element, package }
            }
            other => otherwise(other.to_string()),
        }
    }
}

impl From<SinkError> for savant_sdk_core::Error {
    fn from(e: SinkError) -> Self {
        savant_sdk_core::Error::sink("sink", e)
    }
}

/// Creates `dir` and checks that files can be written in it, so that a
/// bad output folder fails at start, not at the first frame.
pub(crate) fn ensure_writable_dir(dir: &std::path::Path) -> Result<(), SinkError> {
    let unwritable = |source| SinkError::Unwritable {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(unwritable)?;
    let probe = dir.join(format!(".savant-sdk-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(unwritable)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// A file-system-safe folder name for a source id.
pub(crate) fn safe_name(source_id: &str) -> String {
    let s: String = source_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    match s.as_str() {
        "" | "." | ".." => format!("_{s}"),
        _ => s,
    }
}

/// The file name of a frame: its pts, zero-padded so names sort in order.
pub(crate) fn pts_name(pts: i64, ext: &str) -> String {
    format!("{pts:020}.{ext}")
}
