//! VideoFileSource against GStreamer's own reading of the same files: for
//! every container and codec pair, files made here by `gst-launch-1.0`
//! (videotestsrc and a real encoder) give the same access units, sizes,
//! keyframe positions and pts/dts/duration as a `gst-launch-1.0 -v`
//! reference pipeline prints.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};
use savant_sdk_core::source::{Source, SourceFrame, SourceItem};
use savant_sdk_sources::{SourceError, VideoFileSource};
use savant_sdk_tests::media::{
    make_elementary_stream, reference_units, Clip, ReferenceUnit, TestCodec, TestContainer,
};

const WIDTH: u32 = 160;
const HEIGHT: u32 = 120;
const FPS: u32 = 30;
const FRAMES: u32 = 24;
const GOP: u32 = 8;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Everything the source gives, until it ends (at most 30 s).
fn collect(source: &mut VideoFileSource) -> Result<Vec<SourceItem>> {
    runtime().block_on(async {
        let mut items = Vec::new();
        loop {
            match tokio::time::timeout(Duration::from_secs(30), source.next()).await {
                Ok(Ok(Some(item))) => items.push(item),
                Ok(Ok(None)) => return Ok(items),
                Ok(Err(e)) => return Err(anyhow::Error::new(e)),
                Err(_) => bail!("the source stalled after {} items", items.len()),
            }
        }
    })
}

fn frames(items: &[SourceItem]) -> Vec<&SourceFrame> {
    items
        .iter()
        .filter_map(|i| match i {
            SourceItem::Frame(f) => Some(f),
            _ => None,
        })
        .collect()
}

fn eos_positions(items: &[SourceItem]) -> Vec<usize> {
    items
        .iter()
        .enumerate()
        .filter(|(_, i)| matches!(i, SourceItem::EndOfStream(_)))
        .map(|(n, _)| n)
        .collect()
}

/// Our frames equal the reference's access units one for one.
fn assert_matches_reference(ours: &[&SourceFrame], reference: &[ReferenceUnit], what: &str) {
    assert!(
        !reference.is_empty(),
        "{what}: the reference saw no access units"
    );
    assert_eq!(ours.len(), reference.len(), "{what}: access unit count");
    for (n, (f, r)) in ours.iter().zip(reference).enumerate() {
        let v = &f.frame;
        assert_eq!(f.content.len(), r.size, "{what}: size of unit {n}");
        assert_eq!(
            v.keyframe,
            Some(r.keyframe),
            "{what}: keyframe flag of unit {n}"
        );
        let pts = r.pts.or(r.dts).expect("reference unit has a time") as i64;
        assert_eq!(v.pts, pts, "{what}: pts of unit {n}");
        assert_eq!(v.dts, r.dts.map(|d| d as i64), "{what}: dts of unit {n}");
        assert_eq!(
            v.duration,
            r.duration.map(|d| d as i64),
            "{what}: duration of unit {n}"
        );
    }
}

fn check_pair(container: TestContainer, codec: TestCodec) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("clip.{}", container.extension()));
    Clip {
        codec,
        container,
        width: WIDTH,
        height: HEIGHT,
        fps: FPS,
        frames: FRAMES,
        gop: GOP,
    }
    .write(&path)
    .unwrap();
    let what = format!("{container:?}/{codec:?}");
    let reference = reference_units(
        &path,
        &format!("{} ! {}", container.demuxer(), codec.parse()),
    )
    .unwrap();

    let mut source = VideoFileSource::builder("cam-1", path.to_str().unwrap())
        .build()
        .unwrap();
    let items = collect(&mut source).unwrap();
    let ours = frames(&items);
    assert_matches_reference(&ours, &reference, &what);
    assert_eq!(
        eos_positions(&items),
        vec![items.len() - 1],
        "{what}: one EOS, at the end"
    );

    assert_eq!(
        reference.len(),
        FRAMES as usize,
        "{what}: every encoded frame is an access unit"
    );
    let keyframes: Vec<usize> = ours
        .iter()
        .enumerate()
        .filter(|(_, f)| f.frame.keyframe == Some(true))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(keyframes.first(), Some(&0), "{what}: starts on a keyframe");
    for f in &ours {
        let v = &f.frame;
        assert_eq!(v.source_id, "cam-1");
        assert_eq!(
            v.codec.as_deref(),
            Some(codec.savant_name()),
            "{what}: codec"
        );
        assert_eq!(
            (v.width, v.height),
            (WIDTH as i64, HEIGHT as i64),
            "{what}: size"
        );
        assert_eq!(v.time_base.denominator, 1_000_000_000);
        assert_eq!(
            v.framerate,
            format!("{FPS}/1"),
            "{what}: framerate from the caps"
        );
    }
    if matches!(codec, TestCodec::H264 | TestCodec::Hevc) {
        // Byte-stream access units, parameter sets before every keyframe.
        let sps_type = |f: &SourceFrame| {
            let c = &f.content;
            assert!(
                c.starts_with(&[0, 0, 0, 1]) || c.starts_with(&[0, 0, 1]),
                "{what}: byte-stream start code"
            );
            c.windows(4)
                .filter(|w| w[..3] == [0, 0, 1])
                .map(|w| w[3])
                .collect::<Vec<u8>>()
        };
        for f in ours.iter().filter(|f| f.frame.keyframe == Some(true)) {
            let nal_headers = sps_type(f);
            let has_sps = nal_headers.iter().any(|h| match codec {
                TestCodec::H264 => h & 0x1f == 7,
                _ => (h >> 1) & 0x3f == 33,
            });
            assert!(
                has_sps,
                "{what}: keyframe at pts {} carries its SPS",
                f.frame.pts
            );
        }
    }
}

macro_rules! pair_tests {
    ($($name:ident: $container:ident, $codec:ident;)*) => {
        $(
            #[test]
            fn $name() {
                check_pair(TestContainer::$container, TestCodec::$codec);
            }
        )*
    };
}

pair_tests! {
    mp4_h264: Mp4, H264;
    mov_h264: Mov, H264;
    mp4_hevc: Mp4, Hevc;
    mkv_h264: Mkv, H264;
    mkv_hevc: Mkv, Hevc;
    mkv_vp9: Mkv, Vp9;
    mkv_mjpeg: Mkv, Jpeg;
    mkv_av1: Mkv, Av1;
    webm_vp8: Webm, Vp8;
    webm_vp9: Webm, Vp9;
    ts_h264: Ts, H264;
    ts_hevc: Ts, Hevc;
    avi_h264: Avi, H264;
    avi_mjpeg: Avi, Jpeg;
}

#[test]
fn raw_h264_stream_and_file_uri() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.h264");
    make_elementary_stream(&path, TestCodec::H264, WIDTH, HEIGHT, FRAMES, GOP).unwrap();
    let reference = reference_units(
        &path,
        &format!(
            "h264parse ! {}",
            TestCodec::H264.parse().split_once(" ! ").unwrap().1
        ),
    )
    .unwrap();
    let uri = format!("file://{}", path.display());
    let mut source = VideoFileSource::builder("cam-1", uri).build().unwrap();
    let items = collect(&mut source).unwrap();
    assert_matches_reference(&frames(&items), &reference, "raw h264");
}

/// Two MPEG-TS files of different sizes, one after the other in one file,
/// as a broadcast that changes resolution: an EOS where the size changes,
/// then the new stream from its keyframe.
#[test]
fn parameter_change_mid_file_ends_the_stream_and_starts_anew() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.ts");
    let b = dir.path().join("b.ts");
    Clip {
        codec: TestCodec::H264,
        container: TestContainer::Ts,
        width: 160,
        height: 120,
        fps: 30,
        frames: 12,
        gop: 6,
    }
    .write(&a)
    .unwrap();
    Clip {
        codec: TestCodec::H264,
        container: TestContainer::Ts,
        width: 320,
        height: 240,
        fps: 30,
        frames: 12,
        gop: 6,
    }
    .write(&b)
    .unwrap();
    let both = dir.path().join("both.ts");
    let mut bytes = std::fs::read(&a).unwrap();
    bytes.extend(std::fs::read(&b).unwrap());
    std::fs::write(&both, bytes).unwrap();

    let mut source = VideoFileSource::builder("cam-1", both.to_str().unwrap())
        .build()
        .unwrap();
    let items = collect(&mut source).unwrap();
    let eos = eos_positions(&items);
    assert_eq!(
        eos.len(),
        2,
        "an EOS at the change and one at the end: {eos:?}"
    );
    let before = frames(&items[..eos[0]]);
    let after = frames(&items[eos[0]..]);
    assert!(before.iter().all(|f| f.frame.width == 160));
    assert!(after.iter().all(|f| f.frame.width == 320));
    assert_eq!(
        after[0].frame.keyframe,
        Some(true),
        "the new stream starts on a keyframe"
    );
    assert_eq!(before.len() + after.len(), 24);
}

#[test]
fn folder_loop_and_continuous_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    for (name, frames) in [("1.mp4", 6), ("2.mkv", 9)] {
        let container = if name.ends_with("mp4") {
            TestContainer::Mp4
        } else {
            TestContainer::Mkv
        };
        Clip {
            codec: TestCodec::H264,
            container,
            width: 160,
            height: 120,
            fps: 30,
            frames,
            gop: 3,
        }
        .write(&dir.path().join(name))
        .unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), "not a video").unwrap();
    let source = VideoFileSource::builder("cam-1", dir.path().to_str().unwrap())
        .looped(true)
        .build()
        .unwrap();
    assert_eq!(
        source.files().len(),
        2,
        "only the video files: {:?}",
        source.files()
    );
    let mut source = source;
    // Two rounds: 2 x (6 + EOS + 9 + EOS).
    let items = runtime().block_on(async {
        let mut items = Vec::new();
        while items.len() < 34 {
            items.push(
                source
                    .next()
                    .await
                    .unwrap()
                    .expect("a looped source never ends"),
            );
        }
        items
    });
    assert_eq!(eos_positions(&items), vec![6, 16, 23, 33]);
    // Each file's frames come after the previous file's on one time line
    // (pts continue across files and rounds).
    let mut previous_end = 0;
    let mut start = 0;
    for end in eos_positions(&items) {
        let group = frames(&items[start..end]);
        let min = group.iter().map(|f| f.frame.pts).min().unwrap();
        let max_end = group
            .iter()
            .map(|f| f.frame.pts + f.frame.duration.unwrap())
            .max()
            .unwrap();
        assert!(
            min >= previous_end,
            "file at {start} starts at {min} before {previous_end}"
        );
        previous_end = max_end;
        start = end + 1;
    }
    // Two rounds of 15 frames at 30 fps.
    assert!(
        previous_end >= 30 * 33_333_333,
        "the time line covers both rounds: {previous_end}"
    );
}

#[test]
fn no_eos_per_file_and_absolute_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.mp4");
    Clip {
        codec: TestCodec::H264,
        container: TestContainer::Mp4,
        width: 160,
        height: 120,
        fps: 30,
        frames: 6,
        gop: 3,
    }
    .write(&path)
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let mut source = VideoFileSource::builder("cam-1", path.to_str().unwrap())
        .eos_on_file_end(false)
        .absolute_timestamps(true)
        .build()
        .unwrap();
    let items = collect(&mut source).unwrap();
    assert!(
        eos_positions(&items).is_empty(),
        "the runner adds the final EOS"
    );
    let f = frames(&items);
    assert_eq!(f.len(), 6);
    assert!(f
        .iter()
        .all(|f| f.frame.pts >= now && f.frame.pts < now + 60_000_000_000));
}

#[test]
fn start_offset_starts_at_the_keyframe_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.mp4");
    Clip {
        codec: TestCodec::H264,
        container: TestContainer::Mp4,
        width: 160,
        height: 120,
        fps: 30,
        frames: 60,
        gop: 10,
    }
    .write(&path)
    .unwrap();
    let reference =
        reference_units(&path, &format!("qtdemux ! {}", TestCodec::H264.parse())).unwrap();
    let offset = 1_100_000_000u64;
    // Where GStreamer's index says the keyframe before the offset is.
    let (first, expected) = reference
        .iter()
        .enumerate()
        .rfind(|(_, r)| r.keyframe && r.pts.unwrap() <= offset)
        .unwrap();
    assert!(
        first > 0,
        "the file has a keyframe after its start to seek to"
    );
    let mut source = VideoFileSource::builder("cam-1", path.to_str().unwrap())
        .start_offset(Duration::from_nanos(offset))
        .build()
        .unwrap();
    let items = collect(&mut source).unwrap();
    let f = frames(&items);
    assert_eq!(f[0].frame.keyframe, Some(true));
    assert_eq!(
        f[0].frame.pts,
        expected.pts.unwrap() as i64,
        "starts at the keyframe before the offset"
    );
    assert_eq!(f.len(), reference.len() - first, "and goes on to the end");
}

#[test]
fn pacing_follows_the_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.mp4");
    Clip {
        codec: TestCodec::H264,
        container: TestContainer::Mp4,
        width: 160,
        height: 120,
        fps: 30,
        frames: 15,
        gop: 5,
    }
    .write(&path)
    .unwrap();
    let mut source = VideoFileSource::builder("cam-1", path.to_str().unwrap())
        .pace(true)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let items = collect(&mut source).unwrap();
    assert_eq!(frames(&items).len(), 15);
    // 15 frames at 30 fps last 0.5 s; unpaced they take a few ms.
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "paced: {:?}",
        started.elapsed()
    );
}

fn build_error(input: &str) -> SourceError {
    VideoFileSource::builder("cam-1", input)
        .build()
        .unwrap_err()
}

fn run_error(path: &Path) -> String {
    let mut source = VideoFileSource::builder("cam-1", path.to_str().unwrap())
        .build()
        .unwrap();
    let err = collect(&mut source).expect_err("the file cannot be read");
    format!("{err:#}")
}

#[test]
fn bad_input_gives_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.mp4");
    let e = build_error(missing.to_str().unwrap());
    assert!(matches!(e, SourceError::Io { .. }), "{e}");
    assert!(e.to_string().contains("missing.mp4"), "{e}");

    let e = build_error("rtsp://127.0.0.1/cam");
    assert!(e.to_string().contains("RtspSource"), "{e}");

    // Not a video at all.
    let text = dir.path().join("text.mp4");
    std::fs::write(
        &text,
        "hello, this is not a video file at all\n".repeat(200),
    )
    .unwrap();
    let msg = run_error(&text);
    assert!(
        msg.contains("unsupported container") && msg.contains("text.mp4"),
        "{msg}"
    );

    // A container we know with a codec we do not pass: Theora in Ogg is
    // refused as a container; MPEG-4 part 2 in Matroska as a codec.
    let ogg = dir.path().join("clip.mkv");
    savant_sdk_tests::media::gst_launch(&format!(
        "videotestsrc num-buffers=5 ! video/x-raw,width=64,height=48 ! theoraenc ! matroskamux ! filesink location={}",
        ogg.display()
    ))
    .unwrap();
    let msg = run_error(&ogg);
    assert!(
        msg.contains("unsupported video codec video/x-theora"),
        "{msg}"
    );

    // Audio only.
    let audio = dir.path().join("audio.mkv");
    savant_sdk_tests::media::gst_launch(&format!(
        "audiotestsrc num-buffers=5 ! vorbisenc ! matroskamux ! filesink location={}",
        audio.display()
    ))
    .unwrap();
    let msg = run_error(&audio);
    assert!(msg.contains("no video stream"), "{msg}");

    // A truncated file: what was read arrives, then an error or the end,
    // never a hang.
    let good = dir.path().join("good.ts");
    Clip {
        codec: TestCodec::H264,
        container: TestContainer::Ts,
        width: 160,
        height: 120,
        fps: 30,
        frames: 24,
        gop: 8,
    }
    .write(&good)
    .unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.ts");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let mut source = VideoFileSource::builder("cam-1", cut.to_str().unwrap())
        .build()
        .unwrap();
    let outcome = collect(&mut source);
    if let Ok(items) = outcome {
        let n = frames(&items).len();
        assert!(n > 0 && n < 24, "half a file gives part of the frames: {n}");
    }
}

/// Access units of about 3 MB (1080p noise as quality-100 MJPEG): ten of
/// them fill the 32 MB budget before a batch of 16 is complete, and the
/// source must still hand them over rather than wait for itself.
#[test]
fn large_access_units_do_not_stall_the_byte_budget() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.mkv");
    savant_sdk_tests::media::gst_launch(&format!(
        "videotestsrc num-buffers=24 pattern=snow ! video/x-raw,width=1920,height=1080 ! jpegenc quality=100 ! matroskamux ! filesink location={}",
        path.display()
    ))
    .unwrap();
    let mut source = VideoFileSource::builder("cam-1", path.to_str().unwrap())
        .build()
        .unwrap();
    let items = collect(&mut source).unwrap();
    let f = frames(&items);
    assert_eq!(f.len(), 24);
    assert!(f.iter().all(|f| f.content.len() > 2_000_000), "big units");
}

/// Without an EOS per file, a change of size from one file to the next
/// still ends the stream before the new one starts.
#[test]
fn parameter_change_between_files_without_eos_per_file() {
    let dir = tempfile::tempdir().unwrap();
    Clip::new(TestCodec::H264, TestContainer::Mp4)
        .frames(6, 3)
        .write(&dir.path().join("1.mp4"))
        .unwrap();
    Clip::new(TestCodec::H264, TestContainer::Mp4)
        .size(320, 240)
        .frames(6, 3)
        .write(&dir.path().join("2.mp4"))
        .unwrap();
    let mut source = VideoFileSource::builder("cam-1", dir.path().to_str().unwrap())
        .eos_on_file_end(false)
        .build()
        .unwrap();
    let items = collect(&mut source).unwrap();
    assert_eq!(
        eos_positions(&items),
        vec![6],
        "one EOS, where the size changes"
    );
    assert_eq!(frames(&items).len(), 12);
}

/// A looped file with `loss_rate`: the same seed drops the same frames,
/// about the rate's share of them, counted; bad rates are refused.
#[test]
fn lossy_loop_drops_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.mp4");
    Clip {
        codec: TestCodec::H264,
        container: TestContainer::Mp4,
        width: 160,
        height: 120,
        fps: 30,
        frames: 50,
        gop: 10,
    }
    .write(&path)
    .unwrap();
    // 10 rounds of 50 frames (EOS after each round), loss 0.3
    let run = |seed: u64| {
        let mut source = VideoFileSource::builder("cam", path.to_str().unwrap())
            .looped(true)
            .loss_rate(0.3)
            .seed(seed)
            .build()
            .unwrap();
        let pts = runtime().block_on(async {
            let (mut pts, mut eos) = (Vec::new(), 0);
            while eos < 10 {
                match source.next().await.unwrap().expect("looped") {
                    SourceItem::Frame(f) => pts.push(f.frame.pts),
                    SourceItem::EndOfStream(_) => eos += 1,
                    _ => {}
                }
            }
            pts
        });
        (pts, source.dropped_frames())
    };
    let (a, dropped) = run(11);
    let (b, dropped_b) = run(11);
    assert_eq!(a, b, "the same frames dropped");
    assert_eq!(dropped, dropped_b);
    assert_eq!(a.len() as u64 + dropped, 500);
    assert!((100..=200).contains(&dropped), "{dropped} of 500 at 0.3");
    assert_ne!(run(12).0, a, "another seed drops other frames");
    for rate in [-0.5, 1.0, f64::NAN] {
        let e = VideoFileSource::builder("cam", path.to_str().unwrap())
            .loss_rate(rate)
            .build()
            .unwrap_err();
        assert!(
            e.to_string().contains("not a probability in [0, 1)"),
            "{rate}: {e}"
        );
    }
}

/// Every loop opens the file again: 3,000 pipelines started one after
/// the other on a multi-thread runtime. The container used to be
/// typefound by a `typefind` element whose streaming thread added and
/// started the demuxer while the pipeline could still be changing state
/// on the opening thread, and the two could deadlock (seen once in a CI
/// run, in `decode.rs`). That code stalled here in 5 runs of 5, after 323
/// to 2,355 files, with both cores busy; a stall fails the test.
#[test]
fn reopening_files_many_times_never_stalls() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, container) in [("a.mkv", TestContainer::Mkv), ("b.mp4", TestContainer::Mp4)] {
        let path = dir.path().join(name);
        Clip {
            codec: TestCodec::H264,
            container,
            width: 64,
            height: 48,
            fps: FPS,
            frames: 2,
            gop: 2,
        }
        .write(&path)
        .unwrap();
        files.push(path);
    }
    const OPENS: usize = 3000;
    let rt = savant_sdk_tests::two_worker_runtime();
    let outcome = rt.block_on(async {
        let mut source = VideoFileSource::builder("cam-1", dir.path().to_str().unwrap())
            .looped(true)
            .build()
            .unwrap();
        let (mut frames, mut ends) = (0, 0);
        while ends < OPENS {
            match tokio::time::timeout(Duration::from_secs(20), source.next()).await {
                Ok(Ok(Some(SourceItem::Frame(_)))) => frames += 1,
                Ok(Ok(Some(SourceItem::EndOfStream(_)))) => ends += 1,
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None)) => return Err("a looped source ended".to_string()),
                Ok(Err(e)) => return Err(format!("file {ends}: {e}")),
                Err(_) => return Err(format!("the source stalled after {ends} files")),
            }
        }
        Ok(frames)
    });
    // a deadlocked pipeline start holds a blocking thread: do not wait
    // for it, fail
    rt.shutdown_timeout(Duration::from_secs(1));
    assert_eq!(outcome.unwrap(), 2 * OPENS, "every file's frames");
}
