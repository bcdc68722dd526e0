//! GStreamer through the shared layer (`savant-sdk-gst`), its errors
//! mapped to [`SourceError`], and the redaction of credentials in URLs.

use gstreamer as gst;
use savant_sdk_gst::GstError;

use crate::error::SourceError;

/// The shared layer's error as this crate's, for the input `name`.
pub(crate) fn source_error(name: &str, e: GstError) -> SourceError {
    match e {
        GstError::MissingElement { element, package } => {
            SourceError::MissingElement { element, package }
        }
        other => SourceError::Gstreamer {
            name: name.to_string(),
            message: other.to_string(),
        },
    }
}

/// Initialises GStreamer once per process.
pub(crate) fn init(name: &str) -> Result<(), SourceError> {
    savant_sdk_gst::init().map_err(|e| source_error(name, e))
}

/// Checks that the elements are installed, naming the first missing one.
pub(crate) fn require(elements: &[&'static str]) -> Result<(), SourceError> {
    savant_sdk_gst::require(elements).map_err(|e| source_error("GStreamer", e))
}

/// A new element from its factory name.
pub(crate) fn make(element: &'static str) -> Result<gst::Element, SourceError> {
    savant_sdk_gst::make(element).map_err(|e| source_error("GStreamer", e))
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
