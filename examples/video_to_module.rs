//! Encoded video through a module and back into video files: a video file
//! (or an `rtsp://` camera) read with `VideoFileSource` (`RtspSource`),
//! sent through the embedded loopback module, and the results muxed into
//! MP4 files by `VideoFileSink`. The video is demuxed and parsed, never
//! decoded. Needs the `gstreamer` feature (on by default).
//!
//! ```sh
//! cargo run -p savant-sdk-examples --example video_to_module -- [VIDEO_FILE|rtsp://URL [OUT_DIR [RTSP_FRAMES]]]
//! ```
//!
//! Without a video it makes one: 60 frames of H.264 in MP4, with
//! `gst-launch-1.0 videotestsrc num-buffers=60 ! x264enc ! h264parse !
//! mp4mux ! filesink`. A camera never ends, so of an `rtsp://` URL only
//! the first RTSP_FRAMES (default 300) frames are taken. OUT_DIR defaults
//! to a temporary folder removed at the end. Prints `sent N, received N`
//! and each file written.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, ensure, Context};
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::source::Source;
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_sinks::VideoFileSink;
use savant_sdk_sources::{RtspSource, SourceExt, VideoFileSource};

/// Encodes a short test video into `path` with gst-launch-1.0.
fn make_test_video(path: &Path) -> anyhow::Result<()> {
    let status = Command::new("gst-launch-1.0")
        .args(["-q", "videotestsrc", "num-buffers=60", "!"])
        .args(["video/x-raw,width=320,height=240,framerate=30/1", "!"])
        .args(["x264enc", "!", "h264parse", "!", "mp4mux", "!", "filesink"])
        .arg(format!("location={}", path.display()))
        .status()
        .context("running gst-launch-1.0 (install GStreamer: scripts/setup.sh)")?;
    if !status.success() {
        bail!("gst-launch-1.0 failed ({status}): are the x264 and mp4mux plugins installed?");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let temp = tempfile::tempdir()?;
    let input_video = match args.first() {
        Some(v) => v.clone(),
        None => {
            let path = temp.path().join("test.mp4");
            make_test_video(&path)?;
            println!("made {}", path.display());
            path.display().to_string()
        }
    };
    let out_dir = match args.get(1) {
        Some(d) => PathBuf::from(d),
        None => temp.path().join("out"),
    };

    // The source: a camera (finite here: the first frames) or a file. Each
    // access unit is one frame, with pts, keyframe flag, codec and size.
    let source: Box<dyn Source> = if input_video.starts_with("rtsp://") {
        let frames: u64 = match args.get(2) {
            Some(n) => n.parse().context("RTSP_FRAMES must be a number")?,
            None => 300,
        };
        let camera = RtspSource::builder("camera", &input_video).build()?;
        Box::new(camera.take(frames))
    } else {
        Box::new(VideoFileSource::builder("video", &input_video).build()?)
    };

    // The sink: one MP4 per stream in OUT_DIR/<source_id>/, with the
    // frames' metadata as JSON lines beside it.
    let sink = VideoFileSink::new(&out_dir)?;

    let sockets = temp.path();
    let input = format!("ipc://{}/input.ipc", sockets.display());
    let output = format!("ipc://{}/output.ipc", sockets.display());
    let results = SinkBuilder::new(format!("router+bind:{output}"))
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

    // SinkRunner::spawn feeds every result into the sink in a task of its
    // own and calls its `finish` at the end (which closes the MP4 files);
    // join gives the sink back.
    let receiving = results.spawn(sink);
    let sent = writer.send_stream(source).await?;
    writer.close().await;
    let (sink, _results) = receiving.join().await?;
    module.stop()?;

    let mut received = 0;
    for file in sink.files() {
        received += file.frames;
        println!(
            "wrote {} ({} frames of {}, {} bytes)",
            file.path.display(),
            file.frames,
            file.codec,
            std::fs::metadata(&file.path).map_or(0, |m| m.len())
        );
    }
    println!("sent {}, received {received}", sent.frames);
    ensure!(sent.frames > 0, "the video had no frames");
    ensure!(sent.frames == received + sink.skipped(), "frames were lost");
    Ok(())
}
