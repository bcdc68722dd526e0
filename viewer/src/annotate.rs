//! Drawing a frame's objects on its picture: the one place the viewer
//! uses the sinks crate's drawing functions, so they can be swapped.

use std::sync::OnceLock;

use image::RgbImage;
use savant_sdk_core::model::VideoFrame;
use savant_sdk_sinks::draw::Annotator;

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
    // the font is parsed once per process
    static ANNOTATOR: OnceLock<Annotator> = OnceLock::new();
    let annotator = ANNOTATOR.get_or_init(Annotator::new);
    annotator.draw_objects(img, &frame.objects);
}
