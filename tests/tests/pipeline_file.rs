//! A pipeline file of built-in and plugin components, run from code: a
//! video-file source, an image-folder source and a plugin source, through
//! the embedded loopback module and (second test) through the savant-rs
//! 1.15.1 stand-in module, into the video-files, metadata-JSON and a
//! plugin sink. Every frame arrives, each stream ends with one EOS, and
//! the video file written plays back to its end in GStreamer.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use savant_sdk_core::telemetry::Telemetry;
use savant_sdk_plugin_host::{PipelineFile, PluginRegistry};
use savant_sdk_tests::media::{Clip, TestCodec, TestContainer};
use savant_sdk_tests::SavantRs;
// linked in, so that the static registry has the built-in components
// and the example plugins (rustc drops a crate nothing refers to)
use savant_sdk_example_frame_counter::Summary;
use savant_sdk_example_synthetic_source as _;
use savant_sdk_sinks as _;
use savant_sdk_sources as _;

const VIDEO_FRAMES: u32 = 24;
const IMAGES: usize = 3;
const SYNTHETIC: u64 = 7;

fn jpegs(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..IMAGES {
        image::RgbImage::from_pixel(32, 24, image::Rgb([40 * i as u8, 80, 160]))
            .save_with_format(dir.join(format!("{i:02}.jpg")), image::ImageFormat::Jpeg)
            .unwrap();
    }
}

/// The frames a video file plays back with (`gst-launch-1.0 ... fakesink`).
fn played_frames(video: &Path) -> usize {
    let out = Command::new("gst-launch-1.0")
        .args(["-v", "filesrc"])
        .arg(format!("location={}", video.display()))
        .args([
            "!",
            "decodebin",
            "!",
            "fakesink",
            "silent=false",
            "sync=false",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("last-message = chain"))
        .count()
}

/// Writes the media, runs `module` + the file's sources and sinks, and
/// checks everything that came out.
fn run_pipeline(dir: &tempfile::TempDir, module: &str, version: &str) {
    let d = dir.path();
    Clip::new(TestCodec::H264, TestContainer::Mp4)
        .frames(VIDEO_FRAMES, 8)
        .write(&d.join("clip.mp4"))
        .unwrap();
    jpegs(&d.join("frames"));
    let summary = d.join("summary.json");
    let text = format!(
        r#"protocol_version = "{version}"
{module}
[[source]]
type = "video_file"
path = "{d}/clip.mp4"
source_id = "video"

[[source]]
type = "image_folder"
path = "{d}/frames"
source_id = "images"

[[source]]
type = "synthetic"
name = "generated"
frames = {SYNTHETIC}
source_id = "synthetic"
width = 32
height = 32

[[sink]]
type = "video_files"
dir = "{d}/video"
idle_timeout = 60

[[sink]]
type = "metadata_json"
path = "{d}/meta.jsonl"

[[sink]]
type = "frame-counter"
summary = "{summary}"
"#,
        d = d.display(),
        summary = summary.display(),
    );
    let file = PipelineFile::parse(&text, d.join("p.toml")).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(async {
        let registry = Arc::new(PluginRegistry::with_static().unwrap());
        let built = file.build(registry, &Telemetry::off()).await.unwrap();
        let report = tokio::time::timeout(Duration::from_secs(120), built.pipeline.run())
            .await
            .expect("the pipeline ended");
        if let Some(m) = built.module {
            m.stop().unwrap();
        }
        report
    });
    assert!(!report.has_errors(), "{report:#?}");
    assert!(!report.stopped);
    let sent: BTreeMap<&str, u64> = report
        .sources
        .iter()
        .map(|s| (s.name.as_str(), s.frames))
        .collect();
    assert_eq!(sent["video_file#1"], u64::from(VIDEO_FRAMES));
    assert_eq!(sent["image_folder#2"], IMAGES as u64);
    assert_eq!(sent["generated"], SYNTHETIC);

    // the plugin sink: every frame, one EOS per stream
    let s: Summary = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    for (id, frames) in [
        ("video", u64::from(VIDEO_FRAMES)),
        ("images", IMAGES as u64),
        ("synthetic", SYNTHETIC),
    ] {
        assert_eq!(
            (s.sources[id].frames, s.sources[id].eos),
            (frames, 1),
            "{id}"
        );
    }
    // the metadata sink: a record per frame and EOS
    let meta = std::fs::read_to_string(d.join("meta.jsonl")).unwrap();
    let frames = meta.lines().filter(|l| l.contains("\"frame\"")).count() as u64;
    assert_eq!(
        frames,
        u64::from(VIDEO_FRAMES) + IMAGES as u64 + SYNTHETIC,
        "{meta}"
    );
    // the video sink: the H.264 stream as a file that plays to its end
    // (JPEG streams are skipped by it and counted)
    let videos: Vec<_> = std::fs::read_dir(d.join("video/video"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    assert_eq!(videos.len(), 1, "{videos:?}");
    assert_eq!(played_frames(&videos[0]), VIDEO_FRAMES as usize);
}

#[test]
fn a_pipeline_file_of_builtins_and_plugins_through_the_loopback_module() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let module = format!(
        "[loopback]\ninput = \"router+bind:ipc://{d}/in.ipc\"\noutput = \"dealer+connect:ipc://{d}/out.ipc\"\n\
         [module]\ninput = \"dealer+connect:ipc://{d}/in.ipc\"\noutput = \"router+bind:ipc://{d}/out.ipc\"\n"
    );
    run_pipeline(&dir, &module, "1.15.0");
}

#[test]
fn a_pipeline_file_of_builtins_and_plugins_through_a_savant_rs_module() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let (input, output) = (format!("ipc://{d}/in.ipc"), format!("ipc://{d}/out.ipc"));
    // the stand-in's output connects (and reconnects) to the pipeline's
    // reader, which binds when the file is built
    let standin = SavantRs::V1_15
        .stand_in(
            &format!("router+bind:{input}"),
            &format!("dealer+connect:{output}"),
            &[],
        )
        .unwrap();
    let module = format!(
        "[module]\ninput = \"dealer+connect:{input}\"\noutput = \"router+bind:{output}\"\n"
    );
    // savant-rs 1.15.1 reads only its own version
    run_pipeline(&dir, &module, SavantRs::V1_15.protocol_version().as_str());
    drop(standin);
}
