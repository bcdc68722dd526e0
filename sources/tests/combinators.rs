//! The source combinators and the directory source.

use std::time::Duration;

use image::{ImageFormat, Rgb, RgbImage};
use savant_sdk_core::model::*;
use savant_sdk_core::source::{IterSource, Source, SourceFrame, SourceItem};
use savant_sdk_sources::{
    interleave, ImageDirectorySource, JpegSource, Pace, SourceError, SourceExt,
};

type Frames = IterSource<std::vec::IntoIter<SourceItem>>;

fn items(id: &str, pts: &[i64]) -> Vec<SourceItem> {
    pts.iter()
        .map(|p| {
            SourceItem::Frame(SourceFrame::new(
                VideoFrame::builder(id).pts(*p).duration(10).build(),
                "x",
            ))
        })
        .collect()
}

fn frames(id: &str, pts: &[i64]) -> Frames {
    IterSource::new(items(id, pts).into_iter())
}

fn with_eos(id: &str, pts: &[i64]) -> Frames {
    let mut v = items(id, pts);
    v.push(SourceItem::EndOfStream(id.to_string()));
    IterSource::new(v.into_iter())
}

async fn drain<S: Source>(mut s: S) -> Vec<SourceItem> {
    let mut v = Vec::new();
    while let Some(i) = s.next().await.unwrap() {
        v.push(i);
    }
    v
}

fn ids_pts(items: &[SourceItem]) -> Vec<String> {
    items
        .iter()
        .map(|i| match i {
            SourceItem::Frame(f) => format!("{}{}", f.frame.source_id, f.frame.pts),
            SourceItem::EndOfStream(s) => format!("{s}!"),
            _ => "?".into(),
        })
        .collect()
}

#[tokio::test]
async fn chain_take_map_and_update() {
    let items = drain(frames("a", &[0, 1]).chain(frames("b", &[0, 1, 2]))).await;
    assert_eq!(ids_pts(&items), ["a0", "a1", "b0", "b1", "b2"]);

    let items = drain(with_eos("a", &[0, 1, 2]).take(2)).await;
    assert_eq!(ids_pts(&items), ["a0", "a1"]);

    let items = drain(frames("a", &[5]).map(|mut i| {
        if let SourceItem::Frame(f) = &mut i {
            f.frame.pts *= 10;
        }
        i
    }))
    .await;
    assert_eq!(ids_pts(&items), ["a50"]);

    let update = VideoFrameUpdate {
        frame_attributes: vec![Attribute::persistent(
            "c",
            "tag",
            vec![AttributeValue::boolean(true)],
        )],
        ..Default::default()
    };
    let items = drain(frames("a", &[0, 1]).with_update(update)).await;
    for i in &items {
        let SourceItem::Frame(f) = i else { panic!() };
        assert!(f.frame.attribute("c", "tag").is_some());
    }
}

#[tokio::test]
async fn repeat_continues_the_timestamps() {
    let items = drain(frames("a", &[0, 10, 20]).repeat(Some(3))).await;
    // each round spans 0..30 (last pts 20 + duration 10)
    assert_eq!(
        ids_pts(&items),
        ["a0", "a10", "a20", "a30", "a40", "a50", "a60", "a70", "a80"]
    );
    // forever, cut by take
    let items = drain(frames("a", &[0]).repeat(None).take(4)).await;
    assert_eq!(ids_pts(&items), ["a0", "a10", "a20", "a30"]);
    // a single still image repeated
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.jpeg");
    RgbImage::new(8, 8)
        .save_with_format(&path, ImageFormat::Jpeg)
        .unwrap();
    let jpeg = JpegSource::from_path("still", &path)
        .unwrap()
        .with_framerate(25, 1);
    let items = drain(jpeg.repeat(Some(3))).await;
    assert_eq!(
        ids_pts(&items),
        ["still0", "still40000000", "still80000000"]
    );
}

/// On a current-thread runtime the sources refill only when the consumer
/// waits, so fairness is exact: strict rotation while all have items.
#[tokio::test]
async fn interleave_is_fair_and_keeps_each_sources_eos() {
    let sources: Vec<Box<dyn Source>> = ["a", "b", "c"]
        .iter()
        .map(|id| Box::new(with_eos(id, &(0..20).collect::<Vec<_>>())) as Box<dyn Source>)
        .collect();
    let items = drain(interleave(sources)).await;
    assert_eq!(items.len(), 63);
    // per source: its own order, its EOS last
    for id in ["a", "b", "c"] {
        let mine: Vec<String> = ids_pts(&items)
            .into_iter()
            .filter(|s| s.starts_with(id))
            .collect();
        let want: Vec<String> = (0..20)
            .map(|p| format!("{id}{p}"))
            .chain([format!("{id}!")])
            .collect();
        assert_eq!(mine, want);
    }
    // fairness: strict rotation a, b, c, a, b, c, ...
    let order: Vec<u8> = ids_pts(&items).iter().map(|s| s.as_bytes()[0]).collect();
    for (i, c) in order.iter().enumerate() {
        assert_eq!(*c, b"abc"[i % 3], "position {i}: {order:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn pace_by_pts_and_by_fps() {
    // pts in nanoseconds 0, 40 ms, 80 ms, 200 ms
    let f = |p| {
        SourceItem::Frame(SourceFrame::new(
            VideoFrame::builder("a")
                .pts(p)
                .time_base(TimeBase::NANOSECONDS)
                .build(),
            "x",
        ))
    };
    let src = IterSource::new(vec![f(0), f(40_000_000), f(80_000_000), f(200_000_000)].into_iter());
    let mut paced = src.pace();
    let start = tokio::time::Instant::now();
    let mut at = Vec::new();
    while paced.next().await.unwrap().is_some() {
        at.push(start.elapsed());
    }
    assert_eq!(at, [0, 40, 80, 200].map(Duration::from_millis));

    let mut fps = Pace::fps(frames("b", &[0, 0, 0, 0]), 10, 1);
    let start = tokio::time::Instant::now();
    let mut at = Vec::new();
    while fps.next().await.unwrap().is_some() {
        at.push(start.elapsed());
    }
    assert_eq!(at, [0, 100, 200, 300].map(Duration::from_millis));
}

#[tokio::test]
async fn pace_holds_real_time_within_a_bound() {
    // real clock: 10 frames at 20 ms must take about 180 ms
    let f = |i: i64| {
        SourceItem::Frame(SourceFrame::new(
            VideoFrame::builder("r").pts(i * 20_000_000).build(),
            "x",
        ))
    };
    let mut paced = IterSource::new((0..10).map(f)).pace();
    let start = std::time::Instant::now();
    while paced.next().await.unwrap().is_some() {}
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(180), "{took:?}");
    assert!(took < Duration::from_millis(1000), "{took:?}");
}

#[tokio::test]
async fn directory_source_sorted_and_filtered() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["b_02.jpg", "a_01.jpg", "c_03.png", "notes.txt"] {
        let p = dir.path().join(name);
        if name.ends_with(".txt") {
            std::fs::write(&p, "x").unwrap();
        } else {
            let fmt = if name.ends_with(".png") {
                ImageFormat::Png
            } else {
                ImageFormat::Jpeg
            };
            RgbImage::from_pixel(16, 8, Rgb([1, 2, 3]))
                .save_with_format(&p, fmt)
                .unwrap();
        }
    }
    let src = ImageDirectorySource::new("d", dir.path())
        .unwrap()
        .framerate(10, 1);
    let items = drain(src).await;
    let got: Vec<(String, i64, String)> = items
        .iter()
        .map(|i| {
            let SourceItem::Frame(f) = i else { panic!() };
            let loc = f.frame.attribute("default", "location").unwrap();
            let AttributeValueKind::String(p) = &loc.values[0].kind else {
                panic!()
            };
            (
                f.frame.codec.clone().unwrap(),
                f.frame.pts,
                p.rsplit('/').next().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("jpeg".to_string(), 0, "a_01.jpg".to_string()),
            ("jpeg".to_string(), 100_000_000, "b_02.jpg".to_string()),
            ("png".to_string(), 200_000_000, "c_03.png".to_string()),
        ]
    );
    let only_b = ImageDirectorySource::new("d", dir.path())
        .unwrap()
        .glob("b_*")
        .unwrap();
    assert_eq!(only_b.files().len(), 1);
    // a bad file is an error naming it
    std::fs::write(dir.path().join("d_04.jpg"), "not a jpeg").unwrap();
    let mut src = ImageDirectorySource::new("d", dir.path())
        .unwrap()
        .glob("d_*")
        .unwrap();
    let e = src.next().await.unwrap_err();
    assert!(e.to_string().contains("d_04.jpg"), "{e}");
    assert!(matches!(
        ImageDirectorySource::new("d", dir.path().join("missing")),
        Err(SourceError::Io { .. })
    ));
}

#[test]
fn image_utilities() {
    use savant_sdk_sources::image_utils::{pad_to_aspect, resize_preserving_aspect};
    let img = RgbImage::from_pixel(200, 100, Rgb([255, 0, 0]));
    let (out, steps) = resize_preserving_aspect(&img, 100, 100, Rgb([0, 0, 0]));
    assert_eq!(out.dimensions(), (100, 100));
    // scaled to 100x50 and centred: black bands top and bottom
    assert_eq!(*out.get_pixel(50, 10), Rgb([0, 0, 0]));
    assert_eq!(*out.get_pixel(50, 50), Rgb([255, 0, 0]));
    assert_eq!(
        steps[2],
        FrameTransformation::Padding {
            left: 0,
            top: 25,
            right: 0,
            bottom: 25
        }
    );
    let (out, steps) = pad_to_aspect(&img, 1, 1, Rgb([0, 0, 0]));
    assert_eq!(out.dimensions(), (200, 200));
    assert_eq!(
        steps.last(),
        Some(&FrameTransformation::ResultingSize {
            width: 200,
            height: 200
        })
    );
    let (same, _) = pad_to_aspect(&img, 2, 1, Rgb([0, 0, 0]));
    assert_eq!(same.dimensions(), (200, 100));
}

fn pts_of(items: &[SourceItem]) -> Vec<i64> {
    items
        .iter()
        .filter_map(|i| match i {
            SourceItem::Frame(f) => Some(f.frame.pts),
            _ => None,
        })
        .collect()
}

fn still(dir: &tempfile::TempDir, name: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    RgbImage::new(8, 8)
        .save_with_format(&path, ImageFormat::Jpeg)
        .unwrap();
    path
}

/// pts at 30/1 fps are computed from the frame index, never accumulated:
/// the repeat of one picture, a folder of pictures, and a chain of the two
/// all give `index * 1e9 / 30` (100000000 at index 3, not 99999999).
#[tokio::test]
async fn pts_come_from_the_frame_index_the_same_everywhere() {
    let want: Vec<i64> = (0..6).map(|i| i * 1_000_000_000 / 30).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = still(&dir, "p.jpeg");
    let jpeg = JpegSource::from_path("cam", &path).unwrap();
    assert_eq!(pts_of(&drain(jpeg.clone().repeat(Some(6))).await), want);

    let folder = tempfile::tempdir().unwrap();
    for i in 0..3 {
        still(&folder, &format!("{i}.jpeg"));
    }
    let images = ImageDirectorySource::new("cam", folder.path()).unwrap();
    assert_eq!(pts_of(&drain(images.clone().repeat(Some(2))).await), want);
    // a chain of the same source id continues instead of restarting at 0
    let chained = jpeg.clone().repeat(Some(3)).chain(images.clone());
    assert_eq!(pts_of(&drain(chained).await), want);
}

/// Timestamps of one source id keep increasing through chain (Savant 0.6
/// stops a stream whose timestamps jump back); other ids are untouched.
#[tokio::test]
async fn chain_continues_the_timestamps_of_a_source_id() {
    let items = drain(frames("a", &[0, 10]).chain(frames("a", &[0, 10, 20]))).await;
    assert_eq!(ids_pts(&items), ["a0", "a10", "a20", "a30", "a40"]);
    // a part that already starts later is left as it is
    let items = drain(frames("a", &[0, 10]).chain(frames("a", &[500, 510]))).await;
    assert_eq!(ids_pts(&items), ["a0", "a10", "a500", "a510"]);
    // repeat of a chain: every round continues
    let items = drain(frames("a", &[0]).chain(frames("a", &[0])).repeat(Some(2))).await;
    assert_eq!(ids_pts(&items), ["a0", "a10", "a20", "a30"]);
    // repeated then chained (the first hour's JpegSource.repeat(5).chain(camera))
    let items = drain(
        frames("a", &[0])
            .repeat(Some(2))
            .chain(frames("a", &[0, 10])),
    )
    .await;
    assert_eq!(ids_pts(&items), ["a0", "a10", "a20", "a30"]);
}

/// `repeat` works on any source: combinators are `Clone` where their inner
/// sources are, and `Repeat::with_factory` takes anything, `Box<dyn Source>`
/// and `interleave` included.
#[tokio::test]
async fn repeat_works_on_combinators_and_boxed_sources() {
    let items = drain(frames("a", &[0, 10, 20]).take(2).repeat(Some(2))).await;
    assert_eq!(ids_pts(&items), ["a0", "a10", "a20", "a30"]);
    let mapped = frames("a", &[0]).map(|i| i).repeat(Some(2));
    assert_eq!(ids_pts(&drain(mapped).await), ["a0", "a10"]);
    let boxed = savant_sdk_sources::Repeat::with_factory(Some(2), || {
        Box::new(frames("b", &[0, 10])) as Box<dyn Source>
    });
    assert_eq!(ids_pts(&drain(boxed).await), ["b0", "b10", "b20", "b30"]);
    let both = savant_sdk_sources::Repeat::with_factory(Some(2), || {
        interleave(vec![
            Box::new(frames("x", &[0])) as Box<dyn Source>,
            Box::new(frames("y", &[0])),
        ])
    });
    let mut got = ids_pts(&drain(both).await);
    got.sort();
    assert_eq!(got, ["x0", "x10", "y0", "y10"]);
}
