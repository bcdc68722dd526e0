//! [`AnnotatedFrameSink`]: frames with their objects drawn on them.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use image::ImageFormat;
use savant_sdk_core::sink::{Sink, SinkResult};

use crate::draw::{draw_box, draw_label, label_color};
use crate::error::{ensure_writable_dir, pts_name, safe_name, SinkError};

/// Decodes each JPEG/PNG frame, draws every object's box (rotated when it
/// has an angle) and label in a colour per label, and writes
/// `DIR/<source_id>/<pts>.png` (or `.jpeg`). Frames whose content does not
/// decode are logged and skipped.
///
/// ```no_run
/// use savant_sdk_sinks::AnnotatedFrameSink;
/// let sink = AnnotatedFrameSink::new("out/annotated")?;
/// # Ok::<(), savant_sdk_sinks::SinkError>(())
/// ```
#[derive(Debug)]
pub struct AnnotatedFrameSink {
    dir: PathBuf,
    format: ImageFormat,
    thickness: u32,
    written: u64,
    skipped: u64,
}

impl AnnotatedFrameSink {
    /// Writes PNGs under `dir`, which is created and checked for writing now.
    pub fn new(dir: impl AsRef<Path>) -> Result<Self, SinkError> {
        let dir = dir.as_ref().to_path_buf();
        ensure_writable_dir(&dir)?;
        Ok(Self {
            dir,
            format: ImageFormat::Png,
            thickness: 2,
            written: 0,
            skipped: 0,
        })
    }

    /// Writes JPEGs instead of PNGs.
    pub fn jpeg(mut self) -> Self {
        self.format = ImageFormat::Jpeg;
        self
    }

    /// Line width of the boxes in pixels (default 2).
    pub fn thickness(mut self, px: u32) -> Self {
        self.thickness = px.max(1);
        self
    }

    /// Frames written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Frames skipped (no image content, or content that does not decode).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    fn annotate(&mut self, r: &SinkResult) -> Result<(), SinkError> {
        let Some(frame) = r.frame() else {
            return Ok(());
        };
        let Some(content) = &r.content else {
            self.skipped += 1;
            tracing::warn!(source_id = %frame.source_id, pts = frame.pts, "frame without content; nothing to annotate");
            return Ok(());
        };
        let mut img = match image::load_from_memory(content) {
            Ok(i) => i.to_rgb8(),
            Err(e) => {
                self.skipped += 1;
                tracing::warn!(source_id = %frame.source_id, pts = frame.pts, error = %e, "frame content does not decode; skipped");
                return Ok(());
            }
        };
        let scale = (img.height() / 160).clamp(2, 6);
        for o in &frame.objects {
            let color = label_color(&o.label);
            draw_box(&mut img, &o.detection_box, self.thickness, color);
            let text = o.draw_label.as_deref().unwrap_or(&o.label);
            let text = match o.confidence {
                Some(c) => format!("{text} {:.0}%", c * 100.0),
                None => text.to_string(),
            };
            let top = crate::draw::corners(&o.detection_box)
                .iter()
                .fold((f32::MAX, f32::MAX), |(x, y), (cx, cy)| {
                    (x.min(*cx), y.min(*cy))
                });
            let label_h = (crate::font::GLYPH_H + 2) * scale;
            let y = (top.1 as i64 - label_h as i64).max(0);
            draw_label(&mut img, top.0 as i64, y, &text, scale, color);
        }
        let folder = self.dir.join(safe_name(&frame.source_id));
        std::fs::create_dir_all(&folder).map_err(|source| SinkError::Write {
            path: folder.clone(),
            source,
        })?;
        let ext = if self.format == ImageFormat::Png {
            "png"
        } else {
            "jpeg"
        };
        let path = folder.join(pts_name(frame.pts, ext));
        let mut buf = Cursor::new(Vec::new());
        img.write_to(&mut buf, self.format)
            .map_err(|e| SinkError::Encode {
                path: path.clone(),
                detail: e.to_string(),
            })?;
        std::fs::write(&path, buf.into_inner())
            .map_err(|source| SinkError::Write { path, source })?;
        self.written += 1;
        Ok(())
    }
}

#[async_trait]
impl Sink for AnnotatedFrameSink {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_core::Result<()> {
        Ok(self.annotate(&result)?)
    }

    fn name(&self) -> &str {
        "annotated-frames"
    }
}
