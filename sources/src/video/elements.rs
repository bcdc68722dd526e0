//! GStreamer start-up and element creation, with a Debian package named
//! for every element that is not installed.

use std::sync::OnceLock;

use gstreamer as gst;

use crate::error::SourceError;

/// Initialises GStreamer once per process.
pub(crate) fn init(name: &str) -> Result<(), SourceError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| gst::init().map_err(|e| e.to_string()))
        .clone()
        .map_err(|message| SourceError::Gstreamer {
            name: name.to_string(),
            message: format!("cannot initialise GStreamer: {message}"),
        })
}

/// The Debian package that provides a GStreamer element.
pub(crate) fn debian_package(element: &str) -> &'static str {
    match element {
        "filesrc" | "typefind" | "fakesink" | "queue" | "capsfilter" => "libgstreamer1.0-0",
        "appsink" | "appsrc" | "oggdemux" => "gstreamer1.0-plugins-base",
        "qtdemux" | "matroskademux" | "avidemux" | "rtspsrc" | "rtph264depay" | "rtph265depay"
        | "rtpvp8depay" | "rtpvp9depay" | "rtpjpegdepay" | "mp4mux" | "qtmux" | "matroskamux"
        | "webmmux" | "filesink" | "jpegenc" | "vp8enc" | "vp9enc" => "gstreamer1.0-plugins-good",
        "h264parse" | "h265parse" | "vp9parse" | "av1parse" | "jpegparse" | "tsdemux"
        | "mpegtsmux" | "x265enc" | "av1enc" => "gstreamer1.0-plugins-bad",
        "x264enc" => "gstreamer1.0-plugins-ugly",
        _ => "gstreamer1.0-plugins-bad",
    }
}

/// Checks that the elements are installed, naming the first missing one.
pub(crate) fn require(elements: &[&'static str]) -> Result<(), SourceError> {
    for element in elements {
        if gst::ElementFactory::find(element).is_none() {
            return Err(SourceError::MissingElement {
                element,
                package: debian_package(element),
            });
        }
    }
    Ok(())
}

/// A new element from its factory name.
pub(crate) fn make(element: &'static str) -> Result<gst::Element, SourceError> {
    gst::ElementFactory::make(element)
        .build()
        .map_err(|_| SourceError::MissingElement {
            element,
            package: debian_package(element),
        })
}

/// Query parameters some cameras take credentials in.
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "user",
    "username",
    "token",
    "access_token",
    "auth",
    "key",
    "secret",
];

/// The values of query parameters that carry credentials
/// (`?user=admin&password=...`).
pub(crate) fn query_secrets(url: &str) -> Vec<&str> {
    let Some((_, query)) = url.split_once('?') else {
        return Vec::new();
    };
    query
        .split('#')
        .next()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, v)| !v.is_empty() && SECRET_KEYS.iter().any(|s| s.eq_ignore_ascii_case(k)))
        .map(|(_, v)| v)
        .collect()
}

/// An RTSP URL with its user name and password (in the authority or in
/// query parameters such as `password=`) replaced by `***`, for logs and
/// errors.
///
/// ```
/// # use savant_sdk_sources::redact_url;
/// assert_eq!(redact_url("rtsp://admin:secret@10.0.0.5:554/live"), "rtsp://***@10.0.0.5:554/live");
/// assert_eq!(redact_url("rtsp://10.0.0.5/live"), "rtsp://10.0.0.5/live");
/// assert_eq!(
///     redact_url("rtsp://10.0.0.5/live?channel=1&user=admin&password=secret"),
///     "rtsp://10.0.0.5/live?channel=1&user=***&password=***"
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let mut out = match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end + 3], &rest[at..]),
        None => url.to_string(),
    };
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let (query, fragment) = match query.find('#') {
            Some(h) => query.split_at(h),
            None => (query, ""),
        };
        let masked: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, v))
                    if !v.is_empty() && SECRET_KEYS.iter().any(|s| s.eq_ignore_ascii_case(k)) =>
                {
                    format!("{k}=***")
                }
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{head}{}{fragment}", masked.join("&"));
    }
    out
}
