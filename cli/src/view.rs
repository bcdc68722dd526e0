//! `savant-sdk view`: a live page in the browser with a tile per source
//! id (latest annotated frame, frames/s, objects) and a JSON endpoint
//! with the same numbers, until SIGINT or SIGTERM. A thin layer over
//! `savant-sdk-viewer`: one reader into a `ViewerSink`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;
use savant_sdk_core::client::SinkBuilder;
use savant_sdk_core::pipeline::{Pipeline, PipelineObserver, Signals};
use savant_sdk_viewer::{Viewer, ViewerOptions, ViewerSink};
use serde_json::json;

use crate::emit;
use crate::protocol::AcceptArgs;

/// Arguments of `view`.
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// Reader socket, Savant syntax (e.g. sub+connect:ipc:///tmp/zmq-sockets/output-video.ipc).
    #[arg(long)]
    socket: String,
    /// The address to serve the page on (127.0.0.1: this machine only).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// The port to serve the page on (0: any free port; the URL is printed).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Only this source id.
    #[arg(long, conflicts_with = "source_id_prefix")]
    source_id: Option<String>,
    /// Only source ids starting with this.
    #[arg(long)]
    source_id_prefix: Option<String>,
    /// Exit after this many seconds without a message (0: run until
    /// SIGINT/SIGTERM).
    #[arg(long, default_value_t = 0.0)]
    idle_timeout: f64,
    /// Source ids shown at most; beyond, a new one replaces the one idle longest.
    #[arg(long, default_value_t = savant_sdk_viewer::DEFAULT_MAX_SOURCES)]
    max_sources: usize,
    /// Pictures rendered (decoded, annotated, JPEG-encoded) per source and
    /// second at most, however many pages watch; nothing is rendered while
    /// nobody watches.
    #[arg(long, default_value_t = savant_sdk_viewer::DEFAULT_MAX_RENDERS_PER_SECOND)]
    max_fps: f64,
    /// JPEG quality of the pictures served, 1 to 100.
    #[arg(long, default_value_t = savant_sdk_viewer::DEFAULT_JPEG_QUALITY)]
    jpeg_quality: u8,
    #[command(flatten)]
    pub(crate) accept: AcceptArgs,
}

/// Failures are reported by the exit line, once.
struct Quiet;
impl PipelineObserver for Quiet {}

pub async fn run(a: ViewArgs) -> Result<()> {
    if !(a.idle_timeout.is_finite() && a.idle_timeout >= 0.0) {
        bail!(
            "--idle-timeout must be 0 or a positive number of seconds, not {}",
            a.idle_timeout
        );
    }
    let viewer = Viewer::with_options(ViewerOptions {
        max_sources: a.max_sources,
        max_renders_per_second: a.max_fps,
        jpeg_quality: a.jpeg_quality,
        sent_times: None,
    })?;
    let mut builder = SinkBuilder::new(&a.socket).version_policy(a.accept.accept_version.clone());
    if a.idle_timeout > 0.0 {
        builder = builder.idle_timeout(Duration::from_secs_f64(a.idle_timeout));
    }
    if let Some(s) = &a.source_id {
        builder = builder.source_id(s);
    }
    if let Some(p) = &a.source_id_prefix {
        builder = builder.source_id_prefix(p);
    }
    let runner = builder.build().await?;
    let server = viewer.serve(SocketAddr::new(a.bind, a.port)).await?;
    // watched before the URL is printed: a signal right after it is kept
    let mut signals = Signals::watch()?;
    let mut pipeline = Pipeline::new();
    let trigger = pipeline.trigger();
    let signal_name = Arc::new(std::sync::Mutex::new(None));
    let seen = signal_name.clone();
    tokio::spawn(async move {
        let name = signals.next().await;
        *seen.lock().expect("not poisoned") = Some(name);
        trigger.trigger();
    });
    emit(json!({
        "event": "viewer",
        "url": server.url(),
        "socket": a.socket,
    }));
    // a readiness line: out at once, not at the next idle flush
    crate::output::flush();
    let sink = ViewerSink::new(viewer.clone()).with_server(server);
    pipeline
        .reader(&a.socket, runner, vec![("viewer".into(), Box::new(sink))])
        .observer(Arc::new(Quiet));
    let report = pipeline.run().await;
    let snapshot = viewer.snapshot();
    let signal = *signal_name.lock().expect("not poisoned");
    emit(json!({
        "event": "stopped",
        "reason": signal.unwrap_or("idle"),
        "sources": snapshot.streams.len(),
        "frames": snapshot.streams.iter().map(|s| s.frames).sum::<u64>(),
    }));
    let reader = &report.readers[0];
    if reader.version_refused > 0 {
        eprintln!(
            "savant-sdk: {} messages dropped for their protocol version (accepting {:?}; see --accept-version)",
            reader.version_refused, a.accept.accept_version
        );
    }
    if let Some(e) = &reader.error {
        bail!("{e}");
    }
    if let Some(e) = reader.sinks.iter().find_map(|s| s.outcome.error()) {
        bail!("sink viewer: {e}");
    }
    Ok(())
}
