//! GStreamer start-up and element creation, with the Debian package named
//! for every element that is not installed.

use std::sync::OnceLock;

use gstreamer as gst;

use crate::error::GstError;

/// Initialises GStreamer once per process; later calls return the first
/// call's outcome.
pub fn init() -> Result<(), GstError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| gst::init().map_err(|e| e.to_string()))
        .clone()
        .map_err(GstError::Init)
}

/// The Debian package that provides a GStreamer element (bookworm's
/// packaging; an element not listed is assumed to be in
/// `gstreamer1.0-plugins-bad`).
///
/// ```
/// assert_eq!(savant_sdk_gst::debian_package("avdec_h264"), "gstreamer1.0-libav");
/// assert_eq!(savant_sdk_gst::debian_package("x264enc"), "gstreamer1.0-plugins-ugly");
/// ```
pub fn debian_package(element: &str) -> &'static str {
    if element.starts_with("avdec_") || element.starts_with("avenc_") {
        return "gstreamer1.0-libav";
    }
    match element {
        "filesrc" | "typefind" | "fakesink" | "queue" | "capsfilter" | "identity" | "tee" => {
            "libgstreamer1.0-0"
        }
        "appsink" | "appsrc" | "oggdemux" | "videoconvert" | "videoscale" | "videorate"
        | "videotestsrc" | "decodebin" | "uridecodebin" => "gstreamer1.0-plugins-base",
        "qtdemux" | "matroskademux" | "avidemux" | "rtspsrc" | "rtph264depay" | "rtph265depay"
        | "rtpvp8depay" | "rtpvp9depay" | "rtpjpegdepay" | "rtph264pay" | "mp4mux" | "qtmux"
        | "matroskamux" | "webmmux" | "filesink" | "jpegenc" | "jpegdec" | "pngdec" | "pngenc"
        | "vp8enc" | "vp9enc" | "vp8dec" | "vp9dec" => "gstreamer1.0-plugins-good",
        "x264enc" => "gstreamer1.0-plugins-ugly",
        "libde265dec" => "gstreamer1.0-libde265",
        _ => "gstreamer1.0-plugins-bad",
    }
}

/// Whether an element is installed.
pub fn is_installed(element: &str) -> bool {
    gst::ElementFactory::find(element).is_some()
}

/// Checks that the elements are installed, naming the first missing one
/// with its Debian package.
pub fn require(elements: &[&'static str]) -> Result<(), GstError> {
    for element in elements {
        if !is_installed(element) {
            return Err(GstError::MissingElement {
                element,
                package: debian_package(element),
            });
        }
    }
    Ok(())
}

/// A new element from its factory name.
pub fn make(element: &'static str) -> Result<gst::Element, GstError> {
    gst::ElementFactory::make(element)
        .build()
        .map_err(|_| GstError::MissingElement {
            element,
            package: debian_package(element),
        })
}

/// The first installed element of `candidates`.
pub fn first_installed(candidates: &[&'static str]) -> Option<&'static str> {
    candidates.iter().copied().find(|e| is_installed(e))
}

/// The text of an error message on a bus: the failing element, GStreamer's
/// message and its debug detail.
pub fn bus_error_text(msg: &gst::Message, err: &gst::message::Error) -> String {
    use gst::prelude::GstObjectExt;
    let element = msg
        .src()
        .map(|s| s.name().to_string())
        .unwrap_or_else(|| "pipeline".into());
    let mut text = format!("{element}: {}", err.error());
    if let Some(debug) = err.debug() {
        text.push_str(&format!(" ({debug})"));
    }
    text
}
