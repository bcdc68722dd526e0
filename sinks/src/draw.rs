//! Drawing objects' boxes and labels into RGB images, with
//! [`imageproc`] for the shapes and [`ab_glyph`] for the text (DejaVu Sans,
//! bundled).
//!
//! [`Annotator`] draws in place on any [`ImageBuffer`] of [`Rgb<u8>`]
//! whose container derefs to `[u8]`: a `Vec<u8>`, a `&mut [u8]` (a mapped
//! video buffer, for example), and so on. Everything is clipped to the
//! image: boxes partly or wholly outside it, or with sizes that are not
//! finite or negative, never panic.
//!
//! ```
//! use image::{ImageBuffer, Rgb};
//! use savant_sdk_core::model::{BoundingBox, VideoObject};
//! use savant_sdk_sinks::draw::Annotator;
//!
//! let (w, h) = (320, 240);
//! let mut pixels = vec![0u8; (w * h * 3) as usize];
//! let mut image = ImageBuffer::<Rgb<u8>, &mut [u8]>::from_raw(w, h, &mut pixels[..])
//!     .expect("the buffer holds w x h RGB pixels");
//! let person = VideoObject::new(1, "detector", "person", BoundingBox::ltwh(40.0, 60.0, 80.0, 120.0))
//!     .with_confidence(0.87);
//! Annotator::new().thickness(3).draw_objects(&mut image, &[person]);
//! ```

use std::fmt;
use std::ops::{Deref, DerefMut};

use ab_glyph::{FontRef, PxScale};
use image::{ImageBuffer, Rgb};
use imageproc::drawing::{
    draw_filled_rect_mut, draw_hollow_rect_mut, draw_line_segment_mut, draw_text_mut, text_size,
};
use imageproc::rect::Rect;
use savant_sdk_core::model::{BoundingBox, VideoObject};

/// Distinct colours, picked per label.
const PALETTE: [[u8; 3]; 10] = [
    [230, 25, 75],
    [60, 180, 75],
    [255, 225, 25],
    [0, 130, 200],
    [245, 130, 48],
    [145, 30, 180],
    [70, 240, 240],
    [240, 50, 230],
    [210, 245, 60],
    [250, 190, 190],
];

/// The colour of a label: the same label always gets the same colour.
pub fn label_color(label: &str) -> Rgb<u8> {
    // FNV-1a: stable across runs and platforms
    let mut h: u32 = 0x811c_9dc5;
    for b in label.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    Rgb(PALETTE[(h % PALETTE.len() as u32) as usize])
}

/// Black or white, whichever reads better on `background`.
pub fn ink_on(background: Rgb<u8>) -> Rgb<u8> {
    let [r, g, b] = background.0.map(u32::from);
    if 299 * r + 587 * g + 114 * b > 128_000 {
        Rgb([0, 0, 0])
    } else {
        Rgb([255, 255, 255])
    }
}

/// The four corners of a (possibly rotated) box, clockwise from top-left
/// before rotation.
pub fn corners(b: &BoundingBox) -> [(f32, f32); 4] {
    let (hw, hh) = (b.width / 2.0, b.height / 2.0);
    let (s, c) = b.angle.unwrap_or(0.0).to_radians().sin_cos();
    [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)]
        .map(|(x, y)| (b.xc + x * c - y * s, b.yc + x * s + y * c))
}

/// The text drawn for an object: its `draw_label`, else its `label`, and
/// its confidence in percent when it has one (`"person 87%"`).
pub fn label_text(object: &VideoObject) -> String {
    let text = object.draw_label.as_deref().unwrap_or(&object.label);
    match object.confidence {
        Some(c) if c.is_finite() => format!("{text} {:.0}%", c * 100.0),
        _ => text.to_string(),
    }
}

/// The label font size in pixels for an image `height` pixels high: a
/// thirtieth of the height, at least 12 and at most 48.
pub fn font_size(height: u32) -> f32 {
    (height / 30).clamp(12, 48) as f32
}

/// Whether a box can be drawn: finite centre, sizes and angle, sizes not
/// negative.
fn drawable(b: &BoundingBox) -> bool {
    [b.xc, b.yc, b.width, b.height, b.angle.unwrap_or(0.0)]
        .iter()
        .all(|v| v.is_finite())
        && b.width >= 0.0
        && b.height >= 0.0
}

/// The part of the segment `a`-`b` inside `[x0, x1] x [y0, y1]`
/// (Liang-Barsky), `None` when it misses the rectangle.
fn clip_segment(
    a: (f32, f32),
    b: (f32, f32),
    (x0, y0, x1, y1): (f32, f32, f32, f32),
) -> Option<((f32, f32), (f32, f32))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f32, 1.0f32);
    for (p, q) in [
        (-dx, a.0 - x0),
        (dx, x1 - a.0),
        (-dy, a.1 - y0),
        (dy, y1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                if r > t1 {
                    return None;
                }
                t0 = t0.max(r);
            } else {
                if r < t0 {
                    return None;
                }
                t1 = t1.min(r);
            }
        }
    }
    let at = |t: f32| (a.0 + t * dx, a.1 + t * dy);
    Some((at(t0), at(t1)))
}

/// Draws objects' boxes and labels: the font is loaded once, at
/// construction, and shared by every image drawn.
///
/// Each box is drawn in its label's colour ([`label_color`]), `thickness`
/// pixels wide, centred on the box's edges; a rotated box as four line
/// segments. Its label ([`label_text`]) is drawn in black or white
/// ([`ink_on`]) on a filled tag of the same colour whose bottom-left is the
/// box's top-left (of its axis-aligned hull for a rotated box), moved into
/// the image when the box touches an edge. Labels are drawn after all the
/// boxes, so no box crosses a label. The font size follows the image
/// height ([`font_size`]).
#[derive(Clone)]
pub struct Annotator {
    font: FontRef<'static>,
    thickness: u32,
}

impl fmt::Debug for Annotator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Annotator")
            .field("font", &"DejaVu Sans")
            .field("thickness", &self.thickness)
            .finish()
    }
}

impl Default for Annotator {
    fn default() -> Self {
        Self::new()
    }
}

impl Annotator {
    /// Lines 2 pixels wide, labels in DejaVu Sans.
    pub fn new() -> Self {
        // The font is a constant of this crate, parsed by a unit test:
        // this cannot fail at run time.
        let font = FontRef::try_from_slice(dejavu::sans::regular())
            .expect("the bundled DejaVu Sans font parses");
        Self { font, thickness: 2 }
    }

    /// Line width of the boxes in pixels (at least 1).
    pub fn thickness(mut self, px: u32) -> Self {
        self.thickness = px.max(1);
        self
    }

    /// The line width of the boxes in pixels.
    pub fn line_width(&self) -> u32 {
        self.thickness
    }

    /// Draws every object's box, then every object's label.
    pub fn draw_objects<C>(&self, image: &mut ImageBuffer<Rgb<u8>, C>, objects: &[VideoObject])
    where
        C: Deref<Target = [u8]> + DerefMut,
    {
        for o in objects {
            self.draw_box(image, &o.detection_box, label_color(&o.label));
        }
        for o in objects {
            self.draw_label(
                image,
                &o.detection_box,
                &label_text(o),
                label_color(&o.label),
            );
        }
    }

    /// The outline of a box, rotated when it has an angle (other than a
    /// multiple of 180 degrees). A box whose centre, sizes or angle are not
    /// finite, or whose sizes are negative, is not drawn.
    pub fn draw_box<C>(&self, image: &mut ImageBuffer<Rgb<u8>, C>, b: &BoundingBox, color: Rgb<u8>)
    where
        C: Deref<Target = [u8]> + DerefMut,
    {
        if !drawable(b) || image.width() == 0 || image.height() == 0 {
            return;
        }
        let c = corners(b);
        if !c.iter().all(|(x, y)| x.is_finite() && y.is_finite()) {
            return;
        }
        let t = self.thickness as i32;
        // offsets of the parallel one-pixel lines, centred on the edge
        let offsets = -(t / 2)..=(t - 1 - t / 2);
        if b.angle.unwrap_or(0.0).rem_euclid(180.0) == 0.0 {
            // axis-aligned: nested one-pixel hollow rectangles; edges far
            // outside the image are moved to just outside it, so a huge
            // box costs no more than the image's size
            let (w, h) = (image.width() as f32, image.height() as f32);
            let m = t as f32 + 1.0;
            let edge = |v: f32, max: f32| v.round().clamp(-m, max + m) as i32;
            let (l, r) = (edge(b.xc - b.width / 2.0, w), edge(b.xc + b.width / 2.0, w));
            let (top, bottom) = (
                edge(b.yc - b.height / 2.0, h),
                edge(b.yc + b.height / 2.0, h),
            );
            for o in offsets {
                let (l, r, top, bottom) = (l + o, r - o, top + o, bottom - o);
                if r < l || bottom < top {
                    continue;
                }
                let rect = Rect::at(l, top).of_size((r - l + 1) as u32, (bottom - top + 1) as u32);
                draw_hollow_rect_mut(image, rect, color);
            }
        } else {
            for i in 0..4 {
                self.thick_segment(image, c[i], c[(i + 1) % 4], offsets.clone(), color);
            }
        }
    }

    /// A line `offsets.len()` pixels wide: one-pixel segments shifted
    /// across the line's main direction, each clipped to the image first.
    fn thick_segment<C>(
        &self,
        image: &mut ImageBuffer<Rgb<u8>, C>,
        a: (f32, f32),
        b: (f32, f32),
        offsets: std::ops::RangeInclusive<i32>,
        color: Rgb<u8>,
    ) where
        C: Deref<Target = [u8]> + DerefMut,
    {
        let (a, b) = ((a.0.round(), a.1.round()), (b.0.round(), b.1.round()));
        let x_major = (b.0 - a.0).abs() >= (b.1 - a.1).abs();
        let bounds = (
            -2.0,
            -2.0,
            image.width() as f32 + 1.0,
            image.height() as f32 + 1.0,
        );
        for o in offsets {
            let o = o as f32;
            let (d0, d1) = if x_major { (0.0, o) } else { (o, 0.0) };
            let shifted = ((a.0 + d0, a.1 + d1), (b.0 + d0, b.1 + d1));
            if let Some((p, q)) = clip_segment(shifted.0, shifted.1, bounds) {
                draw_line_segment_mut(
                    image,
                    (p.0.round(), p.1.round()),
                    (q.0.round(), q.1.round()),
                    color,
                );
            }
        }
    }

    /// `lines` centred on the image, one under the other, in `color`, at
    /// a size that fits them (a caption, a stub picture's "no signal").
    pub fn draw_centered_lines<C>(
        &self,
        image: &mut ImageBuffer<Rgb<u8>, C>,
        lines: &[String],
        color: Rgb<u8>,
    ) where
        C: Deref<Target = [u8]> + DerefMut,
    {
        let (iw, ih) = (image.width(), image.height());
        if lines.is_empty() || iw == 0 || ih == 0 {
            return;
        }
        let mut size = (ih as f32 / (lines.len() as f32 * 2.5)).clamp(8.0, 96.0);
        let widest = |size: f32| {
            lines
                .iter()
                .map(|l| text_size(PxScale::from(size), &self.font, l).0)
                .max()
                .unwrap_or(0)
        };
        let w = widest(size);
        if w > iw * 9 / 10 && w > 0 {
            size = (size * (iw as f32 * 0.9) / w as f32).max(6.0);
        }
        let line_h = (size * 1.3).round() as i32;
        let total = line_h * lines.len() as i32;
        let mut y = (ih as i32 - total) / 2;
        for line in lines {
            let (lw, _) = text_size(PxScale::from(size), &self.font, line);
            let x = ((iw as i32 - lw as i32) / 2).max(0);
            draw_text_mut(image, color, x, y, PxScale::from(size), &self.font, line);
            y += line_h;
        }
    }

    /// The size in pixels of the tag of `text` on an image `image_height`
    /// pixels high.
    pub fn tag_size(&self, text: &str, image_height: u32) -> (u32, u32) {
        let size = font_size(image_height);
        let (w, h) = text_size(PxScale::from(size), &self.font, text);
        let pad = Self::pad(size);
        (w + 2 * pad, h.max(size as u32) + 2 * pad)
    }

    fn pad(size: f32) -> u32 {
        ((size / 6.0).round() as u32).max(2)
    }

    /// `text` in black or white on a filled tag of `color` above the box
    /// `b` (see [`Annotator`]); nothing when the box is not drawable or
    /// wholly outside the image.
    pub fn draw_label<C>(
        &self,
        image: &mut ImageBuffer<Rgb<u8>, C>,
        b: &BoundingBox,
        text: &str,
        color: Rgb<u8>,
    ) where
        C: Deref<Target = [u8]> + DerefMut,
    {
        let (iw, ih) = (image.width(), image.height());
        if !drawable(b) || iw == 0 || ih == 0 {
            return;
        }
        let c = corners(b);
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for (x, y) in c {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
        let m = self.thickness as f32;
        if !(x1 + m >= 0.0 && y1 + m >= 0.0 && x0 - m < iw as f32 && y0 - m < ih as f32) {
            return; // the box is not in the image: neither is its label
        }
        let (tw, th) = self.tag_size(text, ih);
        // bottom-left on the box's top-left, moved into the image
        let x = (x0.round().max(0.0) as i64)
            .min(i64::from(iw) - i64::from(tw))
            .max(0);
        let y = (y0.round().max(0.0) as i64 - i64::from(th)).max(0);
        // x and y are within 0..image size, which fits in i32
        let (x, y) = (x as i32, y as i32);
        draw_filled_rect_mut(image, Rect::at(x, y).of_size(tw.max(1), th.max(1)), color);
        let size = font_size(ih);
        let pad = Self::pad(size) as i32;
        draw_text_mut(
            image,
            ink_on(color),
            x + pad,
            y + pad,
            PxScale::from(size),
            &self.font,
            text,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_font_parses() {
        assert!(FontRef::try_from_slice(dejavu::sans::regular()).is_ok());
        assert_eq!(Annotator::new().line_width(), 2);
    }

    #[test]
    fn segments_are_clipped_to_the_rectangle() {
        let r = (0.0, 0.0, 10.0, 10.0);
        assert_eq!(
            clip_segment((-10.0, 5.0), (20.0, 5.0), r),
            Some(((0.0, 5.0), (10.0, 5.0)))
        );
        assert_eq!(
            clip_segment((2.0, 3.0), (4.0, 5.0), r),
            Some(((2.0, 3.0), (4.0, 5.0)))
        );
        assert_eq!(clip_segment((-5.0, -5.0), (-1.0, 20.0), r), None);
        assert_eq!(clip_segment((11.0, 0.0), (11.0, 10.0), r), None);
    }

    #[test]
    fn labels_read_in_black_or_white() {
        assert_eq!(ink_on(Rgb([255, 225, 25])), Rgb([0, 0, 0]));
        assert_eq!(ink_on(Rgb([0, 130, 200])), Rgb([255, 255, 255]));
        assert_eq!(font_size(240), 12.0);
        assert_eq!(font_size(1080), 36.0);
        assert_eq!(font_size(4320), 48.0);
    }
}
