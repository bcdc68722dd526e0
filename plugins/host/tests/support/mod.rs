//! Shared by the plugin tests: building the plugin libraries and the
//! `savant-sdk` binary they load or run (so that `cargo test -p
//! savant-sdk-plugin-host` alone has them), and capturing tracing events
//! with the spans they happened in.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

mod cargo_build;

/// The plugin libraries the tests load: their `[lib] name`s; each one's
/// package is the name with `-` for `_`.
pub const PLUGINS: [&str; 6] = [
    SOURCE_LIB,
    SINK_LIB,
    "savant_sdk_fixture_no_entry",
    "savant_sdk_fixture_wrong_abi",
    "savant_sdk_fixture_panicking",
    "savant_sdk_fixture_malformed",
];

/// `lib<crate_name>.so` (one of [`PLUGINS`]), built for this test
/// executable's profile the first time a test of it asks for one: all
/// of them in one build in a target folder of their own (the same
/// command from every test binary, so after the first it is fresh).
pub fn library(crate_name: &str) -> PathBuf {
    static BUILT: OnceLock<Vec<cargo_build::Artifact>> = OnceLock::new();
    assert!(
        PLUGINS.contains(&crate_name),
        "{crate_name} is not among the plugins the tests build: {PLUGINS:?}"
    );
    let artifacts = BUILT.get_or_init(|| {
        let packages: Vec<String> = PLUGINS.iter().map(|p| p.replace('_', "-")).collect();
        let mut args = Vec::new();
        for p in &packages {
            args.extend(["-p", p.as_str()]);
        }
        args.extend(["--lib"]);
        cargo_build::cargo_build_apart("plugins", &args)
    });
    cargo_build::cdylib(artifacts, crate_name).unwrap_or_else(|| {
        panic!("cargo built {crate_name} but reported no lib{crate_name}.so: {artifacts:?}")
    })
}

/// The `savant-sdk` binary: `$SAVANT_SDK_BIN` when it is set (the
/// README's test command sets it to the binary its workspace run has
/// just built, which `cargo build -p` would build again from cold for
/// the package's own features), else package savant-sdk-cli with its
/// default features, built the first time a test of this executable
/// asks.
pub fn savant_sdk() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if let Some(bin) = std::env::var_os("SAVANT_SDK_BIN") {
                let bin = PathBuf::from(bin);
                assert!(
                    bin.is_file(),
                    "SAVANT_SDK_BIN is {}, which is not a file",
                    bin.display()
                );
                return bin;
            }
            let artifacts =
                cargo_build::cargo_build(&["-p", "savant-sdk-cli", "--bin", "savant-sdk"]);
            cargo_build::executable(&artifacts, "savant-sdk").unwrap_or_else(|| {
                panic!(
                    "cargo built savant-sdk-cli but reported no savant-sdk binary: {artifacts:?}"
                )
            })
        })
        .clone()
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
