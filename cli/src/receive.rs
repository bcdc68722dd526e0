//! `savant-sdk receive`: one JSON line per message received, and
//! optionally the images, metadata, annotated frames and video files on
//! disk. A thin layer over the SDK's pipeline runner: every sink runs in
//! the frame's trace span, and SIGINT or SIGTERM finishes every sink
//! (files flushed) before the exit.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;
use savant_sdk_core::client::{SinkBuilder, TraceMatcher};
use savant_sdk_core::model::MessagePayload;
use savant_sdk_core::pipeline::{Pipeline, PipelineObserver};
use savant_sdk_core::sink::{Sink, SinkResult};
use savant_sdk_core::telemetry::TraceId;
use savant_sdk_sinks::{AnnotatedFrameSink, ImageFilesSink, MetadataJsonSink};
use serde_json::json;

use crate::emit;
use crate::output::{emit_serialized, AsStr};
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
    /// Write frames with their objects drawn to DIR/<source_id>/<pts>.png
    /// (JPEG and PNG frames; with GStreamer also H.264, HEVC, VP8, VP9, AV1).
    #[arg(long, value_name = "DIR")]
    out_annotated: Option<PathBuf>,
    /// Decode frames of any codec, draw their objects and re-encode them as
    /// H.264 into DIR/<source_id>/<first pts>.mp4 (--video-container).
    #[cfg(feature = "gstreamer")]
    #[arg(long, value_name = "DIR")]
    out_annotated_video: Option<PathBuf>,
    #[cfg(feature = "rtsp-server")]
    #[command(flatten)]
    rtsp: RtspOutArgs,
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

/// The always-on RTSP output of `receive`.
#[cfg(feature = "rtsp-server")]
#[derive(Debug, clap::Args)]
pub(crate) struct RtspOutArgs {
    /// Serve each source id at rtsp://HOST:PORT/stream/<source_id>:
    /// re-encoded H.264 at a constant frame rate, a stub picture while the
    /// source sends nothing (0: any free port; the URL is printed).
    #[arg(long, value_name = "PORT")]
    out_rtsp: Option<u16>,
    /// The address the RTSP output listens on (0.0.0.0: players on other
    /// machines too; there is no authentication).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1",
        requires = "out_rtsp"
    )]
    rtsp_address: String,
    /// The RTSP output's frame rate, NUM/DEN.
    #[arg(
        long,
        value_name = "NUM/DEN",
        default_value = "30/1",
        requires = "out_rtsp"
    )]
    rtsp_framerate: String,
    /// The RTSP output's H.264 bitrate, kbit/s.
    #[arg(
        long,
        value_name = "KBPS",
        default_value_t = 4000,
        requires = "out_rtsp"
    )]
    rtsp_bitrate: u32,
    /// Seconds without a frame before the stub picture shows.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 1.0,
        requires = "out_rtsp"
    )]
    rtsp_max_delay: f64,
    /// The stub picture (JPEG or PNG); default: a generated "no signal"
    /// frame with the source id and the time.
    #[arg(long, value_name = "FILE", requires = "out_rtsp")]
    rtsp_stub: Option<PathBuf>,
    /// The RTSP output's picture size, WIDTHxHEIGHT (default: each source's
    /// first frame's).
    #[arg(long, value_name = "WxH", requires = "out_rtsp")]
    rtsp_size: Option<String>,
    /// Draw the objects on the RTSP output.
    #[arg(long, requires = "out_rtsp")]
    rtsp_annotate: bool,
}

#[cfg(feature = "rtsp-server")]
impl RtspOutArgs {
    /// The sink, when --out-rtsp is given.
    fn sink(&self) -> Result<Option<savant_sdk_sinks::AlwaysOnRtspSink>> {
        let Some(port) = self.out_rtsp else {
            return Ok(None);
        };
        let (n, d) = savant_sdk_sinks::always_on_rtsp::parse_framerate(&self.rtsp_framerate)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--rtsp-framerate must be NUM/DEN with both positive, not {:?}",
                    self.rtsp_framerate
                )
            })?;
        if !(self.rtsp_max_delay.is_finite()
            && self.rtsp_max_delay > 0.0
            && self.rtsp_max_delay < 1e6)
        {
            anyhow::bail!(
                "--rtsp-max-delay must be a positive number of seconds, not {}",
                self.rtsp_max_delay
            );
        }
        let mut settings = savant_sdk_sinks::AlwaysOnRtspSink::builder(port)
            .address(&self.rtsp_address)
            .framerate(n, d)
            .bitrate_kbps(self.rtsp_bitrate)
            .max_delay(Duration::from_secs_f64(self.rtsp_max_delay))
            .annotate(self.rtsp_annotate);
        if let Some(size) = &self.rtsp_size {
            let (w, h) = size
                .split_once(['x', 'X'])
                .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
                .filter(|(w, h)| *w >= 2 && *h >= 2)
                .ok_or_else(|| anyhow::anyhow!("--rtsp-size must be WIDTHxHEIGHT, not {size:?}"))?;
            settings = settings.size(w, h);
        }
        if let Some(stub) = &self.rtsp_stub {
            settings = settings.stub_file(stub)?;
        }
        let sink = settings.build()?;
        println!(
            "{}",
            json!({"event": "rtsp_output", "port": sink.port(), "url": format!("{}/stream/<source_id>", sink.base_url())})
        );
        Ok(Some(sink))
    }
}

/// An attribute's `namespace/name`.
struct AttributeName<'a>(&'a str, &'a str);

impl std::fmt::Display for AttributeName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.0, self.1)
    }
}

/// The attributes of a frame or user data, as `namespace/name` strings.
struct AttributeNames<'a>(&'a [savant_sdk_core::model::Attribute]);

impl serde::Serialize for AttributeNames<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.0
                .iter()
                .map(|a| AsStr(AttributeName(&a.namespace, &a.name))),
        )
    }
}

/// `receive`'s line per message (keys in the order `serde_json::Value`
/// printed them), written without a `Value` or a `String` made for it.
#[derive(serde::Serialize)]
pub(crate) struct Described<'a> {
    attributes: AttributeNames<'a>,
    codec: Option<&'a str>,
    content_bytes: usize,
    event: &'static str,
    generation: Option<&'static str>,
    height: Option<i64>,
    kind: &'static str,
    objects: usize,
    protocol_version: &'a str,
    pts: Option<i64>,
    seq_id: u64,
    source_id: &'a str,
    trace_id: Option<AsStr<TraceId>>,
    width: Option<i64>,
}

pub(crate) fn describe(r: &SinkResult) -> Described<'_> {
    let frame = r.frame();
    let attributes = match &r.message.payload {
        MessagePayload::VideoFrame(f) => &f.attributes[..],
        MessagePayload::UserData(u) => &u.attributes[..],
        _ => &[],
    };
    Described {
        attributes: AttributeNames(attributes),
        codec: frame.and_then(|f| f.codec.as_deref()),
        content_bytes: r.content.as_ref().map_or(0, |c| c.len()),
        event: "received",
        generation: r.message.generation().map(|g| g.name()),
        height: frame.map(|f| f.height),
        kind: r.kind(),
        objects: frame.map_or(0, |f| f.objects.len()),
        protocol_version: &r.message.protocol_version,
        pts: r.pts(),
        seq_id: r.message.seq_id,
        source_id: r.source_id(),
        trace_id: r.trace_id.map(AsStr),
        width: frame.map(|f| f.width),
    }
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

fn report_matches(matcher: &TraceMatcher) {
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

/// Failures are reported by the exit line, once; a signal flushes the lines.
struct Quiet;
impl PipelineObserver for Quiet {
    fn on_signal(&self, _signal: &'static str) {
        crate::output::flush();
    }
}

/// Arrivals (trace id, unix us), recorded as they come: the sent file is
/// read at the end, so `send` may write it while this runs.
type Arrivals = Arc<Mutex<Vec<(TraceId, u64)>>>;

/// The per-message JSON lines, the arrivals for `--match-sent` and the
/// progress line, as a sink (the first of the reader's).
struct ReceiveLines {
    print: bool,
    arrivals: Option<Arrivals>,
    progress: Progress,
}

#[savant_sdk_core::async_trait]
impl Sink for ReceiveLines {
    async fn consume(&mut self, r: SinkResult) -> savant_sdk_core::Result<()> {
        if let (true, Some(gap)) = (self.print, r.seq_gap) {
            // loss shows where it happens, as an event of its own
            emit(json!({
                "event": "gap",
                "source_id": r.source_id(),
                "expected": gap.expected,
                "got": gap.got,
                "lost": gap.lost(),
            }));
        }
        if self.print {
            emit_serialized(&describe(&r));
        }
        // inside the runner's span of the result: joins the frame's trace
        tracing::debug!(source_id = %r.source_id(), kind = r.kind(), "received");
        if let (Some(arrivals), Some(t)) = (&self.arrivals, r.trace_id) {
            arrivals
                .lock()
                .expect("not poisoned")
                .push((t, crate::send::unix_micros()));
        }
        if r.frame().is_some() {
            self.progress
                .frame(r.content.as_ref().map_or(0, |c| c.len()));
        }
        Ok(())
    }

    async fn finish(&mut self) -> savant_sdk_core::Result<()> {
        self.progress.finish();
        Ok(())
    }

    fn name(&self) -> &str {
        "lines"
    }
}

pub async fn run(a: ReceiveArgs, _telemetry: savant_sdk_core::telemetry::Telemetry) -> Result<()> {
    // Output folders are checked before anything is received.
    let json_to_stdout = a.out_json.as_deref() == Some("-");
    let arrivals = a.match_sent.as_ref().map(|_| Arrivals::default());
    let mut sinks: Vec<(String, Box<dyn Sink>)> = vec![(
        "lines".into(),
        Box::new(ReceiveLines {
            print: !json_to_stdout,
            arrivals: arrivals.clone(),
            progress: Progress::new("received"),
        }),
    )];
    if let Some(dir) = &a.out_images {
        sinks.push(("images".into(), Box::new(ImageFilesSink::new(dir)?)));
    }
    if let Some(dir) = &a.out_annotated {
        sinks.push(("annotated".into(), Box::new(AnnotatedFrameSink::new(dir)?)));
    }
    #[cfg(feature = "gstreamer")]
    if let Some(dir) = &a.out_annotated_video {
        let sink = savant_sdk_sinks::AnnotatedVideoSink::builder(dir)
            .container(a.video_container)
            .build()?;
        sinks.push(("annotated-video".into(), Box::new(sink)));
    }
    #[cfg(feature = "rtsp-server")]
    if let Some(sink) = a.rtsp.sink()? {
        sinks.push(("rtsp".into(), Box::new(sink)));
    }
    #[cfg(feature = "gstreamer")]
    if let Some(dir) = &a.out_video {
        let chunk = match a.chunk_seconds {
            Some(s) if !(s.is_finite() && s > 0.0) => {
                anyhow::bail!("--chunk-seconds must be a positive number of seconds, not {s}")
            }
            s => s.map(Duration::from_secs_f64),
        };
        let sink = savant_sdk_sinks::VideoFileSink::builder(dir)
            .container(a.video_container)
            .chunk_duration(chunk)
            .build()?;
        sinks.push(("video".into(), Box::new(sink)));
    }
    match a.out_json.as_deref() {
        Some("-") => sinks.push(("json".into(), Box::new(MetadataJsonSink::stdout()))),
        Some(path) => sinks.push(("json".into(), Box::new(MetadataJsonSink::file(path)?))),
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
    if let Some(n) = a.count {
        builder = builder.stop_after_messages(n);
    }
    if let Some(n) = a.eos_count {
        builder = builder.stop_after_eos(n);
    }
    let runner = builder.build().await?;
    let mut pipeline = Pipeline::new();
    pipeline
        .reader(&a.socket, runner, sinks)
        .observer(Arc::new(Quiet))
        .stop_on_signals();
    let report = pipeline.run().await;
    let reader = &report.readers[0];
    if reader.version_refused > 0 {
        eprintln!(
            "savant-sdk: {} messages dropped for their protocol version (accepting {:?}; see --accept-version)",
            reader.version_refused, a.accept.accept_version
        );
    }
    crate::output::flush();
    if reader.seq_gaps > 0 {
        eprintln!(
            "savant-sdk: {} messages lost in {} gaps of the sources' seq ids",
            reader.lost, reader.seq_gaps
        );
    }
    if let (Some(path), Some(arrivals)) = (&a.match_sent, &arrivals) {
        let arrivals = arrivals.lock().expect("not poisoned").clone();
        report_matches(&match_sent(path, &arrivals)?);
    }
    if let Some(e) = &reader.error {
        bail!("{e}");
    }
    let failed: Vec<String> = reader
        .sinks
        .iter()
        .filter_map(|s| s.outcome.error().map(|e| format!("sink {}: {e}", s.name)))
        .collect();
    if !failed.is_empty() {
        bail!("{}", failed.join("; "));
    }
    Ok(())
}
