//! `savant-sdk run PIPELINE.toml`: a thin layer over the SDK's pipeline
//! files ([`savant_sdk_plugin_host::pipeline_file`], which documents the
//! format) and its pipeline runner: every source and sink any registered
//! component, the embedded loopback module or an external module, until
//! the sources end and the readers are done, or SIGINT/SIGTERM (every
//! open stream then gets its EOS and every sink is finished).
//!
//! Relative paths in the file are relative to its folder.
//!
//! Prints one JSON line per finished source (`source_done`) and sink
//! (`sink_done`), each with its outcome; a source or sink that failed is
//! also one error line on stderr, and the exit status is 1.
//! `--list` prints every component with its keys, `--schema` the JSON
//! Schema of pipeline files.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Args;
use savant_sdk_core::client::SourceResult;
use savant_sdk_core::pipeline::{PipelineObserver, SinkReport, SourceReport};
use savant_sdk_core::telemetry::Telemetry;
use savant_sdk_plugin_host::pipeline_file::schema;
use savant_sdk_plugin_host::{PipelineFile, PluginRegistry};
use serde_json::json;

use crate::protocol::ProtocolArgs;
use crate::telemetry::TelemetryArgs;

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline description (TOML); `--schema` gives every key.
    #[arg(required_unless_present_any = ["list", "schema"])]
    pipeline: Option<PathBuf>,
    /// The version sources stamp unless their [[source]] sets one (over
    /// the file's top-level key).
    #[command(flatten)]
    protocol: ProtocolArgs,
    /// Print every component (built in, linked plugins, --plugins) with
    /// its keys, and exit.
    #[arg(long)]
    list: bool,
    /// Print the JSON Schema of pipeline files (every component's keys),
    /// and exit.
    #[arg(long, conflicts_with = "list")]
    schema: bool,
    /// Plugin .so files or folders to load for --list and --schema (a
    /// pipeline file names its own in `plugins`).
    #[arg(long, value_name = "PATH")]
    plugins: Vec<PathBuf>,
    /// Export spans (over the file's [telemetry]).
    #[command(flatten)]
    pub(crate) telemetry: TelemetryArgs,
}

/// The telemetry `run` traces and exports with: the command line's
/// `--otlp-endpoint` over the file's `[telemetry]`.
pub fn telemetry(a: &RunArgs) -> Result<Telemetry> {
    let Some(path) = &a.pipeline else {
        return Ok(Telemetry::off());
    };
    if a.list || a.schema {
        return Ok(Telemetry::off());
    }
    let file = PipelineFile::load(path)?;
    if a.telemetry.otlp_endpoint.is_some() {
        return a.telemetry.build(file.telemetry.propagation());
    }
    Ok(file.telemetry.build()?)
}

/// Prints what the pipeline did as JSON lines.
struct Lines;

impl PipelineObserver for Lines {
    fn on_sent(&self, _source: &str, r: &SourceResult) {
        // a `viewer` sink of the file shows round-trip latency from these
        // send times (None, one atomic load, without a viewer sink)
        if let Some(sent) = savant_sdk_viewer::SentTimes::global() {
            sent.record(r);
        }
    }

    fn on_source_done(&self, r: &SourceReport) {
        crate::emit(json!({
            "event": "source_done",
            "source": r.name,
            "frames": r.frames,
            "bytes": r.bytes,
            "ended": r.ended,
            "outcome": r.outcome.kind(),
            "error": r.outcome.error(),
        }));
        if let Some(e) = r.outcome.error() {
            crate::output::flush(); // its line first, then the error
            eprintln!("savant-sdk: source {} {}: {e}", r.name, r.outcome.kind());
        }
    }

    fn on_sink_done(&self, socket: &str, r: &SinkReport) {
        crate::emit(json!({
            "event": "sink_done",
            "sink": r.name,
            "socket": socket,
            "messages": r.consumed,
            "outcome": r.outcome.kind(),
            "error": r.outcome.error(),
        }));
        if let Some(e) = r.outcome.error() {
            crate::output::flush();
            eprintln!("savant-sdk: sink {} {}: {e}", r.name, r.outcome.kind());
        }
    }

    fn on_signal(&self, signal: &'static str) {
        crate::output::flush();
        eprintln!(
            "savant-sdk: {signal}: ending every open stream with EOS and finishing the sinks"
        );
    }
}

fn registry_with(plugins: &[PathBuf]) -> Result<PluginRegistry> {
    let mut registry = PluginRegistry::with_static()?;
    for p in plugins {
        let report = registry.load_path(p)?;
        for e in &report.failed {
            eprintln!("savant-sdk: {e}");
        }
    }
    Ok(registry)
}

pub async fn run(a: RunArgs, telemetry: Telemetry) -> Result<()> {
    if a.list || a.schema {
        let mut plugins = a.plugins.clone();
        if let Some(path) = &a.pipeline {
            plugins.extend(PipelineFile::load(path)?.plugins);
        }
        let registry = registry_with(&plugins)?;
        if a.list {
            print!("{}", schema::list(&registry)?);
        } else {
            println!(
                "{}",
                serde_json::to_string_pretty(&schema::pipeline_schema(&registry)?)?
            );
        }
        return Ok(());
    }
    let given = a.pipeline.as_ref().expect("clap requires it");
    let path = &std::fs::canonicalize(given)
        .with_context(|| format!("cannot read {}", given.display()))?;
    let mut file = PipelineFile::load(path)?;
    // relative paths in the file (media, output folders, ipc sockets) are
    // relative to its folder, as its plugins are
    if let Some(dir) = path.parent() {
        std::env::set_current_dir(dir)
            .with_context(|| format!("cannot enter {}", dir.display()))?;
    }
    if let Some(v) = a.protocol.given() {
        file.set_default_version(&v);
    }
    let registry = Arc::new(file.registry()?);
    let built = file
        .build(registry, &telemetry)
        .await
        .with_context(|| format!("{}", path.display()))?;
    let mut pipeline = built.pipeline;
    pipeline.observer(Arc::new(Lines)).stop_on_signals();
    let report = pipeline.run().await;
    if let Some(m) = built.module {
        m.stop()?;
    }
    let failed = report
        .sources
        .iter()
        .filter(|s| s.outcome.is_error())
        .count()
        + report
            .readers
            .iter()
            .map(|r| {
                usize::from(r.error.is_some())
                    + r.sinks
                        .iter()
                        .filter(|s| s.outcome.error().is_some())
                        .count()
            })
            .sum::<usize>();
    for r in &report.readers {
        if let Some(e) = &r.error {
            eprintln!("savant-sdk: reader {}: {e}", r.socket);
        }
    }
    if failed > 0 {
        bail!("{failed} component(s) of the pipeline failed (see their lines above)");
    }
    Ok(())
}
