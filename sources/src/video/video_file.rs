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
use crate::Loss;

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
    loss_rate: f64,
    seed: Option<u64>,
}

impl VideoFileSourceBuilder {
    /// Drop each frame with this probability, in [0, 1), before it is
    /// sent (a lossy link for tests of a module; default 0). The drops
    /// follow [`VideoFileSourceBuilder::seed`]; they are counted
    /// ([`VideoFileSource::dropped_frames`]) and logged when the source
    /// ends.
    pub fn loss_rate(mut self, rate: f64) -> Self {
        self.loss_rate = rate;
        self
    }

    /// The seed of the drops: the same seed drops the same frames (default:
    /// from the clock, logged at the end).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

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
        crate::check_loss_rate(self.loss_rate)?;
        let loss = (self.loss_rate > 0.0)
            .then(|| Loss::new(self.loss_rate, self.seed.unwrap_or_else(clock_seed)))
            .transpose()?;
        elements::init(&self.input)?;
        elements::require(&["filesrc", "appsink"])?;
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
            settings: VideoFileSettings {
                name: format!("video file {}", path.display()),
                source_id: self.source_id,
                files,
                looped: self.looped,
                pace: self.pace,
                start_offset: self.start_offset,
                absolute_timestamps: self.absolute_timestamps,
                eos_on_file_end: self.eos_on_file_end,
            },
            state: State::Idle,
            cursor: Cursor {
                next: 0,
                first_round: true,
            },
            timeline: Timeline::default(),
            pending: VecDeque::new(),
            loss,
        })
    }
}

/// A seed from the clock, for drops without a seed.
fn clock_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
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
/// The pipeline is `filesrc ! <demuxer> ! <parser> ! appsink`, the
/// container typefound from the file's first megabyte before it starts;
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
    settings: VideoFileSettings,
    state: State,
    cursor: Cursor,
    timeline: Timeline,
    /// Items decided but not yet returned by [`Source::next`].
    pending: VecDeque<SourceItem>,
    /// The drops of `loss_rate`, if any.
    loss: Option<Loss>,
}

impl std::fmt::Debug for VideoFileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoFileSource")
            .field("source_id", &self.settings.source_id)
            .field("files", &self.settings.files)
            .field("next_file", &self.cursor.next)
            .finish()
    }
}

/// What a [`VideoFileSource`] was built with, checked by
/// [`VideoFileSourceBuilder::build`]; fixed for the source's life.
struct VideoFileSettings {
    source_id: String,
    /// The source's name, `video file <input path>`.
    name: String,
    /// The files to play, in order.
    files: Vec<PathBuf>,
    looped: bool,
    pace: bool,
    /// Where the first file starts, in the first round only.
    start_offset: Option<Duration>,
    absolute_timestamps: bool,
    eos_on_file_end: bool,
}

/// What a [`VideoFileSource`] is doing. [`Source::next`] moves from one
/// state to the next:
///
/// - `Idle` → `Opening`: the cursor's file opens; `Finished` instead after
///   the last file, unless the source loops.
/// - `Opening` → `Playing`: the file's first access unit.
/// - `Playing` → `Playing`: each unit becomes a frame; a change of stream
///   parameters sends an EOS before it.
/// - `Opening` → `Idle` at the file's end: [`SourceError::NoVideoStream`].
/// - `Playing` → `Idle` at the file's end: an EOS, unless
///   `eos_on_file_end` is off.
/// - `Opening` or `Playing` → `Idle` on a pipeline error: the error; the
///   next `next` opens the next file.
enum State {
    /// No file open: the next `next` opens the cursor's file.
    Idle,
    /// A file is open and has given no frame yet.
    Opening(OpenFile),
    /// The open file has given frames.
    Playing(OpenFile),
    /// The last file has ended and the source does not loop: `next`
    /// returns `None`.
    Finished,
}

/// The file being played.
struct OpenFile {
    pipeline: RunningPipeline,
    /// Its index in the settings' files.
    index: usize,
    /// Where its timestamps start on the source's time line.
    start: i64,
}

/// Where the source is in its list of files.
struct Cursor {
    /// The index of the next file to open (the list's length after the
    /// last one).
    next: usize,
    /// Whether the files are in their first round (the start offset
    /// applies to the first file of the first round only).
    first_round: bool,
}

/// The source's time line and stream, from file to file.
#[derive(Default)]
struct Timeline {
    /// Added to every timestamp: the wall clock at the first frame with
    /// absolute timestamps, else 0 (set at the first frame).
    base: Option<i64>,
    /// The end of the latest frame on the source's time line.
    end: i64,
    /// The stream parameters of the latest frame (`None` after the EOS
    /// at a file's end: the next file starts a new stream anyway).
    params: Option<Arc<StreamParams>>,
}

impl Cursor {
    /// Moves to the next file to open: its index and where to start it,
    /// or `None` after the last file when the source does not loop.
    fn advance(&mut self, settings: &VideoFileSettings) -> Option<(usize, Option<gst::ClockTime>)> {
        if self.next == settings.files.len() {
            if !settings.looped {
                return None;
            }
            self.next = 0;
            self.first_round = false;
        }
        let index = self.next;
        let offset = (self.first_round && index == 0)
            .then_some(settings.start_offset)
            .flatten()
            .map(|d| gst::ClockTime::from_nseconds(d.as_nanos() as u64));
        self.next += 1;
        Some((index, offset))
    }
}

impl Timeline {
    /// The frame of `unit` of a file starting at `start`; extends the
    /// time line.
    fn frame(&mut self, start: i64, unit: AccessUnit, settings: &VideoFileSettings) -> SourceFrame {
        let absolute = settings.absolute_timestamps;
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
        let pts = start + pts_raw;
        let dts = unit.dts.map(|d| base + start + d as i64);
        self.end = self
            .end
            .max(pts + unit.duration.map(|d| d as i64).unwrap_or(0));
        unit.into_frame(settings.source_id.clone(), base + pts, dts)
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
            loss_rate: 0.0,
            seed: None,
        }
    }

    /// Frames dropped so far by [`VideoFileSourceBuilder::loss_rate`].
    pub fn dropped_frames(&self) -> u64 {
        self.loss.as_ref().map_or(0, Loss::dropped)
    }

    /// The files this source plays, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.settings.files
    }

    /// `Idle` to `Opening` with the cursor's next file; `false` if there
    /// is none. On an error the state stays `Idle`, past that file.
    async fn open_next(&mut self) -> Result<bool, SourceError> {
        let Some((index, offset)) = self.cursor.advance(&self.settings) else {
            return Ok(false);
        };
        let path = self.settings.files[index].clone();
        let sync = self.settings.pace;
        let pipeline = tokio::task::spawn_blocking(move || open_file(&path, sync, offset))
            .await
            .map_err(|e| SourceError::Gstreamer {
                name: self.settings.name.clone(),
                message: format!("pipeline start failed: {e}"),
            })??;
        self.state = State::Opening(OpenFile {
            pipeline,
            index,
            start: self.timeline.end,
        });
        Ok(true)
    }

    /// The item for a unit of `file`: its frame, or an EOS before it (in
    /// `pending`) when the stream parameters changed.
    fn unit(&mut self, file: &OpenFile, unit: AccessUnit) -> SourceItem {
        let changed = bridge::params_changed(&mut self.timeline.params, &unit.params);
        let frame = self.timeline.frame(file.start, unit, &self.settings);
        if !changed {
            return SourceItem::Frame(frame);
        }
        tracing::info!(
            source_id = %self.settings.source_id,
            file = %self.settings.files[file.index].display(),
            "stream parameters changed: EOS and a new stream"
        );
        self.pending.push_back(SourceItem::Frame(frame));
        SourceItem::EndOfStream(self.settings.source_id.clone())
    }
}

/// How much of a file the container is typefound from (the type finders
/// of the formats we play look at its first few kilobytes).
const TYPEFIND_BYTES: u64 = 1 << 20;

/// Builds and starts the pipeline of one file: `filesrc` -> demuxer (or
/// the parser of a raw elementary stream), linked and typefound before
/// the pipeline starts.
///
/// The container is typefound here, on the calling thread, and not by a
/// `typefind` element: that element's `have-type` comes from its
/// streaming thread while the pipeline may still be changing state on
/// this one, and a demuxer added and started from there can deadlock
/// with it (the pipeline's state change activating the demuxer in pull
/// mode waits for the typefinder's stream lock, held by the thread that
/// waits for the demuxer's state lock).
fn open_file(
    path: &Path,
    sync: bool,
    offset: Option<gst::ClockTime>,
) -> Result<RunningPipeline, SourceError> {
    let name = path.display().to_string();
    use std::io::Read;
    let mut head = Vec::new();
    if let Err(source) =
        std::fs::File::open(path).and_then(|f| f.take(TYPEFIND_BYTES).read_to_end(&mut head))
    {
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
    let extension = path.extension().and_then(|e| e.to_str());
    let caps = match gstreamer_base::functions::type_find_helper_for_data_with_extension(
        None::<&gst::Object>,
        &head,
        extension,
    ) {
        Ok((caps, _)) => caps,
        Err(_) => {
            return Err(SourceError::UnsupportedContainer {
                name,
                container: "unknown (type not recognised)".into(),
            })
        }
    };
    pipeline.add(&filesrc).map_err(|e| SourceError::Gstreamer {
        name: name.clone(),
        message: e.to_string(),
    })?;
    let src_pad = filesrc.static_pad("src").expect("filesrc has a src pad");
    attach_container(&pipeline, &src_pad, &caps, &sender, settings)?;
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

/// Links `src_pad` (the file's bytes, of `caps`) to the demuxer of its
/// container, or straight to the parser of a raw elementary stream.
fn attach_container(
    pipeline: &gst::Pipeline,
    src_pad: &gst::Pad,
    caps: &gst::Caps,
    sender: &bridge::EventSender,
    settings: SinkSettings,
) -> Result<(), SourceError> {
    let media_type = bridge::media_type(caps);
    if bridge::is_supported_codec(&media_type) {
        // A raw elementary stream: straight to the parser.
        return bridge::attach_video_branch(pipeline, src_pad, caps, sender, settings);
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
    // Linked before the pipeline starts, so that the demuxer pulls from
    // the file (qtdemux in push mode clips the last frames of an edit
    // list).
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
    Ok(())
}

#[async_trait]
impl Source for VideoFileSource {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        loop {
            let item = self.next_item().await?;
            if let (Some(SourceItem::Frame(_)), Some(loss)) = (&item, &mut self.loss) {
                if loss.drop_next() {
                    continue;
                }
            }
            return Ok(item);
        }
    }

    fn name(&self) -> &str {
        &self.settings.name
    }
}

impl VideoFileSource {
    /// The next item, before drops.
    async fn next_item(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Ok(Some(item));
            }
            let event = match &mut self.state {
                State::Finished => return Ok(None),
                State::Idle => {
                    if !self.open_next().await? {
                        self.state = State::Finished;
                        return Ok(None);
                    }
                    continue;
                }
                State::Opening(file) | State::Playing(file) => file.pipeline.next_event().await,
            };
            match (std::mem::replace(&mut self.state, State::Idle), event) {
                (State::Opening(file) | State::Playing(file), Some(PipelineEvent::Unit(unit))) => {
                    let item = self.unit(&file, unit);
                    self.state = State::Playing(file);
                    return Ok(Some(item));
                }
                (State::Opening(file), Some(PipelineEvent::Eos) | None) => {
                    let name = self.settings.files[file.index].display().to_string();
                    drop(file);
                    return Err(SourceError::NoVideoStream { name }.into());
                }
                (State::Playing(file), Some(PipelineEvent::Eos) | None) => {
                    drop(file);
                    if self.settings.eos_on_file_end {
                        // The next file starts a new stream anyway.
                        self.timeline.params = None;
                        return Ok(Some(SourceItem::EndOfStream(
                            self.settings.source_id.clone(),
                        )));
                    }
                }
                (State::Opening(file) | State::Playing(file), Some(PipelineEvent::Error(e))) => {
                    drop(file);
                    return Err(e.into());
                }
                (State::Idle | State::Finished, _) => {
                    unreachable!("events come from an open file")
                }
            }
        }
    }
}
