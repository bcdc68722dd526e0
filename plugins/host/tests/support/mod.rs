//! Shared by the plugin tests: locating the built libraries and capturing
//! tracing events with the spans they happened in.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// `lib<name>.so` from this build; fails the test when missing.
pub fn library(crate_name: &str) -> PathBuf {
    savant_sdk_plugin_host::library_next_to_executable(crate_name).unwrap_or_else(|| {
        panic!("lib{crate_name}.so was not built next to the test executable (run cargo test --workspace)")
    })
}

pub const SOURCE_LIB: &str = "savant_sdk_example_synthetic_source";
pub const SINK_LIB: &str = "savant_sdk_example_frame_counter";

#[derive(Default, Debug, Clone)]
pub struct Fields(pub BTreeMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.insert(f.name().to_string(), v.to_string());
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.0.insert(f.name().to_string(), format!("{v:?}"));
    }
}

/// One captured event: its target, fields, and the spans it was in
/// (innermost first), each with its fields.
#[derive(Debug, Clone)]
pub struct Captured {
    pub target: String,
    pub fields: BTreeMap<String, String>,
    pub spans: Vec<(String, BTreeMap<String, String>)>,
}

impl Captured {
    pub fn message(&self) -> &str {
        self.fields.get("message").map_or("", String::as_str)
    }
    pub fn span(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.spans.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }
}

#[derive(Clone, Default)]
pub struct Capture(pub Arc<Mutex<Vec<Captured>>>);

impl Capture {
    pub fn events(&self) -> Vec<Captured> {
        self.0.lock().unwrap().clone()
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut f = Fields::default();
        attrs.record(&mut f);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(f);
        }
    }
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let spans = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .map(|s| {
                        let fields = s
                            .extensions()
                            .get::<Fields>()
                            .map(|f| f.0.clone())
                            .unwrap_or_default();
                        (s.name().to_string(), fields)
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.0.lock().unwrap().push(Captured {
            target: event.metadata().target().to_string(),
            fields: f.0,
            spans,
        });
    }
}

/// A subscriber with the capture layer, for `tracing::subscriber::set_default`.
pub fn capturing() -> (impl Subscriber + Send + Sync, Capture) {
    use tracing_subscriber::layer::SubscriberExt;
    let capture = Capture::default();
    (
        tracing_subscriber::registry().with(capture.clone()),
        capture,
    )
}
