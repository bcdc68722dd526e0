//! [`AnnotatedVideoSink`]: frames of any decodable codec, decoded, with
//! their objects drawn, re-encoded as H.264 into MP4 or MKV files.

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use async_trait::async_trait;
use savant_sdk_core::model::MessagePayload;
use savant_sdk_core::sink::{Sink, SinkResult};
use savant_sdk_gst::{
    blocking, DecodeStats, Decoded, EncodedUnit, EncoderSettings, FrameDecoder, H264Encoder,
};

use crate::draw::Annotator;
use crate::error::SinkError;
use crate::{VideoContainer, VideoFileSink, WrittenFile};

/// The settings of an [`AnnotatedVideoSink`]; start with
/// [`AnnotatedVideoSink::builder`].
#[derive(Debug, Clone)]
pub struct AnnotatedVideoSinkBuilder {
    dir: std::path::PathBuf,
    container: VideoContainer,
    encoder: EncoderSettings,
    thickness: u32,
}

impl AnnotatedVideoSinkBuilder {
    /// MP4 (default) or MKV.
    pub fn container(mut self, container: VideoContainer) -> Self {
        self.container = container;
        self
    }

    /// The H.264 bitrate in kbit/s (default 2000).
    pub fn bitrate_kbps(mut self, kbps: u32) -> Self {
        self.encoder.bitrate_kbps = kbps.max(1);
        self
    }

    /// Most frames between keyframes (default 30).
    pub fn keyframe_interval(mut self, frames: u32) -> Self {
        self.encoder.keyframe_interval = frames.max(1);
        self
    }

    /// Line width of the boxes in pixels (default 2).
    pub fn thickness(mut self, px: u32) -> Self {
        self.thickness = px.max(1);
        self
    }

    /// Creates the folder and checks GStreamer has the encoder and muxer.
    pub fn build(self) -> Result<AnnotatedVideoSink, SinkError> {
        let files = VideoFileSink::builder(&self.dir)
            .container(self.container)
            .build()?;
        savant_sdk_gst::require(&["x264enc", "h264parse", "videoconvert"]).map_err(|e| {
            SinkError::from_gst(e, |message| SinkError::Gstreamer {
                path: self.dir.clone(),
                message,
            })
        })?;
        Ok(AnnotatedVideoSink {
            decoder: FrameDecoder::new(),
            annotator: Annotator::new().thickness(self.thickness),
            files,
            encoders: HashMap::new(),
            settings: self,
            out: Vec::new(),
            units: Vec::new(),
            frames: 0,
        })
    }
}

/// A source's encoder and the frames whose access units have not come out.
struct SourceEncoder {
    encoder: H264Encoder,
    waiting: VecDeque<SinkResult>,
}

/// Decodes every frame ([`FrameDecoder`]: H.264, HEVC, VP8, VP9, AV1,
/// JPEG, PNG), draws its objects ([`Annotator`]), re-encodes it as H.264
/// ([`H264Encoder`]) and writes `DIR/<source_id>/<first pts>.mp4` (or
/// `.mkv`) with a [`VideoFileSink`]: a new file at each EOS and each change
/// of picture size, the frame metadata beside each file. Frames that do not
/// decode are skipped and counted ([`AnnotatedVideoSink::decode_stats`]).
///
/// ```no_run
/// use savant_sdk_sinks::AnnotatedVideoSink;
/// let sink = AnnotatedVideoSink::new("out/annotated-video")?;
/// # Ok::<(), savant_sdk_sinks::SinkError>(())
/// ```
pub struct AnnotatedVideoSink {
    settings: AnnotatedVideoSinkBuilder,
    decoder: FrameDecoder,
    annotator: Annotator,
    files: VideoFileSink,
    encoders: HashMap<String, SourceEncoder>,
    out: Vec<Decoded>,
    units: Vec<EncodedUnit>,
    frames: u64,
}

impl std::fmt::Debug for AnnotatedVideoSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnnotatedVideoSink")
            .field("dir", &self.settings.dir)
            .field("frames", &self.frames)
            .finish()
    }
}

impl AnnotatedVideoSink {
    /// Settings for files under `dir`.
    pub fn builder(dir: impl AsRef<Path>) -> AnnotatedVideoSinkBuilder {
        AnnotatedVideoSinkBuilder {
            dir: dir.as_ref().to_path_buf(),
            container: VideoContainer::Mp4,
            encoder: EncoderSettings::default(),
            thickness: 2,
        }
    }

    /// MP4 files under `dir` with the default settings.
    pub fn new(dir: impl AsRef<Path>) -> Result<Self, SinkError> {
        Self::builder(dir).build()
    }

    /// The files finished so far.
    pub fn files(&self) -> &[WrittenFile] {
        self.files.files()
    }

    /// Annotated frames written.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The decoder's counters (frames that did not decode among them).
    pub fn decode_stats(&self) -> DecodeStats {
        self.decoder.stats()
    }

    fn error(&self, e: savant_sdk_gst::GstError) -> SinkError {
        SinkError::Gstreamer {
            path: self.settings.dir.clone(),
            message: e.to_string(),
        }
    }

    /// Handles what the decoder handed out.
    fn handle(&mut self) -> Result<(), SinkError> {
        let out = std::mem::take(&mut self.out);
        let mut first_error = None;
        for decoded in out {
            if let Err(e) = self.handle_one(decoded) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn handle_one(&mut self, decoded: Decoded) -> Result<(), SinkError> {
        match decoded {
            Decoded::Picture {
                result,
                mut picture,
            } => {
                let Some(frame) = result.frame() else {
                    return Ok(());
                };
                self.annotator
                    .draw_objects(&mut picture.image_mut(), &frame.objects);
                let source_id = frame.source_id.clone();
                let size = (picture.width(), picture.height());
                if self
                    .encoders
                    .get(&source_id)
                    .is_some_and(|e| e.encoder.size() != size)
                {
                    // a new size: the old encoder's units first, then a new file
                    self.close_encoder(&source_id)?;
                    self.files.close_source(&source_id)?;
                }
                if !self.encoders.contains_key(&source_id) {
                    let encoder = H264Encoder::new(
                        size.0,
                        size.1,
                        framerate(&frame.framerate),
                        &self.settings.encoder,
                    )
                    .map_err(|e| self.error(e))?;
                    self.encoders.insert(
                        source_id.clone(),
                        SourceEncoder {
                            encoder,
                            waiting: VecDeque::new(),
                        },
                    );
                }
                let pts = savant_sdk_gst::ticks_to_ns(frame.pts, frame.time_base).max(0) as u64;
                let duration = frame
                    .duration
                    .filter(|d| *d > 0)
                    .map(|d| savant_sdk_gst::ticks_to_ns(d, frame.time_base) as u64);
                let entry = self.encoders.get_mut(&source_id).expect("inserted above");
                entry.waiting.push_back(result);
                let pushed = entry.encoder.push(picture, pts, duration, &mut self.units);
                write_units(
                    &mut self.files,
                    &mut self.frames,
                    &mut entry.waiting,
                    &mut self.units,
                )?;
                pushed.map_err(|e| self.error(e))
            }
            Decoded::Undecoded { .. } => Ok(()),
            Decoded::Message(result) => {
                if result.is_end_of_stream() {
                    let source_id = result.source_id().to_string();
                    self.close_encoder(&source_id)?;
                    self.files.close_source(&source_id)?;
                }
                Ok(())
            }
        }
    }

    /// Drains `source_id`'s encoder into its file and drops it.
    fn close_encoder(&mut self, source_id: &str) -> Result<(), SinkError> {
        let Some(mut entry) = self.encoders.remove(source_id) else {
            return Ok(());
        };
        let mut units = Vec::new();
        let finished = entry.encoder.finish(&mut units);
        write_units(
            &mut self.files,
            &mut self.frames,
            &mut entry.waiting,
            &mut units,
        )?;
        finished.map_err(|e| self.error(e))
    }
}

/// Writes `units` (in order, one per waiting frame) as those frames,
/// re-encoded.
fn write_units(
    files: &mut VideoFileSink,
    frames: &mut u64,
    waiting: &mut VecDeque<SinkResult>,
    units: &mut Vec<EncodedUnit>,
) -> Result<(), SinkError> {
    for unit in units.drain(..) {
        let Some(mut result) = waiting.pop_front() else {
            break;
        };
        if let MessagePayload::VideoFrame(f) = &mut result.message.payload {
            f.codec = Some("h264".into());
            f.keyframe = Some(unit.keyframe);
            // no B-frames: decoding order is presentation order
            f.dts = Some(f.pts);
        }
        result.content = Some(unit.data);
        files.write(&result)?;
        *frames += 1;
    }
    Ok(())
}

/// A Savant framerate string (`30/1`, `30000/1001`) as a fraction; `(0, 1)`
/// (variable) when it does not parse.
fn framerate(s: &str) -> (i32, i32) {
    savant_sdk_gst::parse_framerate(s).unwrap_or((0, 1))
}

#[async_trait]
impl Sink for AnnotatedVideoSink {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_core::Result<()> {
        blocking(|| {
            let pushed = self.decoder.push(result, &mut self.out);
            self.handle()?;
            pushed.map_err(|e| self.error(e))
        })?;
        Ok(())
    }

    async fn finish(&mut self) -> savant_sdk_core::Result<()> {
        blocking(|| {
            let finished = self.decoder.finish(&mut self.out);
            self.handle()?;
            finished.map_err(|e| self.error(e))?;
            let ids: Vec<String> = self.encoders.keys().cloned().collect();
            for id in ids {
                self.close_encoder(&id)?;
            }
            self.files.close_all()
        })?;
        Ok(())
    }

    fn name(&self) -> &str {
        "annotated-video"
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn framerates_parse() {
        assert_eq!(super::framerate("30/1"), (30, 1));
        assert_eq!(super::framerate("30000/1001"), (30000, 1001));
        assert_eq!(super::framerate("0/1"), (0, 1));
        assert_eq!(super::framerate("abc"), (0, 1));
    }
}
