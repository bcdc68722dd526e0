//! `savant-sdk send`: images, video files or RTSP cameras to a module, one
//! JSON line per message sent. A thin layer over the SDK's pipeline
//! runner: SIGINT and SIGTERM end the stream with its EOS.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use savant_sdk_core::client::{FinalEos, SourceBuilder, SourceResult, SourceRunner};
use savant_sdk_core::pipeline::{Pipeline, PipelineObserver, SourceOutcome};
use savant_sdk_core::source::{IterSource, Source, SourceItem};
use savant_sdk_core::telemetry::{Telemetry, TraceId};
use savant_sdk_sources::{MultiStreamSource, SourceExt};

use crate::output::{emit_serialized, AsStr};
use crate::progress::Progress;
use crate::protocol::ProtocolArgs;
use crate::send_video::{CurrentInput, VideoSend};
use crate::telemetry::TelemetryArgs;
use crate::{inputs, parse_fps, TraceFormat};

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
    /// Seconds to wait for the module's `OK` (after an EOS; over req after
    /// every message), as Savant's writer (default 5).
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    ack_timeout: f64,
    /// Further waits for `OK` after a timeout (default 3, as Savant's
    /// writer). Over req each one first sends the message again (the
    /// module may have restarted), and the resends are counted.
    #[arg(long, value_name = "N", default_value_t = 3)]
    ack_retries: u32,
    /// Do not send EOS after the last frame.
    #[arg(long)]
    no_eos: bool,
    /// Send the one input (a video file or an image folder) as this many
    /// streams, source ids from --source-id-pattern: read once, frames
    /// interleaved round robin, an EOS per stream.
    #[arg(long, requires = "source_id_pattern", conflicts_with_all = ["loop", "repeat", "no_eos"])]
    streams: Option<usize>,
    /// Source ids of --streams: this pattern with its one %d replaced by
    /// 0..N-1 (e.g. cam-%d).
    #[arg(long, requires = "streams")]
    source_id_pattern: Option<String>,
    /// Drop each frame with this probability, in [0, 1), before it is sent
    /// (a lossy link, for tests of a module); the count is printed at the end.
    #[arg(long, value_name = "P", value_parser = parse_loss_rate, allow_negative_numbers = true)]
    loss_rate: Option<f64>,
    /// Seed of --loss-rate: the same seed drops the same frames (default:
    /// from the clock, printed at the end).
    #[arg(long, requires = "loss_rate")]
    seed: Option<u64>,
    /// After the last EOS, send one Shutdown message with this auth (a
    /// module whose shutdown_auth matches stops).
    #[arg(long, value_name = "AUTH", conflicts_with_all = ["loop", "no_eos"])]
    shutdown_auth: Option<String>,
    /// JPEG/PNG files or folders of them; or video files (MP4/MOV, MKV/WebM,
    /// MPEG-TS, AVI), folders of them, file:// or rtsp:// URLs.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// A loss rate: a probability in [0, 1).
fn parse_loss_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    savant_sdk_sources::check_loss_rate(rate).map_err(|e| e.to_string())
}

/// `send`'s line per message sent (keys in the order `serde_json::Value`
/// printed them).
#[derive(serde::Serialize)]
pub(crate) struct SentLine<'a> {
    content_bytes: Option<usize>,
    event: &'static str,
    file: Option<&'a str>,
    kind: &'static str,
    pts: Option<i64>,
    resends: u32,
    sent_at_us: u64,
    source_id: &'a str,
    trace_id: Option<AsStr<TraceId>>,
}

pub(crate) fn line<'a>(
    r: &'a SourceResult,
    file: Option<&'a str>,
    content_bytes: Option<usize>,
) -> SentLine<'a> {
    SentLine {
        content_bytes,
        event: "sent",
        file,
        kind: r.kind,
        pts: r.pts,
        resends: r.status.resends(),
        sent_at_us: unix_micros(),
        source_id: &r.source_id,
        trace_id: r.trace_id.map(AsStr),
    }
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
        .protocol_version(a.protocol.version())
        .ack_timeout(Duration::try_from_secs_f64(a.ack_timeout).context("--ack-timeout")?)
        .ack_retries(a.ack_retries);
    if let Some(url) = &a.healthcheck_url {
        builder = builder.healthcheck(
            url,
            Duration::from_secs_f64(a.healthcheck_timeout),
            Duration::from_millis(500),
        );
    }
    Ok(builder.build().await?)
}

/// Which input a sent message came from.
enum Names {
    /// Image files: the n-th frame is file `n % len` (round after round).
    Files(Vec<String>),
    /// Video: the input the source gave each item from, noted as the
    /// source made it ([`NoteInputs`]; the results come later, in the
    /// same order), else the current one.
    Noted { current: CurrentInput, noted: Noted },
}

impl Names {
    fn noted(current: CurrentInput) -> Self {
        Names::Noted {
            current,
            noted: Noted::default(),
        }
    }
}

/// The input of each item made and not yet reported, oldest first (as
/// many as the runner keeps in flight at most).
type Noted = Arc<Mutex<VecDeque<Arc<str>>>>;

/// Notes the input each item comes from as the source makes it: the
/// runner reports an item's result after it has asked for more (the
/// stream is pipelined), when the current input may be the next one.
struct NoteInputs<S> {
    inner: S,
    current: CurrentInput,
    noted: Noted,
}

#[savant_sdk_core::async_trait]
impl<S: Source> Source for NoteInputs<S> {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        let item = self.inner.next().await?;
        if item.is_some() {
            let name = self.current.lock().expect("not poisoned").clone();
            self.noted.lock().expect("not poisoned").push_back(name);
        }
        Ok(item)
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

/// `send`'s JSON line per message and its progress line.
struct SendLines {
    names: Names,
    frames: AtomicU64,
    /// Messages sent again after no acknowledgement came (req).
    resends: AtomicU64,
    progress: Mutex<Progress>,
}

impl PipelineObserver for SendLines {
    fn on_sent(&self, _source: &str, r: &SourceResult) {
        let frame = r.kind == "frame";
        let index = if frame {
            self.frames.fetch_add(1, Ordering::Relaxed) as usize
        } else {
            0
        };
        let bytes = frame.then_some(r.content_bytes);
        let resends = r.status.resends();
        if resends > 0 {
            self.resends
                .fetch_add(u64::from(resends), Ordering::Relaxed);
        }
        if let Some(b) = bytes {
            self.progress.lock().expect("not poisoned").frame(b);
        }
        match &self.names {
            Names::Files(names) if frame => {
                emit_serialized(&line(r, Some(&names[index % names.len()]), bytes))
            }
            Names::Files(_) => emit_serialized(&line(r, None, bytes)),
            Names::Noted { current, noted } => {
                // the final EOS the runner adds were not made by the source
                let name = noted.lock().expect("not poisoned").pop_front();
                let name = name.unwrap_or_else(|| current.lock().expect("not poisoned").clone());
                emit_serialized(&line(r, Some(&name), bytes))
            }
        }
    }

    fn on_signal(&self, _signal: &'static str) {
        crate::output::flush();
    }
}

/// Holds each EOS back until a frame follows it, so the last one is
/// never sent (`--no-eos`; with [`FinalEos::Skip`] nothing else ends the
/// stream either).
struct HoldLastEos<S> {
    inner: S,
    held: Option<String>,
    next_frame: Option<SourceItem>,
}

#[savant_sdk_core::async_trait]
impl<S: Source> Source for HoldLastEos<S> {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        if let Some(item) = self.next_frame.take() {
            return Ok(Some(item));
        }
        loop {
            match self.inner.next().await? {
                Some(SourceItem::EndOfStream(id)) => self.held = Some(id),
                Some(item) => match self.held.take() {
                    Some(id) => {
                        self.next_frame = Some(item);
                        return Ok(Some(SourceItem::EndOfStream(id)));
                    }
                    None => return Ok(Some(item)),
                },
                None => return Ok(None),
            }
        }
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

pub async fn run(a: SendArgs, telemetry: Telemetry) -> Result<()> {
    savant_sdk_core::transport::SocketSpec::parse_writer(&a.socket)?;
    let video_inputs = a
        .files
        .iter()
        .map(|p| inputs::is_video_input(p))
        .collect::<Result<Vec<bool>>>()?;
    // Every input is opened (or read) before connecting: a bad file fails early.
    let mut shutdown_topic = a.source_id.clone();
    let (source, names): (Box<dyn Source>, Names) = if let Some(streams) = a.streams {
        let [input] = a.files.as_slice() else {
            bail!("--streams sends one input (a video file or an image folder)");
        };
        let pattern = a.source_id_pattern.as_deref().unwrap_or_default();
        let source = MultiStreamSource::open(input, a.fps, streams, pattern)?.pace(a.pace);
        shutdown_topic.clone_from(&source.source_ids()[0]);
        let name: CurrentInput = Arc::new(Mutex::new(input.display().to_string().into()));
        (Box::new(source), Names::noted(name))
    } else if video_inputs.iter().any(|v| *v) {
        let video = VideoSend {
            inputs: &a.files,
            source_id: &a.source_id,
            looped: a.r#loop,
            repeat: a.repeat,
            pace: a.pace,
        };
        let opened = crate::send_video::open(&video)?;
        (opened.source, Names::noted(opened.current))
    } else {
        let files = inputs::expand(&a.files)?;
        let duration = 1_000_000_000 * a.fps.1 / a.fps.0;
        let mut frames = Vec::with_capacity(files.len());
        for (i, f) in files.iter().enumerate() {
            let mut frame = inputs::frame(&a.source_id, f, 0, a.fps)?;
            frame.frame.pts = i as i64 * duration;
            frames.push(SourceItem::Frame(frame));
        }
        let rounds = if a.r#loop { None } else { Some(a.repeat) };
        let frames = IterSource::new(frames.into_iter()).repeat(rounds);
        let source: Box<dyn Source> = if a.pace {
            Box::new(frames.pace())
        } else {
            Box::new(frames)
        };
        let names = files.iter().map(|f| f.display().to_string()).collect();
        (source, Names::Files(names))
    };
    let mut loss = None;
    let source: Box<dyn Source> = match a.loss_rate {
        Some(rate) => {
            let seed = a.seed.unwrap_or_else(unix_micros);
            let lossy = source.lossy(rate, seed)?;
            loss = Some((lossy.dropped_counter(), rate, seed));
            Box::new(lossy)
        }
        None => source,
    };
    let (source, final_eos): (Box<dyn Source>, FinalEos) = if a.no_eos {
        let held = HoldLastEos {
            inner: source,
            held: None,
            next_frame: None,
        };
        (Box::new(held), FinalEos::Skip)
    } else {
        (source, FinalEos::Send)
    };
    let source: Box<dyn Source> = match &names {
        Names::Noted { current, noted } => Box::new(NoteInputs {
            inner: source,
            current: current.clone(),
            noted: noted.clone(),
        }),
        Names::Files(_) => source,
    };
    let runner = connect(&a, telemetry).await?;
    let shutdown_runner = a.shutdown_auth.as_ref().map(|_| runner.clone());
    let lines = Arc::new(SendLines {
        names,
        frames: AtomicU64::new(0),
        resends: AtomicU64::new(0),
        progress: Mutex::new(Progress::new("sent")),
    });
    let mut pipeline = Pipeline::new();
    pipeline
        .source_ending("send", runner, source, final_eos)
        .observer(lines.clone())
        .stop_on_signals();
    let report = pipeline.run().await;
    lines.progress.lock().expect("not poisoned").finish();
    let frames = lines.frames.load(Ordering::Relaxed);
    let resends = lines.resends.load(Ordering::Relaxed);
    if resends > 0 {
        eprintln!(
            "savant-sdk: {resends} resends of messages whose acknowledgement did not come \
             within --ack-timeout (the module may have restarted; it may have them twice)"
        );
    }
    if let Some((dropped, rate, seed)) = loss {
        let dropped = dropped.load(Ordering::Relaxed);
        eprintln!(
            "savant-sdk: dropped {dropped} of {} frames (loss rate {rate}, seed {seed})",
            frames + dropped
        );
    }
    match &report.sources[0].outcome {
        SourceOutcome::Completed => {
            if let (Some(runner), Some(auth)) = (shutdown_runner, &a.shutdown_auth) {
                let r = runner.send_shutdown(&shutdown_topic, auth).await?;
                emit_serialized(&line(&r, None, None));
                runner.close().await;
            }
            Ok(())
        }
        SourceOutcome::Stopped => {
            eprintln!("savant-sdk: interrupted after {frames} frames");
            Ok(())
        }
        failed => bail!("{}", failed.error().unwrap_or(failed.kind())),
    }
}
