//! [`AnnotatedFrameSink`]: frames with their objects drawn on them.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use std::ops::{Deref, DerefMut};

use image::{ImageBuffer, ImageFormat, Rgb};
use savant_sdk_core::model::VideoFrame;
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
    /// Decodes video frames (H.264, HEVC, VP8, VP9, AV1), made at the
    /// first one.
    #[cfg(feature = "gstreamer")]
    decoder: Option<savant_sdk_gst::FrameDecoder>,
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
            #[cfg(feature = "gstreamer")]
            decoder: None,
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

    fn annotate(&mut self, r: SinkResult) -> Result<(), SinkError> {
        let Some(frame) = r.frame() else {
            return Ok(());
        };
        let codec = frame.codec.as_deref();
        // JPEG and PNG decode here; video goes to the GStreamer decoder
        if crate::image_extension(codec).is_none() {
            #[cfg(feature = "gstreamer")]
            if codec.and_then(savant_sdk_gst::Codec::from_savant).is_some() {
                return self.decode_video(r);
            }
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
        self.write_annotated(frame, &mut img)
    }

    /// Draws `frame`'s objects on `img` and writes it.
    fn write_annotated<C>(
        &mut self,
        frame: &VideoFrame,
        img: &mut ImageBuffer<Rgb<u8>, C>,
    ) -> Result<(), SinkError>
    where
        C: Deref<Target = [u8]> + DerefMut,
    {
        self.annotator.draw_objects(img, &frame.objects);
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

    /// Feeds a video frame (or a source's EOS) to the GStreamer decoder
    /// and writes the pictures it hands out.
    #[cfg(feature = "gstreamer")]
    fn decode_video(&mut self, r: SinkResult) -> Result<(), SinkError> {
        let decoder = self
            .decoder
            .get_or_insert_with(savant_sdk_gst::FrameDecoder::new);
        let mut out = Vec::new();
        let pushed = savant_sdk_gst::blocking(|| decoder.push(r, &mut out));
        self.write_decoded(out)?;
        pushed.map_err(|e| SinkError::Gstreamer {
            path: self.dir.clone(),
            message: e.to_string(),
        })
    }

    #[cfg(feature = "gstreamer")]
    fn write_decoded(&mut self, out: Vec<savant_sdk_gst::Decoded>) -> Result<(), SinkError> {
        use savant_sdk_gst::{Decoded, UndecodedReason};
        let mut first_error = None;
        for d in out {
            match d {
                Decoded::Picture {
                    result,
                    mut picture,
                } => {
                    if let Some(frame) = result.frame() {
                        if let Err(e) = self.write_annotated(frame, &mut picture.image_mut()) {
                            first_error.get_or_insert(e);
                        }
                    }
                }
                Decoded::Undecoded { result, reason } => {
                    let why = match reason {
                        UndecodedReason::NoContent => SkipReason::NoContent,
                        UndecodedReason::UnsupportedCodec => SkipReason::Codec,
                        UndecodedReason::DecodeFailed | UndecodedReason::AwaitingKeyframe => {
                            SkipReason::Undecodable
                        }
                    };
                    let codec = result.frame().and_then(|f| f.codec.as_deref());
                    self.skipped
                        .record("annotated-frames", result.source_id(), codec, why);
                }
                Decoded::Message(_) => {}
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[async_trait]
impl Sink for AnnotatedFrameSink {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_core::Result<()> {
        if result.is_end_of_stream() {
            let source_id = result.source_id().to_string();
            // the source's last pictures come out of its decoder
            #[cfg(feature = "gstreamer")]
            if self.decoder.is_some() {
                self.decode_video(result)?;
            }
            self.skipped.end_of_stream(&source_id);
            return Ok(());
        }
        Ok(self.annotate(result)?)
    }

    async fn finish(&mut self) -> savant_sdk_core::Result<()> {
        #[cfg(feature = "gstreamer")]
        if let Some(decoder) = self.decoder.as_mut() {
            let mut out = Vec::new();
            let finished = savant_sdk_gst::blocking(|| decoder.finish(&mut out));
            self.write_decoded(out)?;
            finished.map_err(|e| SinkError::Gstreamer {
                path: self.dir.clone(),
                message: e.to_string(),
            })?;
        }
        Ok(())
    }

    fn name(&self) -> &str {
        "annotated-frames"
    }
}
