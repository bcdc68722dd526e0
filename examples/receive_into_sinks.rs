//! Receiving into sinks with a `Pipeline`: a `Sink` of your own and the
//! built-in `ImageFilesSink` and `MetadataJsonSink` (the two in a
//! `FanOut`), all fed by one reader of the module's output, while a JPEG
//! source sends through the embedded loopback module. The pipeline sends
//! and reads at once and ends when the source is done and its EOS came
//! back (or on Ctrl-C, which ends the open streams with EOS first).
//!
//! ```sh
//! cargo run -p savant-sdk-examples --example receive_into_sinks -- [OUT_DIR [FRAMES]]
//! ```
//!
//! OUT_DIR (default: a temporary folder removed at the end) gets
//! `images/<source_id>/<pts>.jpeg` and `metadata.jsonl`. Prints the
//! pipeline's report, what each sink got and `sent N, received N`.

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{ensure, Context};
use image::{ImageFormat, Rgb, RgbImage};
use savant_sdk_core::async_trait;
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::pipeline::Pipeline;
use savant_sdk_core::sink::{Sink, SinkResult};
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_sinks::{FanOut, ImageFilesSink, MetadataJsonSink};
use savant_sdk_sources::{JpegSource, SourceExt};

/// Our sink: counts frames and EOS, prints every tenth frame. The counts
/// are shared, since the pipeline owns the sink while it runs.
struct Tally {
    frames: Arc<AtomicU64>,
    eos: u64,
}

#[async_trait]
impl Sink for Tally {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_core::Result<()> {
        if let Some(frame) = result.frame() {
            let n = self.frames.fetch_add(1, Ordering::Relaxed) + 1;
            if n % 10 == 1 {
                println!(
                    "tally: frame {n} of {} pts {} ({} bytes)",
                    frame.source_id,
                    frame.pts,
                    result.content.as_ref().map_or(0, |c| c.len())
                );
            }
        } else if result.is_end_of_stream() {
            self.eos += 1;
            println!("tally: end of stream {}", result.source_id());
        }
        Ok(())
    }

    /// Called once after the last result.
    async fn finish(&mut self) -> savant_sdk_core::Result<()> {
        println!(
            "tally: {} frames, {} EOS",
            self.frames.load(Ordering::Relaxed),
            self.eos
        );
        Ok(())
    }

    fn name(&self) -> &str {
        "tally"
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // received frames reuse the memory of the ones before (glibc's malloc)
    savant_sdk_core::transport::reuse_message_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let temp = tempfile::tempdir()?;
    let out = match args.first() {
        Some(d) => PathBuf::from(d),
        None => temp.path().join("out"),
    };
    let frames: u64 = match args.get(1) {
        Some(n) => n.parse().context("FRAMES must be a number")?,
        None => 25,
    };

    // one JPEG picture, sent `frames` times (pts increasing)
    let mut jpeg = Cursor::new(Vec::new());
    RgbImage::from_fn(128, 96, |x, y| Rgb([x as u8, y as u8, 128]))
        .write_to(&mut jpeg, ImageFormat::Jpeg)?;
    let source = JpegSource::from_bytes("cam-1", jpeg.into_inner())?.repeat(Some(frames));

    // the sinks: each checks its output folder now, so a bad one fails here
    let counted = Arc::new(AtomicU64::new(0));
    let tally = Tally {
        frames: counted.clone(),
        eos: 0,
    };
    let files = FanOut::new()
        .with(ImageFilesSink::new(out.join("images"))?)
        .with(MetadataJsonSink::file(out.join("metadata.jsonl"))?);

    // sockets of this run: reader first, then the module, then the writer
    let input = format!("ipc://{}/input.ipc", temp.path().display());
    let output = format!("ipc://{}/output.ipc", temp.path().display());
    let reader = SinkBuilder::new(format!("router+bind:{output}"))
        .idle_timeout(Duration::from_secs(30))
        .build()
        .await?;
    let module = LoopbackModule::start(LoopbackConfig::new(
        format!("router+bind:{input}"),
        format!("dealer+connect:{output}"),
    ))?;
    let writer = SourceBuilder::new(format!("dealer+connect:{input}"))
        .build()
        .await?;

    // The pipeline: the source on its writer, the reader into both sinks
    // (each gets every result, in order).
    let mut pipeline = Pipeline::new();
    pipeline
        .source("jpeg", writer, source)
        .reader(
            "output",
            reader,
            vec![
                ("tally".into(), Box::new(tally)),
                ("files".into(), Box::new(files)),
            ],
        )
        .stop_on_signals();
    let report = pipeline.run().await;
    module.stop()?;

    for s in &report.sources {
        println!(
            "source {}: {} frames, {} bytes, {}",
            s.name, s.frames, s.bytes, s.outcome
        );
    }
    for r in &report.readers {
        for s in &r.sinks {
            println!("sink {}: {} results, {}", s.name, s.consumed, s.outcome);
        }
    }
    ensure!(!report.has_errors(), "the pipeline reported errors");

    // ImageFilesSink lists what it wrote for a stream in index.txt at its EOS
    let images = std::fs::read_to_string(out.join("images/cam-1/index.txt"))?
        .lines()
        .count();
    let records = std::fs::read_to_string(out.join("metadata.jsonl"))?
        .lines()
        .count();
    println!("{images} image files, {records} metadata records (frames and EOS)");

    let sent: u64 = report.sources.iter().map(|s| s.frames).sum();
    let received = counted.load(Ordering::Relaxed);
    println!("sent {sent}, received {received}");
    ensure!(sent == frames && received == frames, "frames were lost");
    ensure!(images as u64 == frames, "missing image files");
    Ok(())
}
