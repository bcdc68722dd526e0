//! Reading and writing a frame's trace context in a message's propagated
//! context: the Jaeger `uber-trace-id` format (Savant's default), written
//! from the spec (`{trace_id:032x}:{span_id:016x}:0:{flags}`) since the
//! `opentelemetry-jaeger-propagator` crate is deprecated, and the W3C
//! `traceparent` header. Only the OpenTelemetry API is needed, so that a
//! plugin can read a result's trace id without the SDK's exporters.

use std::str::FromStr;

use opentelemetry::propagation::{
    text_map_propagator::FieldIter, Extractor, Injector, TextMapPropagator,
};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;

use crate::model::PropagatedContext;

/// The carrier key.
pub const UBER_TRACE_ID: &str = "uber-trace-id";

/// Injects and extracts `uber-trace-id`.
///
/// ```
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
/// use savant_sdk_component::propagation::JaegerPropagator;
/// use std::collections::HashMap;
///
/// let mut carrier = HashMap::new();
/// carrier.insert("uber-trace-id".to_string(),
///     "8aab6a3a7fc890993629d61e6efc419d:9a43e61e2690e7ed:0:1".to_string());
/// let cx = JaegerPropagator::new().extract(&carrier);
/// let span = cx.span();
/// assert_eq!(span.span_context().trace_id().to_string(), "8aab6a3a7fc890993629d61e6efc419d");
/// assert!(span.span_context().is_sampled());
/// ```
#[derive(Debug, Clone)]
pub struct JaegerPropagator {
    fields: [String; 1],
}

impl Default for JaegerPropagator {
    fn default() -> Self {
        Self::new()
    }
}

impl JaegerPropagator {
    /// A propagator for `uber-trace-id`.
    pub fn new() -> Self {
        Self {
            fields: [UBER_TRACE_ID.to_string()],
        }
    }
}

/// Formats a span context as an `uber-trace-id` value.
pub fn format_uber_trace_id(sc: &SpanContext) -> String {
    use std::fmt::Write as _;
    let flags = u8::from(sc.is_sampled());
    // one allocation, of the final size (32 + 1 + 16 + 3 + 1)
    let mut out = String::with_capacity(53);
    let _ = write!(
        out,
        "{:032x}:{:016x}:0:{flags}",
        sc.trace_id(),
        sc.span_id()
    );
    out
}

/// Parses an `uber-trace-id` value; `None` for anything the Jaeger
/// propagator would refuse.
pub fn parse_uber_trace_id(value: &str) -> Option<SpanContext> {
    let decoded;
    let value = if value.contains(':') {
        value
    } else {
        decoded = value.replace("%3A", ":").replace("%3a", ":");
        &decoded
    };
    // four fields, no more (split without collecting: no allocation)
    let mut parts = value.split(':');
    let (Some(trace), Some(span), Some(_parent), Some(flags), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if trace.is_empty() || trace.len() > 32 || !trace.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if span.len() != 16 || !span.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if flags.is_empty() || flags.len() > 2 {
        return None;
    }
    let flags: u8 = flags.parse().ok()?;
    let trace_id = TraceId::from_hex(trace).ok()?;
    let span_id = SpanId::from_hex(span).ok()?;
    // bit 0: sampled, bit 1: debug (which implies sampled)
    let sampled = flags & 0b11 != 0;
    let sc = SpanContext::new(
        trace_id,
        span_id,
        if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        },
        true,
        TraceState::default(),
    );
    sc.is_valid().then_some(sc)
}

/// The W3C carrier key.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C vendor state key.
pub const TRACESTATE: &str = "tracestate";

fn lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Parses a W3C `traceparent` value (with its `tracestate`, if any) as
/// the W3C trace-context propagator does: two lowercase hex digits of
/// version (not `ff`; version `00` has exactly four fields), 32 of trace
/// id, 16 of span id and 2 of flags, of which only "sampled" is kept.
pub fn parse_traceparent(value: &str, tracestate: Option<&str>) -> Option<SpanContext> {
    let parts: Vec<&str> = value.trim().split('-').collect();
    if parts.len() < 4 {
        return None;
    }
    let (version, trace, span, flags) = (parts[0], parts[1], parts[2], parts[3]);
    if !lower_hex(version, 2) || version == "ff" || (version == "00" && parts.len() != 4) {
        return None;
    }
    if !lower_hex(trace, 32) || !lower_hex(span, 16) || !lower_hex(flags, 2) {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    let state = tracestate
        .and_then(|t| TraceState::from_str(t).ok())
        .unwrap_or_default();
    let sc = SpanContext::new(
        TraceId::from_hex(trace).ok()?,
        SpanId::from_hex(span).ok()?,
        TraceFlags::new(flags) & TraceFlags::SAMPLED,
        true,
        state,
    );
    sc.is_valid().then_some(sc)
}

/// The remote span context in `carrier`, from `uber-trace-id` or
/// `traceparent` (whichever is present and valid, Jaeger first). The W3C
/// header is read only when the Jaeger one does not give a valid context.
pub fn extract_span_context<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Option<SpanContext> {
    if let Some(sc) = get(UBER_TRACE_ID).and_then(parse_uber_trace_id) {
        return Some(sc);
    }
    parse_traceparent(get(TRACEPARENT)?, get(TRACESTATE))
}

/// The trace id in a message's propagated context, from either format.
///
/// ```
/// use savant_sdk_component::propagation::extract_trace_id;
/// use std::collections::BTreeMap;
///
/// let mut carrier = BTreeMap::new();
/// carrier.insert("traceparent".to_string(),
///     "00-8aab6a3a7fc890993629d61e6efc419d-9a43e61e2690e7ed-01".to_string());
/// let t = extract_trace_id(&carrier).unwrap();
/// assert_eq!(t.to_string(), "8aab6a3a7fc890993629d61e6efc419d");
/// ```
pub fn extract_trace_id(carrier: &PropagatedContext) -> Option<TraceId> {
    extract_span_context(|k| carrier.get(k).map(String::as_str)).map(|sc| sc.trace_id())
}

impl TextMapPropagator for JaegerPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if sc.is_valid() {
            injector.set(UBER_TRACE_ID, format_uber_trace_id(sc));
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match extractor.get(UBER_TRACE_ID).and_then(parse_uber_trace_id) {
            Some(sc) => cx.with_remote_span_context(sc),
            None => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let v = "8aab6a3a7fc890993629d61e6efc419d:9a43e61e2690e7ed:0:1";
        let sc = parse_uber_trace_id(v).unwrap();
        assert_eq!(format_uber_trace_id(&sc), v);
        let unsampled =
            parse_uber_trace_id("8aab6a3a7fc890993629d61e6efc419d:9a43e61e2690e7ed:0:0").unwrap();
        assert!(!unsampled.is_sampled());
        assert!(
            parse_uber_trace_id("8aab6a3a7fc890993629d61e6efc419d:9a43e61e2690e7ed:0:3")
                .unwrap()
                .is_sampled()
        );
        // url-encoded separators
        assert!(
            parse_uber_trace_id("8aab6a3a7fc890993629d61e6efc419d%3A9a43e61e2690e7ed%3A0%3A1")
                .is_some()
        );
        // a short trace id is accepted (left-padded)
        let short = parse_uber_trace_id("abc:9a43e61e2690e7ed:0:1").unwrap();
        assert_eq!(short.trace_id().to_string(), format!("{:0>32}", "abc"));
        for bad in [
            "",
            "a:b:c",
            "8aab:9a43e61e2690e7ed:0",
            "8aab:9a43e61e2690e7e:0:1",    // span id not 16 digits
            "xyz:9a43e61e2690e7ed:0:1",    // not hex
            "8aab:9a43e61e2690e7ed:0:100", // flags too long
            "0:0000000000000000:0:1",      // invalid ids
            "8aab6a3a7fc890993629d61e6efc419d0:9a43e61e2690e7ed:0:1", // 33 digits
        ] {
            assert!(parse_uber_trace_id(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn traceparent_as_the_w3c_propagator_reads_it() {
        let v = "00-8aab6a3a7fc890993629d61e6efc419d-9a43e61e2690e7ed-01";
        let sc = parse_traceparent(v, Some("k=v")).unwrap();
        assert!(sc.is_sampled() && sc.is_remote());
        assert_eq!(sc.trace_state().get("k"), Some("v"));
        let unsampled = parse_traceparent(
            "00-8aab6a3a7fc890993629d61e6efc419d-9a43e61e2690e7ed-00",
            None,
        )
        .unwrap();
        assert!(!unsampled.is_sampled());
        // a future version may carry more fields
        assert!(parse_traceparent(
            "01-8aab6a3a7fc890993629d61e6efc419d-9a43e61e2690e7ed-01-x",
            None
        )
        .is_some());
        for bad in [
            "",
            "00-8aab6a3a7fc890993629d61e6efc419d-9a43e61e2690e7ed-01-x", // 00 with 5 fields
            "ff-8aab6a3a7fc890993629d61e6efc419d-9a43e61e2690e7ed-01",
            "00-8AAB6A3A7FC890993629D61E6EFC419D-9a43e61e2690e7ed-01", // upper case
            "00-00000000000000000000000000000000-9a43e61e2690e7ed-01", // invalid trace id
            "00-8aab6a3a7fc890993629d61e6efc419d-0000000000000000-01", // invalid span id
            "00-8aab6a3a7fc890993629d61e6efc419d-9a43e61e2690e7ed-1",
        ] {
            assert!(parse_traceparent(bad, None).is_none(), "{bad}");
        }
    }

    #[test]
    fn jaeger_first_then_w3c() {
        let mut carrier = PropagatedContext::new();
        carrier.insert(
            TRACEPARENT.into(),
            "00-11111111111111111111111111111111-2222222222222222-01".into(),
        );
        assert_eq!(
            extract_trace_id(&carrier).unwrap().to_string(),
            "11111111111111111111111111111111"
        );
        carrier.insert(UBER_TRACE_ID.into(), "abc:9a43e61e2690e7ed:0:1".into());
        assert_eq!(
            extract_trace_id(&carrier).unwrap().to_string(),
            format!("{:0>32}", "abc")
        );
        // an invalid Jaeger value falls back to the W3C one
        carrier.insert(UBER_TRACE_ID.into(), "garbage".into());
        assert_eq!(
            extract_trace_id(&carrier).unwrap().to_string(),
            "11111111111111111111111111111111"
        );
    }
}
