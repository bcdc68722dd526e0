//! Per-frame OpenTelemetry traces and their propagation in the message's
//! `propagated_context` (W3C `traceparent` or Jaeger `uber-trace-id`).
//!
//! Every frame a source sends starts a new trace (a root span); its context
//! is injected into the message, and the trace id comes back in the
//! send result. Receivers read the trace id from either format, so sent
//! and received frames can be matched.
//!
//! ```
//! use savant_sdk_core::model::PropagatedContext;
//! use savant_sdk_core::telemetry::{extract_trace_id, Propagation, Telemetry};
//!
//! let telemetry = Telemetry::new("my-client", Propagation::Jaeger);
//! let span = telemetry.frame_span("cam-1", 0);
//! let mut carrier = PropagatedContext::new();
//! telemetry.inject(&span, &mut carrier);
//! assert!(carrier.contains_key("uber-trace-id"));
//! assert_eq!(extract_trace_id(&carrier), span.trace_id());
//! ```

mod backoff;
mod logs;
#[cfg(feature = "otlp-grpc")]
mod otlp_grpc;
mod otlp_http;
mod setup;

use std::sync::Arc;

use opentelemetry::trace::{
    SpanContext, SpanKind, TraceContextExt, TraceFlags, TraceState, Tracer as _,
    TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SdkTracer, SdkTracerProvider};

pub use logs::{JaegerApi, JaegerLogProvider};
pub use opentelemetry::trace::TraceId;
pub use savant_sdk_component::logs::{LogEntry, LogHandle, LogProvider, LogProviderError, Logs};
pub use savant_sdk_component::propagation::{
    extract_span_context, extract_trace_id, format_uber_trace_id, parse_traceparent,
    parse_uber_trace_id, JaegerPropagator, TRACEPARENT, TRACESTATE, UBER_TRACE_ID,
};
pub use setup::{OtlpProtocol, TelemetryBuilder};

use crate::model::PropagatedContext;
use crate::sink::SinkResult;

/// How a trace context is written into a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// W3C Trace Context: `traceparent` and `tracestate` (opt-in in
    /// Savant).
    W3c,
    /// Jaeger: `uber-trace-id`, Savant's default (what its modules and
    /// its Python client read and write); the default here too.
    #[default]
    Jaeger,
}

impl std::str::FromStr for Propagation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "w3c" | "W3C" => Ok(Propagation::W3c),
            "jaeger" | "Jaeger" => Ok(Propagation::Jaeger),
            other => Err(format!(
                "unknown propagation format {other:?} (expected w3c or jaeger)"
            )),
        }
    }
}

struct Inner {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    propagation: Propagation,
    recording: Recording,
    ids: RandomIdGenerator,
}

/// Whether a frame's root span is recorded, or only its ids made and
/// propagated.
#[derive(Debug, Clone)]
pub(crate) enum Recording {
    /// Always (a provider given by the user may export anything).
    Always,
    /// Never: the provider has no exporter, so a recorded span would be
    /// dropped anyway.
    Never,
    /// Except while the exporter pauses after a failed export, when it
    /// would be dropped before the batch queue.
    UnlessPaused(Arc<backoff::PauseGate>),
}

impl Recording {
    fn now(&self) -> bool {
        match self {
            Recording::Always => true,
            Recording::Never => false,
            Recording::UnlessPaused(gate) => !gate.paused(),
        }
    }
}

/// The SDK's telemetry handle: off, or a tracer and a propagation format.
/// Cheap to clone.
#[derive(Clone, Default)]
pub struct Telemetry {
    inner: Option<Arc<Inner>>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            None => f.write_str("Telemetry(off)"),
            Some(i) => write!(f, "Telemetry({:?})", i.propagation),
        }
    }
}

impl Telemetry {
    /// Starts configuring telemetry for `service_name` (exporter, resource
    /// attributes, propagation format).
    pub fn builder(service_name: impl Into<String>) -> TelemetryBuilder {
        TelemetryBuilder::new(service_name)
    }

    /// A `tracing` layer that turns `tracing` spans into OpenTelemetry
    /// spans of this tracer and attaches `tracing` events (with their
    /// level, target and message) to the current span as span events. Add
    /// it to your subscriber; the SDK's frame spans are then the parents of
    /// everything logged while a frame is handled.
    ///
    /// ```
    /// use tracing_subscriber::layer::SubscriberExt;
    /// use savant_sdk_core::telemetry::{Propagation, Telemetry};
    /// let telemetry = Telemetry::new("my-client", Propagation::W3c);
    /// let subscriber = tracing_subscriber::registry().with(telemetry.tracing_layer());
    /// ```
    pub fn tracing_layer<S>(
        &self,
    ) -> Option<tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        self.inner
            .as_ref()
            .map(|i| tracing_opentelemetry::layer().with_tracer(i.tracer.clone()))
    }

    /// No traces: nothing is injected and trace ids are `None`.
    pub fn off() -> Self {
        Self { inner: None }
    }

    /// Traces with ids but no exporter (spans are not sent anywhere).
    pub fn new(service_name: &str, propagation: Propagation) -> Self {
        Self::with_recording(
            SdkTracerProvider::builder().build(),
            service_name,
            propagation,
            Recording::Never,
        )
    }

    /// Traces from `provider` (which may export them).
    pub fn with_provider(
        provider: SdkTracerProvider,
        service_name: &str,
        propagation: Propagation,
    ) -> Self {
        Self::with_recording(provider, service_name, propagation, Recording::Always)
    }

    pub(crate) fn with_recording(
        provider: SdkTracerProvider,
        service_name: &str,
        propagation: Propagation,
        recording: Recording,
    ) -> Self {
        let tracer = provider.tracer(service_name.to_string());
        Self {
            inner: Some(Arc::new(Inner {
                provider,
                tracer,
                propagation,
                recording,
                ids: RandomIdGenerator::default(),
            })),
        }
    }

    /// Whether traces are made.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Whether spans can go anywhere: on, with an exporter (or a provider
    /// of the user's, which may export). Without one, the ids are made
    /// and propagated, but nothing is recorded, and a
    /// [`Telemetry::tracing_layer`] would only cost time.
    pub fn is_exporting(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|i| !matches!(i.recording, Recording::Never))
    }

    /// The propagation format, when on.
    pub fn propagation(&self) -> Option<Propagation> {
        self.inner.as_ref().map(|i| i.propagation)
    }

    /// Starts a new trace for a frame of `source_id` at `pts`: a root span
    /// that ends when the returned value is dropped.
    pub fn frame_span(&self, source_id: &str, pts: i64) -> FrameSpan {
        self.root_span("savant.send_frame", source_id, Some(pts))
    }

    /// Starts a new trace named `name` for `source_id`.
    pub fn root_span(&self, name: &'static str, source_id: &str, pts: Option<i64>) -> FrameSpan {
        let Some(inner) = &self.inner else {
            return FrameSpan { cx: None };
        };
        if !inner.recording.now() {
            // Nothing would export this span: only its ids are made, and
            // propagated as usual, without the cost of recording it.
            let sc = SpanContext::new(
                inner.ids.new_trace_id(),
                inner.ids.new_span_id(),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            );
            return FrameSpan {
                cx: Some(Context::new().with_remote_span_context(sc)),
            };
        }
        let mut attrs = Vec::with_capacity(2);
        if !source_id.is_empty() {
            attrs.push(KeyValue::new("savant.source_id", source_id.to_string()));
        }
        if let Some(pts) = pts {
            attrs.push(KeyValue::new("savant.pts", pts));
        }
        let span = inner
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Producer)
            .with_attributes(attrs)
            .start_with_context(&inner.tracer, &Context::new());
        FrameSpan {
            cx: Some(Context::new().with_span(span)),
        }
    }

    /// Writes the span's context into `carrier` in the configured format.
    pub fn inject(&self, span: &FrameSpan, carrier: &mut PropagatedContext) {
        let (Some(inner), Some(cx)) = (&self.inner, &span.cx) else {
            return;
        };
        // Formatted here rather than through the propagators: the same
        // text, without their generic carrier plumbing, on every frame.
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return;
        }
        match inner.propagation {
            Propagation::W3c => {
                carrier.insert(
                    TRACEPARENT.to_string(),
                    format!(
                        "00-{:032x}-{:016x}-{:02x}",
                        sc.trace_id(),
                        sc.span_id(),
                        sc.trace_flags().to_u8()
                    ),
                );
                carrier.insert("tracestate".to_string(), sc.trace_state().header());
            }
            Propagation::Jaeger => {
                carrier.insert(UBER_TRACE_ID.to_string(), format_uber_trace_id(sc));
            }
        }
    }

    /// Exports what is pending now.
    pub fn flush(&self) {
        if let Some(inner) = &self.inner {
            let _ = inner.provider.force_flush();
        }
    }

    /// Flushes and shuts the tracer provider down.
    pub fn shutdown(&self) {
        if let Some(inner) = &self.inner {
            let _ = inner.provider.shutdown();
        }
    }
}

/// A frame's root span; ends when dropped.
#[derive(Debug)]
pub struct FrameSpan {
    cx: Option<Context>,
}

impl FrameSpan {
    /// A `tracing` span (named `name`, carrying the source id and pts)
    /// whose OpenTelemetry parent is this frame's span: enter it while
    /// handling the frame and, with [`Telemetry::tracing_layer`] installed,
    /// what is logged lands in the frame's trace.
    pub fn tracing_span(&self, source_id: &str, pts: i64) -> tracing::Span {
        let span = self.tracing_span_unnamed();
        span.record("source_id", source_id);
        span.record("pts", pts);
        span
    }

    /// [`FrameSpan::tracing_span`] before the frame is known (its source id
    /// and pts are recorded later with [`FrameSpan::set_frame`]).
    pub fn tracing_span_unnamed(&self) -> tracing::Span {
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        let span = tracing::info_span!(
            "savant.frame",
            source_id = tracing::field::Empty,
            pts = tracing::field::Empty,
            trace_id = self.trace_id().map(|t| t.to_string()).unwrap_or_default()
        );
        // a span no subscriber wants (the usual case without a tracing
        // layer) has no parent to set
        if let (Some(cx), false) = (&self.cx, span.is_disabled()) {
            let _ = span.set_parent(cx.clone());
        }
        span
    }

    /// Records the frame's source id and pts on the root span and on
    /// `tracing_span`.
    pub fn set_frame(&self, tracing_span: &tracing::Span, source_id: &str, pts: i64) {
        tracing_span.record("source_id", source_id);
        tracing_span.record("pts", pts);
        if let Some(cx) = &self.cx {
            let span = cx.span();
            // a span that only carries ids keeps no attributes: no copy
            // of the source id for it
            if span.is_recording() {
                span.set_attribute(KeyValue::new("savant.source_id", source_id.to_string()));
                span.set_attribute(KeyValue::new("savant.pts", pts));
            }
        }
    }

    /// The trace id; `None` when telemetry is off.
    pub fn trace_id(&self) -> Option<TraceId> {
        self.cx
            .as_ref()
            .map(|cx| cx.span().span_context().trace_id())
    }

    /// The OpenTelemetry context holding the span.
    pub fn context(&self) -> Option<&Context> {
        self.cx.as_ref()
    }

    /// Records an event on the span.
    pub fn add_event(&self, name: &'static str) {
        if let Some(cx) = &self.cx {
            cx.span().add_event(name, Vec::new());
        }
    }
}

impl Drop for FrameSpan {
    fn drop(&mut self) {
        if let Some(cx) = &self.cx {
            cx.span().end();
        }
    }
}

/// A `tracing` span for handling `result` whose OpenTelemetry parent
/// is the sender's span (from the propagated context): with
/// [`Telemetry::tracing_layer`] installed, what is
/// logged inside it joins the frame's trace.
pub fn receive_span(result: &SinkResult) -> tracing::Span {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let span = tracing::info_span!(
        "savant.receive",
        source_id = %result.source_id(),
        pts = result.pts().unwrap_or_default(),
        kind = result.kind(),
        trace_id = result.trace_id.map(|t| t.to_string()).unwrap_or_default()
    );
    // the context is parsed only for a span some subscriber wants
    if span.is_disabled() {
        return span;
    }
    if let Some(cx) = extract_context(&result.message.propagated_context) {
        let _ = span.set_parent(cx);
    }
    span
}

/// The remote span context in `carrier`, from `uber-trace-id` or
/// `traceparent` (whichever is present and valid, Jaeger first).
pub fn extract_context(carrier: &PropagatedContext) -> Option<Context> {
    extract_span_context(|k| carrier.get(k).map(String::as_str))
        .map(|sc| Context::current().with_remote_span_context(sc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording(span: &FrameSpan) -> bool {
        span.cx.as_ref().unwrap().span().is_recording()
    }

    /// Without an exporter, or while it pauses after a failure, a frame's
    /// span is not recorded, yet every frame still gets its own sampled
    /// trace, propagated as usual; with a user's provider it is recorded.
    #[test]
    fn spans_are_recorded_only_when_something_could_export_them() {
        let ids_only = Telemetry::new("t", Propagation::W3c);
        let (a, b) = (ids_only.frame_span("s", 1), ids_only.frame_span("s", 2));
        assert!(!recording(&a));
        let (ta, tb) = (a.trace_id().unwrap(), b.trace_id().unwrap());
        assert_ne!(ta, tb, "a trace per frame");
        let mut carrier = PropagatedContext::default();
        ids_only.inject(&a, &mut carrier);
        let tp = carrier.get(TRACEPARENT).unwrap();
        assert!(
            tp.starts_with(&format!("00-{ta:032x}-")) && tp.ends_with("-01"),
            "{tp}"
        );

        let gate = Arc::new(backoff::PauseGate::default());
        let gated = Telemetry::with_recording(
            SdkTracerProvider::builder().build(),
            "t",
            Propagation::W3c,
            Recording::UnlessPaused(gate.clone()),
        );
        assert!(recording(&gated.frame_span("s", 1)), "not paused: recorded");
        gate.pause_for_test(std::time::Duration::from_secs(60));
        let paused = gated.frame_span("s", 2);
        assert!(!recording(&paused), "paused: ids only");
        assert!(paused.trace_id().is_some());

        let user =
            Telemetry::with_provider(SdkTracerProvider::builder().build(), "t", Propagation::W3c);
        assert!(recording(&user.frame_span("s", 1)));
    }

    #[test]
    fn w3c_injects_traceparent_and_tracestate() {
        let t = Telemetry::new("t", Propagation::W3c);
        let span = t.frame_span("s", 1);
        let mut c = PropagatedContext::new();
        t.inject(&span, &mut c);
        let tp = &c[TRACEPARENT];
        assert!(tp.starts_with("00-"), "{tp}");
        assert!(tp.contains(&span.trace_id().unwrap().to_string()));
        assert_eq!(c.get("tracestate").map(String::as_str), Some(""));
        assert_eq!(extract_trace_id(&c), span.trace_id());
    }

    #[test]
    fn every_frame_gets_a_new_trace() {
        let t = Telemetry::new("t", Propagation::Jaeger);
        let a = t.frame_span("s", 1).trace_id();
        let b = t.frame_span("s", 2).trace_id();
        assert!(a.is_some() && a != b);
    }

    #[test]
    fn off_injects_nothing() {
        let t = Telemetry::off();
        let span = t.frame_span("s", 1);
        let mut c = PropagatedContext::new();
        t.inject(&span, &mut c);
        assert!(c.is_empty());
        assert_eq!(span.trace_id(), None);
        assert_eq!(extract_trace_id(&c), None);
    }

    #[test]
    fn savant_examples_extract() {
        let mut c = PropagatedContext::new();
        c.insert(
            TRACEPARENT.into(),
            "00-d66a0615c0a5628e50f68a0788f0a809-1a01691f2eb2e09c-01".into(),
        );
        assert_eq!(
            extract_trace_id(&c).unwrap().to_string(),
            "d66a0615c0a5628e50f68a0788f0a809"
        );
    }
}
