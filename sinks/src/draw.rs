//! Drawing boxes and labels into RGB images.

use image::{Rgb, RgbImage};
use savant_sdk_core::model::BoundingBox;

use crate::font::{glyph, text_width, GLYPH_H, GLYPH_W};

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

/// The four corners of a (possibly rotated) box, clockwise from top-left
/// before rotation.
pub fn corners(b: &BoundingBox) -> [(f32, f32); 4] {
    let (hw, hh) = (b.width / 2.0, b.height / 2.0);
    let (s, c) = b.angle.unwrap_or(0.0).to_radians().sin_cos();
    [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)]
        .map(|(x, y)| (b.xc + x * c - y * s, b.yc + x * s + y * c))
}

fn put(img: &mut RgbImage, x: i64, y: i64, color: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, color);
    }
}

/// A line `thickness` pixels wide.
pub fn line(img: &mut RgbImage, a: (f32, f32), b: (f32, f32), thickness: u32, color: Rgb<u8>) {
    let steps = (b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil().max(1.0) as i64;
    let r = thickness as i64 / 2;
    for i in 0..=steps {
        let t = i as f32 / steps as f32;
        let x = (a.0 + (b.0 - a.0) * t).round() as i64;
        let y = (a.1 + (b.1 - a.1) * t).round() as i64;
        for dy in -r..=(thickness as i64 - 1 - r) {
            for dx in -r..=(thickness as i64 - 1 - r) {
                put(img, x + dx, y + dy, color);
            }
        }
    }
}

/// The outline of a box, rotated when it has an angle.
pub fn draw_box(img: &mut RgbImage, b: &BoundingBox, thickness: u32, color: Rgb<u8>) {
    let c = corners(b);
    for i in 0..4 {
        line(img, c[i], c[(i + 1) % 4], thickness, color);
    }
}

/// `text` on a filled tag of `color` with its top-left at `(x, y)`, each
/// font pixel `scale` image pixels; the text is black or white, whichever
/// reads better on the tag.
pub fn draw_label(img: &mut RgbImage, x: i64, y: i64, text: &str, scale: u32, color: Rgb<u8>) {
    let s = scale as i64;
    let (w, h) = ((text_width(text) as i64 + 2) * s, (GLYPH_H as i64 + 2) * s);
    for dy in 0..h {
        for dx in 0..w {
            put(img, x + dx, y + dy, color);
        }
    }
    let lum = 299 * u32::from(color[0]) + 587 * u32::from(color[1]) + 114 * u32::from(color[2]);
    let ink = if lum > 128_000 {
        Rgb([0, 0, 0])
    } else {
        Rgb([255, 255, 255])
    };
    let mut cx = x + s;
    for ch in text.chars() {
        let rows = glyph(ch);
        for (ry, bits) in rows.iter().enumerate() {
            for rx in 0..GLYPH_W {
                if bits & (1 << (GLYPH_W - 1 - rx)) != 0 {
                    for py in 0..s {
                        for px in 0..s {
                            put(
                                img,
                                cx + rx as i64 * s + px,
                                y + s + ry as i64 * s + py,
                                ink,
                            );
                        }
                    }
                }
            }
        }
        cx += (GLYPH_W as i64 + 1) * s;
    }
}
