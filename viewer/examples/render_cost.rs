//! What the viewer costs per frame: publishing (every frame, watched or
//! not) against rendering (decode, annotate, JPEG-encode: only when a
//! page asks, at most `max_fps` per source and second).
//!
//! ```sh
//! cargo run --release -p savant-sdk-viewer --example render_cost
//! ```

use std::time::Instant;

use savant_sdk_core::model::{BoundingBox, Message, VideoFrame, VideoObject};
use savant_sdk_core::sink::{Sink, SinkResult};
use savant_sdk_viewer::{Viewer, ViewerOptions, ViewerSink};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (w, h) = (1280u32, 720u32);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    img.write_to(&mut jpeg, image::ImageFormat::Jpeg)?;
    let jpeg = bytes::Bytes::from(jpeg.into_inner());
    let result = |pts: i64| {
        let mut b = VideoFrame::builder("cam")
            .codec("jpeg")
            .size(w.into(), h.into())
            .pts(pts);
        for i in 0..5 {
            let o = VideoObject::new(
                i,
                "det",
                "person",
                BoundingBox::ltwh(100.0 + 200.0 * i as f32, 100.0, 120.0, 300.0),
            )
            .with_confidence(0.9);
            b = b.object(o);
        }
        SinkResult {
            topic: "cam".into(),
            message: Message::video_frame(b.build()),
            content: Some(jpeg.clone()),
            trace_id: None,
            seq_gap: None,
            log_handle: Default::default(),
        }
    };
    let viewer = Viewer::with_options(ViewerOptions {
        max_renders_per_second: 1000.0,
        ..Default::default()
    })?;
    let mut sink = ViewerSink::new(viewer.clone());
    let n = 100_000;
    let results: Vec<SinkResult> = (0..n).map(result).collect();
    let t = Instant::now();
    for r in results {
        sink.consume(r).await?;
    }
    let publish = t.elapsed() / n as u32;
    let renders = 50;
    let t = Instant::now();
    for i in 0..renders {
        sink.consume(result(n + i)).await?;
        viewer.frame_jpeg("cam").await?.ok_or("no picture")?;
    }
    let render = t.elapsed() / renders as u32;
    println!("{w}x{h} JPEG, 5 objects: publish {publish:?} per frame; render (decode, annotate, encode) {render:?} per picture");
    Ok(())
}
