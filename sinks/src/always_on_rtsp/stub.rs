//! The stub picture an always-on stream shows while its source sends
//! nothing: the user's JPEG, or a generated "no signal" frame with the
//! source id and the time, redrawn each second.

use std::time::{SystemTime, UNIX_EPOCH};

use gstreamer as gst;
use image::{Rgb, RgbImage};

use super::feed::rgb_caps;

/// Where the stub picture comes from.
#[derive(Debug, Clone)]
pub enum Stub {
    /// A generated frame: "NO SIGNAL", the source id and the UTC time.
    Generated,
    /// This picture (decoded from the user's JPEG), scaled to the output.
    Picture(RgbImage),
}

/// The background of the generated stub: dark grey.
pub const STUB_BACKGROUND: Rgb<u8> = Rgb([40, 40, 40]);

/// A stream's stub, at its output size.
pub(crate) struct StubPicture {
    source_id: String,
    stub: Stub,
    width: u32,
    height: u32,
    caps: gst::Caps,
    /// The generated picture and the second it shows.
    cached: Option<(u64, gst::Buffer)>,
}

impl StubPicture {
    pub(crate) fn new(
        source_id: &str,
        stub: Stub,
        width: u32,
        height: u32,
        fps: (i32, i32),
    ) -> Self {
        let stub = match stub {
            Stub::Picture(p) if p.dimensions() != (width, height) => Stub::Picture(
                image::imageops::resize(&p, width, height, image::imageops::FilterType::Triangle),
            ),
            other => other,
        };
        Self {
            source_id: source_id.to_string(),
            stub,
            width,
            height,
            caps: rgb_caps(width, height, fps),
            cached: None,
        }
    }

    /// The picture to push now.
    pub(crate) fn current(&mut self) -> (gst::Buffer, gst::Caps) {
        let second = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let fixed = matches!(self.stub, Stub::Picture(_));
        match &self.cached {
            Some((s, b)) if fixed || *s == second => return (b.copy(), self.caps.clone()),
            _ => {}
        }
        let img = match &self.stub {
            Stub::Picture(p) => p.clone(),
            Stub::Generated => generated(&self.source_id, second, self.width, self.height),
        };
        let buffer = savant_sdk_gst::Picture::from_rgb(img.as_raw(), self.width, self.height)
            .map(savant_sdk_gst::Picture::into_gst_buffer)
            .unwrap_or_else(|_| gst::Buffer::new());
        self.cached = Some((second, buffer.clone()));
        (buffer, self.caps.clone())
    }
}

/// `HH:MM:SS UTC` of a Unix time.
fn utc_time(secs: u64) -> String {
    format!(
        "{:02}:{:02}:{:02} UTC",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

/// The generated stub: dark grey, "NO SIGNAL", the source id and the time.
pub fn generated(source_id: &str, unix_secs: u64, width: u32, height: u32) -> RgbImage {
    let mut img = RgbImage::from_pixel(width, height, STUB_BACKGROUND);
    let lines = [
        "NO SIGNAL".to_string(),
        source_id.to_string(),
        utc_time(unix_secs),
    ];
    crate::draw::Annotator::new().draw_centered_lines(&mut img, &lines, Rgb([230, 230, 230]));
    img
}
