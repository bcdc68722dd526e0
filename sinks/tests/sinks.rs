//! Each sink on real frames sent through the embedded loopback module and
//! checked on disk.

use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use image::{Rgb, RgbImage};
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::model::*;
use savant_sdk_core::sink::Sink;
use savant_sdk_core::source::SourceFrame;
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_sinks::draw::{corners, ink_on, label_color, Annotator};
use savant_sdk_sinks::metadata::Record;
use savant_sdk_sinks::{AnnotatedFrameSink, FanOut, ImageFilesSink, MetadataJsonSink, SinkError};

const W: u32 = 320;
const H: u32 = 240;

fn picture(i: u8) -> RgbImage {
    RgbImage::from_pixel(W, H, Rgb([40 + i, 40, 40]))
}

fn encode(img: &RgbImage, format: image::ImageFormat) -> Bytes {
    let mut c = Cursor::new(Vec::new());
    img.write_to(&mut c, format).unwrap();
    Bytes::from(c.into_inner())
}

/// A frame with a person box, a rotated car box, attributes and a payload.
fn frame(source: &str, pts: i64, codec: &str, content: Bytes) -> SourceFrame {
    let f = VideoFrame::builder(source)
        .size(W as i64, H as i64)
        .codec(codec)
        .keyframe(pts % 2 == 0)
        .pts(pts)
        .attribute(Attribute::persistent(
            "meta",
            "index",
            vec![AttributeValue::integer(pts)],
        ))
        .object(
            VideoObject::new(
                1,
                "detector",
                "person",
                BoundingBox::ltwh(40.0, 60.0, 80.0, 120.0),
            )
            .with_confidence(0.9)
            .with_track(5, BoundingBox::ltwh(41.0, 60.0, 80.0, 120.0))
            .with_attribute(Attribute::persistent(
                "color",
                "main",
                vec![AttributeValue::string("red")],
            )),
        )
        .object(
            VideoObject::new(
                2,
                "detector",
                "car",
                BoundingBox::new(230.0, 150.0, 80.0, 40.0).with_angle(30.0),
            )
            .with_parent(1),
        )
        .build();
    SourceFrame::new(f, content)
}

/// Sends `frames` through a loopback module into `sink`, then EOS.
async fn run_through_loopback(dir: &Path, frames: Vec<SourceFrame>, sink: &mut dyn Sink) {
    let input = format!("ipc://{}/in.ipc", dir.display());
    let output = format!("ipc://{}/out.ipc", dir.display());
    let mut runner = SinkBuilder::new(format!("router+bind:{output}"))
        .idle_timeout(Duration::from_secs(2))
        .build()
        .await
        .unwrap();
    let module = LoopbackModule::start(LoopbackConfig::new(
        format!("router+bind:{input}"),
        format!("dealer+connect:{output}"),
    ))
    .unwrap();
    let source = SourceBuilder::new(format!("dealer+connect:{input}"))
        .build()
        .await
        .unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for f in frames {
        ids.insert(f.frame.source_id.clone());
        source.send(f).await.unwrap();
    }
    for id in ids {
        source.send_eos(&id).await.unwrap();
    }
    runner.run(sink).await.unwrap();
    source.close().await;
    module.stop().unwrap();
    runner.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_and_metadata_sinks_write_what_was_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let images = tmp.path().join("images");
    let meta = tmp.path().join("meta");
    let sent: Vec<SourceFrame> = (0..4)
        .map(|i| {
            let (codec, fmt) = if i % 2 == 0 {
                ("jpeg", image::ImageFormat::Jpeg)
            } else {
                ("png", image::ImageFormat::Png)
            };
            frame(
                if i < 3 { "cam-a" } else { "cam/b" },
                i,
                codec,
                encode(&picture(i as u8), fmt),
            )
        })
        .chain([frame(
            "cam-a",
            10,
            "h264",
            Bytes::from_static(b"\x00\x00\x00\x01not-an-image"),
        )])
        .collect();
    let mut sink = FanOut::new()
        .with(ImageFilesSink::new(&images).unwrap())
        .with(MetadataJsonSink::per_source(&meta).unwrap());
    run_through_loopback(tmp.path(), sent.clone(), &mut sink).await;

    // images: byte for byte, named by pts, extension from the codec
    for f in sent
        .iter()
        .filter(|f| f.frame.codec.as_deref() != Some("h264"))
    {
        let ext = if f.frame.codec.as_deref() == Some("png") {
            "png"
        } else {
            "jpeg"
        };
        let folder = f.frame.source_id.replace('/', "_");
        let path = images
            .join(folder)
            .join(format!("{:020}.{ext}", f.frame.pts));
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(on_disk, f.content.to_vec(), "{}", path.display());
        image::load_from_memory(&on_disk).expect("decodes");
    }
    // the h264 frame is not written; EOS wrote the index
    assert!(!images
        .join("cam-a")
        .join(format!("{:020}.jpeg", 10))
        .exists());
    let index = std::fs::read_to_string(images.join("cam-a/index.txt")).unwrap();
    assert_eq!(index.lines().count(), 3);

    // metadata: every line reads back into the schema (unknown fields refused)
    let text = std::fs::read_to_string(meta.join("cam-a.jsonl")).unwrap();
    let records: Vec<Record> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 5, "4 frames of cam-a and its EOS"); // 3 images + h264 + EOS
    let Record::Frame(first) = &records[0] else {
        panic!()
    };
    assert_eq!(first.pts, 0);
    assert_eq!(first.codec.as_deref(), Some("jpeg"));
    assert_eq!((first.width, first.height), (W as i64, H as i64));
    assert_eq!(first.trace_id.as_ref().map(String::len), Some(32));
    assert_eq!(first.content_bytes, sent[0].content.len());
    let index_attr = first.attributes.iter().find(|a| a.name == "index").unwrap();
    assert_eq!(index_attr.values[0].kind, "integer");
    assert_eq!(index_attr.values[0].value, serde_json::json!(0));
    assert_eq!(first.objects.len(), 2);
    let person = first.objects.iter().find(|o| o.label == "person").unwrap();
    assert_eq!(person.confidence, Some(0.9));
    assert_eq!(person.track_id, Some(5));
    assert_eq!(person.detection_box.xc, 80.0);
    assert_eq!(
        person.attributes[0].values[0].value,
        serde_json::json!("red")
    );
    let car = first.objects.iter().find(|o| o.label == "car").unwrap();
    assert_eq!(car.parent_id, Some(1));
    assert_eq!(car.detection_box.angle, Some(30.0));
    assert!(matches!(&records[4], Record::Eos { source_id } if source_id == "cam-a"));
    // a source id with a slash gets a safe file name
    assert!(meta.join("cam_b.jsonl").exists());
    // a line with an unknown field does not validate
    let bad = text
        .lines()
        .next()
        .unwrap()
        .replacen("{", "{\"extra\":1,", 1);
    assert!(serde_json::from_str::<Record>(&bad).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotated_frames_show_the_boxes_where_the_objects_are() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("annotated");
    let png = encode(&picture(0), image::ImageFormat::Png);
    let frames = vec![
        frame("cam", 0, "png", png),
        // corrupt JPEG content: logged and skipped, the next frame still comes
        frame(
            "cam",
            1,
            "jpeg",
            Bytes::from_static(b"\xff\xd8\xff\xe0 corrupt \xff\xd9"),
        ),
        frame(
            "cam",
            2,
            "jpeg",
            encode(&picture(9), image::ImageFormat::Jpeg),
        ),
    ];
    let mut sink = AnnotatedFrameSink::new(&out).unwrap();
    run_through_loopback(tmp.path(), frames, &mut sink).await;
    assert_eq!((sink.written(), sink.skipped()), (2, 1));

    let path = out.join("cam").join(format!("{:020}.png", 0));
    let img = image::open(&path).unwrap().to_rgb8();
    let person = label_color("person");
    let car = label_color("car");
    // the person box is axis-aligned: left x=40, right x=120, top y=60, bottom y=180
    for (x, y) in [
        (40, 120),
        (120, 120),
        (80, 180),
        (80, 60),
        (40, 150),
        (120, 100),
    ] {
        assert_eq!(*img.get_pixel(x, y), person, "person box edge at ({x},{y})");
    }
    // inside the box and far outside it the picture is untouched
    assert_eq!(*img.get_pixel(80, 120), Rgb([40, 40, 40]));
    assert_eq!(*img.get_pixel(300, 20), Rgb([40, 40, 40]));
    // the car box is rotated by 30 degrees: its corners are off the axis-aligned box
    let b = BoundingBox::new(230.0, 150.0, 80.0, 40.0).with_angle(30.0);
    for (cx, cy) in corners(&b) {
        assert_eq!(
            *img.get_pixel(cx.round() as u32, cy.round() as u32),
            car,
            "car corner"
        );
    }
    // the unrotated corner (190,130) is not on the rotated outline
    assert_eq!(*img.get_pixel(190, 130), Rgb([40, 40, 40]));
    // the label tag sits above the person box in its colour: its bottom row
    // right above the box's top edge, its corners (padding) in the colour,
    // the background right above it
    let (tw, th) = Annotator::new().tag_size("person 90%", H);
    assert!(th >= 12 && tw > th, "a tag of {tw}x{th} for a 12 px font");
    let tag_top = 60 - th;
    for (x, y) in [
        (40, tag_top),
        (40 + tw - 1, tag_top),
        (40, 59),
        (40 + tw - 1, 59),
    ] {
        assert_eq!(*img.get_pixel(x, y), person, "tag corner at ({x},{y})");
    }
    assert_eq!(*img.get_pixel(40, tag_top - 1), Rgb([40, 40, 40]));
    assert_eq!(*img.get_pixel(40 + tw, tag_top), Rgb([40, 40, 40]));
    // the text is in the contrasting ink, inside the tag only
    let ink = ink_on(person);
    assert_ne!(ink, person);
    let tag: Vec<Rgb<u8>> = (tag_top..60)
        .flat_map(|y| (40..40 + tw).map(move |x| (x, y)))
        .map(|(x, y)| *img.get_pixel(x, y))
        .collect();
    let inked = tag.iter().filter(|p| inkish(**p, person)).count();
    assert!(
        inked > 40 && inked < tag.len() / 2,
        "{inked} of {} tag pixels in ink",
        tag.len()
    );
    assert!(
        (0..W).all(|x| !inkish(*img.get_pixel(x, tag_top - 1), Rgb([40, 40, 40]))),
        "no ink above the tag"
    );
    if let Ok(keep) = std::env::var("SAVANT_SDK_KEEP_ANNOTATED") {
        std::fs::copy(&path, keep).unwrap();
    }
}

/// Whether `p` is nearer to the ink on `tag` than to `tag` (text is
/// anti-aliased: its pixels blend the ink into the tag).
fn inkish(p: Rgb<u8>, tag: Rgb<u8>) -> bool {
    let d = |a: Rgb<u8>, b: Rgb<u8>| -> u32 {
        a.0.iter().zip(b.0).map(|(x, y)| x.abs_diff(y) as u32).sum()
    };
    d(p, ink_on(tag)) < d(p, tag)
}

/// Objects for the drawing tests: axis-aligned, rotated, with a
/// draw_label, without confidence, touching the top edge.
fn objects() -> Vec<VideoObject> {
    vec![
        VideoObject::new(1, "d", "person", BoundingBox::ltwh(40.0, 60.0, 80.0, 120.0))
            .with_confidence(0.87),
        VideoObject::new(
            2,
            "d",
            "car",
            BoundingBox::new(230.0, 150.0, 80.0, 40.0).with_angle(30.0),
        ),
        VideoObject {
            draw_label: Some("Bus #7".into()),
            ..VideoObject::new(3, "d", "bus", BoundingBox::ltwh(150.0, 0.0, 60.0, 50.0))
        },
    ]
}

/// The same drawing on an owned image, an image over a borrowed byte slice
/// (as a mapped video buffer is) and an `RgbImage`: the same pixels.
#[test]
fn drawing_on_owned_and_borrowed_buffers_gives_the_same_pixels() {
    let annotator = Annotator::new().thickness(3);
    let background = picture(0).into_raw();
    let mut owned =
        image::ImageBuffer::<Rgb<u8>, Vec<u8>>::from_raw(W, H, background.clone()).unwrap();
    annotator.draw_objects(&mut owned, &objects());
    let mut bytes = background.clone();
    {
        let mut borrowed =
            image::ImageBuffer::<Rgb<u8>, &mut [u8]>::from_raw(W, H, &mut bytes[..]).unwrap();
        annotator.draw_objects(&mut borrowed, &objects());
    }
    assert_ne!(bytes, background, "something was drawn");
    assert_eq!(bytes, owned.into_raw());
    let mut rgb = picture(0);
    annotator.draw_objects(&mut rgb, &objects());
    assert_eq!(bytes, rgb.into_raw());
}

/// A box touching the top edge gets its tag inside the image, over the
/// box's top; the tag of a box at the right edge is moved left into the
/// image.
#[test]
fn tags_of_boxes_at_the_edges_stay_in_the_image() {
    let annotator = Annotator::new();
    let mut img = picture(0);
    let bus = label_color("bus");
    let object = VideoObject::new(1, "d", "bus", BoundingBox::ltwh(150.0, 0.0, 60.0, 50.0));
    annotator.draw_objects(&mut img, &[object]);
    let (tw, th) = annotator.tag_size("bus", H);
    assert_eq!(*img.get_pixel(150, 0), bus);
    assert_eq!(*img.get_pixel(150 + tw - 1, th - 1), bus);
    let tag_inked = (0..th)
        .flat_map(|y| (150..150 + tw).map(move |x| (x, y)))
        .filter(|&(x, y)| inkish(*img.get_pixel(x, y), bus))
        .count();
    assert!(tag_inked > 10, "{tag_inked} ink pixels");

    let mut img = picture(0);
    let text = "a long label at the right edge";
    let object = VideoObject {
        draw_label: Some(text.into()),
        ..VideoObject::new(1, "d", "bus", BoundingBox::ltwh(300.0, 100.0, 19.0, 50.0))
    };
    annotator.draw_objects(&mut img, &[object]);
    let (tw, th) = annotator.tag_size(text, H);
    assert!(tw < W);
    assert_eq!(*img.get_pixel(W - tw, 100 - th), bus);
    assert_eq!(*img.get_pixel(W - 1, 100 - th), bus);
    assert_eq!(*img.get_pixel(W - tw - 1, 100 - th), Rgb([40, 40, 40]));
}

/// Boxes partly or wholly outside the image, huge, empty, or with NaN,
/// infinite or negative sizes: what is inside the image is drawn, the rest
/// is not, nothing panics, and huge boxes cost no more than the image.
#[test]
fn boxes_outside_the_image_or_with_bad_sizes_do_not_panic() {
    let annotator = Annotator::new().thickness(4);
    let background = picture(0);
    let obj = |b: BoundingBox| VideoObject::new(1, "d", "person", b).with_confidence(0.5);
    let person = label_color("person");

    // partly outside at the top-left: its right and bottom edges show
    let mut img = background.clone();
    annotator.draw_objects(
        &mut img,
        &[obj(BoundingBox::ltwh(-50.0, -50.0, 100.0, 100.0))],
    );
    assert_eq!(*img.get_pixel(50, 30), person);
    assert_eq!(*img.get_pixel(30, 50), person);
    assert_eq!(*img.get_pixel(100, 100), Rgb([40, 40, 40]));
    // partly outside at the bottom-right, rotated
    let mut img = background.clone();
    annotator.draw_objects(
        &mut img,
        &[obj(
            BoundingBox::new(W as f32, H as f32, 100.0, 60.0).with_angle(20.0)
        )],
    );
    assert_ne!(img, background);

    // wholly outside, not drawable, or degenerate: nothing drawn
    for b in [
        BoundingBox::ltwh(-500.0, 10.0, 100.0, 100.0),
        BoundingBox::ltwh(10.0, H as f32 + 10.0, 100.0, 100.0),
        BoundingBox::ltwh(W as f32 + 50.0, -400.0, 10.0, 10.0).with_angle(45.0),
        BoundingBox::ltwh(1e30, 1e30, 10.0, 10.0),
        BoundingBox::new(100.0, 100.0, f32::NAN, 10.0),
        BoundingBox::new(100.0, 100.0, 10.0, f32::NAN),
        BoundingBox::new(f32::NAN, 100.0, 10.0, 10.0),
        BoundingBox::new(100.0, 100.0, f32::INFINITY, 10.0),
        BoundingBox::new(100.0, 100.0, 10.0, 10.0).with_angle(f32::NAN),
        BoundingBox::new(100.0, 100.0, -10.0, 10.0),
        BoundingBox::new(100.0, 100.0, 10.0, -10.0).with_angle(30.0),
    ] {
        let mut img = background.clone();
        annotator.draw_objects(&mut img, &[obj(b)]);
        assert!(img == background, "{b:?} drew something");
    }

    // huge boxes around the image: their edges are outside, the call is quick
    let started = std::time::Instant::now();
    for b in [
        BoundingBox::new(160.0, 120.0, 1e9, 1e9),
        BoundingBox::new(160.0, 120.0, 3e38, 3e38),
        BoundingBox::new(160.0, 120.0, 1e9, 1e9).with_angle(10.0),
        BoundingBox::new(160.0, 120.0, 1e30, 1e30).with_angle(45.0),
    ] {
        let mut img = background.clone();
        annotator.draw_objects(&mut img, &[obj(b)]);
    }
    assert!(started.elapsed() < Duration::from_secs(10));

    // a zero-sized box is a dot with its label; tiny and empty images
    let mut img = background.clone();
    annotator.draw_objects(&mut img, &[obj(BoundingBox::new(100.0, 100.0, 0.0, 0.0))]);
    assert_eq!(*img.get_pixel(100, 100), person);
    for (w, h) in [(1, 1), (3, 2), (0, 0), (0, 5)] {
        let mut img = RgbImage::new(w, h);
        annotator.draw_objects(&mut img, &objects());
    }
}

#[test]
fn an_unwritable_folder_fails_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let under_a_file = file.join("out");
    assert!(matches!(
        ImageFilesSink::new(&under_a_file),
        Err(SinkError::Unwritable { .. })
    ));
    assert!(matches!(
        AnnotatedFrameSink::new(&under_a_file),
        Err(SinkError::Unwritable { .. })
    ));
    assert!(matches!(
        MetadataJsonSink::per_source(&under_a_file),
        Err(SinkError::Unwritable { .. })
    ));
    assert!(matches!(
        MetadataJsonSink::file(under_a_file.join("m.jsonl")),
        Err(SinkError::Unwritable { .. })
    ));
    let e = ImageFilesSink::new(&under_a_file).unwrap_err();
    assert!(e.to_string().contains("a-file"), "{e}");
}

fn result_of(f: SourceFrame) -> savant_sdk_core::sink::SinkResult {
    savant_sdk_core::sink::SinkResult {
        topic: f.frame.source_id.clone(),
        trace_id: None,
        content: Some(f.content.clone()),
        message: Message::video_frame(f.frame),
        log_handle: Default::default(),
        seq_gap: None,
    }
}

fn eos_of(source: &str) -> savant_sdk_core::sink::SinkResult {
    savant_sdk_core::sink::SinkResult {
        topic: source.to_string(),
        trace_id: None,
        content: None,
        message: Message::end_of_stream(EndOfStream::new(source)),
        log_handle: Default::default(),
        seq_gap: None,
    }
}

/// One rule for frames a sink cannot take: skipped by codec and counted;
/// an image sink never writes an index for a source that sent no image.
#[tokio::test]
async fn sinks_skip_frames_they_cannot_take_by_codec_and_count_them() {
    let tmp = tempfile::tempdir().unwrap();
    let h264 = |pts| {
        frame(
            "video-only",
            pts,
            "h264",
            Bytes::from_static(b"\x00\x00\x00\x01\x65 not an image"),
        )
    };
    let mut images = ImageFilesSink::new(tmp.path().join("images")).unwrap();
    let mut annotated = AnnotatedFrameSink::new(tmp.path().join("annotated")).unwrap();
    for pts in 0..60 {
        images.consume(result_of(h264(pts))).await.unwrap();
        annotated.consume(result_of(h264(pts))).await.unwrap();
    }
    images.consume(eos_of("video-only")).await.unwrap();
    annotated.consume(eos_of("video-only")).await.unwrap();
    assert_eq!(images.skipped(), 60);
    assert_eq!(annotated.skipped(), 60);
    assert_eq!(annotated.written(), 0);
    assert!(
        !tmp.path().join("images/video-only").exists(),
        "no folder and no empty index.txt for a source without images"
    );
    assert!(!tmp.path().join("annotated/video-only").exists());
}

/// The same pts twice (a restarted source, two sources chained badly)
/// never replaces a file: the second gets a new name, and the index lists both.
#[tokio::test]
async fn the_image_sink_never_overwrites_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let mut sink = ImageFilesSink::new(tmp.path()).unwrap();
    let a = encode(&picture(1), image::ImageFormat::Jpeg);
    let b = encode(&picture(2), image::ImageFormat::Jpeg);
    sink.consume(result_of(frame("cam", 0, "jpeg", a.clone())))
        .await
        .unwrap();
    sink.consume(result_of(frame("cam", 0, "jpeg", b.clone())))
        .await
        .unwrap();
    sink.consume(eos_of("cam")).await.unwrap();
    assert_eq!(sink.renamed(), 1);
    let first = tmp.path().join(format!("cam/{:020}.jpeg", 0));
    let second = tmp.path().join(format!("cam/{:020}-1.jpeg", 0));
    assert_eq!(std::fs::read(first).unwrap(), a.to_vec());
    assert_eq!(std::fs::read(second).unwrap(), b.to_vec());
    let index = std::fs::read_to_string(tmp.path().join("cam/index.txt")).unwrap();
    assert_eq!(index.lines().count(), 2, "{index}");
}

/// A sink that records what it gets, optionally held at a gate.
struct Recording {
    seen: std::sync::Arc<std::sync::Mutex<Vec<i64>>>,
    gate: Option<std::sync::Arc<tokio::sync::Semaphore>>,
    fail_at: Option<i64>,
}

#[savant_sdk_core::async_trait]
impl Sink for Recording {
    async fn consume(
        &mut self,
        r: savant_sdk_core::sink::SinkResult,
    ) -> savant_sdk_core::Result<()> {
        if let Some(g) = &self.gate {
            g.acquire().await.unwrap().forget();
        }
        let pts = r.frame().map_or(-1, |f| f.pts);
        if self.fail_at == Some(pts) {
            return Err(savant_sdk_core::Error::sink(
                "recording",
                "failed on purpose",
            ));
        }
        self.seen.lock().unwrap().push(pts);
        Ok(())
    }
}

fn recording(
    gate: Option<std::sync::Arc<tokio::sync::Semaphore>>,
) -> (Recording, std::sync::Arc<std::sync::Mutex<Vec<i64>>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    (
        Recording {
            seen: seen.clone(),
            gate,
            fail_at: None,
        },
        seen,
    )
}

/// A slow sink holds back the others only up to its bounded queue; each
/// sink sees every result in order; finish drains them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_sink_does_not_hold_back_the_others_beyond_its_queue() {
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let (slow, slow_seen) = recording(Some(gate.clone()));
    let (fast, fast_seen) = recording(None);
    let mut fan = FanOut::new().queue(8).with(slow).with(fast);
    let r = |pts| result_of(frame("cam", pts, "jpeg", Bytes::from_static(b"x")));
    for pts in 0..5 {
        // would wait forever if the slow sink were called in turn
        tokio::time::timeout(Duration::from_secs(30), fan.consume(r(pts)))
            .await
            .expect("consume waited for the slow sink")
            .unwrap();
    }
    // the fast sink gets all five while the slow one has done none
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while fast_seen.lock().unwrap().len() < 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "the fast sink was held back"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(slow_seen.lock().unwrap().is_empty());
    // bounded: with the slow queue full (1 taken + 8 queued), consume waits
    for pts in 5..9 {
        fan.consume(r(pts)).await.unwrap();
    }
    let blocked = tokio::time::timeout(Duration::from_millis(300), fan.consume(r(9))).await;
    assert!(
        blocked.is_err(),
        "consume should wait while a queue is full"
    );
    gate.add_permits(1000);
    fan.consume(r(10)).await.unwrap();
    fan.finish().await.unwrap();
    let want: Vec<i64> = (0..11).filter(|p| *p != 9).collect();
    assert_eq!(*fast_seen.lock().unwrap(), want);
    assert_eq!(*slow_seen.lock().unwrap(), want);
}

/// A sink's error comes back from the fan-out, and the others still finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sink_in_a_fan_out_reports_its_error() {
    let (mut failing, _) = recording(None);
    failing.fail_at = Some(1);
    let (ok, ok_seen) = recording(None);
    let mut fan = FanOut::new().with(failing).with(ok);
    let r = |pts| result_of(frame("cam", pts, "jpeg", Bytes::from_static(b"x")));
    let mut first_error = None;
    for pts in 0..3 {
        if let Err(e) = fan.consume(r(pts)).await {
            first_error.get_or_insert(e);
        }
    }
    let finished = fan.finish().await;
    let e = first_error
        .or(finished.err())
        .expect("the error is reported");
    assert!(e.to_string().contains("failed on purpose"), "{e}");
    assert_eq!(*ok_seen.lock().unwrap(), vec![0, 1, 2]);
}
