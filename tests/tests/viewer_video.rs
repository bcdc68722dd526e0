//! The viewer with the `gstreamer` feature: an H.264 clip (B-frames) made
//! here goes through the loopback module into a `ViewerSink`, which
//! decodes every frame; the viewer shows the clip's pictures, counted as
//! sent, at the clip's size.

use savant_sdk_sources::VideoFileSource;
use savant_sdk_tests::media::{Clip, TestCodec, TestContainer};
use savant_sdk_tests::through_loopback;
use savant_sdk_viewer::{Viewer, ViewerSink};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_frames_are_decoded_into_the_viewer() {
    let work = tempfile::tempdir().unwrap();
    let clip = Clip::new(TestCodec::H264, TestContainer::Mp4).size(320, 240);
    let path = work.path().join("clip.mp4");
    clip.write(&path).unwrap();
    let viewer = Viewer::new();
    let mut sink = ViewerSink::new(viewer.clone());
    let source = VideoFileSource::builder("cam", path.to_str().unwrap())
        .build()
        .unwrap();
    let sent = through_loopback(work.path(), source, &mut sink)
        .await
        .unwrap();
    assert_eq!(sent.frames, u64::from(clip.frames));

    let s = viewer.stream("cam").expect("the source is shown");
    assert_eq!(s.frames, u64::from(clip.frames), "{s:?}");
    assert!(s.picture, "{s:?}");
    assert_eq!(s.eos, 1, "{s:?}");
    let (jpeg, _) = viewer.frame_jpeg("cam").await.unwrap().expect("a picture");
    let img = image::load_from_memory(&jpeg).unwrap();
    assert_eq!((img.width(), img.height()), (320, 240));
}
