//! A whole pipeline from a TOML pipeline file: the embedded loopback
//! module, the plugin source `synthetic` and the plugin sink
//! `frame-counter`, built with `PipelineFile` and run with
//! `Pipeline::run`, the same as `savant-sdk run PIPELINE.toml`. The two
//! plugins are linked into this program (the `use ... as _;` lines), so
//! `PluginRegistry::with_static()` finds them without any `.so` file.
//!
//! ```sh
//! cargo run -p savant-sdk-examples --example pipeline_file -- [PIPELINE.toml]
//! ```
//!
//! Without a file it writes one (sockets and the summary in a temporary
//! folder) and prints it. Prints the pipeline's report, the frame
//! counter's summary and `sent N, received N`.

use std::sync::Arc;

use anyhow::ensure;
use savant_sdk_core::telemetry::Telemetry;
use savant_sdk_plugin_host::PipelineFile;

// Link the example plugins' components into this binary; without these
// lines the registry would not know "synthetic" and "frame-counter".
use savant_sdk_example_frame_counter as _;
use savant_sdk_example_synthetic_source as _;

const FRAMES: u64 = 24;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let dir = temp.path().display();
    let (file, summary) = match std::env::args().nth(1) {
        Some(path) => (PipelineFile::load(&path)?, None),
        None => {
            let summary = temp.path().join("summary.json");
            // [loopback] is the module; [module] gives every source and sink
            // its socket; the other keys of [[source]] and [[sink]] are the
            // component's own settings, checked before anything opens.
            let text = format!(
                r#"protocol_version = "1.15.0"

[loopback]
input = "router+bind:ipc://{dir}/input.ipc"
output = "dealer+connect:ipc://{dir}/output.ipc"

[module]
input = "dealer+connect:ipc://{dir}/input.ipc"
output = "router+bind:ipc://{dir}/output.ipc"

[[source]]
type = "synthetic"
name = "boxes"
source_id = "synthetic-1"
frames = {FRAMES}
width = 160
height = 120

[[sink]]
type = "frame-counter"
name = "counter"
summary = "{summary}"
idle_timeout = 30.0
"#,
                summary = summary.display()
            );
            println!("--- pipeline file ---\n{text}---");
            let path = temp.path().join("pipeline.toml");
            std::fs::write(&path, &text)?;
            (PipelineFile::parse(&text, &path)?, Some(summary))
        }
    };

    // The registry: every linked component plus the file's `plugins`.
    let registry = Arc::new(file.registry()?);
    for c in registry.components() {
        println!("component {} ({}): {}", c.name, c.kind, c.description);
    }
    // build() checks every component, binds the readers, starts the
    // [loopback] module and connects the writers.
    let built = file.build(registry, &Telemetry::off()).await?;
    let mut pipeline = built.pipeline;
    pipeline.stop_on_signals(); // Ctrl-C ends open streams with EOS
    let report = pipeline.run().await;
    if let Some(module) = built.module {
        module.stop()?;
    }

    for s in &report.sources {
        println!(
            "source {}: {} frames, ended {:?}, {}",
            s.name, s.frames, s.ended, s.outcome
        );
    }
    for r in &report.readers {
        println!("reader {}: {} results", r.socket, r.received);
        for s in &r.sinks {
            println!("  sink {}: {} consumed, {}", s.name, s.consumed, s.outcome);
        }
    }
    ensure!(!report.has_errors(), "the pipeline reported errors");

    if let Some(summary) = summary {
        // the frame counter wrote its summary when it was finished
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary)?)?;
        let received = json["total_frames"].as_u64().unwrap_or_default();
        println!(
            "frame-counter summary: {}",
            serde_json::to_string(&json["sources"].as_object().map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v["frames"].clone()))
                    .collect::<serde_json::Map<_, _>>()
            }))?
        );
        let sent: u64 = report.sources.iter().map(|s| s.frames).sum();
        println!("sent {sent}, received {received}");
        ensure!(sent == FRAMES && received == FRAMES, "frames were lost");
    }
    Ok(())
}
