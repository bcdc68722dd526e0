//! `savant-sdk receive`: one JSON line per message received.

use std::time::Duration;

use anyhow::Result;
use clap::Args;
use savant_sdk_core::client::SinkBuilder;
use savant_sdk_core::model::MessagePayload;
use savant_sdk_core::sink::SinkResult;
use serde_json::json;

use crate::emit;

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
    let mut builder =
        SinkBuilder::new(&a.socket).idle_timeout(Duration::from_secs_f64(a.idle_timeout));
    if let Some(s) = &a.source_id {
        builder = builder.source_id(s);
    }
    if let Some(p) = &a.source_id_prefix {
        builder = builder.source_id_prefix(p);
    }
    let mut sink = builder.build().await?;
    let (mut n, mut eos) = (0u64, 0u64);
    while let Some(r) = sink.next().await {
        let r = r?;
        emit(describe(&r));
        n += 1;
        eos += u64::from(r.is_end_of_stream());
        if a.count.is_some_and(|c| n >= c) || a.eos_count.is_some_and(|c| eos >= c) {
            break;
        }
    }
    sink.close().await;
    Ok(())
}
