//! `savant-sdk send`: images to a module, one JSON line per message sent.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use savant_sdk_core::client::{SourceBuilder, SourceResult};
use serde_json::json;

use crate::{emit, inputs, parse_fps, TraceFormat};

/// Arguments of `send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Writer socket, Savant syntax (e.g. dealer+connect:ipc:///tmp/zmq-sockets/input-video.ipc).
    #[arg(long)]
    socket: String,
    /// Source id of the frames.
    #[arg(long, default_value = "client")]
    source_id: String,
    /// Frame rate N/D; pts advance by one frame duration per file.
    #[arg(long, default_value = "30/1", value_parser = parse_fps)]
    fps: (i64, i64),
    /// Send the file list this many times.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Per-frame trace propagation format.
    #[arg(long, value_enum, default_value_t = TraceFormat::W3c)]
    trace: TraceFormat,
    /// Wait until this module health endpoint says "running".
    #[arg(long)]
    healthcheck_url: Option<String>,
    /// Seconds to wait for the health endpoint.
    #[arg(long, default_value_t = 60.0)]
    healthcheck_timeout: f64,
    /// Do not send EOS after the last frame.
    #[arg(long)]
    no_eos: bool,
    /// JPEG/PNG files or folders of them.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

fn line(r: &SourceResult, file: Option<&str>, content_bytes: Option<usize>) -> serde_json::Value {
    json!({
        "event": "sent",
        "kind": r.kind,
        "source_id": r.source_id,
        "pts": r.pts,
        "trace_id": r.trace_id.map(|t| t.to_string()),
        "file": file,
        "content_bytes": content_bytes,
    })
}

pub async fn run(a: SendArgs) -> Result<()> {
    savant_sdk_core::transport::SocketSpec::parse_writer(&a.socket)?;
    let files = inputs::expand(&a.files)?;
    // Read every header before sending anything: a bad file fails early.
    let duration = 1_000_000_000 * a.fps.1 / a.fps.0;
    let mut frames = Vec::with_capacity(files.len());
    for f in &files {
        frames.push(inputs::frame(&a.source_id, f, 0, a.fps)?);
    }
    let mut builder = a.trace.apply(SourceBuilder::new(&a.socket));
    if let Some(url) = &a.healthcheck_url {
        builder = builder.healthcheck(
            url,
            Duration::from_secs_f64(a.healthcheck_timeout),
            Duration::from_millis(500),
        );
    }
    let source = builder.build().await?;
    let mut index = 0i64;
    for _ in 0..a.repeat {
        for (file, frame) in files.iter().zip(&frames) {
            let mut frame = frame.clone();
            frame.frame.pts = index * duration;
            let bytes = frame.content.len();
            let r = source.send(frame).await?;
            emit(line(&r, Some(&file.display().to_string()), Some(bytes)));
            index += 1;
        }
    }
    if !a.no_eos {
        let r = source.send_eos(&a.source_id).await?;
        emit(line(&r, None, None));
    }
    source.close().await;
    Ok(())
}
