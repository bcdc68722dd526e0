//! `savant-sdk loopback`: the embedded pass-through module.

use anyhow::Result;
use clap::Args;
use savant_sdk_core::loopback::{LoopbackConfig, LoopbackModule};
use serde_json::json;

use crate::telemetry::TelemetryArgs;
use crate::{emit, parse_ns_name};

/// Arguments of `loopback`.
#[derive(Debug, Args)]
pub struct LoopbackArgs {
    /// Input (reader) socket, e.g. router+bind:ipc:///tmp/zmq-sockets/input-video.ipc.
    #[arg(long)]
    input: String,
    /// Output (writer) socket, e.g. pub+bind:ipc:///tmp/zmq-sockets/output-video.ipc.
    #[arg(long)]
    output: String,
    /// Serve GET /healthcheck on this port.
    #[arg(long)]
    healthcheck_port: Option<u16>,
    /// Add this persistent frame attribute (NAMESPACE/NAME) to every frame.
    #[arg(long, value_parser = parse_ns_name)]
    mark: Option<(String, String)>,
    #[command(flatten)]
    pub(crate) telemetry: TelemetryArgs,
}

pub async fn run(a: LoopbackArgs, _telemetry: savant_sdk_core::telemetry::Telemetry) -> Result<()> {
    let mut config = LoopbackConfig::new(&a.input, &a.output);
    if let Some((ns, name)) = &a.mark {
        config = config.mark(ns, name);
    }
    if let Some(port) = a.healthcheck_port {
        config = config.healthcheck_port(port);
    }
    let module = LoopbackModule::start(config)?;
    emit(json!({
        "event": "ready",
        "input": a.input,
        "output": a.output,
        "healthcheck": module.health_url(),
    }));
    crate::interrupted().await?;
    let stats = tokio::task::spawn_blocking(move || module.stop()).await??;
    emit(json!({
        "event": "stopped",
        "forwarded": stats.forwarded,
        "dropped": stats.dropped,
        "malformed": stats.input.malformed(),
    }));
    Ok(())
}
