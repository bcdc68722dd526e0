//! Drawing a frame's objects on its picture: the one place the viewer
//! uses the sinks crate's drawing functions, so they can be swapped.

use image::RgbImage;
use savant_sdk_core::model::VideoFrame;
use savant_sdk_sinks::draw::{corners, draw_box, draw_label, label_color};
use savant_sdk_sinks::font::GLYPH_H;

/// Draws every object of `frame` on `img`: its detection box (rotated when
/// it has an angle) and its label (the draw label if there is one) with
/// the confidence, in a colour per label, as the `annotated` sink does.
///
/// ```
/// use savant_sdk_core::model::{BoundingBox, VideoFrame, VideoObject};
/// let frame = VideoFrame::builder("cam")
///     .object(VideoObject::new(1, "det", "car", BoundingBox::ltwh(10.0, 20.0, 30.0, 20.0)))
///     .build();
/// let mut img = image::RgbImage::new(64, 64);
/// savant_sdk_viewer::annotate(&mut img, &frame);
/// assert_ne!(img.get_pixel(10, 30), &image::Rgb([0, 0, 0]));
/// ```
pub fn annotate(img: &mut RgbImage, frame: &VideoFrame) {
    let scale = (img.height() / 160).clamp(2, 6);
    let thickness = (img.height() / 240).clamp(2, 6);
    for o in &frame.objects {
        let color = label_color(&o.label);
        draw_box(img, &o.detection_box, thickness, color);
        let text = o.draw_label.as_deref().unwrap_or(&o.label);
        let text = match o.confidence {
            Some(c) => format!("{text} {:.0}%", c * 100.0),
            None => text.to_string(),
        };
        let (left, top) = corners(&o.detection_box)
            .iter()
            .fold((f32::MAX, f32::MAX), |(x, y), (cx, cy)| {
                (x.min(*cx), y.min(*cy))
            });
        let label_h = i64::from((GLYPH_H + 2) * scale);
        let y = (top as i64 - label_h).max(0);
        draw_label(img, left as i64, y, &text, scale, color);
    }
}
