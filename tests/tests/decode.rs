//! The decoding adapter (`savant-sdk-gst`): clips made here with
//! `gst-launch-1.0` go through VideoFileSource, the loopback module and a
//! `DecodingSink`, and the pictures must be GStreamer's own decode of the
//! file (`decodebin ! videoconvert ! video/x-raw,format=RGB`), frame by
//! frame, in the same count and order. Parameter changes and EOS reset a
//! source's decoder; a corrupt access unit is skipped and counted, and the
//! next keyframe decodes.

use std::path::Path;

use async_trait::async_trait;
use bytes::Bytes;
use savant_sdk_core::sink::SinkResult;
use savant_sdk_core::source::Source;
use savant_sdk_gst::{Decoded, DecodingSink, FrameDecoder, Picture, PictureSink, UndecodedReason};
use savant_sdk_sources::{ImageDirectorySource, VideoFileSource};
use savant_sdk_tests::media::{
    clip_results, eos_result, gst_launch, Clip, TestCodec, TestContainer,
};
use savant_sdk_tests::through_loopback;

/// A decoded picture as the test keeps it.
#[derive(Debug, Clone)]
struct Got {
    source_id: String,
    pts: i64,
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

#[derive(Default)]
struct Collect {
    pictures: Vec<Got>,
    undecoded: Vec<UndecodedReason>,
    eos: Vec<String>,
}

#[async_trait]
impl PictureSink for Collect {
    async fn picture(
        &mut self,
        result: SinkResult,
        picture: Picture,
    ) -> savant_sdk_core::Result<()> {
        self.pictures.push(Got {
            source_id: result.source_id().to_string(),
            pts: result.pts().unwrap(),
            width: picture.width(),
            height: picture.height(),
            rgb: picture.as_bytes().to_vec(),
        });
        Ok(())
    }

    async fn other(
        &mut self,
        result: SinkResult,
        reason: Option<UndecodedReason>,
    ) -> savant_sdk_core::Result<()> {
        match reason {
            Some(r) => self.undecoded.push(r),
            None if result.is_end_of_stream() => self.eos.push(result.source_id().to_string()),
            None => {}
        }
        Ok(())
    }
}

/// GStreamer's own decode of `path`: RGB frames of `width`x`height`.
fn reference_frames(work: &Path, path: &Path, width: u32, height: u32) -> Vec<Vec<u8>> {
    let raw = work.join(format!(
        "{}.rgb",
        path.file_name().unwrap().to_string_lossy()
    ));
    gst_launch(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=RGB ! filesink location={}",
        path.display(),
        raw.display()
    ))
    .unwrap();
    let bytes = std::fs::read(&raw).unwrap();
    let frame = (width * height * 3) as usize;
    assert_eq!(bytes.len() % frame, 0, "whole RGB frames");
    bytes.chunks(frame).map(<[u8]>::to_vec).collect()
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum::<f64>()
        / a.len() as f64
}

/// Sends `source` through a loopback module into `sink`; the frames sent.
async fn round_trip<S: Source + 'static>(
    work: &Path,
    source: S,
    sink: &mut DecodingSink<Collect>,
) -> u64 {
    through_loopback(work, source, sink).await.unwrap().frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_decodes_as_gstreamer_decodes_the_file() {
    for codec in [
        TestCodec::H264,
        TestCodec::Hevc,
        TestCodec::Vp8,
        TestCodec::Vp9,
        TestCodec::Av1,
        TestCodec::Jpeg,
    ] {
        let work = tempfile::tempdir().unwrap();
        let clip = Clip::new(codec, TestContainer::Mkv);
        let path = work
            .path()
            .join(format!("clip.{}", clip.container.extension()));
        clip.write(&path).unwrap();
        let reference = reference_frames(work.path(), &path, clip.width, clip.height);
        assert_eq!(
            reference.len(),
            clip.frames as usize,
            "{codec:?}: reference"
        );

        let source = VideoFileSource::builder("cam-1", path.to_str().unwrap())
            .build()
            .unwrap();
        let mut sink = DecodingSink::new(Collect::default());
        let sent = round_trip(work.path(), source, &mut sink).await;
        let stats = sink.stats();
        let got = sink.into_inner();
        assert_eq!(sent, clip.frames as u64, "{codec:?}: frames sent");
        assert_eq!(got.undecoded, [], "{codec:?}: every frame decodes");
        assert_eq!(got.eos, ["cam-1"], "{codec:?}: the EOS after the pictures");
        assert_eq!(stats.decoded, sent, "{codec:?}: {stats:?}");
        assert_eq!(
            stats.copied, 0,
            "{codec:?}: pictures stay in the decoder's buffers"
        );
        assert_eq!(
            got.pictures.len(),
            reference.len(),
            "{codec:?}: picture count"
        );
        let mut last_pts = i64::MIN;
        for (i, (g, want)) in got.pictures.iter().zip(&reference).enumerate() {
            assert_eq!(
                (g.width, g.height),
                (clip.width, clip.height),
                "{codec:?} #{i}"
            );
            assert_eq!(g.source_id, "cam-1");
            assert!(g.pts > last_pts, "{codec:?} #{i}: presentation order");
            last_pts = g.pts;
            let mad = mean_abs_diff(&g.rgb, want);
            assert!(mad <= 1.0, "{codec:?} #{i}: mean abs difference {mad}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn png_pictures_decode_exactly() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("png");
    std::fs::create_dir(&dir).unwrap();
    let mut want = Vec::new();
    for i in 0..5u32 {
        let (w, h) = (40 + i * 8, 30 + i * 2); // odd row lengths: packed rows
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 5 + i) as u8, (y * 7) as u8, (x ^ y) as u8])
        });
        img.save(dir.join(format!("{i:03}.png"))).unwrap();
        want.push(img);
    }
    let source = ImageDirectorySource::new("pics", &dir).unwrap();
    let mut sink = DecodingSink::new(Collect::default());
    let sent = round_trip(work.path(), source, &mut sink).await;
    let stats = sink.stats();
    let got = sink.into_inner();
    assert_eq!(sent, 5);
    assert_eq!(got.pictures.len(), 5, "{stats:?}");
    for (g, w) in got.pictures.iter().zip(&want) {
        assert_eq!((g.width, g.height), w.dimensions());
        assert_eq!(g.rgb, w.as_raw().as_slice(), "lossless");
    }
    assert_eq!(
        stats.parameter_changes, 4,
        "each new size restarts the decoder"
    );
}

async fn results_of(path: &Path, source_id: &str) -> Vec<SinkResult> {
    clip_results(path, source_id).await.unwrap()
}

fn eos(source_id: &str) -> SinkResult {
    eos_result(source_id)
}

fn pictures(out: &[Decoded]) -> Vec<(u32, u32)> {
    out.iter()
        .filter_map(|d| match d {
            Decoded::Picture { picture, .. } => Some((picture.width(), picture.height())),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_size_change_and_an_eos_reset_the_decoder() {
    let work = tempfile::tempdir().unwrap();
    let small = work.path().join("small.mkv");
    let large = work.path().join("large.mkv");
    Clip::new(TestCodec::H264, TestContainer::Mkv)
        .write(&small)
        .unwrap();
    Clip::new(TestCodec::H264, TestContainer::Mkv)
        .size(320, 240)
        .write(&large)
        .unwrap();
    let mut decoder = FrameDecoder::new();
    let mut out = Vec::new();
    // small then large under one source id, no EOS between: a parameter change
    for r in results_of(&small, "cam").await {
        decoder.push(r, &mut out).unwrap();
    }
    for r in results_of(&large, "cam").await {
        decoder.push(r, &mut out).unwrap();
    }
    decoder.push(eos("cam"), &mut out).unwrap();
    assert_eq!(decoder.streams(), 0, "the EOS drops the source's decoder");
    let sizes = pictures(&out);
    assert_eq!(sizes.len(), 48, "{:?}", decoder.stats());
    assert!(sizes[..24].iter().all(|s| *s == (160, 120)));
    assert!(sizes[24..].iter().all(|s| *s == (320, 240)));
    assert!(
        matches!(out.last(), Some(Decoded::Message(r)) if r.is_end_of_stream()),
        "the EOS comes after its source's pictures"
    );
    assert_eq!(decoder.stats().parameter_changes, 1);

    // after the EOS the same source id starts again from its keyframe
    out.clear();
    for r in results_of(&small, "cam").await {
        decoder.push(r, &mut out).unwrap();
    }
    decoder.finish(&mut out).unwrap();
    assert_eq!(pictures(&out).len(), 24, "{:?}", decoder.stats());
    assert_eq!(decoder.stats().undecoded(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_access_unit_is_counted_and_the_next_keyframe_decodes() {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("clip.mkv");
    let clip = Clip::new(TestCodec::H264, TestContainer::Mkv);
    clip.write(&path).unwrap();
    let reference = reference_frames(work.path(), &path, clip.width, clip.height);
    let mut results = results_of(&path, "cam").await;
    assert!(results[8].frame().unwrap().keyframe == Some(true), "gop 8");
    // the keyframe at 0 replaced by noise: nothing before the keyframe at 8
    // can decode
    let noise: Vec<u8> = (0..4000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    results[0].content = Some(Bytes::from(noise));
    let mut decoder = FrameDecoder::new();
    let mut out = Vec::new();
    for r in results {
        decoder.push(r, &mut out).unwrap();
    }
    decoder.finish(&mut out).unwrap();
    let stats = decoder.stats();
    let decoded: Vec<(i64, Vec<u8>)> = out
        .iter()
        .filter_map(|d| match d {
            Decoded::Picture { result, picture } => {
                Some((result.pts().unwrap(), picture.as_bytes().to_vec()))
            }
            _ => None,
        })
        .collect();
    assert!(
        stats.undecoded() >= 1,
        "the corrupt unit is counted: {stats:?}"
    );
    assert_eq!(
        stats.decoded + stats.undecoded(),
        clip.frames as u64,
        "every frame is either decoded or counted: {stats:?}"
    );
    // the last 16 pictures (from the keyframe at 8 on) are the reference's
    assert!(decoded.len() >= 16, "{stats:?}");
    for (i, (_, rgb)) in decoded[decoded.len() - 16..].iter().enumerate() {
        let mad = mean_abs_diff(rgb, &reference[8 + i]);
        assert!(mad <= 1.0, "frame {}: mean abs difference {mad}", 8 + i);
    }
}

#[test]
fn a_codec_without_a_decoder_names_the_package() {
    let e = savant_sdk_gst::GstError::NoDecoder {
        codec: "h264",
        tried: "avdec_h264, openh264dec".into(),
        package: savant_sdk_gst::debian_package("avdec_h264"),
    };
    assert!(e.to_string().contains("gstreamer1.0-libav"), "{e}");
}
