//! Preparing pictures as Savant's client does: resize preserving the aspect
//! ratio with padding, and pad to an aspect ratio. Each returns the frame
//! transformations that describe what was done, so that coordinates can be
//! mapped back.

use image::imageops;
use savant_sdk_core::model::FrameTransformation;

/// The `image` crate's types these functions take and return, re-exported
/// so that a user needs no `image` dependency of their own (and no version
/// to keep in step with ours).
pub use image::{DynamicImage, ImageBuffer, Rgb, RgbImage, Rgba, RgbaImage};

/// Scales `img` to fit `width` x `height` keeping its aspect ratio, then
/// pads it (centred, with `fill`) to exactly that size.
///
/// ```
/// use savant_sdk_sources::image_utils::{resize_preserving_aspect, Rgb, RgbImage};
/// let img = RgbImage::new(200, 100);
/// let (out, steps) = resize_preserving_aspect(&img, 100, 100, Rgb([0, 0, 0]));
/// assert_eq!(out.dimensions(), (100, 100));
/// assert_eq!(steps.len(), 4); // initial size, scale, padding, resulting size
/// ```
pub fn resize_preserving_aspect(
    img: &RgbImage,
    width: u32,
    height: u32,
    fill: Rgb<u8>,
) -> (RgbImage, Vec<FrameTransformation>) {
    let (w, h) = img.dimensions();
    let scale = f64::min(
        f64::from(width) / f64::from(w),
        f64::from(height) / f64::from(h),
    );
    let (sw, sh) = (
        ((f64::from(w) * scale).round() as u32).clamp(1, width),
        ((f64::from(h) * scale).round() as u32).clamp(1, height),
    );
    let scaled = imageops::resize(img, sw, sh, imageops::FilterType::Triangle);
    let (left, top) = ((width - sw) / 2, (height - sh) / 2);
    let mut out = RgbImage::from_pixel(width, height, fill);
    imageops::replace(&mut out, &scaled, i64::from(left), i64::from(top));
    let steps = vec![
        FrameTransformation::InitialSize {
            width: u64::from(w),
            height: u64::from(h),
        },
        FrameTransformation::Scale {
            width: u64::from(sw),
            height: u64::from(sh),
        },
        FrameTransformation::Padding {
            left: u64::from(left),
            top: u64::from(top),
            right: u64::from(width - sw - left),
            bottom: u64::from(height - sh - top),
        },
        FrameTransformation::ResultingSize {
            width: u64::from(width),
            height: u64::from(height),
        },
    ];
    (out, steps)
}

/// Pads `img` (centred, with `fill`) to the aspect ratio
/// `aspect_w:aspect_h`, growing the short side as Savant's client does.
///
/// ```
/// use savant_sdk_sources::image_utils::{pad_to_aspect, Rgb, RgbImage};
/// let (out, _) = pad_to_aspect(&RgbImage::new(100, 100), 16, 9, Rgb([0, 0, 0]));
/// assert_eq!(out.dimensions(), (178, 100));
/// ```
pub fn pad_to_aspect(
    img: &RgbImage,
    aspect_w: u32,
    aspect_h: u32,
    fill: Rgb<u8>,
) -> (RgbImage, Vec<FrameTransformation>) {
    let (w, h) = img.dimensions();
    let target = f64::from(aspect_w) / f64::from(aspect_h.max(1));
    let current = f64::from(w) / f64::from(h.max(1));
    let (nw, nh) = if (current - target).abs() <= target * 1e-3 {
        (w, h)
    } else if current < target {
        ((f64::from(h) * target).round() as u32, h)
    } else {
        (w, (f64::from(w) / target).round() as u32)
    };
    let (left, top) = ((nw - w) / 2, (nh - h) / 2);
    let mut out = RgbImage::from_pixel(nw, nh, fill);
    imageops::replace(&mut out, img, i64::from(left), i64::from(top));
    let steps = vec![
        FrameTransformation::InitialSize {
            width: u64::from(w),
            height: u64::from(h),
        },
        FrameTransformation::Padding {
            left: u64::from(left),
            top: u64::from(top),
            right: u64::from(nw - w - left),
            bottom: u64::from(nh - h - top),
        },
        FrameTransformation::ResultingSize {
            width: u64::from(nw),
            height: u64::from(nh),
        },
    ];
    (out, steps)
}
