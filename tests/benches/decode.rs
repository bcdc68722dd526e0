//! Decode throughput of the decoding adapter (`savant-sdk-gst`) on a
//! 1080p H.264 MP4, beside GStreamer itself on the same file in the same
//! run:
//!
//! - (a) `gst-launch-1.0 filesrc ! qtdemux ! h264parse ! avdec_h264 !
//!   fakesink` (decode only, I420 out), whole process timed;
//! - (b) the smallest gstreamer-rs appsink program giving RGB pictures:
//!   `... ! avdec_h264 ! videoconvert ! video/x-raw,format=RGB ! appsink`,
//!   every buffer mapped;
//! - (c) `FrameDecoder` alone, fed the file's frames from memory;
//! - (d) the path users take: VideoFileSource -> SourceRunner -> loopback
//!   module -> SinkRunner -> `DecodingSink`.
//!
//! `cargo bench -p savant-sdk-tests --bench decode [-- --frames N]`
//!
//! Target (issue "See the results"): (c) and (d) >= 0.9x of (b). The
//! media are made here with gst-launch-1.0 and kept in target/bench-media.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use async_trait::async_trait;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::model::Message;
use savant_sdk_core::sink::SinkResult;
use savant_sdk_core::source::{Source, SourceItem};
use savant_sdk_gst::{Decoded, DecodingSink, FrameDecoder, Picture, PictureSink};
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_sources::VideoFileSource;
use savant_sdk_tests::media::gst_launch;

fn clip_1080p(frames: u32) -> PathBuf {
    let dir = savant_sdk_tests::workspace_root().join("target/bench-media");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("1080p-{frames}.mp4"));
    if !path.exists() {
        eprintln!("making {} ...", path.display());
        let tmp = path.with_extension("tmp.mp4");
        gst_launch(&format!(
            "videotestsrc num-buffers={frames} pattern=ball ! video/x-raw,format=I420,width=1920,height=1080,framerate=30/1 ! x264enc speed-preset=ultrafast key-int-max=30 bframes=2 ! h264parse ! mp4mux ! filesink location={}",
            tmp.display()
        ))
        .unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

/// (a)
fn gst_launch_fps(path: &Path, frames: usize) -> f64 {
    let started = Instant::now();
    let status = Command::new("gst-launch-1.0")
        .args(["-q", "filesrc"])
        .arg(format!("location={}", path.display()))
        .args([
            "!",
            "qtdemux",
            "!",
            "h264parse",
            "!",
            "avdec_h264",
            "!",
            "fakesink",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    frames as f64 / started.elapsed().as_secs_f64()
}

/// (b)
fn appsink_fps(path: &Path) -> (usize, f64) {
    let started = Instant::now();
    let pipeline = gst::parse::launch(&format!(
        "filesrc location={} ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false",
        path.display()
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut frames = 0;
    let mut checksum = 0u64;
    while let Ok(sample) = sink.pull_sample() {
        let map = sample.buffer().unwrap().map_readable().unwrap();
        checksum += u64::from(map[map.len() / 2]);
        frames += 1;
    }
    pipeline.set_state(gst::State::Null).unwrap();
    std::hint::black_box(checksum);
    (frames, frames as f64 / started.elapsed().as_secs_f64())
}

fn results_in_memory(rt: &tokio::runtime::Runtime, path: &Path) -> Vec<SinkResult> {
    rt.block_on(async {
        let mut source = VideoFileSource::builder("bench", path.to_str().unwrap())
            .build()
            .unwrap();
        let mut out = Vec::new();
        while let Some(item) = source.next().await.unwrap() {
            if let SourceItem::Frame(f) = item {
                out.push(SinkResult {
                    topic: "bench".into(),
                    message: Message::video_frame(f.frame),
                    content: Some(f.content),
                    trace_id: None,
                    seq_gap: None,
                    log_handle: Default::default(),
                });
            }
        }
        out
    })
}

/// (c)
fn adapter_fps(results: Vec<SinkResult>) -> (usize, f64) {
    let started = Instant::now();
    let mut decoder = FrameDecoder::new();
    let mut out = Vec::new();
    let mut frames = 0;
    let mut checksum = 0u64;
    let mut count = |out: &mut Vec<Decoded>| {
        for d in out.drain(..) {
            if let Decoded::Picture { picture, .. } = d {
                let b = picture.as_bytes();
                checksum += u64::from(b[b.len() / 2]);
                frames += 1;
            }
        }
    };
    for r in results {
        decoder.push(r, &mut out).unwrap();
        count(&mut out);
    }
    decoder.finish(&mut out).unwrap();
    count(&mut out);
    std::hint::black_box(checksum);
    (frames, frames as f64 / started.elapsed().as_secs_f64())
}

#[derive(Default)]
struct Count(usize, u64);

#[async_trait]
impl PictureSink for Count {
    async fn picture(&mut self, _: SinkResult, picture: Picture) -> savant_sdk_core::Result<()> {
        let b = picture.as_bytes();
        self.1 += u64::from(b[b.len() / 2]);
        self.0 += 1;
        Ok(())
    }
}

/// (d)
fn user_path_fps(rt: &tokio::runtime::Runtime, path: &Path) -> (usize, f64) {
    let work = tempfile::tempdir().unwrap();
    let in_addr = format!("ipc://{}/in.ipc", work.path().display());
    let out_addr = format!("ipc://{}/out.ipc", work.path().display());
    rt.block_on(async {
        let mut runner = SinkBuilder::new(format!("router+bind:{out_addr}"))
            .stop_when_all_ended()
            .build()
            .await
            .unwrap();
        let module = LoopbackModule::start(LoopbackConfig::new(
            format!("router+bind:{in_addr}"),
            format!("dealer+connect:{out_addr}"),
        ))
        .unwrap();
        let writer = SourceBuilder::new(format!("dealer+connect:{in_addr}"))
            .build()
            .await
            .unwrap();
        let started = Instant::now();
        let source = VideoFileSource::builder("bench", path.to_str().unwrap())
            .build()
            .unwrap();
        let mut sink = DecodingSink::new(Count::default());
        let (sent, received) = tokio::join!(writer.send_stream(source), runner.run(&mut sink));
        sent.unwrap();
        received.unwrap();
        savant_sdk_core::sink::Sink::finish(&mut sink)
            .await
            .unwrap();
        let elapsed = started.elapsed();
        writer.close().await;
        module.stop().unwrap();
        runner.close().await;
        let frames = sink.into_inner().0;
        (frames, frames as f64 / elapsed.as_secs_f64())
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let frames: u32 = args
        .iter()
        .position(|a| a == "--frames")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    gst::init().unwrap();
    let path = clip_1080p(frames);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let in_memory = results_in_memory(&rt, &path);
    let n = in_memory.len();
    println!("1080p H.264, {n} frames (B-frames, keyframe every 30), best of 3 rounds, frames/s:");
    let (mut a, mut b, mut c, mut d) = (0f64, 0f64, 0f64, 0f64);
    for round in 1..=3 {
        let fa = gst_launch_fps(&path, n);
        let (nb, fb) = appsink_fps(&path);
        let (nc, fc) = adapter_fps(in_memory.clone());
        let (nd, fd) = user_path_fps(&rt, &path);
        assert_eq!((nb, nc, nd), (n, n, n), "every frame decoded");
        println!("  round {round}: (a) {fa:.1}  (b) {fb:.1}  (c) {fc:.1}  (d) {fd:.1}");
        a = a.max(fa);
        b = b.max(fb);
        c = c.max(fc);
        d = d.max(fd);
    }
    println!("(a) gst-launch avdec_h264 ! fakesink (I420):     {a:8.1}");
    println!("(b) appsink program, RGB:                         {b:8.1}");
    println!(
        "(c) FrameDecoder, RGB:                            {c:8.1}  {:.2}x of (b)",
        c / b
    );
    println!(
        "(d) file -> loopback -> DecodingSink, RGB:        {d:8.1}  {:.2}x of (b)",
        d / b
    );
}
