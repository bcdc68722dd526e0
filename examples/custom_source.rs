//! A `Source` of your own: JPEG frames drawn in the program (a colour
//! gradient that changes from frame to frame), sent through the embedded
//! loopback module (a pass-through Savant module in this process) and
//! counted as they come back.
//!
//! ```sh
//! cargo run -p savant-sdk-examples --example custom_source -- [FRAMES [INPUT_ENDPOINT OUTPUT_ENDPOINT]]
//! ```
//!
//! Without endpoints, the sockets are `ipc://` files in a fresh temporary
//! folder, so several runs at once never collide. Prints
//! `sent N, received N`.

use std::io::Cursor;
use std::time::Duration;

use anyhow::{ensure, Context};
use image::{ImageFormat, Rgb, RgbImage};
use savant_sdk_core::async_trait;
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::source::{Source, SourceFrame, SourceItem};
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};

/// Our source: `total` JPEG pictures of `width` x `height`, 30 per second
/// (pts in nanoseconds, the SDK's default time base).
struct Gradient {
    source_id: String,
    next: u64,
    total: u64,
    width: u32,
    height: u32,
}

impl Gradient {
    /// Frame `index` as JPEG bytes.
    fn picture(&self, index: u64) -> image::ImageResult<Vec<u8>> {
        let shift = (index * 8 % 256) as u8;
        let img = RgbImage::from_fn(self.width, self.height, |x, y| {
            Rgb([(x as u8).wrapping_add(shift), y as u8, shift])
        });
        let mut jpeg = Cursor::new(Vec::new());
        img.write_to(&mut jpeg, ImageFormat::Jpeg)?;
        Ok(jpeg.into_inner())
    }
}

// A source is one async method: the next item, or `None` at the end.
#[async_trait]
impl Source for Gradient {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        if self.next == self.total {
            // finite: the runner then sends the EOS of our source id
            return Ok(None);
        }
        let index = self.next;
        self.next += 1;
        let jpeg = self
            .picture(index)
            .map_err(|e| savant_sdk_core::Error::source("gradient", e))?;
        let frame_ns = 1_000_000_000 / 30;
        let frame = VideoFrame::builder(&self.source_id)
            .codec("jpeg")
            .size(i64::from(self.width), i64::from(self.height))
            .keyframe(true)
            .pts(index as i64 * frame_ns)
            .duration(frame_ns)
            .build();
        // the payload travels beside the message, as Savant's sources send it
        Ok(Some(SourceFrame::new(frame, jpeg).into()))
    }

    fn name(&self) -> &str {
        "gradient"
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let frames: u64 = match args.first() {
        Some(n) => n.parse().context("FRAMES must be a number")?,
        None => 30,
    };
    // sockets in a temporary folder of this run (removed at the end)
    let dir = tempfile::tempdir()?;
    let (input, output) = match (args.get(1), args.get(2)) {
        (Some(i), Some(o)) => (i.clone(), o.clone()),
        _ => (
            format!("ipc://{}/input.ipc", dir.path().display()),
            format!("ipc://{}/output.ipc", dir.path().display()),
        ),
    };

    // 1. The reader of the module's output binds first, so that nothing the
    //    module sends is lost; it ends after the EOS of the last stream
    //    (the idle timeout only guards against a module that never answers).
    let mut results = SinkBuilder::new(format!("router+bind:{output}"))
        .stop_when_all_ended()
        .idle_timeout(Duration::from_secs(30))
        .build()
        .await?;

    // 2. The module: the embedded loopback passes every message through.
    //    With a real Savant module, skip this and point the sockets at it.
    let module = LoopbackModule::start(LoopbackConfig::new(
        format!("router+bind:{input}"),
        format!("dealer+connect:{output}"),
    ))?;

    // 3. The writer into the module's input.
    let writer = SourceBuilder::new(format!("dealer+connect:{input}"))
        .build()
        .await?;

    // Read the results while sending, in a task of its own: a module whose
    // output nobody reads stops taking input once its queues are full.
    let reading = tokio::spawn(async move {
        let (mut frames, mut bytes) = (0u64, 0usize);
        while let Some(result) = results.next().await {
            let result = result?;
            if let Some(frame) = result.frame() {
                frames += 1;
                bytes += result.content.as_ref().map_or(0, |c| c.len());
                if frames == 1 {
                    println!(
                        "first result: {} pts {} {}x{} trace {}",
                        frame.source_id,
                        frame.pts,
                        frame.width,
                        frame.height,
                        result.trace_id.map(|t| t.to_string()).unwrap_or_default()
                    );
                }
            }
        }
        results.close().await;
        Ok::<_, savant_sdk_core::Error>((frames, bytes))
    });

    // send_stream pulls every item of the source, sends it (each frame in
    // a trace of its own) and ends the stream with an EOS.
    let source = Gradient {
        source_id: "gradient-1".into(),
        next: 0,
        total: frames,
        width: 160,
        height: 120,
    };
    let sent = writer.send_stream(source).await?;
    writer.close().await;
    let (received, bytes) = reading.await??;
    let stats = module.stop()?;

    println!(
        "module forwarded {} messages; received {bytes} bytes of JPEG",
        stats.forwarded
    );
    println!("sent {}, received {received}", sent.frames);
    ensure!(sent.frames == received, "some frames did not come back");
    Ok(())
}
