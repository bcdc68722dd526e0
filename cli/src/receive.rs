//! `savant-sdk receive`: one JSON line per message received, and
//! optionally the images, metadata, annotated frames and video files on
//! disk.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use savant_sdk_core::client::{SinkBuilder, TraceMatcher};
use savant_sdk_core::model::MessagePayload;
use savant_sdk_core::sink::{Sink, SinkResult};
use savant_sdk_core::telemetry::TraceId;
use savant_sdk_sinks::{AnnotatedFrameSink, FanOut, ImageFilesSink, MetadataJsonSink};
use serde_json::json;

use crate::emit;
use crate::progress::Progress;
use crate::protocol::AcceptArgs;
use crate::telemetry::TelemetryArgs;

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
    /// Mux encoded video frames (H.264, HEVC, ...) into
    /// DIR/<source_id>/<first pts>.mp4, a new file at each EOS or parameter
    /// change, with the frame metadata beside each as .jsonl.
    #[cfg(feature = "gstreamer")]
    #[arg(long, value_name = "DIR")]
    out_video: Option<PathBuf>,
    /// The container of --out-video: mp4 or mkv.
    #[cfg(feature = "gstreamer")]
    #[arg(long, value_name = "mp4|mkv", default_value = "mp4")]
    video_container: savant_sdk_sinks::VideoContainer,
    /// Also start a new --out-video file at the first keyframe after every
    /// N seconds (of pts).
    #[cfg(feature = "gstreamer")]
    #[arg(long, value_name = "N")]
    chunk_seconds: Option<f64>,
    /// Match received frames by trace id with the JSON lines `send` printed
    /// to FILE (read when receiving ends); then print each frame's
    /// round-trip latency and the frames that never came back.
    #[arg(long, value_name = "FILE")]
    match_sent: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) accept: AcceptArgs,
    #[command(flatten)]
    pub(crate) telemetry: TelemetryArgs,
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
        "protocol_version": r.message.protocol_version,
        "generation": r.message.generation().map(|g| g.name()),
        "trace_id": r.trace_id.map(|t| t.to_string()),
        "codec": frame.and_then(|f| f.codec.clone()),
        "width": frame.map(|f| f.width),
        "height": frame.map(|f| f.height),
        "content_bytes": r.content.as_ref().map_or(0, |c| c.len()),
        "attributes": attributes,
        "objects": frame.map_or(0, |f| f.objects.len()),
    })
}

/// A frame `send` reported: trace id, source id, pts, sent at (unix us).
type SentFrame = (TraceId, String, Option<i64>, u64);

/// Reads `send`'s JSON lines.
fn read_sent(path: &std::path::Path) -> Result<Vec<SentFrame>> {
    use anyhow::Context;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut sent = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not a JSON line", path.display(), i + 1))?;
        if v["kind"] != "frame" {
            continue;
        }
        let (Some(t), Some(at)) = (v["trace_id"].as_str(), v["sent_at_us"].as_u64()) else {
            continue;
        };
        let t = TraceId::from_hex(t)
            .map_err(|_| anyhow::anyhow!("{}:{}: bad trace id {t:?}", path.display(), i + 1))?;
        sent.push((
            t,
            v["source_id"].as_str().unwrap_or_default().to_string(),
            v["pts"].as_i64(),
            at,
        ));
    }
    Ok(sent)
}

/// Milliseconds to the microsecond (`8.802`, never `8.802000000000001`).
fn millis(d: Option<std::time::Duration>) -> Option<f64> {
    d.map(|d| d.as_micros() as f64 / 1e3)
}

fn report(matcher: &TraceMatcher) {
    let r = matcher.report();
    for f in &r.frames {
        emit(json!({
            "event": "match",
            "trace_id": f.trace_id.to_string(),
            "source_id": f.source_id,
            "pts": f.pts,
            "latency_ms": millis(f.latency),
        }));
    }
    let ms = millis;
    emit(json!({
        "event": "match_summary",
        "sent": r.frames.len(),
        "received": r.received(),
        "missing": r.missing().iter().map(|f| f.trace_id.to_string()).collect::<Vec<_>>(),
        "p50_ms": ms(r.latency_quantile(0.5)),
        "p99_ms": ms(r.latency_quantile(0.99)),
    }));
}

/// Matches arrivals (trace id, unix us) with what `send` printed to `path`.
fn match_sent(path: &std::path::Path, arrivals: &[(TraceId, u64)]) -> Result<TraceMatcher> {
    let m = TraceMatcher::new();
    // wall-clock times onto one monotonic base
    let (now, wall) = (std::time::Instant::now(), crate::send::unix_micros());
    let at = |us: u64| {
        let ago = std::time::Duration::from_micros(wall.saturating_sub(us));
        now.checked_sub(ago).unwrap_or(now)
    };
    for (t, s, pts, sent) in read_sent(path)? {
        m.sent_at(t, &s, pts, at(sent));
    }
    for (t, received) in arrivals {
        m.received_at(*t, at(*received));
    }
    Ok(m)
}

pub async fn run(a: ReceiveArgs, _telemetry: savant_sdk_core::telemetry::Telemetry) -> Result<()> {
    // arrivals are recorded as they come; the sent file is read at the end,
    // so `send` may write it while this runs
    let mut arrivals: Vec<(TraceId, u64)> = Vec::new();
    // Output folders are checked before anything is received.
    let mut sinks = FanOut::new();
    if let Some(dir) = &a.out_images {
        sinks = sinks.with(ImageFilesSink::new(dir)?);
    }
    if let Some(dir) = &a.out_annotated {
        sinks = sinks.with(AnnotatedFrameSink::new(dir)?);
    }
    #[cfg(feature = "gstreamer")]
    if let Some(dir) = &a.out_video {
        let chunk = match a.chunk_seconds {
            Some(s) if !(s.is_finite() && s > 0.0) => {
                anyhow::bail!("--chunk-seconds must be a positive number of seconds, not {s}")
            }
            s => s.map(Duration::from_secs_f64),
        };
        sinks = sinks.with(
            savant_sdk_sinks::VideoFileSink::builder(dir)
                .container(a.video_container)
                .chunk_duration(chunk)
                .build()?,
        );
    }
    let json_to_stdout = a.out_json.as_deref() == Some("-");
    match a.out_json.as_deref() {
        Some("-") => sinks = sinks.with(MetadataJsonSink::stdout()),
        Some(path) => sinks = sinks.with(MetadataJsonSink::file(path)?),
        None => {}
    }
    let mut builder = SinkBuilder::new(&a.socket)
        .idle_timeout(Duration::from_secs_f64(a.idle_timeout))
        .version_policy(a.accept.accept_version.clone());
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
        if let (Some(_), Some(t)) = (&a.match_sent, r.trace_id) {
            arrivals.push((t, crate::send::unix_micros()));
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
    let refused = runner.stats().version_refused;
    if refused > 0 {
        eprintln!(
            "savant-sdk: {refused} messages dropped for their protocol version (accepting {:?}; see --accept-version)",
            a.accept.accept_version
        );
    }
    if let Some(path) = &a.match_sent {
        report(&match_sent(path, &arrivals)?);
    }
    sinks.finish().await?;
    runner.close().await;
    Ok(())
}
