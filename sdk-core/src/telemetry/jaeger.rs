//! The Jaeger `uber-trace-id` propagation format, written from the spec
//! (`{trace_id:032x}:{span_id:016x}:0:{flags}`), since the
//! `opentelemetry-jaeger-propagator` crate is deprecated.

use opentelemetry::propagation::{
    text_map_propagator::FieldIter, Extractor, Injector, TextMapPropagator,
};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;

/// The carrier key.
pub const UBER_TRACE_ID: &str = "uber-trace-id";

/// Injects and extracts `uber-trace-id`.
///
/// ```
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
/// use savant_sdk_core::telemetry::JaegerPropagator;
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
    let flags = u8::from(sc.is_sampled());
    format!("{:032x}:{:016x}:0:{flags}", sc.trace_id(), sc.span_id())
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
    let parts: Vec<&str> = value.split(':').collect();
    if parts.len() != 4 {
        return None;
    }
    let (trace, span, flags) = (parts[0], parts[1], parts[3]);
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
}
