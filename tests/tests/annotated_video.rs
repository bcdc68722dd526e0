//! The annotated sinks on video: frames of clips made here with
//! `gst-launch-1.0` (H.264 with B-frames, VP9), each with an object, go
//! through AnnotatedFrameSink (pictures) and AnnotatedVideoSink (re-encoded
//! H.264 files); the boxes are in the pictures GStreamer decodes from what
//! they wrote.

use std::path::Path;

use savant_sdk_core::model::{BoundingBox, MessagePayload, VideoObject};
use savant_sdk_core::sink::{Sink, SinkResult};
use savant_sdk_sinks::draw::label_color;
use savant_sdk_sinks::{AnnotatedFrameSink, AnnotatedVideoSink};
use savant_sdk_tests::media::{
    clip_results, decoded_frame_count, eos_result, gst_launch, Clip, TestCodec, TestContainer,
};

/// The clip's frames, each with a "car" box at x 40..120, y 30..90.
async fn frames_with_a_car(path: &Path) -> Vec<SinkResult> {
    let mut results = clip_results(path, "cam").await.unwrap();
    for r in &mut results {
        if let MessagePayload::VideoFrame(f) = &mut r.message.payload {
            f.objects.push(VideoObject::new(
                1,
                "detector",
                "car",
                BoundingBox::new(80.0, 60.0, 80.0, 60.0),
            ));
        }
    }
    results
}

/// Whether the pixel at (x, y) of packed RGB `w` wide is near `c`.
fn near(rgb: &[u8], w: u32, x: u32, y: u32, c: [u8; 3], tolerance: u8) -> bool {
    let i = ((y * w + x) * 3) as usize;
    (0..3).all(|k| rgb[i + k].abs_diff(c[k]) <= tolerance)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_frames_are_annotated_as_pictures() {
    for codec in [TestCodec::H264, TestCodec::Vp9] {
        let work = tempfile::tempdir().unwrap();
        let clip = Clip::new(codec, TestContainer::Mkv);
        let path = work.path().join("clip.mkv");
        clip.write(&path).unwrap();
        let out = work.path().join("annotated");
        let mut sink = AnnotatedFrameSink::new(&out).unwrap();
        for r in frames_with_a_car(&path).await {
            sink.consume(r).await.unwrap();
        }
        sink.consume(eos_result("cam")).await.unwrap();
        sink.finish().await.unwrap();
        assert_eq!(sink.written(), clip.frames as u64, "{codec:?}");
        assert_eq!(sink.skipped(), 0, "{codec:?}");
        let mut files: Vec<_> = std::fs::read_dir(out.join("cam"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(files.len(), clip.frames as usize);
        let car = label_color("car").0;
        for f in [&files[0], &files[files.len() - 1]] {
            let img = image::open(f).unwrap().to_rgb8();
            assert_eq!(img.dimensions(), (clip.width, clip.height));
            // the left edge of the box, halfway down: lossless PNG
            assert!(
                near(img.as_raw(), clip.width, 40, 60, car, 0),
                "{codec:?} {}",
                f.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_frames_are_annotated_into_h264_files() {
    let work = tempfile::tempdir().unwrap();
    let clip = Clip::new(TestCodec::Vp9, TestContainer::Mkv).frames(30, 10);
    let path = work.path().join("clip.mkv");
    clip.write(&path).unwrap();
    let out = work.path().join("video");
    let mut sink = AnnotatedVideoSink::new(&out).unwrap();
    for r in frames_with_a_car(&path).await {
        sink.consume(r).await.unwrap();
    }
    sink.consume(eos_result("cam")).await.unwrap();
    sink.finish().await.unwrap();
    assert_eq!(sink.frames(), 30);
    let files = sink.files();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    assert_eq!(file.codec, "h264");
    assert_eq!(file.frames, 30);
    assert_eq!(
        decoded_frame_count(&file.path).unwrap(),
        30,
        "plays to the end"
    );
    // GStreamer's own decode of the file shows the box
    let raw = work.path().join("out.rgb");
    gst_launch(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=RGB ! filesink location={}",
        file.path.display(),
        raw.display()
    ))
    .unwrap();
    let bytes = std::fs::read(&raw).unwrap();
    let size = (clip.width * clip.height * 3) as usize;
    assert_eq!(bytes.len(), size * 30);
    let car = label_color("car").0;
    for frame in [0, 15, 29] {
        let rgb = &bytes[frame * size..(frame + 1) * size];
        assert!(
            near(rgb, clip.width, 40, 60, car, 60),
            "frame {frame}: box edge"
        );
    }
}
