//! The bridge from a GStreamer pipeline to an async source: a parser and an
//! `appsink` behind a demuxed (or depayloaded) video pad, whose callbacks
//! hand each access unit, without copying it, to a bounded channel.
//!
//! The channel is the backpressure: when the consumer is slow, the
//! streaming thread waits in the appsink callback and the demuxer stops
//! reading.

use std::sync::Arc;

use bytes::Bytes;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use tokio::sync::mpsc;

use savant_sdk_core::model::{TimeBase, VideoFrame};
use savant_sdk_core::source::SourceFrame;

use savant_sdk_gst::Codec;

use crate::error::SourceError;
use crate::video::elements;

/// How many access units wait between the pipeline and the consumer.
pub(crate) const CHANNEL_CAPACITY: usize = 64;

/// How many bytes of access units may wait between the pipeline and the
/// consumer (one larger unit still passes alone).
pub(crate) const BYTE_BUDGET: usize = 32 * 1024 * 1024;

/// Access units handed over at once when nothing waits on the clock (a
/// file read as fast as possible): one consumer wake-up per batch instead
/// of one per access unit.
pub(crate) const FILE_BATCH: usize = 16;

/// The parameters of a video stream, shared by all its access units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamParams {
    /// Savant's codec name: `h264`, `hevc`, `vp8`, `vp9`, `av1` or `jpeg`.
    pub codec: &'static str,
    /// Width in pixels (0 when the caps do not say).
    pub width: i64,
    /// Height in pixels (0 when the caps do not say).
    pub height: i64,
    /// Framerate as `num/den` (`0/1` when variable or unknown).
    pub framerate: String,
}

/// One encoded access unit.
#[derive(Debug)]
pub(crate) struct AccessUnit {
    pub pts: Option<u64>,
    pub dts: Option<u64>,
    pub duration: Option<u64>,
    pub keyframe: bool,
    pub data: Bytes,
    pub params: Arc<StreamParams>,
}

/// Whether `new` differs from the stream parameters seen last (`false`
/// for the first unit), and remembers `new`.
pub(crate) fn params_changed(
    last: &mut Option<Arc<StreamParams>>,
    new: &Arc<StreamParams>,
) -> bool {
    let changed = last
        .as_ref()
        .is_some_and(|p| !Arc::ptr_eq(p, new) && **p != **new);
    *last = Some(new.clone());
    changed
}

impl AccessUnit {
    /// The frame of `source_id` for this unit, at `pts`/`dts` on the
    /// source's time line (ns): codec, size and framerate from the stream's
    /// parameters, keyframe flag and duration from the buffer, the buffer's
    /// memory as content.
    pub(crate) fn into_frame(self, source_id: String, pts: i64, dts: Option<i64>) -> SourceFrame {
        let params = &self.params;
        let mut builder = VideoFrame::builder(source_id)
            .codec(params.codec)
            .framerate(params.framerate.clone())
            .size(params.width, params.height)
            .keyframe(self.keyframe)
            .time_base(TimeBase::NANOSECONDS)
            .pts(pts);
        if let Some(dts) = dts {
            builder = builder.dts(dts);
        }
        if let Some(d) = self.duration {
            builder = builder.duration(d as i64);
        }
        SourceFrame::new(builder.build(), self.data)
    }
}

/// What the pipeline tells the consumer.
#[derive(Debug)]
pub(crate) enum PipelineEvent {
    Unit(AccessUnit),
    Eos,
    Error(SourceError),
}

/// What travels through the channel.
#[derive(Debug)]
enum Delivery {
    Units(Vec<AccessUnit>),
    Eos,
}

/// The bytes of access units between the appsink and the consumer: the
/// streaming thread waits while the budget is spent.
#[derive(Debug, Default)]
struct ByteBudget {
    state: std::sync::Mutex<(usize, bool)>,
    freed: std::sync::Condvar,
}

impl ByteBudget {
    /// Takes `n` bytes, waiting while others hold the budget; false once
    /// the consumer is gone.
    fn acquire(&self, n: usize) -> bool {
        let guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut guard = self
            .freed
            .wait_while(guard, |(used, closed)| {
                !*closed && *used > 0 && *used + n > BYTE_BUDGET
            })
            .unwrap_or_else(|p| p.into_inner());
        if guard.1 {
            return false;
        }
        guard.0 += n;
        true
    }

    /// Takes `n` bytes if that needs no waiting.
    fn try_acquire(&self, n: usize) -> bool {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (used, closed) = *guard;
        if closed || (used > 0 && used + n > BYTE_BUDGET) {
            return false;
        }
        guard.0 += n;
        true
    }

    fn release(&self, n: usize) {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        guard.0 = guard.0.saturating_sub(n);
        self.freed.notify_one();
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).1 = true;
        self.freed.notify_all();
    }
}

/// How a codec is passed through: its parser and the caps it is pulled
/// in, from the shared codec table.
struct CodecBranch {
    codec: &'static str,
    parser: Option<&'static str>,
    caps: &'static str,
}

fn codec_branch(media_type: &str) -> Option<CodecBranch> {
    let codec = Codec::from_media_type(media_type).filter(|c| *c != Codec::Png)?;
    Some(CodecBranch {
        codec: codec.savant_name(),
        parser: codec.parser(),
        caps: codec.frame_caps(),
    })
}

/// The media type of caps (`video/x-h264`, `video/quicktime`, ...), empty
/// for empty caps.
pub(crate) fn media_type(caps: &gst::CapsRef) -> String {
    caps.structure(0)
        .map(|s| s.name().to_string())
        .unwrap_or_default()
}

/// Whether a media type is one the bridge passes through.
pub(crate) fn is_supported_codec(media_type: &str) -> bool {
    codec_branch(media_type).is_some()
}

fn params_from_caps(codec: &'static str, caps: &gst::CapsRef) -> StreamParams {
    let s = caps.structure(0);
    let int = |field: &str| {
        s.and_then(|s| s.get::<i32>(field).ok())
            .map(i64::from)
            .unwrap_or(0)
    };
    let framerate = s
        .and_then(|s| s.get::<gst::Fraction>("framerate").ok())
        .filter(|f| f.numer() > 0 && f.denom() > 0)
        .map(|f| format!("{}/{}", f.numer(), f.denom()))
        .unwrap_or_else(|| "0/1".to_string());
    StreamParams {
        codec,
        width: int("width"),
        height: int("height"),
        framerate,
    }
}

/// How many errors can wait; a pipeline stops at its first, so later ones
/// only repeat it.
const ERROR_CAPACITY: usize = 4;

/// Whether the video branch is linked yet: `None` while the pipeline
/// looks for it, then linked (`true`) or failed (`false`).
#[derive(Default)]
struct Readiness {
    state: std::sync::Mutex<Option<bool>>,
    changed: std::sync::Condvar,
}

impl Readiness {
    fn set(&self, linked: bool) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.is_none() {
            *state = Some(linked);
            self.changed.notify_all();
        }
    }

    /// Whether the pipeline reported an error before linking.
    fn failed(&self) -> bool {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) == Some(false)
    }

    /// Waits up to `timeout`; true once linked.
    fn wait(&self, timeout: std::time::Duration) -> bool {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (state, _) = self
            .changed
            .wait_timeout_while(state, timeout, |s| s.is_none())
            .unwrap_or_else(|p| p.into_inner());
        *state == Some(true)
    }
}

/// The sending half given to the pipeline's callbacks.
#[derive(Clone)]
pub(crate) struct EventSender {
    tx: mpsc::Sender<Delivery>,
    budget: Arc<ByteBudget>,
    errors: mpsc::Sender<SourceError>,
    readiness: Arc<Readiness>,
    /// False until `play` lets samples through: what a sink renders while
    /// the pipeline prerolls before a seek belongs to the old position.
    accepting: Arc<std::sync::atomic::AtomicBool>,
    name: Arc<str>,
}

impl EventSender {
    /// Sends from a GStreamer streaming thread, waiting while the channel
    /// is full. False once the consumer is gone.
    fn send(&self, delivery: Delivery) -> bool {
        self.tx.blocking_send(delivery).is_ok()
    }

    /// Reports an error, from any thread, without waiting: it overtakes
    /// the access units still queued.
    pub(crate) fn error(&self, e: SourceError) {
        self.readiness.set(false);
        let _ = self.errors.try_send(e);
    }

    /// Marks the video branch linked.
    fn linked(&self) {
        self.readiness.set(true);
    }

    /// The input's name (file or redacted URL).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

/// A pipeline and the receiving end of its events. Dropping it stops the
/// pipeline.
pub(crate) struct RunningPipeline {
    pipeline: gst::Pipeline,
    readiness: Arc<Readiness>,
    accepting: Arc<std::sync::atomic::AtomicBool>,
    rx: mpsc::Receiver<Delivery>,
    budget: Arc<ByteBudget>,
    /// Units of the last batch not yet handed out.
    pending: std::collections::VecDeque<AccessUnit>,
    /// Whether a unit has been handed out.
    delivered: bool,
    errors: mpsc::Receiver<SourceError>,
}

impl RunningPipeline {
    /// A new, not yet started, pipeline with its channel. Errors and
    /// warnings on its bus go to the channel and to the log.
    pub(crate) fn new(name: &str, settings: SinkSettings) -> (Self, EventSender) {
        let (tx, rx) = mpsc::channel((CHANNEL_CAPACITY / settings.batch.max(1)).max(1));
        let budget = Arc::new(ByteBudget::default());
        let (errors_tx, errors) = mpsc::channel(ERROR_CAPACITY);
        let readiness = Arc::new(Readiness::default());
        let sender = EventSender {
            tx,
            budget: budget.clone(),
            errors: errors_tx,
            readiness: readiness.clone(),
            accepting: Default::default(),
            name: Arc::from(name),
        };
        let pipeline = gst::Pipeline::new();
        let bus = pipeline.bus().expect("a pipeline has a bus");
        let bus_sender = sender.clone();
        bus.set_sync_handler(move |_, msg| {
            match msg.view() {
                gst::MessageView::Error(err) => {
                    let element = msg
                        .src()
                        .map(|s| s.name().to_string())
                        .unwrap_or_else(|| "pipeline".into());
                    let mut message = format!("{element}: {}", err.error());
                    if let Some(debug) = err.debug() {
                        message.push_str(&format!(" ({debug})"));
                    }
                    // (an unrecognised file is refused before its pipeline
                    // is built: `video_file::open_file` typefinds it)
                    bus_sender.error(SourceError::Gstreamer {
                        name: bus_sender.name().to_string(),
                        message,
                    });
                }
                gst::MessageView::Warning(w) => {
                    tracing::warn!(input = %bus_sender.name(), "GStreamer warning: {}", w.error());
                }
                _ => {}
            }
            gst::BusSyncReply::Drop
        });
        (
            Self {
                pipeline,
                readiness,
                accepting: sender.accepting.clone(),
                rx,
                budget,
                pending: std::collections::VecDeque::with_capacity(settings.batch.max(1)),
                delivered: false,
                errors,
            },
            sender,
        )
    }

    /// The pipeline, to add elements to.
    pub(crate) fn pipeline(&self) -> &gst::Pipeline {
        &self.pipeline
    }

    /// Starts playing; `offset` seeks first (to the keyframe before it).
    /// With `preroll_first` (a sink that syncs on the clock), the pipeline
    /// prerolls with its sink in place before it plays, so that the sink
    /// gets the pipeline's base time; a sink added to a pipeline already
    /// playing may not, and then renders everything at once.
    pub(crate) fn play(
        &self,
        name: &str,
        offset: Option<gst::ClockTime>,
        preroll_first: bool,
    ) -> Result<(), SourceError> {
        let fail = |message: String| SourceError::Gstreamer {
            name: name.to_string(),
            message,
        };
        if offset.is_none() {
            // Without a seek, everything the sink renders is wanted.
            self.accepting
                .store(true, std::sync::atomic::Ordering::Release);
        }
        if offset.is_some() || preroll_first {
            self.pipeline
                .set_state(gst::State::Paused)
                .map_err(|e| fail(format!("cannot pause: {e}")))?;
            // The sink that prerolls is only added once the demuxer has
            // found the video stream; wait for it, then for the preroll.
            if !self.readiness.wait(std::time::Duration::from_secs(30)) {
                if self.readiness.failed() {
                    // The reason is queued as an error event.
                    return Ok(());
                }
                return Err(SourceError::NoVideoStream {
                    name: format!("{name} (no video stream found within 30 s)"),
                });
            }
            let (res, _, _) = self.pipeline.state(gst::ClockTime::from_seconds(30));
            if res.is_err() {
                // The bus handler has queued the reason.
                return Ok(());
            }
        }
        if let Some(offset) = offset {
            // Prerolled: the streaming thread waits, so nothing from before
            // the seek can arrive after this.
            self.accepting
                .store(true, std::sync::atomic::Ordering::Release);
            self.pipeline
                .seek_simple(
                    gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT | gst::SeekFlags::SNAP_BEFORE,
                    offset,
                )
                .map_err(|e| fail(format!("cannot seek to {offset}: {e}")))?;
        }
        // A failed state change posts its reason on the bus, which reaches
        // the consumer as an error event.
        let _ = self.pipeline.set_state(gst::State::Playing);
        Ok(())
    }

    /// The next event: an error as soon as there is one, else the next
    /// access unit or the end. `None` only if every sender is gone.
    pub(crate) async fn next_event(&mut self) -> Option<PipelineEvent> {
        loop {
            if !self.delivered {
                // Before the first frame, an error is the answer at once.
                if let Ok(e) = self.errors.try_recv() {
                    return Some(PipelineEvent::Error(e));
                }
            }
            if let Some(unit) = self.pending.pop_front() {
                self.budget.release(unit.data.len());
                self.delivered = true;
                return Some(PipelineEvent::Unit(unit));
            }
            let delivery = if self.delivered {
                // Frames already queued come before a later error.
                tokio::select! {
                    biased;
                    delivery = self.rx.recv() => delivery?,
                    Some(e) = self.errors.recv() => return Some(PipelineEvent::Error(e)),
                }
            } else {
                tokio::select! {
                    biased;
                    Some(e) = self.errors.recv() => return Some(PipelineEvent::Error(e)),
                    delivery = self.rx.recv() => delivery?,
                }
            };
            match delivery {
                Delivery::Units(units) => self.pending.extend(units),
                Delivery::Eos => return Some(PipelineEvent::Eos),
            }
        }
    }
}

impl Drop for RunningPipeline {
    fn drop(&mut self) {
        // Closing first releases a streaming thread waiting to send.
        self.rx.close();
        self.budget.close();
        self.errors.close();
        let _ = self.pipeline.set_state(gst::State::Null);
        if let Some(bus) = self.pipeline.bus() {
            bus.unset_sync_handler();
        }
    }
}

/// Settings of the appsink end.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SinkSettings {
    /// Synchronise on the clock (real-time pacing).
    pub sync: bool,
    /// Access units handed to the consumer at once: 1 for live and paced
    /// streams (no added delay), [`FILE_BATCH`] for files read at full
    /// speed.
    pub batch: usize,
}

/// Links `pad` (a demuxed or depayloaded video stream of `caps`) through
/// the codec's parser into an appsink that feeds `sender`. Elements are
/// added to `pipeline` and started.
pub(crate) fn attach_video_branch(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    caps: &gst::CapsRef,
    sender: &EventSender,
    settings: SinkSettings,
) -> Result<(), SourceError> {
    let media_type = media_type(caps);
    let branch = codec_branch(&media_type).ok_or_else(|| SourceError::UnsupportedCodec {
        name: sender.name().to_string(),
        codec: media_type.clone(),
    })?;
    let mut elements = Vec::with_capacity(2);
    if let Some(parser) = branch.parser {
        let parser_element = elements::make(parser)?;
        if parser_element.has_property("config-interval") {
            // Parameter sets before every keyframe, so any keyframe starts a stream.
            parser_element.set_property("config-interval", -1i32);
        }
        elements.push(parser_element);
    }
    let appsink = gst_app::AppSink::builder()
        .sync(settings.sync)
        .max_buffers(4)
        .drop(false)
        .enable_last_sample(false)
        .build();
    appsink.set_caps(Some(
        &branch.caps.parse::<gst::Caps>().expect("static caps parse"),
    ));
    install_callbacks(
        &appsink,
        branch.codec,
        sender.clone(),
        settings.batch.max(1),
    );
    elements.push(appsink.upcast());

    pipeline
        .add_many(&elements)
        .map_err(|e| gst_error(sender, format!("cannot add elements: {e}")))?;
    gst::Element::link_many(&elements)
        .map_err(|e| gst_error(sender, format!("cannot link parser: {e}")))?;
    for e in &elements {
        e.sync_state_with_parent()
            .map_err(|e| gst_error(sender, format!("cannot start parser: {e}")))?;
    }
    let sink_pad = elements[0]
        .static_pad("sink")
        .expect("first element has a sink pad");
    pad.link(&sink_pad)
        .map_err(|e| SourceError::UnsupportedCodec {
            name: sender.name().to_string(),
            codec: format!("{media_type} ({e:?})"),
        })?;
    sender.linked();
    Ok(())
}

/// Sends what arrives on `pad` nowhere (a second video or an audio stream).
pub(crate) fn attach_fakesink(pipeline: &gst::Pipeline, pad: &gst::Pad) {
    let Ok(sink) = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .property("async", false)
        .build()
    else {
        return;
    };
    if pipeline.add(&sink).is_ok() {
        let _ = sink.sync_state_with_parent();
        if let Some(sink_pad) = sink.static_pad("sink") {
            let _ = pad.link(&sink_pad);
        }
    }
}

fn gst_error(sender: &EventSender, message: String) -> SourceError {
    SourceError::Gstreamer {
        name: sender.name().to_string(),
        message,
    }
}

fn install_callbacks(
    appsink: &gst_app::AppSink,
    codec: &'static str,
    sender: EventSender,
    batch_size: usize,
) {
    let eos_sender = sender.clone();
    let mut current: Option<(gst::Caps, Arc<StreamParams>)> = None;
    // Both callbacks run on the streaming thread; the lock is never contended.
    let batch = Arc::new(std::sync::Mutex::new(Vec::with_capacity(batch_size)));
    let eos_batch = batch.clone();
    appsink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                if !sender.accepting.load(std::sync::atomic::Ordering::Acquire) {
                    return Ok(gst::FlowSuccess::Ok);
                }
                let params = match (sample.caps(), &current) {
                    (Some(caps), Some((known, params))) if caps.as_ptr() == known.as_ptr() => {
                        params.clone()
                    }
                    (Some(caps), known) => {
                        let fresh = params_from_caps(codec, caps);
                        let params = match known {
                            Some((_, p)) if **p == fresh => p.clone(),
                            _ => Arc::new(fresh),
                        };
                        current = Some((caps.to_owned(), params.clone()));
                        params
                    }
                    (None, Some((_, params))) => params.clone(),
                    (None, None) => Arc::new(StreamParams {
                        codec,
                        width: 0,
                        height: 0,
                        framerate: "0/1".into(),
                    }),
                };
                let buffer = sample.buffer_owned().ok_or(gst::FlowError::Error)?;
                let mut units = batch.lock().unwrap_or_else(|p| p.into_inner());
                if !sender.budget.try_acquire(buffer.size()) {
                    // Hand over what this thread holds before waiting: the
                    // consumer can only free what it has received.
                    if !units.is_empty() {
                        let held = std::mem::replace(&mut *units, Vec::with_capacity(batch_size));
                        if !sender.send(Delivery::Units(held)) {
                            return Err(gst::FlowError::Flushing);
                        }
                    }
                    if !sender.budget.acquire(buffer.size()) {
                        return Err(gst::FlowError::Flushing);
                    }
                }
                let unit = AccessUnit {
                    pts: buffer.pts().map(|t| t.nseconds()),
                    dts: buffer.dts().map(|t| t.nseconds()),
                    duration: buffer.duration().map(|t| t.nseconds()),
                    keyframe: !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT),
                    data: buffer_bytes(buffer),
                    params,
                };
                units.push(unit);
                if units.len() < batch_size {
                    return Ok(gst::FlowSuccess::Ok);
                }
                let full = std::mem::replace(&mut *units, Vec::with_capacity(batch_size));
                drop(units);
                if sender.send(Delivery::Units(full)) {
                    Ok(gst::FlowSuccess::Ok)
                } else {
                    Err(gst::FlowError::Flushing)
                }
            })
            .eos(move |_| {
                let rest =
                    std::mem::take(&mut *eos_batch.lock().unwrap_or_else(|p| p.into_inner()));
                if !rest.is_empty() && !eos_sender.send(Delivery::Units(rest)) {
                    return;
                }
                let _ = eos_sender.send(Delivery::Eos);
            })
            .build(),
    );
}

/// The buffer's memory as `Bytes`, without copying: the mapping lives as
/// long as the `Bytes`.
fn buffer_bytes(buffer: gst::Buffer) -> Bytes {
    match buffer.into_mapped_buffer_readable() {
        Ok(mapped) => Bytes::from_owner(mapped),
        Err(_) => Bytes::new(),
    }
}
