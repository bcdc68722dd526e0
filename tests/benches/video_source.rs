//! VideoFileSource access units per second on a 1080p H.264 MP4, beside
//! (a) `gst-launch-1.0 filesrc ! qtdemux ! h264parse ! fakesink` and (b)
//! the smallest gstreamer-rs program that pulls the same access units
//! (byte-stream, one per buffer) from an `appsink`, all on the same file
//! in the same run; then the peak memory of a process that sends a 1 GB
//! file through a SourceRunner to a reader.
//!
//! `cargo bench -p savant-sdk-tests --bench video_source [-- --quick | --rate-only]`
//!
//! Targets (issue "GStreamer adapters"): ours >= 0.9x of (b), frames
//! built included; peak memory sending 1 GB < 100 MB. The media are made
//! here with gst-launch-1.0 and kept in target/bench-media for the next
//! run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use savant_sdk_core::source::{Source, SourceItem};
use savant_sdk_sources::VideoFileSource;
use savant_sdk_tests::media::gst_launch;

const CAPS: &str = "video/x-h264,stream-format=byte-stream,alignment=au";

fn media_dir() -> PathBuf {
    let dir = savant_sdk_tests::workspace_root().join("target/bench-media");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A 1080p H.264 MP4 of `frames` frames (made once, kept).
fn clip_1080p(frames: u32) -> PathBuf {
    let path = media_dir().join(format!("1080p-{frames}.mp4"));
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

/// About 1 GB of 1080p H.264 at 25 Mbit/s (noise, so every frame is
/// about 100 KB): five minutes of a high-bitrate camera.
fn clip_1gb() -> PathBuf {
    let path = media_dir().join("1gb.mp4");
    if !path.exists() {
        eprintln!("making {} (about 1 GB, a few minutes) ...", path.display());
        let tmp = path.with_extension("tmp.mp4");
        gst_launch(&format!(
            "videotestsrc num-buffers=9000 pattern=snow ! video/x-raw,format=I420,width=1920,height=1080,framerate=30/1 ! x264enc speed-preset=ultrafast bitrate=25000 key-int-max=30 ! h264parse ! mp4mux ! filesink location={}",
            tmp.display()
        ))
        .unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

/// (a): gst-launch-1.0 on the file, whole process timed.
fn gst_launch_rate(path: &Path, units: usize) -> f64 {
    let started = Instant::now();
    let status = Command::new("gst-launch-1.0")
        .args(["-q", "filesrc"])
        .arg(format!("location={}", path.display()))
        .args(["!", "qtdemux", "!", "h264parse", "!", "fakesink"])
        .status()
        .unwrap();
    assert!(status.success());
    units as f64 / started.elapsed().as_secs_f64()
}

/// (b): the smallest appsink program: parse_launch, pull_sample until EOS.
fn appsink_rate(path: &Path) -> (usize, f64) {
    let started = Instant::now();
    let pipeline = gst::parse::launch(&format!(
        "filesrc location={} ! qtdemux ! h264parse ! {CAPS} ! appsink name=sink sync=false",
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
    let mut units = 0;
    let mut bytes = 0usize;
    while let Ok(sample) = sink.pull_sample() {
        bytes += sample.buffer().map(|b| b.size()).unwrap_or(0);
        units += 1;
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(bytes > 0);
    (units, units as f64 / started.elapsed().as_secs_f64())
}

/// Ours: VideoFileSource, every frame built, on a current-thread runtime.
fn ours_rate(path: &Path) -> (usize, f64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let mut source = VideoFileSource::builder("bench", path.to_str().unwrap())
        .build()
        .unwrap();
    let mut units = 0;
    let mut bytes = 0usize;
    rt.block_on(async {
        while let Some(item) = source.next().await.unwrap() {
            if let SourceItem::Frame(f) = item {
                bytes += f.content.len();
                units += 1;
            }
        }
    });
    assert!(bytes > 0);
    (units, units as f64 / started.elapsed().as_secs_f64())
}

/// Child mode: send `path` through a SourceRunner to `socket`.
fn child_send(path: &str, socket: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let runner = savant_sdk_core::client::SourceBuilder::new(socket)
            .build()
            .await
            .unwrap();
        let source = VideoFileSource::builder("bench", path).build().unwrap();
        runner.send_stream(source).await.unwrap();
        runner.close().await;
    });
}

fn peak_memory_sending(path: &Path) -> (u64, u64, Duration) {
    use savant_sdk_core::transport::{BlockingReader, ReaderConfig, ReaderResult};
    let dir = tempfile::tempdir().unwrap();
    let ep = format!("ipc://{}/mem.ipc", dir.path().display());
    let mut reader = BlockingReader::new(
        ReaderConfig::builder(&format!("router+bind:{ep}"))
            .unwrap()
            .build()
            .unwrap(),
    )
    .unwrap();
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--child-send",
            path.to_str().unwrap(),
            &format!("dealer+connect:{ep}"),
        ])
        .spawn()
        .unwrap();
    let pid = child.id();
    let drain = std::thread::spawn(move || {
        let mut bytes = 0u64;
        loop {
            match reader.receive() {
                Ok(ReaderResult::Message(m)) => {
                    bytes += m.content().map(|c| c.len() as u64).unwrap_or(0);
                    if m.message.is_end_of_stream() {
                        return bytes;
                    }
                }
                Ok(_) => {}
                Err(e) => panic!("reader: {e}"),
            }
        }
    });
    let mut peak_kb = 0u64;
    loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            if let Some(kb) = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let bytes = drain.join().unwrap();
    (peak_kb, bytes, started.elapsed())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child-send") {
        child_send(&args[i + 1], &args[i + 2]);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    gst::init().unwrap();
    let frames = if quick { 3000 } else { 10000 };
    let clip = clip_1080p(frames);
    let runs = if quick { 2 } else { 5 };
    let (mut best_a, mut best_b, mut best_ours) = (0f64, 0f64, 0f64);
    for run in 0..runs {
        let (n_b, b) = appsink_rate(&clip);
        let (n_ours, ours) = ours_rate(&clip);
        assert_eq!(n_b, n_ours, "both read every access unit");
        let a = gst_launch_rate(&clip, n_b);
        eprintln!(
            "run {run}: ours {ours:.0} AU/s, appsink {b:.0}, gst-launch {a:.0} ({n_ours} AUs)"
        );
        best_a = best_a.max(a);
        best_b = best_b.max(b);
        best_ours = best_ours.max(ours);
    }
    println!("VideoFileSource on 1080p H.264 MP4 ({frames} access units), best of {runs}:");
    println!("  ours (frames built)          {best_ours:>9.0} AU/s");
    println!(
        "  (b) gstreamer-rs appsink     {best_b:>9.0} AU/s   ours/(b) = {:.2} (target >= 0.9)",
        best_ours / best_b
    );
    println!(
        "  (a) gst-launch ! fakesink    {best_a:>9.0} AU/s   ours/(a) = {:.2}",
        best_ours / best_a
    );

    if !quick && !args.iter().any(|a| a == "--rate-only") {
        let big = clip_1gb();
        let size = std::fs::metadata(&big).unwrap().len();
        let (peak_kb, bytes, took) = peak_memory_sending(&big);
        println!(
            "Sending {:.2} GB ({:.2} GB of frame content) through SourceRunner to a reader: peak RSS {:.1} MB (target < 100 MB), {:.1} s",
            size as f64 / 1e9,
            bytes as f64 / 1e9,
            peak_kb as f64 / 1024.0,
            took.as_secs_f64()
        );
    }
}
