//! `savant-sdk demo`: the main job on the embedded default. Starts the
//! loopback module in-process, sends generated JPEG frames through it,
//! receives them, and prints each frame's trace id and round-trip latency,
//! then a summary.

use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Args;
use image::{Rgb, RgbImage};
use savant_sdk_core::client::{SinkBuilder, SourceBuilder, TraceMatcher};
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

pub async fn run(a: DemoArgs, telemetry: Telemetry) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("savant-sdk-demo-{}", std::process::id()));
    let input = format!("ipc://{}/input-video.ipc", dir.display());
    let output = format!("ipc://{}/output-video.ipc", dir.display());

    let mut sink = SinkBuilder::new(format!("router+bind:{output}"))
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

    let matcher = Arc::new(Mutex::new(TraceMatcher::new()));
    let m = matcher.clone();
    let sent_version = version.as_str().to_string();
    let receiver = tokio::spawn(async move {
        let (mut unmarked, mut other_version) = (0, 0);
        while let Some(r) = sink.next().await {
            let r = r?;
            // the module re-encodes marked frames in the version they came with
            other_version += u32::from(r.message.protocol_version != sent_version);
            if r.is_end_of_stream() {
                break;
            }
            if let Some(t) = r.trace_id {
                m.lock().expect("not poisoned").received(t);
            }
            if r.frame()
                .is_some_and(|f| f.attribute("demo", "loopback").is_none())
            {
                unmarked += 1;
            }
        }
        sink.close().await;
        anyhow::Ok((unmarked, other_version))
    });

    for i in 0..a.frames {
        let jpeg = sample_jpeg(i)?;
        let frame = JpegSource::from_bytes("demo", jpeg)?
            .with_pts(i64::from(i) * 33_333_333)
            .frame()?;
        let at = Instant::now();
        let r = source.send(frame).await?;
        let trace = r.trace_id.context("telemetry is on")?;
        matcher
            .lock()
            .expect("not poisoned")
            .sent_at(trace, "demo", r.pts, at);
        tokio::time::sleep(Duration::from_millis(a.interval_ms)).await;
    }
    source.send_eos("demo").await?;
    let (unmarked, other_version) = receiver.await??;
    source.close().await;
    let stats = tokio::task::spawn_blocking(move || module.stop()).await??;
    let _ = std::fs::remove_dir_all(&dir);

    let report = matcher.lock().expect("not poisoned").report();
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
