//! [`Viewer`]: the shared state behind the page, one entry per source id.

use std::collections::{HashMap, VecDeque};
use std::io::Cursor;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use image::RgbImage;
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::sink::SinkResult;
use serde::Serialize;
use tokio::sync::watch;

use crate::error::ViewerError;
use crate::sent::SentTimes;

/// Default of [`ViewerOptions::max_sources`].
pub const DEFAULT_MAX_SOURCES: usize = 256;
/// Default of [`ViewerOptions::max_renders_per_second`].
pub const DEFAULT_MAX_RENDERS_PER_SECOND: f64 = 10.0;
/// Default of [`ViewerOptions::jpeg_quality`].
pub const DEFAULT_JPEG_QUALITY: u8 = 80;

/// The frames/s window: arrivals of the last this long count.
const FPS_WINDOW: Duration = Duration::from_secs(2);
/// Arrivals kept per source for frames/s (bounds the window at high rates).
const FPS_SAMPLES: usize = 256;
/// Latencies kept per source for the mean.
const LATENCY_SAMPLES: usize = 32;

/// How a [`Viewer`] keeps and renders its pictures.
#[derive(Debug, Clone)]
pub struct ViewerOptions {
    /// Source ids kept at most; beyond it, a new source replaces the one
    /// idle longest.
    pub max_sources: usize,
    /// Pictures rendered (decoded, annotated, JPEG-encoded) per source and
    /// second at most, however many pages watch; between renders a page
    /// gets the last one. Nothing is rendered while nobody watches.
    pub max_renders_per_second: f64,
    /// JPEG quality of the rendered pictures, 1 to 100.
    pub jpeg_quality: u8,
    /// Where round-trip latency comes from: the send times of the frames,
    /// by trace id. Without it latency is unknown.
    pub sent_times: Option<SentTimes>,
}

impl Default for ViewerOptions {
    fn default() -> Self {
        Self {
            max_sources: DEFAULT_MAX_SOURCES,
            max_renders_per_second: DEFAULT_MAX_RENDERS_PER_SECOND,
            jpeg_quality: DEFAULT_JPEG_QUALITY,
            sent_times: None,
        }
    }
}

impl ViewerOptions {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), ViewerError> {
        let bad = |option, reason: &str| {
            Err(ViewerError::Option {
                option,
                reason: reason.to_string(),
            })
        };
        if self.max_sources == 0 {
            return bad("max_sources", "must be at least 1");
        }
        let r = self.max_renders_per_second;
        if !(r.is_finite() && r > 0.0 && r <= 1000.0) {
            return bad("max_renders_per_second", "must be above 0 and at most 1000");
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            return bad("jpeg_quality", "must be 1 to 100");
        }
        Ok(())
    }
}

/// What a source's latest frame can be shown as.
#[derive(Debug, Clone)]
pub(crate) enum Picture {
    /// An encoded still image (JPEG, PNG), decoded only when rendered.
    Encoded(Bytes),
    /// A decoded picture (from a video decoder).
    Decoded(Arc<RgbImage>),
    /// None; why.
    Missing(String),
}

/// One object of the last frame, as the JSON endpoint gives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectInfo {
    /// The label (the draw label if the object has one).
    pub label: String,
    /// Detection confidence.
    pub confidence: Option<f32>,
    /// The detection box: centre, size, angle (degrees).
    #[serde(rename = "box")]
    pub detection_box: BoxInfo,
}

/// A box of [`ObjectInfo`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BoxInfo {
    /// Centre x.
    pub xc: f32,
    /// Centre y.
    pub yc: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
    /// Rotation, degrees.
    pub angle: Option<f32>,
}

/// One source's numbers, as `/api/streams` gives them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamInfo {
    /// The source id.
    pub source_id: String,
    /// Frames received.
    pub frames: u64,
    /// EOS received.
    pub eos: u64,
    /// Whether the last message was an EOS.
    pub ended: bool,
    /// Frames per second over the last 2 s.
    pub fps: f64,
    /// Round-trip latency of the last frame whose send time was known, ms.
    pub latency_ms: Option<f64>,
    /// Mean of the last 32 known latencies, ms.
    pub latency_mean_ms: Option<f64>,
    /// pts of the last frame.
    pub pts: Option<i64>,
    /// Codec of the last frame.
    pub codec: Option<String>,
    /// Width of the last frame.
    pub width: i64,
    /// Height of the last frame.
    pub height: i64,
    /// The objects of the last frame.
    pub objects: Vec<ObjectInfo>,
    /// Whether there is a picture (`frame_url` serves it).
    pub picture: bool,
    /// Why there is no picture, or why the last one did not render.
    pub note: Option<String>,
    /// Milliseconds since the last message.
    pub idle_ms: u64,
    /// The latest picture, annotated, as JPEG.
    pub frame_url: String,
    /// The same as an MJPEG stream.
    pub mjpeg_url: String,
}

/// Every source's numbers, as `/api/streams` gives them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Seconds since the viewer was made.
    pub uptime_s: f64,
    /// Source ids dropped for [`ViewerOptions::max_sources`].
    pub evicted: u64,
    /// The sources, by source id.
    pub streams: Vec<StreamInfo>,
}

/// The last rendered JPEG of a source.
#[derive(Debug, Default)]
pub(crate) struct Rendered {
    /// The frame number (count) it shows.
    frame: u64,
    jpeg: Option<Bytes>,
    at: Option<Instant>,
    /// The frame number whose picture did not render (not tried again).
    failed: Option<u64>,
}

#[derive(Debug)]
struct Stream {
    frames: u64,
    eos: u64,
    ended: bool,
    arrivals: VecDeque<Instant>,
    latencies: VecDeque<Duration>,
    last_latency: Option<Duration>,
    frame: Option<Arc<VideoFrame>>,
    picture: Picture,
    note: Option<String>,
    updated: Instant,
    render: Arc<tokio::sync::Mutex<Rendered>>,
}

impl Stream {
    fn new(now: Instant) -> Self {
        Self {
            frames: 0,
            eos: 0,
            ended: false,
            arrivals: VecDeque::new(),
            latencies: VecDeque::new(),
            last_latency: None,
            frame: None,
            picture: Picture::Missing("no frame yet".into()),
            note: None,
            updated: now,
            render: Default::default(),
        }
    }

    fn fps(&self, now: Instant) -> f64 {
        let recent: Vec<&Instant> = self
            .arrivals
            .iter()
            .filter(|t| now.saturating_duration_since(**t) <= FPS_WINDOW)
            .collect();
        match (recent.first(), recent.last()) {
            (Some(first), Some(last)) if recent.len() >= 2 => {
                let span = last.saturating_duration_since(**first).as_secs_f64();
                if span > 0.0 {
                    (recent.len() - 1) as f64 / span
                } else {
                    0.0
                }
            }
            _ => 0.0,
        }
    }
}

#[derive(Debug)]
struct Streams {
    by_id: HashMap<String, Stream>,
    evicted: u64,
}

#[derive(Debug)]
struct Shared {
    streams: Mutex<Streams>,
    options: ViewerOptions,
    started: Instant,
    /// Bumped at every message: what MJPEG streams wait on.
    changes: watch::Sender<u64>,
    /// Renders running at once, over all sources (half the cores, at
    /// least 1): a page with many tiles slows down instead of taking the
    /// machine.
    renders: tokio::sync::Semaphore,
}

/// The latest frame of every source, with its numbers: what the page and
/// the JSON endpoint show. A handle (an `Arc` inside): clones share one
/// state, so a sink publishes into it while the HTTP server reads it.
///
/// Memory is bounded: one picture per source (the frame's encoded bytes,
/// or the decoded picture given to [`Viewer::publish`]) and at most
/// [`ViewerOptions::max_sources`] sources. Pictures are decoded, annotated
/// and encoded only when a page asks, at most
/// [`ViewerOptions::max_renders_per_second`] per source.
///
/// ```
/// use savant_sdk_core::model::{Message, VideoFrame};
/// use savant_sdk_core::sink::SinkResult;
/// use savant_sdk_viewer::Viewer;
/// let viewer = Viewer::new();
/// let frame = VideoFrame::builder("cam-1").codec("h264").size(64, 48).pts(7).build();
/// let result = SinkResult {
///     topic: "cam-1".into(), message: Message::video_frame(frame), content: None,
///     trace_id: None, seq_gap: None, log_handle: Default::default(),
/// };
/// // a decoded picture, e.g. from a video decoder
/// viewer.publish(&result, image::RgbImage::new(64, 48));
/// let s = viewer.snapshot();
/// assert_eq!((s.streams[0].frames, s.streams[0].pts, s.streams[0].picture), (1, Some(7), true));
/// ```
#[derive(Debug, Clone)]
pub struct Viewer {
    shared: Arc<Shared>,
}

impl Default for Viewer {
    fn default() -> Self {
        Self::new()
    }
}

impl Viewer {
    /// A viewer with the default options.
    pub fn new() -> Self {
        Self::build(ViewerOptions::default())
    }

    /// A viewer with these options (checked).
    pub fn with_options(options: ViewerOptions) -> Result<Self, ViewerError> {
        options.validate()?;
        Ok(Self::build(options))
    }

    fn build(options: ViewerOptions) -> Self {
        Self {
            shared: Arc::new(Shared {
                streams: Mutex::new(Streams {
                    by_id: HashMap::new(),
                    evicted: 0,
                }),
                options,
                started: Instant::now(),
                changes: watch::channel(0).0,
                renders: tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
                ),
            }),
        }
    }

    /// The options.
    pub fn options(&self) -> &ViewerOptions {
        &self.shared.options
    }

    fn streams(&self) -> MutexGuard<'_, Streams> {
        self.shared
            .streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The entry of `source_id`, made (and the longest idle one dropped
    /// beyond the limit) if new.
    fn entry<'a>(&self, streams: &'a mut Streams, source_id: &str, now: Instant) -> &'a mut Stream {
        if !streams.by_id.contains_key(source_id) {
            if streams.by_id.len() >= self.shared.options.max_sources {
                let oldest = streams
                    .by_id
                    .iter()
                    .min_by_key(|(_, s)| s.updated)
                    .map(|(id, _)| id.clone());
                if let Some(id) = oldest {
                    streams.by_id.remove(&id);
                    streams.evicted += 1;
                    tracing::debug!(source_id = %id, "viewer: dropped the source idle longest (max_sources)");
                }
            }
            streams
                .by_id
                .insert(source_id.to_string(), Stream::new(now));
        }
        streams.by_id.get_mut(source_id).expect("inserted above")
    }

    /// Shows a received frame with a decoded `picture` (from a video
    /// decoder, say), its objects drawn on it when rendered. An EOS marks
    /// its source ended; other messages are ignored.
    pub fn publish(&self, result: &SinkResult, picture: RgbImage) {
        self.publish_picture(result, Picture::Decoded(Arc::new(picture)));
    }

    /// Shows a received frame that has no picture (yet), saying why.
    pub fn publish_without_picture(&self, result: &SinkResult, why: impl Into<String>) {
        self.publish_picture(result, Picture::Missing(why.into()));
    }

    pub(crate) fn publish_picture(&self, result: &SinkResult, picture: Picture) {
        if result.is_end_of_stream() {
            self.end(result.source_id());
        } else if let Some(frame) = result.frame() {
            self.publish_frame(frame, result.trace_id, picture);
        }
    }

    /// Shows `frame` (of a message with `trace_id`) with `picture`.
    pub(crate) fn publish_frame(
        &self,
        frame: &VideoFrame,
        trace_id: Option<savant_sdk_core::telemetry::TraceId>,
        picture: Picture,
    ) {
        let now = Instant::now();
        let latency = match (&self.shared.options.sent_times, trace_id) {
            (Some(sent), Some(t)) => sent.take(t).map(|at| now.saturating_duration_since(at)),
            _ => None,
        };
        {
            let mut streams = self.streams();
            let s = self.entry(&mut streams, &frame.source_id, now);
            s.frames += 1;
            s.ended = false;
            s.updated = now;
            s.arrivals.push_back(now);
            while s.arrivals.len() > FPS_SAMPLES {
                s.arrivals.pop_front();
            }
            if let Some(l) = latency {
                s.last_latency = Some(l);
                s.latencies.push_back(l);
                while s.latencies.len() > LATENCY_SAMPLES {
                    s.latencies.pop_front();
                }
            }
            s.note = match &picture {
                Picture::Missing(why) => Some(why.clone()),
                _ => None,
            };
            s.picture = picture;
            let mut kept = frame.clone();
            // the picture is kept apart; the frame is for its objects and numbers
            kept.content = savant_sdk_core::model::FrameContent::None;
            s.frame = Some(Arc::new(kept));
        }
        self.shared.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Marks `source_id` ended (an EOS came).
    pub fn end(&self, source_id: &str) {
        {
            let mut streams = self.streams();
            let s = self.entry(&mut streams, source_id, Instant::now());
            s.eos += 1;
            s.ended = true;
            s.updated = Instant::now();
        }
        self.shared.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Every source's numbers now.
    pub fn snapshot(&self) -> Snapshot {
        let now = Instant::now();
        let streams = self.streams();
        let mut list: Vec<StreamInfo> = streams
            .by_id
            .iter()
            .map(|(id, s)| info(id, s, now))
            .collect();
        list.sort_by(|a, b| a.source_id.cmp(&b.source_id));
        Snapshot {
            uptime_s: (now.duration_since(self.shared.started).as_secs_f64() * 1000.0).round()
                / 1000.0,
            evicted: streams.evicted,
            streams: list,
        }
    }

    /// One source's numbers now.
    pub fn stream(&self, source_id: &str) -> Option<StreamInfo> {
        let streams = self.streams();
        streams
            .by_id
            .get(source_id)
            .map(|s| info(source_id, s, Instant::now()))
    }

    /// A receiver that changes at every message published (for streams
    /// that wait for new frames).
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.shared.changes.subscribe()
    }

    /// The latest picture of `source_id`, annotated, as JPEG, with the
    /// frame number (count) it shows: rendered now if a newer frame came
    /// and the last render is older than the render interval, else the
    /// last render. `Ok(None)`: no such source or no picture.
    pub async fn frame_jpeg(&self, source_id: &str) -> Result<Option<(Bytes, u64)>, ViewerError> {
        let (render, frames, picture, frame) = {
            let streams = self.streams();
            let Some(s) = streams.by_id.get(source_id) else {
                return Ok(None);
            };
            (
                s.render.clone(),
                s.frames,
                s.picture.clone(),
                s.frame.clone(),
            )
        };
        // one render per source at a time: other watchers wait for it
        let mut rendered = render.lock().await;
        if rendered.failed == Some(frames) {
            return Ok(None); // its note says why
        }
        let interval = Duration::from_secs_f64(1.0 / self.shared.options.max_renders_per_second);
        if let Some(jpeg) = &rendered.jpeg {
            let recent = rendered.at.is_some_and(|at| at.elapsed() < interval);
            if rendered.frame == frames || recent {
                return Ok(Some((jpeg.clone(), rendered.frame)));
            }
        }
        let Some(frame) = frame else {
            return Ok(rendered.jpeg.clone().map(|j| (j, rendered.frame)));
        };
        if let Picture::Missing(_) = picture {
            return Ok(None);
        }
        let quality = self.shared.options.jpeg_quality;
        let id = source_id.to_string();
        let _permit = self
            .shared
            .renders
            .acquire()
            .await
            .map_err(|_| ViewerError::Picture {
                source_id: source_id.to_string(),
                detail: "the viewer is closing".into(),
            })?;
        let started = Instant::now();
        let result =
            tokio::task::spawn_blocking(move || render_jpeg(&id, picture, &frame, quality))
                .await
                .map_err(|e| ViewerError::Picture {
                    source_id: source_id.to_string(),
                    detail: format!("rendering panicked: {e}"),
                })?;
        rendered.at = Some(started);
        match result {
            Ok(jpeg) => {
                rendered.failed = None;
                rendered.frame = frames;
                rendered.jpeg = Some(jpeg.clone());
                self.set_note(source_id, None);
                Ok(Some((jpeg, frames)))
            }
            Err(e) => {
                rendered.failed = Some(frames);
                self.set_note(source_id, Some(e.to_string()));
                Err(e)
            }
        }
    }

    fn set_note(&self, source_id: &str, note: Option<String>) {
        let mut streams = self.streams();
        if let Some(s) = streams.by_id.get_mut(source_id) {
            if !matches!(s.picture, Picture::Missing(_)) {
                s.note = note;
            }
        }
    }
}

fn millis(d: Duration) -> f64 {
    (d.as_micros() as f64 / 1e3 * 1000.0).round() / 1000.0
}

fn info(id: &str, s: &Stream, now: Instant) -> StreamInfo {
    let f = s.frame.as_deref();
    let escaped = crate::server::path_segment(id);
    let mean = (!s.latencies.is_empty())
        .then(|| s.latencies.iter().sum::<Duration>() / s.latencies.len() as u32);
    StreamInfo {
        source_id: id.to_string(),
        frames: s.frames,
        eos: s.eos,
        ended: s.ended,
        fps: (s.fps(now) * 100.0).round() / 100.0,
        latency_ms: s.last_latency.map(millis),
        latency_mean_ms: mean.map(millis),
        pts: f.map(|f| f.pts),
        codec: f.and_then(|f| f.codec.clone()),
        width: f.map_or(0, |f| f.width),
        height: f.map_or(0, |f| f.height),
        objects: f.map_or_else(Vec::new, |f| {
            f.objects
                .iter()
                .map(|o| ObjectInfo {
                    label: o.draw_label.clone().unwrap_or_else(|| o.label.clone()),
                    confidence: o.confidence,
                    detection_box: BoxInfo {
                        xc: o.detection_box.xc,
                        yc: o.detection_box.yc,
                        width: o.detection_box.width,
                        height: o.detection_box.height,
                        angle: o.detection_box.angle,
                    },
                })
                .collect()
        }),
        picture: !matches!(s.picture, Picture::Missing(_)),
        note: s.note.clone(),
        idle_ms: now.saturating_duration_since(s.updated).as_millis() as u64,
        frame_url: format!("/api/streams/{escaped}/frame.jpg"),
        mjpeg_url: format!("/api/streams/{escaped}/mjpeg"),
    }
}

/// Decodes (if needed), annotates and JPEG-encodes a picture.
fn render_jpeg(
    source_id: &str,
    picture: Picture,
    frame: &VideoFrame,
    quality: u8,
) -> Result<Bytes, ViewerError> {
    let bad = |detail: String| ViewerError::Picture {
        source_id: source_id.to_string(),
        detail,
    };
    let mut img = match picture {
        Picture::Encoded(bytes) => image::load_from_memory(&bytes)
            .map_err(|e| bad(format!("the frame does not decode: {e}")))?
            .to_rgb8(),
        Picture::Decoded(img) => Arc::unwrap_or_clone(img),
        Picture::Missing(why) => return Err(bad(why)),
    };
    crate::annotate(&mut img, frame);
    let mut out = Cursor::new(Vec::with_capacity(img.len() / 8));
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&img)
        .map_err(|e| bad(format!("JPEG encoding: {e}")))?;
    Ok(Bytes::from(out.into_inner()))
}

#[cfg(test)]
mod tests {
    use savant_sdk_core::model::{EndOfStream, Message};
    use savant_sdk_core::sink::Sink;

    use super::*;
    use crate::ViewerSink;

    fn frame(id: &str, codec: &str, content: Option<&[u8]>) -> SinkResult {
        let f = VideoFrame::builder(id)
            .codec(codec)
            .size(8, 6)
            .pts(1)
            .build();
        SinkResult {
            topic: id.into(),
            message: Message::video_frame(f),
            content: content.map(Bytes::copy_from_slice),
            trace_id: None,
            seq_gap: None,
            log_handle: Default::default(),
        }
    }

    fn eos(id: &str) -> SinkResult {
        SinkResult {
            message: Message::end_of_stream(EndOfStream::new(id)),
            ..frame(id, "jpeg", None)
        }
    }

    fn jpeg() -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        RgbImage::new(8, 6)
            .write_to(&mut out, image::ImageFormat::Jpeg)
            .unwrap();
        out.into_inner()
    }

    #[tokio::test]
    async fn the_source_idle_longest_goes_beyond_the_limit() {
        let v = Viewer::with_options(ViewerOptions {
            max_sources: 2,
            ..Default::default()
        })
        .unwrap();
        let mut sink = ViewerSink::new(v.clone());
        for id in ["a", "b", "a", "c"] {
            sink.consume(frame(id, "mpeg2", None)).await.unwrap();
        }
        let s = v.snapshot();
        let ids: Vec<&str> = s.streams.iter().map(|s| s.source_id.as_str()).collect();
        assert_eq!((ids, s.evicted), (vec!["a", "c"], 1));
        assert_eq!(s.streams[0].frames, 2);
    }

    #[tokio::test]
    async fn pictures_notes_and_eos() {
        let v = Viewer::new();
        let mut sink = ViewerSink::new(v.clone());
        // a codec nothing decodes: counted, no picture, a note naming it
        sink.consume(frame("vid", "mpeg2", Some(b"\0\0\0\x01")))
            .await
            .unwrap();
        let s = v.stream("vid").unwrap();
        assert!(
            !s.picture && s.note.as_deref().unwrap().contains("mpeg2"),
            "{s:?}"
        );
        assert!(v.frame_jpeg("vid").await.unwrap().is_none());
        // an image without content
        sink.consume(frame("empty", "png", None)).await.unwrap();
        assert!(v
            .stream("empty")
            .unwrap()
            .note
            .unwrap()
            .contains("no content"));
        // content that does not decode: an error once, then its note
        sink.consume(frame("bad", "jpeg", Some(b"not a jpeg")))
            .await
            .unwrap();
        assert!(v.stream("bad").unwrap().picture);
        assert!(v.frame_jpeg("bad").await.is_err());
        assert!(v.frame_jpeg("bad").await.unwrap().is_none());
        assert!(v
            .stream("bad")
            .unwrap()
            .note
            .unwrap()
            .contains("does not decode"));
        // a good one renders, once per frame
        sink.consume(frame("ok", "jpeg", Some(&jpeg())))
            .await
            .unwrap();
        let (one, n) = v.frame_jpeg("ok").await.unwrap().unwrap();
        assert_eq!(n, 1);
        let img = image::load_from_memory(&one).unwrap();
        assert_eq!((img.width(), img.height()), (8, 6));
        let (again, _) = v.frame_jpeg("ok").await.unwrap().unwrap();
        assert_eq!(
            one.as_ptr(),
            again.as_ptr(),
            "the same render, not a new one"
        );
        // EOS ends it; a frame after it reopens it
        sink.consume(eos("ok")).await.unwrap();
        let s = v.stream("ok").unwrap();
        assert!(s.ended && s.eos == 1 && s.frames == 1, "{s:?}");
        sink.consume(frame("ok", "jpeg", Some(&jpeg())))
            .await
            .unwrap();
        assert!(!v.stream("ok").unwrap().ended);
        // latency unknown without send times
        assert_eq!(v.stream("ok").unwrap().latency_ms, None);
    }

    #[tokio::test]
    async fn the_frames_of_a_batch_each_count() {
        use savant_sdk_core::model::{FrameContent, VideoFrameBatch};
        let v = Viewer::new();
        let mut sink = ViewerSink::new(v.clone());
        let f = |id: &str| {
            VideoFrame::builder(id)
                .codec("jpeg")
                .size(8, 6)
                .content(FrameContent::Internal(Bytes::from(jpeg())))
                .build()
        };
        let batch = VideoFrameBatch::new()
            .with_frame(0, f("a"))
            .with_frame(1, f("b"));
        let r = SinkResult {
            message: Message::video_frame_batch(batch),
            ..frame("batch", "jpeg", None)
        };
        sink.consume(r).await.unwrap();
        for id in ["a", "b"] {
            assert_eq!(v.stream(id).unwrap().frames, 1);
            let (jpeg, _) = v.frame_jpeg(id).await.unwrap().unwrap();
            assert_eq!(image::load_from_memory(&jpeg).unwrap().width(), 8);
        }
    }

    #[test]
    fn latency_from_send_times() {
        let sent = SentTimes::default();
        let v = Viewer::with_options(ViewerOptions {
            sent_times: Some(sent.clone()),
            ..Default::default()
        })
        .unwrap();
        let trace = savant_sdk_core::telemetry::TraceId::from(5u128);
        sent.sent_at(trace, Instant::now() - Duration::from_millis(20));
        let mut r = frame("cam", "mpeg2", None);
        r.trace_id = Some(trace);
        v.publish_without_picture(&r, "test");
        let s = v.stream("cam").unwrap();
        assert!(s.latency_ms.is_some_and(|l| l >= 20.0), "{s:?}");
        assert_eq!(s.latency_ms, s.latency_mean_ms);
    }

    #[test]
    fn options_are_checked() {
        for bad in [
            ViewerOptions {
                max_sources: 0,
                ..Default::default()
            },
            ViewerOptions {
                max_renders_per_second: 0.0,
                ..Default::default()
            },
            ViewerOptions {
                max_renders_per_second: f64::NAN,
                ..Default::default()
            },
            ViewerOptions {
                jpeg_quality: 0,
                ..Default::default()
            },
        ] {
            assert!(Viewer::with_options(bad).is_err());
        }
    }
}
