//! [`FrameDecoder`]: received encoded frames into RGB pictures, in order,
//! with one GStreamer decoder per source id.
//!
//! Each source id gets `appsrc ! <parser> ! <decoder> ! videoconvert !
//! video/x-raw,format=RGB ! fakesink` (pictures taken by a pad probe). A frame's content goes in without a
//! copy (the `Bytes` becomes the buffer's memory), the picture comes out in
//! the buffer `videoconvert` wrote, and a frame's [`SinkResult`] waits
//! beside its decoder until its picture comes out (matched by pts, so
//! B-frames come out in presentation order, as GStreamer's own decode
//! gives them). The decoder of a source is drained and dropped at its EOS
//! and when its codec or size changes; a decoder that fails is dropped, its
//! frames are counted, and the source starts again at its next keyframe.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use savant_sdk_component::model::TimeBase;
use savant_sdk_component::sink::SinkResult;

use crate::codec::Codec;
use crate::elements;
use crate::error::GstError;
use crate::picture::Picture;

/// The settings of a [`FrameDecoder`].
#[derive(Debug, Clone)]
pub struct DecoderSettings {
    /// Decoders alive at once (one per source id); beyond it the one used
    /// least recently is drained and dropped. Default 64.
    pub max_streams: usize,
    /// Frames queued in front of a decoder before [`FrameDecoder::push`]
    /// waits for it. Default 8.
    pub queued_frames: u64,
    /// How long a decoder may take to accept a frame or to drain before it
    /// counts as failed. Default 10 s.
    pub timeout: Duration,
}

impl Default for DecoderSettings {
    fn default() -> Self {
        Self {
            max_streams: 64,
            queued_frames: 8,
            timeout: Duration::from_secs(10),
        }
    }
}

/// What [`FrameDecoder::push`] hands back, in order per source id.
#[derive(Debug)]
pub enum Decoded {
    /// A frame and its picture.
    Picture {
        /// The frame as received.
        result: SinkResult,
        /// Its decoded picture.
        picture: Picture,
    },
    /// A frame that has no picture.
    Undecoded {
        /// The frame as received.
        result: SinkResult,
        /// Why.
        reason: UndecodedReason,
    },
    /// Not a frame (EOS, user data, shutdown, ...), after the pictures of
    /// the frames its source sent before it.
    Message(SinkResult),
}

impl Decoded {
    /// The message this is about.
    pub fn result(&self) -> &SinkResult {
        match self {
            Decoded::Picture { result, .. }
            | Decoded::Undecoded { result, .. }
            | Decoded::Message(result) => result,
        }
    }
}

/// Why a frame has no picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UndecodedReason {
    /// The frame carries no content (external content, or empty).
    NoContent,
    /// Its codec is not one [`Codec`] knows.
    UnsupportedCodec,
    /// The decoder produced nothing for it (a corrupt access unit), or
    /// failed while it was queued.
    DecodeFailed,
    /// A delta frame before the first keyframe of its source (or after a
    /// decoder failure): it cannot decode alone.
    AwaitingKeyframe,
}

impl std::fmt::Display for UndecodedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UndecodedReason::NoContent => "the frame has no content",
            UndecodedReason::UnsupportedCodec => "its codec is not one the decoder knows",
            UndecodedReason::DecodeFailed => "the decoder produced nothing for it",
            UndecodedReason::AwaitingKeyframe => "waiting for a keyframe",
        })
    }
}

/// Counters of a [`FrameDecoder`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Frames decoded into pictures.
    pub decoded: u64,
    /// Frames without content.
    pub no_content: u64,
    /// Frames of an unknown codec.
    pub unsupported_codec: u64,
    /// Frames the decoder produced nothing for.
    pub failed: u64,
    /// Delta frames skipped while waiting for a keyframe.
    pub awaiting_keyframe: u64,
    /// Decoders that failed (an error on their pipeline) and were dropped.
    pub decoder_errors: u64,
    /// Decoders drained and started again for a new codec or size.
    pub parameter_changes: u64,
    /// Pictures copied out of the decoder's buffer because GStreamer still
    /// held it (0 in the pipelines this crate builds).
    pub copied: u64,
}

impl DecodeStats {
    /// Frames that got no picture.
    pub fn undecoded(&self) -> u64 {
        self.no_content + self.unsupported_codec + self.failed + self.awaiting_keyframe
    }

    fn count(&mut self, reason: UndecodedReason) {
        match reason {
            UndecodedReason::NoContent => self.no_content += 1,
            UndecodedReason::UnsupportedCodec => self.unsupported_codec += 1,
            UndecodedReason::DecodeFailed => self.failed += 1,
            UndecodedReason::AwaitingKeyframe => self.awaiting_keyframe += 1,
        }
    }
}

/// What a decoder is set up for: a change starts a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StreamParams {
    codec: Codec,
    width: i64,
    height: i64,
}

/// A source's decoder, or the keyframe it waits for.
enum StreamState {
    /// No decoder: the next keyframe starts one.
    AwaitingKeyframe,
    /// A running decoder.
    Decoding(Box<StreamDecoder>),
}

struct Stream {
    state: StreamState,
    last_used: u64,
}

/// Turns received encoded frames into RGB pictures; see the module docs.
///
/// ```no_run
/// use savant_sdk_gst::{Decoded, FrameDecoder};
/// # fn run(results: Vec<savant_sdk_component::sink::SinkResult>) -> Result<(), savant_sdk_gst::GstError> {
/// let mut decoder = FrameDecoder::new();
/// let mut out = Vec::new();
/// for result in results {
///     decoder.push(result, &mut out)?;
///     for decoded in out.drain(..) {
///         if let Decoded::Picture { result, picture } = decoded {
///             println!("{} pts {:?}: {}x{}", result.source_id(), result.pts(), picture.width(), picture.height());
///         }
///     }
/// }
/// decoder.finish(&mut out)?;
/// # Ok(()) }
/// ```
pub struct FrameDecoder {
    settings: DecoderSettings,
    streams: HashMap<String, Stream>,
    stats: DecodeStats,
    clock: u64,
}

impl std::fmt::Debug for FrameDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameDecoder")
            .field("streams", &self.streams.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder with the default settings.
    pub fn new() -> Self {
        Self::with_settings(DecoderSettings::default())
    }

    /// A decoder with `settings`.
    pub fn with_settings(settings: DecoderSettings) -> Self {
        Self {
            settings,
            streams: HashMap::new(),
            stats: DecodeStats::default(),
            clock: 0,
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> DecodeStats {
        self.stats
    }

    /// Source ids with a decoder (or waiting for a keyframe) now.
    pub fn streams(&self) -> usize {
        self.streams.len()
    }

    /// Feeds one received message and appends what is ready to `out`: the
    /// pictures its decoder has finished (usually of earlier frames: a
    /// decoder holds a few frames), frames that will get no picture, and
    /// non-frame messages. An EOS drains its source's decoder first.
    ///
    /// Waits while the source's decoder is [`DecoderSettings::queued_frames`]
    /// behind. Errors only when GStreamer cannot start or a codec has no
    /// decoder installed (the error names the Debian package); bad content
    /// is counted in [`FrameDecoder::stats`] and handed back as
    /// [`Decoded::Undecoded`].
    pub fn push(&mut self, result: SinkResult, out: &mut Vec<Decoded>) -> Result<(), GstError> {
        self.clock += 1;
        let Some(frame) = result.frame() else {
            if result.is_end_of_stream() {
                if let Some(stream) = self.streams.remove(result.source_id()) {
                    self.drain(stream, out);
                }
            }
            out.push(Decoded::Message(result));
            return Ok(());
        };
        let Some(codec) = frame.codec.as_deref().and_then(Codec::from_savant) else {
            self.undecoded(result, UndecodedReason::UnsupportedCodec, out);
            return Ok(());
        };
        let Some(data) = result.content.clone().filter(|c| !c.is_empty()) else {
            self.undecoded(result, UndecodedReason::NoContent, out);
            return Ok(());
        };
        let params = StreamParams {
            codec,
            width: frame.width,
            height: frame.height,
        };
        let keyframe = codec.is_still_image() || frame.keyframe.unwrap_or(true);
        let timing = Timing::of(frame.pts, frame.dts, frame.duration, frame.time_base);
        let source_id = frame.source_id.clone();

        // A new codec or size: the old decoder's pictures first.
        let changed = matches!(
            self.streams.get(&source_id).map(|s| &s.state),
            Some(StreamState::Decoding(d)) if d.params != params
        );
        if changed {
            self.stats.parameter_changes += 1;
            if let Some(stream) = self.streams.remove(&source_id) {
                self.drain(stream, out);
            }
        }
        if !self.streams.contains_key(&source_id) {
            self.make_room(out);
            self.streams.insert(
                source_id.clone(),
                Stream {
                    state: StreamState::AwaitingKeyframe,
                    last_used: self.clock,
                },
            );
        }
        let clock = self.clock;
        let stream = self.streams.get_mut(&source_id).expect("inserted above");
        stream.last_used = clock;
        if let StreamState::AwaitingKeyframe = stream.state {
            if !keyframe {
                self.undecoded(result, UndecodedReason::AwaitingKeyframe, out);
                return Ok(());
            }
            let decoder = StreamDecoder::start(params, &source_id, &self.settings)?;
            stream.state = StreamState::Decoding(Box::new(decoder));
        }
        let StreamState::Decoding(decoder) = &mut stream.state else {
            unreachable!("a decoder was started above");
        };
        let mut failed = Vec::new();
        let outcome = decoder.push(result, timing, data, out, &mut failed, &mut self.stats);
        for r in failed {
            self.undecoded(r, UndecodedReason::DecodeFailed, out);
        }
        if let Err(message) = outcome {
            tracing::warn!(source_id = %source_id, codec = %codec, "decoder failed, waiting for the next keyframe: {message}");
            self.stats.decoder_errors += 1;
            let stream = self.streams.get_mut(&source_id).expect("present");
            if let StreamState::Decoding(mut decoder) =
                std::mem::replace(&mut stream.state, StreamState::AwaitingKeyframe)
            {
                for r in decoder.abandon() {
                    self.undecoded(r, UndecodedReason::DecodeFailed, out);
                }
            }
        }
        Ok(())
    }

    /// Hands out what the decoders have finished without feeding them:
    /// the pictures of the last frames of a source that paused.
    pub fn poll(&mut self, out: &mut Vec<Decoded>) {
        let mut failed = Vec::new();
        for stream in self.streams.values_mut() {
            if let StreamState::Decoding(d) = &mut stream.state {
                // an error here shows at the next push of the source
                let _ = d.collect(out, &mut failed, &mut self.stats, None);
            }
        }
        for r in failed {
            self.undecoded(r, UndecodedReason::DecodeFailed, out);
        }
    }

    /// Drains every decoder (the last pictures of every source, sources in
    /// name order) and drops them.
    pub fn finish(&mut self, out: &mut Vec<Decoded>) -> Result<(), GstError> {
        let mut ids: Vec<String> = self.streams.keys().cloned().collect();
        ids.sort();
        for id in ids {
            if let Some(stream) = self.streams.remove(&id) {
                self.drain(stream, out);
            }
        }
        Ok(())
    }

    fn undecoded(&mut self, result: SinkResult, reason: UndecodedReason, out: &mut Vec<Decoded>) {
        self.stats.count(reason);
        out.push(Decoded::Undecoded { result, reason });
    }

    fn drain(&mut self, stream: Stream, out: &mut Vec<Decoded>) {
        let StreamState::Decoding(mut decoder) = stream.state else {
            return;
        };
        let mut failed = Vec::new();
        if let Err(message) = decoder.finish(out, &mut failed, &mut self.stats) {
            tracing::warn!(codec = %decoder.params.codec, "decoder failed while draining: {message}");
            self.stats.decoder_errors += 1;
        }
        failed.extend(decoder.abandon());
        for r in failed {
            self.undecoded(r, UndecodedReason::DecodeFailed, out);
        }
    }

    fn make_room(&mut self, out: &mut Vec<Decoded>) {
        while self.streams.len() >= self.settings.max_streams.max(1) {
            let Some(oldest) = self
                .streams
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(id, _)| id.clone())
            else {
                return;
            };
            if let Some(stream) = self.streams.remove(&oldest) {
                self.drain(stream, out);
            }
        }
    }
}

/// A frame's times in GStreamer's nanoseconds.
#[derive(Debug, Clone, Copy)]
struct Timing {
    pts: u64,
    dts: Option<u64>,
    duration: Option<u64>,
}

impl Timing {
    fn of(pts: i64, dts: Option<i64>, duration: Option<i64>, tb: TimeBase) -> Self {
        let ns = |v: i64| ticks_to_ns(v, tb).max(0) as u64;
        Timing {
            pts: ns(pts),
            dts: dts.map(ns),
            duration: duration.filter(|d| *d > 0).map(ns),
        }
    }
}

/// `value` ticks of `tb` in nanoseconds (saturating).
///
/// ```
/// use savant_sdk_component::model::TimeBase;
/// assert_eq!(savant_sdk_gst::ticks_to_ns(3, TimeBase::new(1, 25)), 120_000_000);
/// assert_eq!(savant_sdk_gst::ticks_to_ns(7, TimeBase::NANOSECONDS), 7);
/// ```
pub fn ticks_to_ns(value: i64, tb: TimeBase) -> i64 {
    if tb.denominator <= 0 || tb.numerator <= 0 || tb == TimeBase::NANOSECONDS {
        return value;
    }
    let ns = value as i128 * tb.numerator as i128 * 1_000_000_000 / tb.denominator as i128;
    ns.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// What comes out of a decoding pipeline.
enum Output {
    /// A picture: its buffer (ours alone, so writable in place) and size.
    Picture {
        buffer: gst::Buffer,
        width: i32,
        height: i32,
    },
    /// The end of the stream.
    Eos,
}

/// Pictures waiting between a decoding pipeline and its consumer.
const PICTURES_WAITING: usize = 4;

/// One source's GStreamer decoding pipeline and the frames inside it.
struct StreamDecoder {
    params: StreamParams,
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
    /// What the probe on the pipeline's end takes out (`None` once the
    /// decoder is being dropped: a streaming thread waiting to hand a
    /// picture over is let go).
    pictures: Option<std::sync::mpsc::Receiver<Output>>,
    /// The end of the stream came out.
    drained: bool,
    bus: gst::Bus,
    /// Frames pushed whose pictures have not come out, in decode order,
    /// with their pts in ns.
    pending: VecDeque<(u64, SinkResult)>,
    queued_frames: u64,
    timeout: Duration,
}

impl StreamDecoder {
    fn start(
        params: StreamParams,
        source_id: &str,
        settings: &DecoderSettings,
    ) -> Result<Self, GstError> {
        elements::init()?;
        let codec = params.codec;
        let decoder_name = codec.decoder()?;
        let pipeline = gst::Pipeline::with_name(&format!("decode-{source_id}"));
        let caps: gst::Caps = codec
            .frame_caps()
            .parse()
            .map_err(|_| GstError::Pipeline(format!("bad caps {}", codec.frame_caps())))?;
        let appsrc = gst_app::AppSrc::builder()
            .caps(&caps)
            .format(gst::Format::Time)
            .is_live(false)
            .block(false)
            .build();
        let mut chain: Vec<gst::Element> = vec![appsrc.clone().upcast()];
        if let Some(parser) = codec.parser() {
            chain.push(elements::make(parser)?);
        }
        chain.push(elements::make(decoder_name)?);
        chain.push(elements::make("videoconvert")?);
        let rgb = elements::make("capsfilter")?;
        rgb.set_property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("format", "RGB")
                .build(),
        );
        chain.push(rgb);
        // The pictures are taken out by a probe in front of a fakesink, not
        // pulled from an appsink: an appsink keeps a reference to the last
        // buffer pulled (and to its preroll buffer), so a picture could
        // only be drawn on after a copy. Taken from the pad, each buffer is
        // ours alone. No preroll: the fakesink never sees a buffer.
        let end = gst::ElementFactory::make("fakesink")
            .property("sync", false)
            .property("async", false)
            .property("enable-last-sample", false)
            .build()
            .map_err(|_| GstError::MissingElement {
                element: "fakesink",
                package: elements::debian_package("fakesink"),
            })?;
        let (tx, pictures) = std::sync::mpsc::sync_channel(PICTURES_WAITING);
        end.static_pad("sink")
            .expect("a sink has a sink pad")
            .add_probe(
                gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
                move |pad, info| {
                    if let Some(buffer) = info.take_buffer() {
                        let size = pad.current_caps().and_then(|c| {
                            let s = c.structure(0)?;
                            Some((s.get::<i32>("width").ok()?, s.get::<i32>("height").ok()?))
                        });
                        if let Some((width, height)) = size {
                            // waits while the consumer is behind; fails (and
                            // the picture is dropped) once it is gone
                            let _ = tx.send(Output::Picture {
                                buffer,
                                width,
                                height,
                            });
                        }
                        return gst::PadProbeReturn::Handled;
                    }
                    if let Some(gst::PadProbeData::Event(e)) = &info.data {
                        if e.type_() == gst::EventType::Eos {
                            let _ = tx.send(Output::Eos);
                        }
                    }
                    gst::PadProbeReturn::Ok
                },
            );
        chain.push(end);
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            GstError::Pipeline(format!(
                "{codec} decoder ({decoder_name}): cannot {what}: {e}"
            ))
        };
        pipeline
            .add_many(&chain)
            .map_err(|e| fail("add elements", &e))?;
        gst::Element::link_many(&chain).map_err(|e| fail("link elements", &e))?;
        let bus = pipeline.bus().expect("a pipeline has a bus");
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| fail("start", &e))?;
        Ok(Self {
            params,
            pipeline,
            appsrc,
            pictures: Some(pictures),
            drained: false,
            bus,
            pending: VecDeque::new(),
            queued_frames: settings.queued_frames.max(1),
            timeout: settings.timeout,
        })
    }

    /// Pushes one frame; what came out goes to `out`, frames that will get
    /// no picture to `failed`. An error means the decoder is broken.
    fn push(
        &mut self,
        result: SinkResult,
        timing: Timing,
        data: bytes::Bytes,
        out: &mut Vec<Decoded>,
        failed: &mut Vec<SinkResult>,
        stats: &mut DecodeStats,
    ) -> Result<(), String> {
        self.check_bus()?;
        let deadline = Instant::now() + self.timeout;
        while self.appsrc.current_level_buffers() >= self.queued_frames {
            self.collect(out, failed, stats, Some(Duration::from_millis(20)))?;
            if Instant::now() > deadline {
                return Err(format!(
                    "it took no frame for {:?} ({} queued)",
                    self.timeout,
                    self.appsrc.current_level_buffers()
                ));
            }
        }
        let keyframe = self.params.codec.is_still_image()
            || result.frame().and_then(|f| f.keyframe).unwrap_or(true);
        let mut buffer = gst::Buffer::from_slice(data);
        {
            let b = buffer.get_mut().expect("a new buffer is writable");
            b.set_pts(gst::ClockTime::from_nseconds(timing.pts));
            if let Some(dts) = timing.dts {
                b.set_dts(gst::ClockTime::from_nseconds(dts));
            }
            if let Some(d) = timing.duration {
                b.set_duration(gst::ClockTime::from_nseconds(d));
            }
            if !keyframe {
                b.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        self.pending.push_back((timing.pts, result));
        self.appsrc
            .push_buffer(buffer)
            .map_err(|e| format!("the decoder refused a frame: {e:?}"))?;
        self.collect(out, failed, stats, None)
    }

    /// Moves finished pictures to `out`: all that are ready, or, with a
    /// `wait`, at least one if it comes within it.
    fn collect(
        &mut self,
        out: &mut Vec<Decoded>,
        failed: &mut Vec<SinkResult>,
        stats: &mut DecodeStats,
        wait: Option<Duration>,
    ) -> Result<(), String> {
        let Some(rx) = self.pictures.as_ref() else {
            return Ok(());
        };
        let mut next = match wait {
            Some(w) => rx.recv_timeout(w).ok(),
            None => rx.try_recv().ok(),
        };
        let mut ready = Vec::new();
        while let Some(output) = next {
            ready.push(output);
            next = rx.try_recv().ok();
        }
        for output in ready {
            match output {
                Output::Picture {
                    buffer,
                    width,
                    height,
                } => self.deliver(buffer, width, height, out, failed, stats),
                Output::Eos => self.drained = true,
            }
        }
        self.check_bus()
    }

    /// Pairs a picture with its frame: the pending frame of the same pts
    /// (pictures come out in pts order, so the frames before it with a
    /// smaller pts produced nothing), else the oldest.
    fn deliver(
        &mut self,
        buffer: gst::Buffer,
        width: i32,
        height: i32,
        out: &mut Vec<Decoded>,
        failed: &mut Vec<SinkResult>,
        stats: &mut DecodeStats,
    ) {
        let pts = buffer.pts().map(|t| t.nseconds());
        let index = pts
            .and_then(|p| self.pending.iter().position(|(q, _)| *q == p))
            .unwrap_or(0);
        if let Some(p) = pts {
            let mut i = 0;
            let mut index = index;
            while i < index {
                if self.pending[i].0 < p {
                    let (_, r) = self.pending.remove(i).expect("in range");
                    failed.push(r);
                    index -= 1;
                } else {
                    i += 1;
                }
            }
            let Some((_, result)) = self.pending.remove(index) else {
                tracing::debug!(pts = p, "a picture with no frame waiting for it");
                return;
            };
            self.hand_out(result, buffer, width, height, out, failed, stats);
        } else if let Some((_, result)) = self.pending.pop_front() {
            self.hand_out(result, buffer, width, height, out, failed, stats);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn hand_out(
        &self,
        result: SinkResult,
        buffer: gst::Buffer,
        width: i32,
        height: i32,
        out: &mut Vec<Decoded>,
        failed: &mut Vec<SinkResult>,
        stats: &mut DecodeStats,
    ) {
        let (w, h) = (width.max(0) as u32, height.max(0) as u32);
        // GStreamer's default stride for packed RGB: rows rounded up to 4 bytes
        let stride = (w as usize * 3).div_ceil(4) * 4;
        match Picture::from_buffer(buffer, w, h, stride) {
            Ok((picture, copied)) => {
                stats.decoded += 1;
                stats.copied += u64::from(copied);
                out.push(Decoded::Picture { result, picture });
            }
            Err(e) => {
                tracing::warn!(source_id = %result.source_id(), "{e}");
                failed.push(result);
            }
        }
    }

    fn check_bus(&self) -> Result<(), String> {
        while let Some(msg) = self.bus.pop_filtered(&[gst::MessageType::Error]) {
            if let gst::MessageView::Error(err) = msg.view() {
                return Err(elements::bus_error_text(&msg, err));
            }
        }
        Ok(())
    }

    /// Sends EOS and hands out every picture still inside.
    fn finish(
        &mut self,
        out: &mut Vec<Decoded>,
        failed: &mut Vec<SinkResult>,
        stats: &mut DecodeStats,
    ) -> Result<(), String> {
        self.check_bus()?;
        let _ = self.appsrc.end_of_stream();
        let deadline = Instant::now() + self.timeout;
        while !self.drained {
            self.collect(out, failed, stats, Some(Duration::from_millis(50)))?;
            if !self.drained && Instant::now() > deadline {
                return Err(format!("it did not drain within {:?}", self.timeout));
            }
        }
        Ok(())
    }

    /// The frames still inside, which will get no picture.
    fn abandon(&mut self) -> Vec<SinkResult> {
        self.pending.drain(..).map(|(_, r)| r).collect()
    }
}

impl Drop for StreamDecoder {
    fn drop(&mut self) {
        // first let go of a streaming thread waiting to hand a picture over
        self.pictures = None;
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
