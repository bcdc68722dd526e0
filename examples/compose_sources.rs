//! Built-in sources composed with the `SourceExt` combinators: `chain`,
//! `interleave`, `take`, `repeat` and `pace`, over JPEG and PNG pictures
//! this program writes into a folder, sent through the embedded loopback
//! module and counted back per source id.
//!
//! ```sh
//! cargo run -p savant-sdk-examples --example compose_sources -- [WORK_DIR]
//! ```
//!
//! WORK_DIR (default: a fresh temporary folder) gets the pictures and the
//! sockets. Prints one line per source id and `sent 13, received 13`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::ensure;
use image::{ImageFormat, Rgb, RgbImage};
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::source::Source;
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_sources::{interleave, ImageDirectorySource, JpegSource, PngSource, SourceExt};

/// Writes a `w` x `h` picture of one colour to `path` (format by extension).
fn write_picture(path: &Path, w: u32, h: u32, colour: [u8; 3]) -> anyhow::Result<()> {
    let format = ImageFormat::from_path(path)?;
    RgbImage::from_pixel(w, h, Rgb(colour)).save_with_format(path, format)?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // the work folder: the one given, or a temporary one removed at the end
    let temp = tempfile::tempdir()?;
    let work = match std::env::args().nth(1) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => temp.path().to_path_buf(),
    };
    let pictures = work.join("pictures");
    std::fs::create_dir_all(&pictures)?;
    write_picture(&work.join("red.jpg"), 64, 48, [200, 30, 30])?;
    write_picture(&work.join("green.png"), 64, 48, [30, 200, 30])?;
    for (i, shade) in [60u8, 120, 180].into_iter().enumerate() {
        write_picture(&pictures.join(format!("{i:03}.png")), 32, 32, [0, 0, shade])?;
    }

    // cam-a: one JPEG, 5 rounds (pts keep increasing from round to round),
    // released in real time by pts: 100 frames per second here
    let a = JpegSource::from_path("cam-a", work.join("red.jpg"))?
        .with_framerate(100, 1)
        .repeat(Some(5))
        .pace();
    // cam-b: one PNG, then every PNG of the folder (sorted by name), one
    // stream: 1 + 3 frames
    let b = PngSource::from_path("cam-b", work.join("green.png"))?
        .chain(ImageDirectorySource::new("cam-b", &pictures)?.glob("*.png")?);
    // cam-c: a picture repeated forever, cut after 4 frames
    let c = PngSource::from_path("cam-c", work.join("green.png"))?
        .repeat(None)
        .take(4);
    // all three at once, fairly, each keeping its own source id and EOS
    let all = interleave(vec![
        Box::new(a) as Box<dyn Source>,
        Box::new(b),
        Box::new(c),
    ]);

    let (input, output) = (
        format!("ipc://{}/input.ipc", work.display()),
        format!("ipc://{}/output.ipc", work.display()),
    );
    // reader first (ends after the EOS of every stream that sent frames),
    // then the module, then the writer
    let mut results = SinkBuilder::new(format!("router+bind:{output}"))
        .stop_when_all_ended()
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

    // count what comes back per source id, while sending
    let reading = tokio::spawn(async move {
        let mut per_source: BTreeMap<String, (u64, Vec<String>)> = BTreeMap::new();
        while let Some(result) = results.next().await {
            let result = result?;
            if let Some(frame) = result.frame() {
                let entry = per_source.entry(frame.source_id.clone()).or_default();
                entry.0 += 1;
                entry.1.push(frame.codec.clone().unwrap_or_default());
            }
        }
        results.close().await;
        Ok::<_, savant_sdk_core::Error>(per_source)
    });

    let sent = writer.send_stream(all).await?;
    writer.close().await;
    let per_source = reading.await??;
    module.stop()?;

    let mut received = 0;
    for (source_id, (frames, codecs)) in &per_source {
        received += frames;
        println!("{source_id}: {frames} frames ({})", codecs.join(" "));
    }
    println!("streams ended: {}", sent.ended.join(", "));
    println!("sent {}, received {received}", sent.frames);
    ensure!(sent.frames == 13 && received == 13, "expected 13 frames");
    Ok(())
}
