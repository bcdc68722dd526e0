//! [`Picture`]: one decoded RGB picture, in the decoder's own output buffer.

use gstreamer as gst;
use image::{ImageBuffer, Rgb, RgbImage};

use crate::error::GstError;

/// A decoded picture: 8-bit RGB, rows packed (`width * 3` bytes each), in
/// the memory GStreamer decoded into; nothing is copied to hand it out.
///
/// [`Picture::image_mut`] draws on it in place, [`Picture::to_rgb_image`]
/// copies it into an owned [`RgbImage`].
#[derive(Debug)]
pub struct Picture {
    width: u32,
    height: u32,
    data: gst::MappedBuffer<gst::buffer::Writable>,
}

impl Picture {
    /// The picture in `buffer`, decoded as RGB of `width` x `height` with
    /// rows `stride` bytes apart. Rows are packed in place when the stride
    /// has padding; the buffer is copied only if GStreamer still shares it
    /// (then the `bool` is true).
    pub(crate) fn from_buffer(
        buffer: gst::Buffer,
        width: u32,
        height: u32,
        stride: usize,
    ) -> Result<(Self, bool), GstError> {
        let row = width as usize * 3;
        if width == 0 || height == 0 || stride < row {
            return Err(GstError::Picture(format!(
                "{width}x{height} with a stride of {stride} bytes"
            )));
        }
        let needed = stride * (height as usize - 1) + row;
        if buffer.size() < needed {
            return Err(GstError::Picture(format!(
                "{} bytes for {width}x{height} RGB with a stride of {stride}",
                buffer.size()
            )));
        }
        let copied = !buffer.is_writable();
        let buffer = if copied {
            buffer
                .copy_deep()
                .map_err(|e| GstError::Picture(e.to_string()))?
        } else {
            buffer
        };
        let mut data = buffer
            .into_mapped_buffer_writable()
            .map_err(|_| GstError::Picture("the buffer cannot be mapped for writing".into()))?;
        if stride != row {
            // Rows move towards the start only: each copy's destination is
            // before its source, so the rows not moved yet stay intact.
            for y in 1..height as usize {
                data.copy_within(y * stride..y * stride + row, y * row);
            }
        }
        Ok((
            Self {
                width,
                height,
                data,
            },
            copied,
        ))
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixels: `height` rows of `width` RGB triples.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data[..self.len()]
    }

    /// The pixels, writable.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        let len = self.len();
        &mut self.data[..len]
    }

    /// The picture as an `image` buffer over its own memory, to draw on
    /// in place (for example with `savant_sdk_sinks::draw`).
    pub fn image_mut(&mut self) -> ImageBuffer<Rgb<u8>, &mut [u8]> {
        let (w, h) = (self.width, self.height);
        ImageBuffer::from_raw(w, h, self.as_bytes_mut())
            .expect("the length is width * height * 3 by construction")
    }

    /// The picture as a read-only `image` buffer over its own memory.
    pub fn image(&self) -> ImageBuffer<Rgb<u8>, &[u8]> {
        ImageBuffer::from_raw(self.width, self.height, self.as_bytes())
            .expect("the length is width * height * 3 by construction")
    }

    /// A copy as an owned [`RgbImage`].
    pub fn to_rgb_image(&self) -> RgbImage {
        RgbImage::from_raw(self.width, self.height, self.as_bytes().to_vec())
            .expect("the length is width * height * 3 by construction")
    }

    /// The mean absolute difference per channel from `other` (255 when
    /// the sizes differ): 0 for identical pictures.
    pub fn mean_abs_diff(&self, other: &[u8]) -> f64 {
        let a = self.as_bytes();
        if a.len() != other.len() || a.is_empty() {
            return 255.0;
        }
        let sum: u64 = a
            .iter()
            .zip(other)
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        sum as f64 / a.len() as f64
    }

    fn len(&self) -> usize {
        self.width as usize * self.height as usize * 3
    }
}

impl Picture {
    /// The picture as a GStreamer buffer in GStreamer's RGB row layout
    /// (rows padded to 4 bytes): its own buffer when no padding is
    /// needed, else a padded copy.
    pub fn into_gst_buffer(self) -> gst::Buffer {
        let row = self.width as usize * 3;
        if row.is_multiple_of(4) {
            let len = self.len();
            let mut buffer = self.data.into_buffer();
            if buffer.size() != len {
                buffer.make_mut().set_size(len);
            }
            return buffer;
        }
        padded_rgb_buffer(self.as_bytes(), self.width, self.height)
            .expect("the length is width * height * 3 by construction")
    }

    /// A picture over a copy of packed RGB pixels (`width * height * 3`
    /// bytes): stub frames, pictures drawn by user code.
    pub fn from_rgb(rgb: &[u8], width: u32, height: u32) -> Result<Self, GstError> {
        crate::elements::init()?;
        let buffer = padded_rgb_buffer(rgb, width, height)?;
        let stride = (width as usize * 3).div_ceil(4) * 4;
        Self::from_buffer(buffer, width, height, stride).map(|(p, _)| p)
    }
}

/// Packed RGB pixels copied into a new buffer in GStreamer's row layout.
pub(crate) fn padded_rgb_buffer(
    rgb: &[u8],
    width: u32,
    height: u32,
) -> Result<gst::Buffer, GstError> {
    let row = width as usize * 3;
    if width == 0 || height == 0 || rgb.len() != row * height as usize {
        return Err(GstError::Picture(format!(
            "{} bytes for {width}x{height} RGB",
            rgb.len()
        )));
    }
    let stride = row.div_ceil(4) * 4;
    if stride == row {
        return Ok(gst::Buffer::from_slice(rgb.to_vec()));
    }
    let mut data = vec![0u8; stride * height as usize];
    for (dst, src) in data.chunks_exact_mut(stride).zip(rgb.chunks_exact(row)) {
        dst[..row].copy_from_slice(src);
    }
    Ok(gst::Buffer::from_slice(data))
}
