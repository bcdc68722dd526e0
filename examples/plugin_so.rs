//! A source plugin loaded from its `.so` file at run time: the example
//! plugin `synthetic` (JPEG frames of a moving box), built from
//! configuration text, sent through the embedded loopback module and
//! counted back.
//!
//! ```sh
//! cargo build -p savant-sdk-example-synthetic-source   # makes target/debug/libsavant_sdk_example_synthetic_source.so
//! cargo run -p savant-sdk-examples --example plugin_so -- [PLUGIN.so [FRAMES]]
//! ```
//!
//! Without a path it looks for `libsavant_sdk_example_synthetic_source.so`
//! in the target folder this example was built into (`target/debug/`, then
//! `target/debug/deps/`); when there is none it says how to build it and
//! exits with status 2. Prints `sent N, received N`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{ensure, Context};
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_plugin_host::PluginRegistry;

const LIBRARY: &str = "libsavant_sdk_example_synthetic_source.so";

/// `target/<profile>/LIBRARY` or `target/<profile>/deps/LIBRARY`, where
/// this executable is `target/<profile>/examples/plugin_so`.
fn find_plugin() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    [
        profile_dir.join(LIBRARY),
        profile_dir.join("deps").join(LIBRARY),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = match args.first() {
        Some(p) => PathBuf::from(p),
        None => match find_plugin() {
            Some(p) => p,
            None => {
                eprintln!(
                    "no {LIBRARY} next to this example's target folder.\n\
                     Build the plugin first:\n\
                     \n    cargo build -p savant-sdk-example-synthetic-source\n\n\
                     or give the path of a plugin .so as the first argument."
                );
                return Ok(ExitCode::from(2));
            }
        },
    };
    let frames: u64 = match args.get(1) {
        Some(n) => n.parse().context("FRAMES must be a number")?,
        None => 20,
    };

    // Load the library: its components are checked (ABI version, entry
    // point) and registered under their names.
    let mut registry = PluginRegistry::new();
    let names = registry
        .load(&path)
        .with_context(|| format!("loading {}", path.display()))?;
    println!("loaded {}: {}", path.display(), names.join(", "));
    for info in registry.components() {
        println!(
            "  {} ({}, SDK {}): {}",
            info.name, info.kind, info.sdk_version, info.description
        );
    }

    // Build the source from configuration text (TOML or JSON): the
    // plugin parses and checks it.
    let config = format!("source_id = 'synthetic-1'\nframes = {frames}\nwidth = 160\nheight = 120");
    let source = registry.source("synthetic", &config)?;

    // Sockets of this run in a temporary folder; reader, module, writer.
    let dir = tempfile::tempdir()?;
    let input = format!("ipc://{}/input.ipc", dir.path().display());
    let output = format!("ipc://{}/output.ipc", dir.path().display());
    let mut results = SinkBuilder::new(format!("router+bind:{output}"))
        .stop_when_all_ended()
        .idle_timeout(Duration::from_secs(30))
        .build()
        .await?;
    let module = LoopbackModule::start(LoopbackConfig::new(
        format!("router+bind:{input}"),
        format!("dealer+connect:{output}"),
    ))?;
    let writer = SourceBuilder::new(format!("dealer+connect:{input}"))
        .build()
        .await?;

    let reading = tokio::spawn(async move {
        let mut frames = 0u64;
        while let Some(result) = results.next().await {
            frames += u64::from(result?.frame().is_some());
        }
        results.close().await;
        Ok::<_, savant_sdk_core::Error>(frames)
    });
    // the plugin's source is an ordinary `Box<dyn Source>`
    let sent = writer.send_stream(source).await?;
    writer.close().await;
    let received = reading.await??;
    module.stop()?;

    println!("sent {}, received {received}", sent.frames);
    ensure!(
        sent.frames == frames && received == frames,
        "frames were lost"
    );
    Ok(ExitCode::SUCCESS)
}
