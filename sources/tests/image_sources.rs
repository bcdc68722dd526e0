//! JpegSource and PngSource on real image files written by the test.

use std::path::PathBuf;

use image::{ImageFormat, Rgb, RgbImage};
use savant_sdk_core::model::*;
use savant_sdk_core::source::{Source, SourceItem};
use savant_sdk_sources::{JpegSource, PngSource, SourceError};

fn write_image(
    dir: &tempfile::TempDir,
    name: &str,
    w: u32,
    h: u32,
    format: ImageFormat,
) -> PathBuf {
    let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let path = dir.path().join(name);
    img.save_with_format(&path, format).unwrap();
    path
}

#[tokio::test]
async fn a_jpeg_file_is_one_frame_with_its_bytes_size_and_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_image(&dir, "a.jpeg", 320, 200, ImageFormat::Jpeg);
    let mut src = JpegSource::from_path("cam-1", &path)
        .unwrap()
        .with_pts(5)
        .with_framerate(25, 1);
    assert_eq!(src.size(), (320, 200));
    let Some(SourceItem::Frame(f)) = src.next().await.unwrap() else {
        panic!("a frame")
    };
    assert!(src.next().await.unwrap().is_none(), "one frame only");
    assert_eq!(&f.content[..], &std::fs::read(&path).unwrap()[..]);
    let frame = f.frame;
    assert_eq!(frame.source_id, "cam-1");
    assert_eq!((frame.width, frame.height), (320, 200));
    assert_eq!(frame.codec.as_deref(), Some("jpeg"));
    assert_eq!(frame.keyframe, Some(true));
    assert_eq!(frame.pts, 5);
    assert_eq!(frame.framerate, "25/1");
    assert_eq!(frame.duration, Some(40_000_000));
    assert_eq!(frame.time_base, TimeBase::NANOSECONDS);
    assert_eq!(frame.content, FrameContent::external_zeromq());
    let loc = frame.attribute("default", "location").unwrap();
    assert!(loc.is_persistent);
    assert_eq!(
        loc.values,
        vec![AttributeValue::string(path.display().to_string())]
    );
}

#[tokio::test]
async fn a_png_from_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_image(&dir, "a.png", 64, 48, ImageFormat::Png);
    let bytes = std::fs::read(&path).unwrap();
    let mut src = PngSource::from_bytes("cam-2", bytes.clone()).unwrap();
    let Some(SourceItem::Frame(f)) = src.next().await.unwrap() else {
        panic!()
    };
    assert_eq!(f.frame.codec.as_deref(), Some("png"));
    assert_eq!((f.frame.width, f.frame.height), (64, 48));
    assert!(f.frame.attribute("default", "location").is_none());
    assert_eq!(&f.content[..], &bytes[..]);
}

#[test]
fn updates_are_merged_into_the_frame() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_image(&dir, "u.jpeg", 16, 16, ImageFormat::Jpeg);
    let update = VideoFrameUpdate {
        frame_attributes: vec![Attribute::persistent(
            "client",
            "tag",
            vec![AttributeValue::integer(1)],
        )],
        objects: vec![(
            VideoObject::new(0, "det", "car", BoundingBox::ltwh(1.0, 1.0, 4.0, 4.0)),
            None,
        )],
        ..Default::default()
    };
    let f = JpegSource::from_path("s", &path)
        .unwrap()
        .with_update(update)
        .frame()
        .unwrap();
    assert!(f.frame.attribute("client", "tag").is_some());
    assert_eq!(f.frame.objects.len(), 1);
}

/// Clones (each round of a `repeat`) share the image: every frame's
/// content points at the same bytes. An update added to a clone stays that
/// clone's own.
#[test]
fn clones_share_the_image_and_keep_their_own_updates() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_image(&dir, "c.jpeg", 16, 16, ImageFormat::Jpeg);
    let original = JpegSource::from_path("s", &path).unwrap();
    let tagged = original.clone().with_update(VideoFrameUpdate {
        frame_attributes: vec![Attribute::persistent(
            "client",
            "tag",
            vec![AttributeValue::integer(1)],
        )],
        ..Default::default()
    });
    let (a, b) = (original.frame().unwrap(), tagged.frame().unwrap());
    assert_eq!(
        a.content.as_ptr(),
        b.content.as_ptr(),
        "one copy of the bytes"
    );
    assert!(a.frame.attribute("client", "tag").is_none());
    assert!(b.frame.attribute("client", "tag").is_some());
    assert_eq!(
        original.frame().unwrap().content.as_ptr(),
        a.content.as_ptr()
    );
}

#[test]
fn bad_input_gives_typed_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // missing
    let missing = dir.path().join("nope.jpeg");
    let e = JpegSource::from_path("s", &missing).unwrap_err();
    assert!(matches!(e, SourceError::Io { .. }), "{e}");
    assert!(e.to_string().contains("nope.jpeg"), "{e}");
    // not an image
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello, not a picture").unwrap();
    let e = JpegSource::from_path("s", &text).unwrap_err();
    assert!(
        matches!(e, SourceError::WrongFormat { found: None, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("notes.txt"), "{e}");
    // a PNG given to the JPEG source
    let png = write_image(&dir, "p.png", 8, 8, ImageFormat::Png);
    let e = JpegSource::from_path("s", &png).unwrap_err();
    assert!(
        matches!(e, SourceError::WrongFormat { found: Some(ref f), .. } if f == "Png"),
        "{e}"
    );
    // truncated JPEG and PNG
    let jpeg = write_image(&dir, "t.jpeg", 64, 64, ImageFormat::Jpeg);
    let data = std::fs::read(&jpeg).unwrap();
    std::fs::write(&jpeg, &data[..data.len() / 2]).unwrap();
    let e = JpegSource::from_path("s", &jpeg).unwrap_err();
    assert!(matches!(e, SourceError::Truncated { .. }), "{e}");
    assert!(e.to_string().contains("t.jpeg"));
    let data = std::fs::read(&png).unwrap();
    let e = PngSource::from_bytes("s", data[..data.len() - 5].to_vec()).unwrap_err();
    assert!(matches!(e, SourceError::Truncated { .. }), "{e}");
    // a JPEG signature and end marker around garbage: the header is bad
    let mut corrupt = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    corrupt.extend_from_slice(&[0x13; 40]);
    corrupt.extend_from_slice(&[0xFF, 0xD9]);
    let e = JpegSource::from_bytes("s", corrupt).unwrap_err();
    assert!(matches!(e, SourceError::BadHeader { .. }), "{e}");
    // errors convert into the core error, keeping the message
    let core: savant_sdk_core::Error = e.into();
    assert!(core.to_string().contains("JPEG"));
}
