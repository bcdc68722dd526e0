//! [`VideoFileSource`]: the encoded video of files, one frame per access
//! unit, demuxed and parsed but never decoded.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use gstreamer as gst;
use gstreamer::prelude::*;
use savant_sdk_core::source::{Source, SourceFrame, SourceItem};

use crate::directory::is_video_file_name;
use crate::error::SourceError;
use crate::video::bridge::{
    self, AccessUnit, PipelineEvent, RunningPipeline, SinkSettings, StreamParams,
};
use crate::video::elements;

/// The settings of a [`VideoFileSource`]; [`VideoFileSourceBuilder::build`]
/// checks them and the input.
///
/// ```no_run
/// use std::time::Duration;
/// use savant_sdk_sources::VideoFileSource;
/// let source = VideoFileSource::builder("cam-1", "/data/street.mp4")
///     .looped(true)
///     .pace(true)
///     .start_offset(Duration::from_secs(10))
///     .build()?;
/// # Ok::<(), savant_sdk_sources::SourceError>(())
/// ```
#[derive(Debug, Clone)]
pub struct VideoFileSourceBuilder {
    source_id: String,
    input: String,
    looped: bool,
    pace: bool,
    start_offset: Option<Duration>,
    absolute_timestamps: bool,
    eos_on_file_end: bool,
}

impl VideoFileSourceBuilder {
    /// Start again from the first file after the last one, forever.
    pub fn looped(mut self, looped: bool) -> Self {
        self.looped = looped;
        self
    }

    /// Send in real time, at the speed of the timestamps (GStreamer's
    /// clock), instead of as fast as the module takes them.
    pub fn pace(mut self, pace: bool) -> Self {
        self.pace = pace;
        self
    }

    /// Start the first file here (at the keyframe before it).
    pub fn start_offset(mut self, offset: Duration) -> Self {
        self.start_offset = Some(offset);
        self
    }

    /// Add the wall-clock time of the first frame (nanoseconds since the
    /// Unix epoch) to every pts and dts.
    pub fn absolute_timestamps(mut self, absolute: bool) -> Self {
        self.absolute_timestamps = absolute;
        self
    }

    /// Send an EOS at the end of each file (default on). Timestamps always
    /// continue from file to file and round to round.
    pub fn eos_on_file_end(mut self, eos: bool) -> Self {
        self.eos_on_file_end = eos;
        self
    }

    /// Checks the input (a file, a folder of video files, or a `file://`
    /// URI) and that the GStreamer elements every file needs are
    /// installed. Codec and container are checked when a file is opened.
    pub fn build(self) -> Result<VideoFileSource, SourceError> {
        elements::init(&self.input)?;
        elements::require(&["filesrc", "typefind", "appsink"])?;
        let path = if self.input.starts_with("file://") {
            gst::glib::filename_from_uri(&self.input)
                .map(|(p, _)| p)
                .map_err(|e| SourceError::InvalidSetting(format!("{}: {e}", self.input)))?
        } else if self.input.contains("://") {
            return Err(SourceError::InvalidSetting(format!(
                "{}: a video file source reads files and file:// URIs (use RtspSource for rtsp://)",
                self.input
            )));
        } else {
            PathBuf::from(&self.input)
        };
        let files = list_files(&path)?;
        Ok(VideoFileSource {
            name: format!("video file {}", path.display()),
            settings: self,
            files,
            next_file: 0,
            running: None,
            base: None,
            file_start: 0,
            file_end: 0,
            params: None,
            pending: VecDeque::new(),
            first_round: true,
            file_has_frames: false,
        })
    }
}

fn list_files(path: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let meta = std::fs::metadata(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let read = std::fs::read_dir(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = read
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .map(is_video_file_name)
                .unwrap_or(false)
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(SourceError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no video files in folder"),
        });
    }
    Ok(files)
}

/// Encoded video from files: each access unit becomes one frame, with its
/// pts, dts and duration (time base nanoseconds), keyframe flag, codec,
/// size and framerate. Nothing is decoded: H.264 and HEVC come out as
/// byte-stream access units with the parameter sets before every
/// keyframe; VP8, VP9, AV1 (temporal units) and MJPEG as the container
/// holds them.
///
/// Containers: MP4/MOV, MKV/WebM, MPEG-TS, AVI, and raw H.264/HEVC
/// streams. A folder plays its video files in name order. Each file ends
/// with an EOS (unless [`VideoFileSourceBuilder::eos_on_file_end`] is
/// off), and so does a stream whose size, codec or framerate changes: the
/// frames after it start a new stream.
///
/// The pipeline is `filesrc ! typefind ! <demuxer> ! <parser> ! appsink`;
/// the appsink's callback hands each buffer to a bounded channel without
/// copying it, so a slow module slows the file reading down.
///
/// ```no_run
/// use savant_sdk_core::source::Source;
/// use savant_sdk_sources::VideoFileSource;
/// # async fn run() -> savant_sdk_core::Result<()> {
/// let mut source = VideoFileSource::builder("cam-1", "/data/street.mp4").build()?;
/// while let Some(item) = source.next().await? {
///     // send it, or see [`savant_sdk_core::client::SourceRunner::send_stream`]
/// }
/// # Ok(()) }
/// ```
pub struct VideoFileSource {
    settings: VideoFileSourceBuilder,
    name: String,
    files: Vec<PathBuf>,
    next_file: usize,
    running: Option<RunningPipeline>,
    /// Added to every timestamp: the wall clock at the first frame with
    /// absolute timestamps, else 0 (set at the first frame).
    base: Option<i64>,
    /// Where this file's timestamps start on the source's time line.
    file_start: i64,
    /// The end of the latest frame on the source's time line.
    file_end: i64,
    params: Option<Arc<StreamParams>>,
    pending: VecDeque<SourceItem>,
    first_round: bool,
    /// Whether the open file has given a frame yet.
    file_has_frames: bool,
}

impl std::fmt::Debug for VideoFileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoFileSource")
            .field("source_id", &self.settings.source_id)
            .field("files", &self.files)
            .field("next_file", &self.next_file)
            .finish()
    }
}

impl VideoFileSource {
    /// Settings for a source of `source_id` reading `input`: a file path,
    /// a folder, or a `file://` URI.
    pub fn builder(
        source_id: impl Into<String>,
        input: impl Into<String>,
    ) -> VideoFileSourceBuilder {
        VideoFileSourceBuilder {
            source_id: source_id.into(),
            input: input.into(),
            looped: false,
            pace: false,
            start_offset: None,
            absolute_timestamps: false,
            eos_on_file_end: true,
        }
    }

    /// The files this source plays, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The file open now (or last opened).
    fn current_file(&self) -> &Path {
        &self.files[self.next_file.saturating_sub(1)]
    }

    async fn open_next(&mut self) -> Result<bool, SourceError> {
        if self.next_file == self.files.len() {
            if !self.settings.looped {
                return Ok(false);
            }
            self.next_file = 0;
            self.first_round = false;
        }
        let path = self.files[self.next_file].clone();
        let offset = (self.first_round && self.next_file == 0)
            .then_some(self.settings.start_offset)
            .flatten()
            .map(|d| gst::ClockTime::from_nseconds(d.as_nanos() as u64));
        self.next_file += 1;
        let sync = self.settings.pace;
        let running = tokio::task::spawn_blocking(move || open_file(&path, sync, offset))
            .await
            .map_err(|e| SourceError::Gstreamer {
                name: self.name.clone(),
                message: format!("pipeline start failed: {e}"),
            })??;
        self.running = Some(running);
        self.file_start = self.file_end;
        self.file_has_frames = false;
        Ok(true)
    }

    fn frame(&mut self, unit: AccessUnit) -> SourceFrame {
        let absolute = self.settings.absolute_timestamps;
        let base = *self.base.get_or_insert_with(|| {
            if absolute {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_nanos() as i64)
                    .unwrap_or(0)
            } else {
                0
            }
        });
        let pts_raw = unit.pts.or(unit.dts).unwrap_or(0) as i64;
        let pts = self.file_start + pts_raw;
        let dts = unit.dts.map(|d| base + self.file_start + d as i64);
        self.file_end = self
            .file_end
            .max(pts + unit.duration.map(|d| d as i64).unwrap_or(0));
        self.file_has_frames = true;
        unit.into_frame(self.settings.source_id.clone(), base + pts, dts)
    }
}

/// Builds and starts the pipeline of one file.
fn open_file(
    path: &Path,
    sync: bool,
    offset: Option<gst::ClockTime>,
) -> Result<RunningPipeline, SourceError> {
    let name = path.display().to_string();
    if let Err(source) = std::fs::File::open(path) {
        return Err(SourceError::Io {
            path: path.to_path_buf(),
            source,
        });
    }
    // Paced files hand each access unit over on time; unpaced ones in
    // batches, one consumer wake-up per batch.
    let settings = SinkSettings {
        sync,
        batch: if sync { 1 } else { bridge::FILE_BATCH },
    };
    let (running, sender) = RunningPipeline::new(&name, settings);
    let pipeline = running.pipeline().clone();
    let filesrc = elements::make("filesrc")?;
    filesrc.set_property("location", path.to_string_lossy().as_ref());
    let typefind = elements::make("typefind")?;
    pipeline
        .add_many([&filesrc, &typefind])
        .and_then(|_| filesrc.link(&typefind))
        .map_err(|e| SourceError::Gstreamer {
            name: name.clone(),
            message: e.to_string(),
        })?;
    let weak = pipeline.downgrade();
    typefind.connect("have-type", false, move |values| {
        let (Some(pipeline), Ok(typefind), Ok(caps)) = (
            weak.upgrade(),
            values[0].get::<gst::Element>(),
            values[2].get::<gst::Caps>(),
        ) else {
            return None;
        };
        if let Err(e) = on_have_type(&pipeline, &typefind, &caps, &sender, settings) {
            sender.error(e);
        }
        None
    });
    running.play(&name, offset, sync)?;
    Ok(running)
}

/// The demuxer for a container's media type.
fn demuxer_for(media_type: &str) -> Option<&'static str> {
    Some(match media_type {
        "video/quicktime" | "video/x-quicktime" | "video/mj2" | "audio/x-m4a" => "qtdemux",
        "video/x-matroska" | "video/webm" | "audio/webm" | "audio/x-matroska" => "matroskademux",
        "video/mpegts" => "tsdemux",
        "video/x-msvideo" => "avidemux",
        _ => return None,
    })
}

fn on_have_type(
    pipeline: &gst::Pipeline,
    typefind: &gst::Element,
    caps: &gst::Caps,
    sender: &bridge::EventSender,
    settings: SinkSettings,
) -> Result<(), SourceError> {
    let media_type = bridge::media_type(caps);
    let src_pad = typefind.static_pad("src").expect("typefind has a src pad");
    if bridge::is_supported_codec(&media_type) {
        // A raw elementary stream: straight to the parser.
        return bridge::attach_video_branch(pipeline, &src_pad, caps, sender, settings);
    }
    let demuxer_name =
        demuxer_for(&media_type).ok_or_else(|| SourceError::UnsupportedContainer {
            name: sender.name().to_string(),
            container: media_type.clone(),
        })?;
    let demuxer = elements::make(demuxer_name)?;
    pipeline.add(&demuxer).map_err(|e| SourceError::Gstreamer {
        name: sender.name().to_string(),
        message: e.to_string(),
    })?;
    let video_linked = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pad_sender = sender.clone();
    let weak = pipeline.downgrade();
    let linked = video_linked.clone();
    demuxer.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else {
            return;
        };
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let is_video = caps
            .structure(0)
            .map(|s| s.name().starts_with("video/") || s.name() == "image/jpeg")
            .unwrap_or(false);
        if !is_video || linked.load(std::sync::atomic::Ordering::SeqCst) {
            bridge::attach_fakesink(&pipeline, pad);
            return;
        }
        linked.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Err(e) = bridge::attach_video_branch(&pipeline, pad, &caps, &pad_sender, settings) {
            pad_sender.error(e);
        }
    });
    let nmp_sender = sender.clone();
    demuxer.connect_no_more_pads(move |_| {
        if !video_linked.load(std::sync::atomic::Ordering::SeqCst) {
            nmp_sender.error(SourceError::NoVideoStream {
                name: nmp_sender.name().to_string(),
            });
        }
    });
    // Linked before it starts, so that the demuxer pulls from the file
    // (qtdemux in push mode clips the last frames of an edit list).
    src_pad
        .link(
            &demuxer
                .static_pad("sink")
                .expect("demuxers have a sink pad"),
        )
        .map_err(|e| SourceError::Gstreamer {
            name: sender.name().to_string(),
            message: format!("cannot link {demuxer_name}: {e:?}"),
        })?;
    demuxer
        .sync_state_with_parent()
        .map_err(|e| SourceError::Gstreamer {
            name: sender.name().to_string(),
            message: e.to_string(),
        })?;
    Ok(())
}

#[async_trait]
impl Source for VideoFileSource {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Ok(Some(item));
            }
            if self.running.is_none() && !self.open_next().await? {
                return Ok(None);
            }
            let running = self.running.as_mut().expect("opened above");
            match running.next_event().await {
                Some(PipelineEvent::Unit(unit)) => {
                    let changed = bridge::params_changed(&mut self.params, &unit.params);
                    let frame = self.frame(unit);
                    if changed {
                        tracing::info!(
                            source_id = %self.settings.source_id,
                            file = %self.current_file().display(),
                            "stream parameters changed: EOS and a new stream"
                        );
                        self.pending.push_back(SourceItem::Frame(frame));
                        return Ok(Some(SourceItem::EndOfStream(
                            self.settings.source_id.clone(),
                        )));
                    }
                    return Ok(Some(SourceItem::Frame(frame)));
                }
                Some(PipelineEvent::Eos) | None => {
                    self.running = None;
                    if !self.file_has_frames {
                        return Err(SourceError::NoVideoStream {
                            name: self.current_file().display().to_string(),
                        }
                        .into());
                    }
                    if self.settings.eos_on_file_end {
                        // The next file starts a new stream anyway.
                        self.params = None;
                        return Ok(Some(SourceItem::EndOfStream(
                            self.settings.source_id.clone(),
                        )));
                    }
                }
                Some(PipelineEvent::Error(e)) => {
                    self.running = None;
                    return Err(e.into());
                }
            }
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}
