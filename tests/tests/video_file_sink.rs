//! VideoFileSink: files made here by `gst-launch-1.0` go through
//! VideoFileSource, the loopback module and the sink, and what the sink
//! writes must play to the end in GStreamer with the same frame count;
//! EOS, parameter changes and chunks start new files; bad settings and
//! codecs give typed errors.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::model::{Message, VideoFrame};
use savant_sdk_core::sink::{Sink, SinkResult};
use savant_sdk_core::source::{Source, SourceItem};
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_sinks::metadata::{FrameRecord, Record};
use savant_sdk_sinks::{SinkError, VideoContainer, VideoFileSink, WrittenFile};
use savant_sdk_sources::VideoFileSource;
use savant_sdk_tests::media::{
    decoded_frame_count, reference_units, Clip, TestCodec, TestContainer,
};

/// Sends `input` (a file or folder) through VideoFileSource, a loopback
/// module and `sink`; returns the number of frames sent.
async fn round_trip(work: &Path, input: &Path, sink: &mut VideoFileSink) -> u64 {
    let in_addr = format!("ipc://{}/in.ipc", work.display());
    let out_addr = format!("ipc://{}/out.ipc", work.display());
    let mut runner = SinkBuilder::new(format!("router+bind:{out_addr}"))
        .idle_timeout(Duration::from_secs(3))
        .build()
        .await
        .unwrap();
    let module = LoopbackModule::start(LoopbackConfig::new(
        format!("router+bind:{in_addr}"),
        format!("dealer+connect:{out_addr}"),
    ))
    .unwrap();
    let source = SourceBuilder::new(format!("dealer+connect:{in_addr}"))
        .build()
        .await
        .unwrap();
    let video = VideoFileSource::builder("cam-1", input.to_str().unwrap())
        .build()
        .unwrap();
    let (sent, received) = tokio::join!(source.send_stream(video), runner.run(sink));
    let sent = sent.unwrap();
    received.unwrap();
    source.close().await;
    module.stop().unwrap();
    runner.close().await;
    sent.frames
}

fn frame_records(path: &Path) -> Vec<FrameRecord> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Record>(l).unwrap())
        .filter_map(|r| match r {
            Record::Frame(f) => Some(f),
            Record::Eos { .. } => None,
        })
        .collect()
}

/// Checks one written file: it plays to the end with `frames` frames, its
/// metadata has one record per frame, and it starts with a keyframe.
fn check_file(f: &WrittenFile, frames: usize, demux_parse: &str) {
    assert!(f.path.exists(), "{} exists", f.path.display());
    assert_eq!(
        f.frames as usize,
        frames,
        "{}: frames written",
        f.path.display()
    );
    assert_eq!(
        decoded_frame_count(&f.path).unwrap(),
        frames,
        "{} plays to the end with every frame",
        f.path.display()
    );
    let records = frame_records(f.metadata_path.as_ref().expect("metadata written"));
    assert_eq!(
        records.len(),
        frames,
        "{}: one JSON line per frame",
        f.path.display()
    );
    assert_eq!(
        records[0].keyframe,
        Some(true),
        "the metadata starts at a keyframe"
    );
    let units = reference_units(&f.path, demux_parse).unwrap();
    assert_eq!(units.len(), frames, "{}: access units", f.path.display());
    assert!(
        units[0].keyframe,
        "{} starts with a keyframe",
        f.path.display()
    );
}

fn round_trip_case(codec: TestCodec, input: TestContainer, output: VideoContainer) {
    let tmp = tempfile::tempdir().unwrap();
    let clip = tmp.path().join(format!("in.{}", input.extension()));
    Clip::new(codec, input).frames(30, 10).write(&clip).unwrap();
    let input_frames = decoded_frame_count(&clip).unwrap();
    assert_eq!(input_frames, 30);

    let out = tmp.path().join("out");
    let mut sink = VideoFileSink::builder(&out)
        .container(output)
        .build()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sent = rt.block_on(round_trip(tmp.path(), &clip, &mut sink));
    assert_eq!(sent, 30);
    assert_eq!(sink.skipped(), 0);
    let files = sink.files().to_vec();
    assert_eq!(files.len(), 1, "{files:?}");
    let f = &files[0];
    assert_eq!(f.source_id, "cam-1");
    assert_eq!(f.codec, codec.savant_name());
    assert_eq!(f.path.parent().unwrap(), out.join("cam-1"));
    assert_eq!(
        f.path.extension().unwrap().to_str().unwrap(),
        output.extension()
    );
    assert_eq!(f.metadata_path, Some(f.path.with_extension("jsonl")));
    let demux = match output {
        VideoContainer::Mp4 => "qtdemux",
        VideoContainer::Mkv => "matroskademux",
    };
    check_file(f, input_frames, &format!("{demux} ! {}", codec.parse()));
    // the metadata keeps the pts the source sent, in order of arrival
    let records = frame_records(f.metadata_path.as_ref().unwrap());
    assert!(records
        .iter()
        .all(|r| r.codec.as_deref() == Some(codec.savant_name())));
    assert!(records.iter().all(|r| r.width == 160 && r.height == 120));
    let reference =
        reference_units(&clip, &format!("{} ! {}", input.demuxer(), codec.parse())).unwrap();
    let ref_pts: Vec<i64> = reference.iter().map(|u| u.pts.unwrap() as i64).collect();
    let our_pts: Vec<i64> = records.iter().map(|r| r.pts).collect();
    assert_eq!(our_pts, ref_pts);
}

#[test]
fn h264_mp4_round_trip_plays_to_the_end() {
    round_trip_case(TestCodec::H264, TestContainer::Mp4, VideoContainer::Mp4);
}

#[test]
fn hevc_round_trip_into_mkv_plays_to_the_end() {
    round_trip_case(TestCodec::Hevc, TestContainer::Mkv, VideoContainer::Mkv);
}

#[test]
fn vp9_round_trip_into_mkv_plays_to_the_end() {
    round_trip_case(TestCodec::Vp9, TestContainer::Webm, VideoContainer::Mkv);
}

#[test]
fn vp8_round_trip_into_mkv_plays_to_the_end() {
    round_trip_case(TestCodec::Vp8, TestContainer::Webm, VideoContainer::Mkv);
}

#[test]
fn av1_round_trip_into_mp4_plays_to_the_end() {
    round_trip_case(TestCodec::Av1, TestContainer::Mkv, VideoContainer::Mp4);
}

#[test]
fn mjpeg_round_trip_into_mkv_plays_to_the_end() {
    round_trip_case(TestCodec::Jpeg, TestContainer::Avi, VideoContainer::Mkv);
}

/// Two files in a folder: the source sends an EOS after the first, and the
/// sink starts a second file whose name sorts after the first.
#[test]
fn eos_in_the_middle_gives_two_files() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    Clip::new(TestCodec::H264, TestContainer::Mp4)
        .frames(12, 6)
        .write(&input.join("1.mp4"))
        .unwrap();
    Clip::new(TestCodec::H264, TestContainer::Mkv)
        .frames(9, 3)
        .write(&input.join("2.mkv"))
        .unwrap();
    let out = tmp.path().join("out");
    let mut sink = VideoFileSink::new(&out).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(rt.block_on(round_trip(tmp.path(), &input, &mut sink)), 21);
    let files = sink.files().to_vec();
    assert_eq!(files.len(), 2, "{files:?}");
    check_file(&files[0], 12, "qtdemux ! h264parse");
    check_file(&files[1], 9, "qtdemux ! h264parse");
    let mut names: Vec<PathBuf> = std::fs::read_dir(out.join("cam-1"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![files[0].path.clone(), files[1].path.clone()],
        "names sort in time order"
    );
}

/// The frames of `input` as the source gives them, without its EOS.
fn source_frames(input: &Path) -> Vec<SinkResult> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut source = VideoFileSource::builder("cam-2", input.to_str().unwrap())
        .build()
        .unwrap();
    rt.block_on(async {
        let mut out = Vec::new();
        while let Some(item) = source.next().await.unwrap() {
            if let SourceItem::Frame(f) = item {
                out.push(result(f.frame, f.content));
            }
        }
        out
    })
}

fn result(frame: VideoFrame, content: Bytes) -> SinkResult {
    SinkResult {
        topic: frame.source_id.clone(),
        message: Message::video_frame(frame),
        content: Some(content),
        trace_id: None,
        log_handle: Default::default(),
        seq_gap: None,
    }
}

/// A size change with no EOS in between still gives a new file, and the
/// frames before the first keyframe are skipped.
#[test]
fn parameter_change_without_eos_gives_a_new_file_and_waits_for_a_keyframe() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    Clip::new(TestCodec::H264, TestContainer::Mp4)
        .frames(12, 6)
        .write(&input.join("1.mp4"))
        .unwrap();
    Clip::new(TestCodec::H264, TestContainer::Mp4)
        .size(320, 240)
        .frames(10, 5)
        .write(&input.join("2.mp4"))
        .unwrap();
    let frames = source_frames(&input);
    assert_eq!(frames.len(), 22);
    let out = tmp.path().join("out");
    let mut sink = VideoFileSink::builder(&out)
        .container(VideoContainer::Mkv)
        .build()
        .unwrap();
    // start two frames in: the keyframe and one delta frame are missing
    for r in &frames[2..] {
        sink.write(r).unwrap();
    }
    assert_eq!(
        sink.files().len(),
        1,
        "the size change closed the first file"
    );
    sink.close_all().unwrap();
    assert_eq!(sink.skipped(), 4, "frames 2..6 wait for the keyframe at 6");
    let files = sink.files().to_vec();
    assert_eq!(files.len(), 2);
    check_file(&files[0], 6, "matroskademux ! h264parse");
    check_file(&files[1], 10, "matroskademux ! h264parse");
    assert!(frame_records(files[1].metadata_path.as_ref().unwrap())
        .iter()
        .all(|r| r.width == 320));
}

/// 60 frames at 30 fps, a keyframe every 10, chunks of 0.5 s: a new file
/// at the keyframes at 0.67 s and 1.33 s.
#[test]
fn chunks_start_at_keyframes_and_add_up() {
    let tmp = tempfile::tempdir().unwrap();
    let clip = tmp.path().join("in.mp4");
    Clip::new(TestCodec::H264, TestContainer::Mp4)
        .frames(60, 10)
        .write(&clip)
        .unwrap();
    let out = tmp.path().join("out");
    let mut sink = VideoFileSink::builder(&out)
        .chunk_duration(Some(Duration::from_millis(500)))
        .build()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(rt.block_on(round_trip(tmp.path(), &clip, &mut sink)), 60);
    let files = sink.files().to_vec();
    assert_eq!(
        files.iter().map(|f| f.frames).collect::<Vec<_>>(),
        vec![20, 20, 20],
        "{files:?}"
    );
    let mut total = 0;
    for f in &files {
        check_file(f, 20, "qtdemux ! h264parse");
        total += decoded_frame_count(&f.path).unwrap();
    }
    assert_eq!(total, 60);
}

#[test]
fn unwritable_folder_is_a_typed_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let err = VideoFileSink::new(file.join("out")).unwrap_err();
    assert!(matches!(err, SinkError::Unwritable { .. }), "{err}");
}

/// A frame of a codec the container cannot take (the JPEG of a mixed
/// stream) is skipped and counted; the sink goes on and starts no file.
#[test]
fn codecs_the_container_cannot_take_are_skipped_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let frame = |codec: &str| {
        result(
            VideoFrame::builder("cam-3")
                .codec(codec)
                .size(160, 120)
                .keyframe(true)
                .pts(0)
                .build(),
            Bytes::from_static(b"\xff\xd8\xff\xe0 not really"),
        )
    };
    let mut mp4 = VideoFileSink::new(tmp.path().join("mp4")).unwrap();
    mp4.write(&frame("jpeg")).unwrap();
    let mut mkv = VideoFileSink::builder(tmp.path().join("mkv"))
        .container(VideoContainer::Mkv)
        .build()
        .unwrap();
    mkv.write(&frame("h266-made-up")).unwrap();
    // through the Sink trait too
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(mp4.consume(frame("vp8"))).unwrap();
    assert_eq!((mp4.skipped(), mkv.skipped()), (2, 1));
    assert!(mp4.files().is_empty() && mkv.files().is_empty());
    assert!(
        std::fs::read_dir(tmp.path().join("mp4"))
            .unwrap()
            .next()
            .is_none(),
        "no file was started"
    );
}
