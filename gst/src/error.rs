//! [`GstError`]: what can go wrong in the GStreamer layer.

/// An error of the GStreamer layer. Components map it at their boundary
/// into their own error type, with the file, URL or source id it concerns.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GstError {
    /// `gst_init` failed (no GStreamer core library, broken registry).
    #[error("cannot initialise GStreamer: {0}")]
    Init(String),
    /// An element is not installed.
    #[error("GStreamer element {element} is missing: install the Debian package {package}")]
    MissingElement {
        /// The element's factory name.
        element: &'static str,
        /// The Debian package that provides it.
        package: &'static str,
    },
    /// None of the decoders of a codec is installed.
    #[error(
        "no {codec} decoder is installed (tried {tried}): install the Debian package {package}"
    )]
    NoDecoder {
        /// Savant's codec name.
        codec: &'static str,
        /// The decoders tried, in order.
        tried: String,
        /// The Debian package of the first decoder.
        package: &'static str,
    },
    /// A codec name this layer does not know.
    #[error("unsupported codec {0:?} (h264, hevc, vp8, vp9, av1, jpeg or png)")]
    UnsupportedCodec(String),
    /// A pipeline failed: GStreamer's message with the failing element.
    #[error("{0}")]
    Pipeline(String),
    /// A decoded picture is not what was negotiated.
    #[error("decoded picture: {0}")]
    Picture(String),
}
