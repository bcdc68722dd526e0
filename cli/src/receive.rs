//! `savant-sdk receive`: one JSON line per message received, and
//! optionally the images, metadata and annotated frames on disk.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use savant_sdk_core::client::SinkBuilder;
use savant_sdk_core::model::MessagePayload;
use savant_sdk_core::sink::{Sink, SinkResult};
use savant_sdk_sinks::{AnnotatedFrameSink, FanOut, ImageFilesSink, MetadataJsonSink};
use serde_json::json;

use crate::emit;
use crate::progress::Progress;

/// Arguments of `receive`.
#[derive(Debug, Args)]
pub struct ReceiveArgs {
    /// Reader socket, Savant syntax (e.g. sub+connect:ipc:///tmp/zmq-sockets/output-video.ipc).
    #[arg(long)]
    socket: String,
    /// Only this source id (EOS of other sources still passes).
    #[arg(long, conflicts_with = "source_id_prefix")]
    source_id: Option<String>,
    /// Only source ids starting with this.
    #[arg(long)]
    source_id_prefix: Option<String>,
    /// Exit after this many seconds without a message.
    #[arg(long, default_value_t = 10.0)]
    idle_timeout: f64,
    /// Exit after this many messages.
    #[arg(long)]
    count: Option<u64>,
    /// Exit after this many EOS messages.
    #[arg(long)]
    eos_count: Option<u64>,
    /// Write each image frame to DIR/<source_id>/<pts>.<ext>.
    #[arg(long, value_name = "DIR")]
    out_images: Option<PathBuf>,
    /// Write frame metadata as JSON lines to FILE ("-": standard output,
    /// instead of the per-message lines).
    #[arg(long, value_name = "FILE")]
    out_json: Option<String>,
    /// Write frames with their objects drawn to DIR/<source_id>/<pts>.png.
    #[arg(long, value_name = "DIR")]
    out_annotated: Option<PathBuf>,
}

pub(crate) fn describe(r: &SinkResult) -> serde_json::Value {
    let frame = r.frame();
    let attributes: Vec<String> = match &r.message.payload {
        MessagePayload::VideoFrame(f) => f
            .attributes
            .iter()
            .map(|a| format!("{}/{}", a.namespace, a.name))
            .collect(),
        MessagePayload::UserData(u) => u
            .attributes
            .iter()
            .map(|a| format!("{}/{}", a.namespace, a.name))
            .collect(),
        _ => Vec::new(),
    };
    json!({
        "event": "received",
        "kind": r.kind(),
        "source_id": r.source_id(),
        "pts": r.pts(),
        "seq_id": r.message.seq_id,
        "trace_id": r.trace_id.map(|t| t.to_string()),
        "codec": frame.and_then(|f| f.codec.clone()),
        "width": frame.map(|f| f.width),
        "height": frame.map(|f| f.height),
        "content_bytes": r.content.as_ref().map_or(0, |c| c.len()),
        "attributes": attributes,
        "objects": frame.map_or(0, |f| f.objects.len()),
    })
}

pub async fn run(a: ReceiveArgs) -> Result<()> {
    // Output folders are checked before anything is received.
    let mut sinks = FanOut::new();
    if let Some(dir) = &a.out_images {
        sinks = sinks.with(ImageFilesSink::new(dir)?);
    }
    if let Some(dir) = &a.out_annotated {
        sinks = sinks.with(AnnotatedFrameSink::new(dir)?);
    }
    let json_to_stdout = a.out_json.as_deref() == Some("-");
    match a.out_json.as_deref() {
        Some("-") => sinks = sinks.with(MetadataJsonSink::stdout()),
        Some(path) => sinks = sinks.with(MetadataJsonSink::file(path)?),
        None => {}
    }
    let mut builder =
        SinkBuilder::new(&a.socket).idle_timeout(Duration::from_secs_f64(a.idle_timeout));
    if let Some(s) = &a.source_id {
        builder = builder.source_id(s);
    }
    if let Some(p) = &a.source_id_prefix {
        builder = builder.source_id_prefix(p);
    }
    let mut runner = builder.build().await?;
    let mut progress = Progress::new("received");
    let (mut n, mut eos) = (0u64, 0u64);
    while let Some(r) = runner.next().await {
        let r = r?;
        if !json_to_stdout {
            emit(describe(&r));
        }
        if r.frame().is_some() {
            progress.frame(r.content.as_ref().map_or(0, |c| c.len()));
        }
        n += 1;
        eos += u64::from(r.is_end_of_stream());
        if !sinks.is_empty() {
            sinks.consume(r).await?;
        }
        if a.count.is_some_and(|c| n >= c) || a.eos_count.is_some_and(|c| eos >= c) {
            break;
        }
    }
    progress.finish();
    sinks.finish().await?;
    runner.close().await;
    Ok(())
}
