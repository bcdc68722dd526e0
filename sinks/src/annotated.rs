//! [`AnnotatedFrameSink`]: frames with their objects drawn on them.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use image::ImageFormat;
use savant_sdk_core::sink::{Sink, SinkResult};

use crate::draw::Annotator;
use crate::error::{ensure_writable_dir, pts_name, safe_name, SinkError};
use crate::skipped::{create_new, SkipReason, Skipped};

/// Decodes each JPEG/PNG frame, draws every object's box (rotated when it
/// has an angle) and label in a colour per label (with a
/// [`draw::Annotator`](crate::draw::Annotator) made once per sink), and writes
/// `DIR/<source_id>/<pts>.png` (or `.jpeg`); a name already taken gets
/// `-1`, `-2`, ..., never replaced. Frames of other codecs (video), without
/// content, or whose content does not decode are skipped and counted, with
/// one warning per source and codec.
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
    annotator: Annotator,
    written: u64,
    skipped: Skipped,
}

impl AnnotatedFrameSink {
    /// Writes PNGs under `dir`, which is created and checked for writing now.
    pub fn new(dir: impl AsRef<Path>) -> Result<Self, SinkError> {
        let dir = dir.as_ref().to_path_buf();
        ensure_writable_dir(&dir)?;
        Ok(Self {
            dir,
            format: ImageFormat::Png,
            annotator: Annotator::new(),
            written: 0,
            skipped: Skipped::default(),
        })
    }

    /// Writes JPEGs instead of PNGs.
    pub fn jpeg(mut self) -> Self {
        self.format = ImageFormat::Jpeg;
        self
    }

    /// Line width of the boxes in pixels (default 2).
    pub fn thickness(mut self, px: u32) -> Self {
        self.annotator = self.annotator.thickness(px);
        self
    }

    /// Frames written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Frames skipped (not an image codec, no content, or content that
    /// does not decode).
    pub fn skipped(&self) -> u64 {
        self.skipped.total()
    }

    fn annotate(&mut self, r: &SinkResult) -> Result<(), SinkError> {
        let Some(frame) = r.frame() else {
            return Ok(());
        };
        let codec = frame.codec.as_deref();
        // only still images are decoded; video access units are skipped by codec
        if crate::image_extension(codec).is_none() {
            self.skipped.record(
                "annotated-frames",
                &frame.source_id,
                codec,
                SkipReason::Codec,
            );
            return Ok(());
        }
        let Some(content) = r.content.as_ref().filter(|c| !c.is_empty()) else {
            self.skipped.record(
                "annotated-frames",
                &frame.source_id,
                codec,
                SkipReason::NoContent,
            );
            return Ok(());
        };
        let mut img = match image::load_from_memory(content) {
            Ok(i) => i.to_rgb8(),
            Err(e) => {
                tracing::debug!(source_id = %frame.source_id, pts = frame.pts, error = %e, "frame content does not decode");
                self.skipped.record(
                    "annotated-frames",
                    &frame.source_id,
                    codec,
                    SkipReason::Undecodable,
                );
                return Ok(());
            }
        };
        self.annotator.draw_objects(&mut img, &frame.objects);
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
        let wanted = pts_name(frame.pts, ext);
        let mut buf = Cursor::new(Vec::new());
        img.write_to(&mut buf, self.format)
            .map_err(|e| SinkError::Encode {
                path: folder.join(&wanted),
                detail: e.to_string(),
            })?;
        let name =
            create_new(&folder, &wanted, &buf.into_inner()).map_err(|source| SinkError::Write {
                path: folder.join(&wanted),
                source,
            })?;
        if name != wanted {
            tracing::debug!(source_id = %frame.source_id, wanted, written = name, "annotated image of this name exists; written under a new name");
        }
        self.written += 1;
        Ok(())
    }
}

#[async_trait]
impl Sink for AnnotatedFrameSink {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_core::Result<()> {
        if result.is_end_of_stream() {
            self.skipped.end_of_stream(result.source_id());
            return Ok(());
        }
        Ok(self.annotate(&result)?)
    }

    fn name(&self) -> &str {
        "annotated-frames"
    }
}
