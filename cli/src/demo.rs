//! `savant-sdk demo`: the main job on the embedded default. Starts the
//! loopback module in-process, sends generated JPEG frames through it,
//! receives them, and prints each frame's trace id and round-trip latency,
//! then a summary.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use bytes::Bytes;
use clap::Args;
use image::{Rgb, RgbImage};
use savant_sdk_core::client::{SinkBuilder, SourceBuilder, SourceResult, TraceMatcher};
use savant_sdk_core::pipeline::{Pipeline, PipelineObserver};
use savant_sdk_core::sink::{Sink, SinkResult};
use savant_sdk_core::source::{Source, SourceItem};
use savant_sdk_core::telemetry::Telemetry;
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_sources::JpegSource;

use crate::protocol::ProtocolArgs;
use crate::telemetry::TelemetryArgs;

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Frames to send.
    #[arg(long, default_value_t = 30)]
    frames: u32,
    /// Milliseconds between frames.
    #[arg(long, default_value_t = 10)]
    interval_ms: u64,
    /// Trace propagation format (default jaeger, `uber-trace-id`, as
    /// Savant; w3c for `traceparent`). The demo matches frames by trace
    /// id, so traces cannot be off here.
    #[arg(long, value_enum, default_value_t = DemoTrace::Jaeger)]
    pub(crate) trace: DemoTrace,
    #[command(flatten)]
    pub(crate) protocol: ProtocolArgs,
    #[command(flatten)]
    pub(crate) telemetry: TelemetryArgs,
}

/// The trace formats of the demo: those of `send` but `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DemoTrace {
    /// Jaeger `uber-trace-id` (Savant's default).
    Jaeger,
    /// W3C `traceparent` (opt-in in Savant).
    W3c,
}

impl DemoTrace {
    /// The propagation format.
    pub(crate) fn propagation(self) -> savant_sdk_core::telemetry::Propagation {
        use savant_sdk_core::telemetry::Propagation;
        match self {
            DemoTrace::Jaeger => Propagation::Jaeger,
            DemoTrace::W3c => Propagation::W3c,
        }
    }
}

/// A 640x360 test picture with a box that moves with `i`, as JPEG.
fn sample_jpeg(i: u32) -> Result<Bytes> {
    let (w, h) = (640u32, 360u32);
    let bx = (i * 17) % (w - 80);
    let img = RgbImage::from_fn(w, h, |x, y| {
        if x >= bx && x < bx + 80 && (140..220).contains(&y) {
            Rgb([230, 40, 40])
        } else {
            Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 96])
        }
    });
    let mut buf = Cursor::new(Vec::new());
    img.write_to(&mut buf, image::ImageFormat::Jpeg)?;
    Ok(Bytes::from(buf.into_inner()))
}

/// The demo's frames: generated pictures, `interval` apart; each frame's
/// moment of creation is kept by pts for the round trip.
struct DemoFrames {
    next: u32,
    frames: u32,
    interval: Duration,
    made_at: Arc<Mutex<HashMap<i64, Instant>>>,
}

#[savant_sdk_core::async_trait]
impl Source for DemoFrames {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        if self.next == self.frames {
            return Ok(None);
        }
        if self.next > 0 {
            tokio::time::sleep(self.interval).await;
        }
        let i = self.next;
        self.next += 1;
        let error = |e: &dyn std::fmt::Display| {
            savant_sdk_core::Error::source("demo", std::io::Error::other(e.to_string()))
        };
        let jpeg = sample_jpeg(i).map_err(|e| error(&e))?;
        let pts = i64::from(i) * 33_333_333;
        let frame = JpegSource::from_bytes("demo", jpeg)
            .map_err(|e| error(&e))?
            .with_pts(pts)
            .frame()
            .map_err(|e| error(&e))?;
        self.made_at
            .lock()
            .expect("not poisoned")
            .insert(pts, Instant::now());
        Ok(Some(frame.into()))
    }
}

/// Records each sent frame's trace id with its moment of creation.
struct Sent {
    matcher: TraceMatcher,
    made_at: Arc<Mutex<HashMap<i64, Instant>>>,
}

impl PipelineObserver for Sent {
    fn on_sent(&self, _source: &str, r: &SourceResult) {
        let (Some(trace), Some(pts)) = (r.trace_id, r.pts) else {
            return;
        };
        let at = self.made_at.lock().expect("not poisoned").remove(&pts);
        self.matcher
            .sent_at(trace, "demo", r.pts, at.unwrap_or_else(Instant::now));
    }
}

/// Checks what comes back: the loopback's mark, the version sent.
struct Received {
    matcher: TraceMatcher,
    sent_version: String,
    counts: Arc<Mutex<(u32, u32)>>,
}

#[savant_sdk_core::async_trait]
impl Sink for Received {
    async fn consume(&mut self, r: SinkResult) -> savant_sdk_core::Result<()> {
        let mut counts = self.counts.lock().expect("not poisoned");
        // the module re-encodes marked frames in the version they came with
        counts.1 += u32::from(r.message.protocol_version != self.sent_version);
        if let Some(t) = r.trace_id {
            self.matcher.received(t);
        }
        if r.frame()
            .is_some_and(|f| f.attribute("demo", "loopback").is_none())
        {
            counts.0 += 1;
        }
        Ok(())
    }
}

pub async fn run(a: DemoArgs, telemetry: Telemetry) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("savant-sdk-demo-{}", std::process::id()));
    let input = format!("ipc://{}/input-video.ipc", dir.display());
    let output = format!("ipc://{}/output-video.ipc", dir.display());

    let sink = SinkBuilder::new(format!("router+bind:{output}"))
        .idle_timeout(Duration::from_secs(5))
        .build()
        .await?;
    let module = LoopbackModule::start(
        LoopbackConfig::new(
            format!("router+bind:{input}"),
            format!("dealer+connect:{output}"),
        )
        .mark("demo", "loopback"),
    )?;
    let version = a.protocol.version();
    let source = SourceBuilder::new(format!("dealer+connect:{input}"))
        .telemetry(telemetry)
        .protocol_version(version.clone())
        .build()
        .await?;
    println!(
        "savant-sdk demo: {} frames through the embedded loopback module ({input} -> {output}), protocol version {version}",
        a.frames
    );

    let matcher = TraceMatcher::new();
    let made_at = Arc::new(Mutex::new(HashMap::new()));
    let counts = Arc::new(Mutex::new((0u32, 0u32)));
    let frames = DemoFrames {
        next: 0,
        frames: a.frames,
        interval: Duration::from_millis(a.interval_ms),
        made_at: made_at.clone(),
    };
    let received = Received {
        matcher: matcher.clone(),
        sent_version: version.as_str().to_string(),
        counts: counts.clone(),
    };
    let mut pipeline = Pipeline::new();
    pipeline
        .source("demo", source, frames)
        .reader("output", sink, vec![("demo".into(), Box::new(received))])
        .observer(Arc::new(Sent {
            matcher: matcher.clone(),
            made_at,
        }))
        .stop_on_signals();
    let run = pipeline.run().await;
    let stats = tokio::task::spawn_blocking(move || module.stop()).await??;
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(e) = run.sources[0].outcome.error() {
        bail!("{e}");
    }
    let (unmarked, other_version) = *counts.lock().expect("not poisoned");

    let report = matcher.report();
    for (i, f) in report.frames.iter().enumerate() {
        match f.latency {
            Some(d) => println!(
                "frame {i:>4}  trace {}  round trip {:>7.3} ms",
                f.trace_id,
                d.as_secs_f64() * 1e3
            ),
            None => println!("frame {i:>4}  trace {}  NOT RECEIVED", f.trace_id),
        }
    }
    let ms = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3);
    println!(
        "summary: {} sent, {} received, {} forwarded by the module; round trip p50 {:.3} ms, p99 {:.3} ms",
        report.frames.len(),
        report.received(),
        stats.forwarded,
        ms(report.latency_quantile(0.5)),
        ms(report.latency_quantile(0.99)),
    );
    if unmarked > 0 {
        bail!("{unmarked} frames came back without the loopback's mark");
    }
    if other_version > 0 {
        bail!("{other_version} messages came back in another protocol version than {version}");
    }
    if !report.missing().is_empty() {
        bail!("{} frames did not come back", report.missing().len());
    }
    Ok(())
}
