//! `savant-sdk demo`: the main job on the embedded default. Starts the
//! loopback module in-process, sends generated JPEG frames through it,
//! receives them, and prints each frame's trace id and round-trip latency,
//! then a summary.

use std::collections::HashMap;
use std::io::Cursor;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Args;
use image::{Rgb, RgbImage};
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_sources::JpegSource;

use crate::TraceFormat;

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Frames to send.
    #[arg(long, default_value_t = 30)]
    frames: u32,
    /// Milliseconds between frames.
    #[arg(long, default_value_t = 10)]
    interval_ms: u64,
    /// Trace propagation format.
    #[arg(long, value_enum, default_value_t = TraceFormat::W3c)]
    trace: TraceFormat,
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

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

pub async fn run(a: DemoArgs) -> Result<()> {
    if a.trace == TraceFormat::Off {
        bail!("the demo matches frames by trace id; use --trace w3c or --trace jaeger");
    }
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
    let source = a
        .trace
        .apply(
            SourceBuilder::new(format!("dealer+connect:{input}")).service_name("savant-sdk-demo"),
        )
        .build()
        .await?;
    println!(
        "savant-sdk demo: {} frames through the embedded loopback module ({input} -> {output})",
        a.frames
    );

    let receiver = tokio::spawn(async move {
        let mut arrivals = HashMap::new();
        while let Some(r) = sink.next().await {
            let r = r?;
            if r.is_end_of_stream() {
                break;
            }
            if let Some(t) = r.trace_id {
                arrivals.insert(
                    t,
                    (
                        Instant::now(),
                        r.frame().map(|f| f.attribute("demo", "loopback").is_some()),
                    ),
                );
            }
        }
        sink.close().await;
        anyhow::Ok(arrivals)
    });

    let mut sent = Vec::new();
    for i in 0..a.frames {
        let jpeg = sample_jpeg(i)?;
        let frame = JpegSource::from_bytes("demo", jpeg)?
            .with_pts(i64::from(i) * 33_333_333)
            .frame()?;
        let at = Instant::now();
        let r = source.send(frame).await?;
        sent.push((i, r.trace_id.context("telemetry is on")?, at));
        tokio::time::sleep(Duration::from_millis(a.interval_ms)).await;
    }
    source.send_eos("demo").await?;
    let arrivals = receiver.await??;
    source.close().await;
    let stats = tokio::task::spawn_blocking(move || module.stop()).await??;
    let _ = std::fs::remove_dir_all(&dir);

    let mut latencies = Vec::new();
    for (i, trace, at) in &sent {
        match arrivals.get(trace) {
            Some((arrived, marked)) => {
                let ms = arrived.duration_since(*at).as_secs_f64() * 1e3;
                latencies.push(ms);
                println!(
                    "frame {i:>4}  trace {trace}  round trip {ms:>7.3} ms{}",
                    if *marked == Some(true) {
                        "  (marked by loopback)"
                    } else {
                        ""
                    }
                );
            }
            None => println!("frame {i:>4}  trace {trace}  NOT RECEIVED"),
        }
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "summary: {} sent, {} received, {} forwarded by the module; round trip p50 {:.3} ms, p99 {:.3} ms",
        sent.len(),
        latencies.len(),
        stats.forwarded,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    if latencies.len() != sent.len() {
        bail!("{} frames did not come back", sent.len() - latencies.len());
    }
    Ok(())
}
