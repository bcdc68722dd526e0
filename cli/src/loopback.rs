//! `savant-sdk loopback`: the embedded pass-through module.

use anyhow::Result;
use clap::Args;
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use serde_json::json;

use crate::protocol::{parse_savant, parse_version, AcceptArgs};
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
    /// Serve GET /healthcheck (plain-text status, as Savant 0.4.x) and
    /// GET /status (JSON string status, as Savant 0.5+) on this port, on
    /// 127.0.0.1 (this machine only).
    #[arg(long)]
    healthcheck_port: Option<u16>,
    /// Obey a Shutdown message whose auth is exactly this, as a Savant
    /// module obeys its shutdown_auth: send an EOS for every open stream,
    /// then exit 0. A Shutdown with any other auth is logged once and
    /// ignored. Without this option Shutdown messages are forwarded and
    /// never acted on.
    #[arg(long, value_name = "AUTH")]
    shutdown_auth: Option<String>,
    /// Add this persistent frame attribute (NAMESPACE/NAME) to every frame,
    /// the frames inside batches included.
    #[arg(long, value_parser = parse_ns_name)]
    mark: Option<(String, String)>,
    /// The protocol version of the messages --mark re-encodes (default: the
    /// version each came with). Everything else is forwarded as the bytes
    /// that came, version included. A savant-rs 1.x or 2.x reader
    /// downstream drops any version but its own, without a word.
    #[arg(long, value_name = "VERSION", value_parser = parse_version, conflicts_with = "savant")]
    protocol_version: Option<savant_sdk_core::protocol::ProtocolVersion>,
    /// Re-encode marked messages in the version this Savant release's
    /// modules accept (0.4 -> "0.2.0", 0.6.0 -> "1.13.0", 0.6.1 -> "1.15.0").
    #[arg(long, value_name = "RELEASE", value_parser = parse_savant)]
    savant: Option<savant_sdk_core::protocol::ProtocolVersion>,
    #[command(flatten)]
    accept: AcceptArgs,
    #[command(flatten)]
    pub(crate) telemetry: TelemetryArgs,
}

pub async fn run(a: LoopbackArgs, _telemetry: savant_sdk_core::telemetry::Telemetry) -> Result<()> {
    let mut config =
        LoopbackConfig::new(&a.input, &a.output).version_policy(a.accept.accept_version.clone());
    let version = a.protocol_version.clone().or_else(|| a.savant.clone());
    if let Some(v) = &version {
        config = config.protocol_version(v.clone());
    }
    if let Some((ns, name)) = &a.mark {
        config = config.mark(ns, name);
    }
    if let Some(port) = a.healthcheck_port {
        config = config.healthcheck_port(port);
    }
    if let Some(auth) = &a.shutdown_auth {
        config = config.shutdown_auth(auth);
    }
    // watched before `ready` is printed: a signal right after it is kept
    let mut signals = savant_sdk_core::pipeline::Signals::watch()?;
    let module = LoopbackModule::start(config)?;
    emit(json!({
        "event": "ready",
        "input": a.input,
        "output": a.output,
        "healthcheck": module.health_url(),
        "status": module.status_url(),
        "protocol_version": version.as_ref().map(|v| v.as_str()),
    }));
    // a readiness signal: out at once, not at the next idle flush
    crate::output::flush();
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(50));
    let reason = loop {
        tokio::select! {
            _ = signals.next() => break "signal",
            _ = poll.tick() => if module.shutdown_requested() { break "shutdown"; },
        }
    };
    let stats = tokio::task::spawn_blocking(move || module.stop()).await??;
    emit(json!({
        "event": "stopped",
        "reason": reason,
        "forwarded": stats.forwarded,
        "dropped": stats.dropped,
        "malformed": stats.input.malformed(),
        "version_refused": stats.input.version_refused,
    }));
    Ok(())
}
