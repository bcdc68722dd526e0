//! [`VideoFileSink`]: received encoded frames muxed into MP4 or MKV files,
//! one file per source at a time, with the frame metadata beside it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::sink::{Sink, SinkResult};

use crate::error::{ensure_writable_dir, pts_name, safe_name, SinkError};
use crate::skipped::{SkipReason, Skipped};
use crate::MetadataJsonSink;

/// How much encoded video may wait in a file's pipeline before `write`
/// waits for the muxer.
const APPSRC_MAX_BYTES: u64 = 32 * 1024 * 1024;

/// The container [`VideoFileSink`] writes: MP4 (H.264, HEVC, VP9, AV1)
/// or MKV (also VP8 and MJPEG), from the shared codec table.
pub use savant_sdk_gst::Container as VideoContainer;

/// The shared layer's error as this crate's, for the output `dir`.
fn sink_error(dir: &Path, e: savant_sdk_gst::GstError) -> SinkError {
    SinkError::from_gst(e, |message| SinkError::Gstreamer {
        path: dir.to_path_buf(),
        message,
    })
}

fn make(element: &'static str) -> Result<gst::Element, SinkError> {
    savant_sdk_gst::make(element).map_err(|e| sink_error(Path::new(""), e))
}

use savant_sdk_gst::ticks_to_ns as to_ns;

/// The settings of a [`VideoFileSink`]; start with [`VideoFileSink::builder`].
#[derive(Debug, Clone)]
pub struct VideoFileSinkBuilder {
    dir: PathBuf,
    container: VideoContainer,
    chunk: Option<Duration>,
    close_timeout: Duration,
    metadata: bool,
}

impl VideoFileSinkBuilder {
    /// MP4 (the default) or MKV.
    pub fn container(mut self, container: VideoContainer) -> Self {
        self.container = container;
        self
    }

    /// Starts a new file at the first keyframe at least `every` (of pts)
    /// after the start of the current file; `None` (the default): one
    /// file until EOS or a parameter change.
    pub fn chunk_duration(mut self, every: Option<Duration>) -> Self {
        self.chunk = every.filter(|d| !d.is_zero());
        self
    }

    /// How long closing a file may wait for the muxer to finish (default
    /// 10 s).
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Whether to write the `.jsonl` metadata beside each file (default on).
    pub fn metadata(mut self, on: bool) -> Self {
        self.metadata = on;
        self
    }

    /// Creates the output folder, checks it can be written and that
    /// GStreamer has the container's elements.
    pub fn build(self) -> Result<VideoFileSink, SinkError> {
        ensure_writable_dir(&self.dir)?;
        savant_sdk_gst::init().map_err(|e| sink_error(&self.dir, e))?;
        savant_sdk_gst::require(&["appsrc", self.container.muxer(), "filesink"])
            .map_err(|e| sink_error(&self.dir, e))?;
        Ok(VideoFileSink {
            settings: self,
            open: HashMap::new(),
            waiting: HashMap::new(),
            written: Vec::new(),
            skipped: 0,
            not_taken: Skipped::default(),
        })
    }
}

/// A finished video file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    /// The source id.
    pub source_id: String,
    /// The video file.
    pub path: PathBuf,
    /// The metadata JSON lines beside it (when enabled).
    pub metadata_path: Option<PathBuf>,
    /// The codec.
    pub codec: String,
    /// Frames written.
    pub frames: u64,
}

/// One open output file: its pipeline `appsrc ! parser ! muxer ! filesink`.
struct OpenFile {
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
    path: PathBuf,
    meta: Option<(PathBuf, MetadataJsonSink)>,
    codec: savant_sdk_gst::Codec,
    width: i64,
    height: i64,
    /// pts (ns) of the first frame.
    start_ns: i64,
    /// Subtracted from every timestamp, so that the file starts at zero.
    base_ns: i64,
    frames: u64,
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

impl OpenFile {
    fn error(&self, message: impl Into<String>) -> SinkError {
        SinkError::Gstreamer {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    /// The first error the pipeline posted, if any.
    fn pipeline_error(&self) -> Option<SinkError> {
        let msg = self
            .pipeline
            .bus()?
            .pop_filtered(&[gst::MessageType::Error])?;
        match msg.view() {
            gst::MessageView::Error(e) => Some(self.error(error_text(e))),
            _ => None,
        }
    }

    fn push(&mut self, frame: &VideoFrame, content: &bytes::Bytes) -> Result<(), SinkError> {
        let tb = frame.time_base;
        let rebase = |v: i64| {
            Some(gst::ClockTime::from_nseconds(
                (v - self.base_ns).max(0) as u64
            ))
        };
        let mut buffer = gst::Buffer::from_slice(content.clone());
        {
            let b = buffer.get_mut().expect("a new buffer is writable");
            b.set_pts(rebase(to_ns(frame.pts, tb)));
            b.set_dts(frame.dts.and_then(|d| rebase(to_ns(d, tb))));
            b.set_duration(
                frame
                    .duration
                    .map(|d| gst::ClockTime::from_nseconds(to_ns(d, tb).max(0) as u64)),
            );
            if frame.keyframe != Some(true) {
                b.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        // A bounded queue: a writer faster than the disk waits here, and a
        // pipeline that failed while it waits ends the wait with its error.
        while self.appsrc.current_level_bytes() >= APPSRC_MAX_BYTES {
            let bus = self.pipeline.bus().ok_or_else(|| self.error("no bus"))?;
            if let Some(msg) = bus.timed_pop_filtered(
                gst::ClockTime::from_mseconds(10),
                &[gst::MessageType::Error],
            ) {
                if let gst::MessageView::Error(e) = msg.view() {
                    return Err(self.error(error_text(e)));
                }
            }
        }
        if let Err(flow) = self.appsrc.push_buffer(buffer) {
            return Err(self
                .pipeline_error()
                .unwrap_or_else(|| self.error(format!("pushing a frame failed: {flow:?}"))));
        }
        if let Some(e) = self.pipeline_error() {
            return Err(e);
        }
        self.frames += 1;
        Ok(())
    }

    /// Sends EOS and waits until the muxer has finished the file.
    fn close(mut self, timeout: Duration) -> Result<WrittenFile, SinkError> {
        let meta_path = match &mut self.meta {
            Some((path, meta)) => {
                meta.flush()?;
                Some(path.clone())
            }
            None => None,
        };
        let _ = self.appsrc.end_of_stream();
        let bus = self.pipeline.bus().ok_or_else(|| self.error("no bus"))?;
        let msg = bus.timed_pop_filtered(
            gst::ClockTime::from_nseconds(timeout.as_nanos().min(u64::MAX as u128) as u64),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        );
        match msg.as_ref().map(|m| m.view()) {
            Some(gst::MessageView::Eos(_)) => {}
            Some(gst::MessageView::Error(e)) => return Err(self.error(error_text(e))),
            _ => {
                return Err(self.error(format!(
                    "the muxer did not finish within {timeout:?}; the file may be incomplete"
                )))
            }
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        tracing::debug!(path = %self.path.display(), frames = self.frames, "video file closed");
        Ok(WrittenFile {
            source_id: String::new(),
            path: self.path.clone(),
            metadata_path: meta_path,
            codec: self.codec.to_string(),
            frames: self.frames,
        })
    }
}

fn error_text(e: &gst::message::Error) -> String {
    match e.debug() {
        Some(d) => format!("{} ({d})", e.error()),
        None => e.error().to_string(),
    }
}

/// Muxes received encoded frames into video files without decoding them:
/// `DIR/<source_id>/<first pts>.mp4` (or `.mkv`), the first pts in the
/// frame's time base zero-padded to 20 digits so that names sort in time
/// order (`_001`, `_002`... are appended when a name is taken), and beside
/// each the frame metadata as JSON lines (`<same name>.jsonl`, one
/// [`crate::metadata::Record`] per written frame).
///
/// A source's file is closed, and the next frame starts a new one, on EOS
/// for that source, when the codec, width or height changes, and with
/// [`VideoFileSinkBuilder::chunk_duration`] at the first keyframe past
/// each chunk's length. Every file starts with a keyframe: the frames
/// before it are skipped, counted in [`VideoFileSink::skipped`] and
/// logged. Timestamps are converted from the frame's time base to
/// nanoseconds and shifted so each file starts at zero; the metadata keeps
/// the original values.
///
/// Codecs ([`VideoContainer::codecs`]): H.264 (`h264`) and HEVC (`hevc`)
/// as byte-stream access units, as [`VideoFileSource`] sends them, into
/// both containers; VP9 and AV1 too; VP8 and MJPEG (`jpeg`) into MKV
/// only. A frame of any other codec, or without one (a JPEG in a mixed
/// stream), or without content is skipped and counted in
/// [`VideoFileSink::skipped`], with one warning per source and codec; the
/// other frames and sources go on. Closing a file sends EOS through its pipeline and waits (up to
/// [`VideoFileSinkBuilder::close_timeout`]) until the muxer has written
/// it, so MP4 files get their index and play to the end; [`Sink::finish`]
/// and `Drop` close every open file.
///
/// **Blocking.** Pushing a frame (which waits while the file's queue is
/// full), EOS and waiting for the muxer block the calling thread in the
/// synchronous methods ([`write`](Self::write),
/// [`close_source`](Self::close_source), [`close_all`](Self::close_all)).
/// The [`Sink`] methods never block the async runtime: `consume` and
/// `finish` move the sink's state to a blocking thread
/// (`tokio::task::spawn_blocking`) for the call and only await it. A
/// `consume` or `finish` future dropped before it completes leaves the
/// sink empty (its open files are closed on that thread; the list of
/// written files and the counters start over).
///
/// [`VideoFileSource`]: https://docs.rs/savant-sdk-sources
///
/// ```no_run
/// use std::time::Duration;
/// use savant_sdk_sinks::{VideoContainer, VideoFileSink};
/// let sink = VideoFileSink::builder("out/video")
///     .container(VideoContainer::Mkv)
///     .chunk_duration(Some(Duration::from_secs(60)))
///     .build()?;
/// # Ok::<(), savant_sdk_sinks::SinkError>(())
/// ```
pub struct VideoFileSink {
    settings: VideoFileSinkBuilder,
    open: HashMap<String, OpenFile>,
    /// Frames skipped per source while waiting for a keyframe.
    waiting: HashMap<String, u64>,
    written: Vec<WrittenFile>,
    skipped: u64,
    /// Frames of codecs the container does not take, or without content.
    not_taken: Skipped,
}

impl std::fmt::Debug for VideoFileSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoFileSink")
            .field("settings", &self.settings)
            .field("open", &self.open.keys().collect::<Vec<_>>())
            .field("written", &self.written.len())
            .field("skipped", &self.skipped)
            .finish()
    }
}

impl VideoFileSink {
    /// Settings for a sink writing under `dir` (MP4, no chunks, metadata on).
    pub fn builder(dir: impl AsRef<Path>) -> VideoFileSinkBuilder {
        VideoFileSinkBuilder {
            dir: dir.as_ref().to_path_buf(),
            container: VideoContainer::Mp4,
            chunk: None,
            close_timeout: Duration::from_secs(10),
            metadata: true,
        }
    }

    /// MP4 files under `dir` with the default settings.
    pub fn new(dir: impl AsRef<Path>) -> Result<Self, SinkError> {
        Self::builder(dir).build()
    }

    /// The files finished so far, in the order they were closed.
    pub fn files(&self) -> &[WrittenFile] {
        &self.written
    }

    /// Frames not written: before a file's first keyframe, without
    /// content, or of a codec the container does not take.
    pub fn skipped(&self) -> u64 {
        self.skipped + self.not_taken.total()
    }

    /// Writes one frame (opening or rotating the source's file as needed).
    pub fn write(&mut self, r: &SinkResult) -> Result<(), SinkError> {
        let Some(frame) = r.frame() else {
            return Ok(());
        };
        let source_id = frame.source_id.as_str();
        let codec = frame
            .codec
            .as_deref()
            .and_then(savant_sdk_gst::Codec::from_savant)
            .filter(|c| self.settings.container.takes(*c));
        let Some(codec) = codec else {
            self.not_taken.record(
                "video-files",
                source_id,
                frame.codec.as_deref(),
                SkipReason::Codec,
            );
            return Ok(());
        };
        let Some(content) = r.content.as_ref().filter(|c| !c.is_empty()) else {
            self.not_taken.record(
                "video-files",
                source_id,
                frame.codec.as_deref(),
                SkipReason::NoContent,
            );
            return Ok(());
        };
        let keyframe = frame.keyframe == Some(true);
        let pts_ns = to_ns(frame.pts, frame.time_base);
        if let Some(file) = self.open.get(source_id) {
            let changed =
                file.codec != codec || file.width != frame.width || file.height != frame.height;
            let chunk_due = keyframe
                && self.settings.chunk.is_some_and(|c| {
                    pts_ns.saturating_sub(file.start_ns) as i128 >= c.as_nanos() as i128
                });
            if changed {
                tracing::info!(
                    source_id,
                    codec = %codec,
                    width = frame.width,
                    height = frame.height,
                    "stream parameters changed; new file"
                );
            }
            if changed || chunk_due {
                self.close_source(source_id)?;
            }
        }
        if !self.open.contains_key(source_id) {
            if !keyframe {
                *self.waiting.entry(source_id.to_string()).or_default() += 1;
                self.skipped += 1;
                tracing::debug!(
                    source_id,
                    pts = frame.pts,
                    "waiting for a keyframe; frame skipped"
                );
                return Ok(());
            }
            if let Some(n) = self.waiting.remove(source_id) {
                tracing::warn!(
                    source_id,
                    skipped = n,
                    "frames before the first keyframe were not written"
                );
            }
            let file = self.open_file(frame, codec, pts_ns)?;
            self.open.insert(source_id.to_string(), file);
        }
        let file = self.open.get_mut(source_id).expect("opened above");
        if let Err(e) = file.push(frame, content) {
            // the pipeline is broken: drop it, the next keyframe starts a new file
            self.open.remove(source_id);
            return Err(e);
        }
        if let Some((_, meta)) = &mut file.meta {
            meta.write(r)?;
        }
        Ok(())
    }

    /// Closes the open file of `source_id`, if any.
    pub fn close_source(&mut self, source_id: &str) -> Result<(), SinkError> {
        self.waiting.remove(source_id);
        let Some(file) = self.open.remove(source_id) else {
            return Ok(());
        };
        let mut written = file.close(self.settings.close_timeout)?;
        written.source_id = source_id.to_string();
        self.written.push(written);
        Ok(())
    }

    /// Closes every open file; the first error is returned after all were
    /// tried.
    pub fn close_all(&mut self) -> Result<(), SinkError> {
        let mut ids: Vec<String> = self.open.keys().cloned().collect();
        ids.sort();
        let mut first = None;
        for id in ids {
            if let Err(e) = self.close_source(&id) {
                tracing::warn!(source_id = %id, error = %e, "closing a video file failed");
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    fn open_file(
        &self,
        frame: &VideoFrame,
        codec: savant_sdk_gst::Codec,
        pts_ns: i64,
    ) -> Result<OpenFile, SinkError> {
        let (parser, caps) = (codec.parser(), codec.frame_caps());
        let folder = self.settings.dir.join(safe_name(&frame.source_id));
        std::fs::create_dir_all(&folder).map_err(|source| SinkError::Write {
            path: folder.clone(),
            source,
        })?;
        let ext = self.settings.container.extension();
        let mut path = folder.join(pts_name(frame.pts, ext));
        let mut n = 0;
        while path.exists() {
            n += 1;
            path = folder.join(format!("{:020}_{n:03}.{ext}", frame.pts));
        }
        let error = |message: String| SinkError::Gstreamer {
            path: path.clone(),
            message,
        };

        let (num, den) = frame
            .framerate
            .split_once('/')
            .and_then(|(n, d)| Some((n.trim().parse::<i32>().ok()?, d.trim().parse::<i32>().ok()?)))
            .filter(|(n, d)| *n > 0 && *d > 0)
            .unwrap_or((0, 1));
        let mut caps: gst::Caps = caps.parse().expect("static caps parse");
        {
            let s = caps
                .make_mut()
                .structure_mut(0)
                .expect("caps have a structure");
            if frame.width > 0 && frame.height > 0 {
                s.set("width", frame.width as i32);
                s.set("height", frame.height as i32);
            }
            s.set("framerate", gst::Fraction::new(num, den));
        }
        let appsrc = gst_app::AppSrc::builder()
            .caps(&caps)
            .format(gst::Format::Time)
            .is_live(false)
            // `push` waits itself while the queue holds APPSRC_MAX_BYTES
            // (appsrc's own blocking would not wake on a pipeline error).
            .max_bytes(APPSRC_MAX_BYTES)
            .block(false)
            .build();
        let mut elements: Vec<gst::Element> = vec![appsrc.clone().upcast()];
        if let Some(parser) = parser {
            elements.push(make(parser)?);
        }
        elements.push(make(self.settings.container.muxer())?);
        let filesink = make("filesink")?;
        filesink.set_property("location", path.to_string_lossy().to_string());
        filesink.set_property("async", false);
        elements.push(filesink);

        let pipeline = gst::Pipeline::new();
        pipeline
            .add_many(&elements)
            .map_err(|e| error(format!("cannot add elements: {e}")))?;
        gst::Element::link_many(&elements).map_err(|e| {
            error(format!(
                "cannot link {codec} into {}: {e}",
                self.settings.container
            ))
        })?;
        let meta = if self.settings.metadata {
            let meta_path = path.with_extension("jsonl");
            Some((meta_path.clone(), MetadataJsonSink::file(&meta_path)?))
        } else {
            None
        };
        let base_ns = frame
            .dts
            .map(|d| to_ns(d, frame.time_base))
            .map_or(pts_ns, |d| d.min(pts_ns));
        let file = OpenFile {
            pipeline,
            appsrc,
            path: path.clone(),
            meta,
            codec,
            width: frame.width,
            height: frame.height,
            start_ns: pts_ns,
            base_ns,
            frames: 0,
        };
        if file.pipeline.set_state(gst::State::Playing).is_err() {
            return Err(file
                .pipeline_error()
                .unwrap_or_else(|| error("the pipeline did not start".into())));
        }
        tracing::debug!(path = %path.display(), codec = %codec, "video file opened");
        Ok(file)
    }
}

impl Drop for VideoFileSink {
    fn drop(&mut self) {
        let _ = self.close_all();
    }
}

impl VideoFileSink {
    /// A sink with the same settings and nothing open: what `self` holds
    /// while its state is on a blocking thread.
    fn detached(&self) -> Self {
        VideoFileSink {
            settings: self.settings.clone(),
            open: HashMap::new(),
            waiting: HashMap::new(),
            written: Vec::new(),
            skipped: 0,
            not_taken: Skipped::default(),
        }
    }

    /// Runs `f` on this sink's state on a blocking thread of the tokio
    /// runtime, so that GStreamer's waits never block an async worker.
    async fn off_runtime<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut VideoFileSink) -> Result<T, SinkError> + Send + 'static,
    ) -> Result<T, SinkError> {
        let detached = self.detached();
        let mut state = std::mem::replace(self, detached);
        let joined = tokio::task::spawn_blocking(move || {
            let out = f(&mut state);
            (state, out)
        })
        .await;
        match joined {
            Ok((state, out)) => {
                // the placeholder has nothing open: dropping it is cheap
                drop(std::mem::replace(self, state));
                out
            }
            Err(e) => Err(SinkError::Gstreamer {
                path: self.settings.dir.clone(),
                message: format!("the writing thread failed: {e}"),
            }),
        }
    }
}

#[async_trait]
impl Sink for VideoFileSink {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_core::Result<()> {
        self.off_runtime(move |sink| {
            if result.is_end_of_stream() {
                sink.not_taken.end_of_stream(result.source_id());
                sink.close_source(result.source_id())
            } else {
                sink.write(&result)
            }
        })
        .await?;
        Ok(())
    }

    async fn finish(&mut self) -> savant_sdk_core::Result<()> {
        Ok(self.off_runtime(|sink| sink.close_all()).await?)
    }

    fn name(&self) -> &str {
        "video-file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use savant_sdk_core::model::TimeBase;

    #[test]
    fn time_base_to_ns() {
        assert_eq!(to_ns(5, TimeBase::NANOSECONDS), 5);
        assert_eq!(to_ns(3, TimeBase::new(1, 90_000)), 33_333);
        assert_eq!(to_ns(2, TimeBase::new(1, 1000)), 2_000_000);
        assert_eq!(to_ns(i64::MAX, TimeBase::new(1, 1)), i64::MAX);
    }

    #[test]
    fn containers_parse_and_list_codecs() {
        assert_eq!("MKV".parse::<VideoContainer>(), Ok(VideoContainer::Mkv));
        assert_eq!("mp4".parse::<VideoContainer>(), Ok(VideoContainer::Mp4));
        assert!("avi".parse::<VideoContainer>().is_err());
        assert!(!VideoContainer::Mp4.codecs().contains(&"jpeg"));
        for c in VideoContainer::Mkv.codecs() {
            assert!(savant_sdk_gst::Codec::from_savant(c).is_some(), "{c}");
        }
    }
}
