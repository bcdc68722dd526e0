//! `savant-sdk send`: images, video files or RTSP cameras to a module, one
//! JSON line per message sent.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use savant_sdk_core::client::{SourceBuilder, SourceResult, SourceRunner};
use savant_sdk_core::source::{IterSource, Source, SourceItem};
use savant_sdk_core::telemetry::Telemetry;
use savant_sdk_sources::SourceExt;
use serde_json::json;

use crate::progress::Progress;
use crate::protocol::ProtocolArgs;
use crate::send_video::VideoSend;
use crate::telemetry::TelemetryArgs;
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
    /// Send the inputs this many times, images and video alike (pts keep
    /// increasing, round after round).
    #[arg(long, default_value_t = 1, conflicts_with = "loop")]
    repeat: u64,
    /// Send the inputs again and again until interrupted (Ctrl-C sends EOS and exits).
    #[arg(long = "loop")]
    r#loop: bool,
    /// Send in real time: one frame per frame duration, by pts (video: by its timestamps).
    #[arg(long)]
    pace: bool,
    /// Per-frame trace propagation format (default jaeger, `uber-trace-id`,
    /// as Savant; w3c for `traceparent`).
    #[arg(long, value_enum, default_value_t = TraceFormat::Jaeger)]
    pub(crate) trace: TraceFormat,
    #[command(flatten)]
    pub(crate) protocol: ProtocolArgs,
    #[command(flatten)]
    pub(crate) telemetry: TelemetryArgs,
    /// Wait until this module health endpoint says "running".
    #[arg(long)]
    healthcheck_url: Option<String>,
    /// Seconds to wait for the health endpoint.
    #[arg(long, default_value_t = 60.0)]
    healthcheck_timeout: f64,
    /// Do not send EOS after the last frame.
    #[arg(long)]
    no_eos: bool,
    /// JPEG/PNG files or folders of them; or video files (MP4/MOV, MKV/WebM,
    /// MPEG-TS, AVI), folders of them, file:// or rtsp:// URLs.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub(crate) fn line(
    r: &SourceResult,
    file: Option<&str>,
    content_bytes: Option<usize>,
) -> serde_json::Value {
    json!({
        "event": "sent",
        "kind": r.kind,
        "source_id": r.source_id,
        "pts": r.pts,
        "trace_id": r.trace_id.map(|t| t.to_string()),
        "file": file,
        "content_bytes": content_bytes,
        "sent_at_us": unix_micros(),
    })
}

/// Wall-clock time in microseconds since the UNIX epoch (for matching
/// with `receive --match-sent`).
pub(crate) fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

async fn connect(a: &SendArgs, telemetry: Telemetry) -> Result<SourceRunner> {
    let mut builder = SourceBuilder::new(&a.socket)
        .telemetry(telemetry)
        .protocol_version(a.protocol.version());
    if let Some(url) = &a.healthcheck_url {
        builder = builder.healthcheck(
            url,
            Duration::from_secs_f64(a.healthcheck_timeout),
            Duration::from_millis(500),
        );
    }
    Ok(builder.build().await?)
}

pub async fn run(a: SendArgs, telemetry: Telemetry) -> Result<()> {
    savant_sdk_core::transport::SocketSpec::parse_writer(&a.socket)?;
    let video_inputs = a
        .files
        .iter()
        .map(|p| inputs::is_video_input(p))
        .collect::<Result<Vec<bool>>>()?;
    if video_inputs.iter().any(|v| *v) {
        let video = VideoSend {
            inputs: &a.files,
            source_id: &a.source_id,
            looped: a.r#loop,
            repeat: a.repeat,
            pace: a.pace,
            no_eos: a.no_eos,
        };
        // Open the inputs before connecting: a bad file fails early.
        let opened = crate::send_video::open(&video)?;
        let runner = connect(&a, telemetry).await?;
        return crate::send_video::run(video, opened, runner).await;
    }
    let files = inputs::expand(&a.files)?;
    // Read every header before sending anything: a bad file fails early.
    let duration = 1_000_000_000 * a.fps.1 / a.fps.0;
    let mut frames = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let mut frame = inputs::frame(&a.source_id, f, 0, a.fps)?;
        frame.frame.pts = i as i64 * duration;
        frames.push(SourceItem::Frame(frame));
    }
    let runner = connect(&a, telemetry).await?;

    // Each frame carries its file as the `default/location` attribute.
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let rounds = if a.r#loop { None } else { Some(a.repeat) };
    let frames = IterSource::new(frames.into_iter()).repeat(rounds);
    let mut source: Box<dyn Source> = if a.pace {
        Box::new(frames.pace())
    } else {
        Box::new(frames)
    };
    let mut progress = Progress::new("sent");
    let mut index = 0usize;
    // One listener for the whole loop (SIGINT or SIGTERM): a signal that
    // arrives while a frame is being sent is kept for the next select, not
    // lost with a listener made afresh each round.
    let stop = crate::interrupted();
    tokio::pin!(stop);
    let interrupted = loop {
        let item = tokio::select! {
            item = source.next() => item?,
            _ = &mut stop => break true,
        };
        let Some(SourceItem::Frame(frame)) = item else {
            break false;
        };
        let bytes = frame.content.len();
        let r = runner.send(frame).await?;
        progress.frame(bytes);
        emit(line(&r, Some(&names[index % names.len()]), Some(bytes)));
        index += 1;
    };
    progress.finish();
    if !a.no_eos {
        let r = runner.send_eos(&a.source_id).await?;
        emit(line(&r, None, None));
    }
    runner.close().await;
    if interrupted {
        eprintln!("savant-sdk: interrupted after {index} frames");
    }
    Ok(())
}
