//! [`RtspSource`]: the encoded video of an RTSP camera, one frame per
//! access unit, depayloaded and parsed but never decoded, with reconnection.

use std::collections::VecDeque;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gstreamer as gst;
use gstreamer::prelude::*;
use savant_sdk_core::source::{Source, SourceFrame, SourceItem};

use crate::error::SourceError;
use crate::video::bridge::{
    self, AccessUnit, EventSender, PipelineEvent, RunningPipeline, SinkSettings, StreamParams,
};
use crate::video::elements::{self, redact_url};

/// How RTP travels from the camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RtspTransport {
    /// Interleaved in the RTSP TCP connection: passes NAT and firewalls,
    /// loses nothing (the default).
    #[default]
    Tcp,
    /// RTP over UDP: lower latency, but packets can be lost and firewalls
    /// may block them.
    Udp,
}

impl RtspTransport {
    /// The value of `rtspsrc`'s `protocols` property.
    fn protocols(self) -> &'static str {
        match self {
            RtspTransport::Tcp => "tcp",
            RtspTransport::Udp => "udp",
        }
    }
}

/// What an [`RtspSource`] does when a camera it was connected to goes away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RtspReconnect {
    /// Keep reconnecting, with backoff, for ever (the default: a camera
    /// that reboots comes back). Each failed attempt is logged.
    #[default]
    Forever,
    /// Give up with [`SourceError::RtspUnreachable`] after this many
    /// failed reconnection attempts in a row.
    GiveUpAfter(u32),
}

/// The settings of an [`RtspSource`]; [`RtspSourceBuilder::build`] checks
/// them.
///
/// ```no_run
/// use std::time::Duration;
/// use savant_sdk_sources::{RtspReconnect, RtspSource, RtspTransport};
/// let source = RtspSource::builder("cam-1", "rtsp://admin:secret@10.0.0.5:554/stream1")
///     .transport(RtspTransport::Tcp)
///     .latency(Duration::from_millis(200))
///     .silence_timeout(Duration::from_secs(5))
///     .backoff(Duration::from_millis(500), Duration::from_secs(30))
///     .attempts(5)
///     .reconnect(RtspReconnect::Forever)
///     .build()?;
/// # Ok::<(), savant_sdk_sources::SourceError>(())
/// ```
#[derive(Clone)]
pub struct RtspSourceBuilder {
    source_id: String,
    url: String,
    transport: RtspTransport,
    latency: Duration,
    connect_timeout: Duration,
    silence_timeout: Duration,
    backoff_initial: Duration,
    backoff_max: Duration,
    attempts: u32,
    reconnect: RtspReconnect,
}

impl std::fmt::Debug for RtspSourceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtspSourceBuilder")
            .field("source_id", &self.source_id)
            .field("url", &redact_url(&self.url))
            .field("transport", &self.transport)
            .field("latency", &self.latency)
            .field("connect_timeout", &self.connect_timeout)
            .field("silence_timeout", &self.silence_timeout)
            .field("backoff", &(self.backoff_initial, self.backoff_max))
            .field("attempts", &self.attempts)
            .field("reconnect", &self.reconnect)
            .finish()
    }
}

impl RtspSourceBuilder {
    /// TCP (default) or UDP for the RTP packets (`rtspsrc protocols`).
    pub fn transport(mut self, transport: RtspTransport) -> Self {
        self.transport = transport;
        self
    }

    /// The jitter buffer: how long packets wait to be reordered
    /// (`rtspsrc latency`, whole milliseconds; default 200 ms).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// How long one connection attempt may take, from the start to the
    /// first access unit (default 10 s). Also the TCP connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// No access unit for this long, once connected, counts as a
    /// disconnect (default 5 s).
    pub fn silence_timeout(mut self, timeout: Duration) -> Self {
        self.silence_timeout = timeout;
        self
    }

    /// The wait before a reconnection: `initial` after a disconnect,
    /// doubled after each failed attempt up to `max` (default 500 ms, 30 s).
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max;
        self
    }

    /// How many failed attempts in a row the first connection gets before
    /// [`Source::next`] returns [`SourceError::RtspUnreachable`] (default 5).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// What happens after a connection that worked is lost: reconnect for
    /// ever (default) or give up after some failed attempts.
    pub fn reconnect(mut self, reconnect: RtspReconnect) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Checks the URL and the settings, and that `rtspsrc` and `appsink`
    /// are installed; nothing connects until the first
    /// [`Source::next`]. Depayloaders and parsers are checked when the
    /// camera says what its codec is.
    pub fn build(self) -> Result<RtspSource, SourceError> {
        let redacted = redact_url(&self.url);
        let scheme_ok = ["rtsp://", "rtsps://", "rtspt://", "rtspu://"]
            .iter()
            .any(|s| self.url.len() > s.len() && self.url[..s.len()].eq_ignore_ascii_case(s));
        if !scheme_ok || host_port(&self.url).is_none() {
            return Err(SourceError::InvalidSetting(format!(
                "{redacted}: not an rtsp:// URL with a host"
            )));
        }
        if self.attempts == 0 || self.reconnect == RtspReconnect::GiveUpAfter(0) {
            return Err(SourceError::InvalidSetting(format!(
                "{redacted}: attempts must be at least 1"
            )));
        }
        if self.connect_timeout.is_zero() || self.silence_timeout.is_zero() {
            return Err(SourceError::InvalidSetting(format!(
                "{redacted}: timeouts must be positive"
            )));
        }
        if self.backoff_initial > self.backoff_max {
            return Err(SourceError::InvalidSetting(format!(
                "{redacted}: initial backoff {:?} is above the maximum {:?}",
                self.backoff_initial, self.backoff_max
            )));
        }
        if self.latency.as_millis() > u32::MAX as u128 {
            return Err(SourceError::InvalidSetting(format!(
                "{redacted}: latency {:?} is too large",
                self.latency
            )));
        }
        elements::init(&redacted)?;
        elements::require(&["rtspsrc", "appsink"])?;
        Ok(RtspSource {
            name: format!("rtsp {redacted}"),
            redacted,
            backoff: self.backoff_initial,
            settings: self,
            running: None,
            connected: false,
            ever_connected: false,
            failures: 0,
            wait: None,
            waiting_keyframe: true,
            frames_since_eos: false,
            epoch: None,
            offset: None,
            timeline_end: 0,
            params: None,
            pending: VecDeque::new(),
        })
    }
}

/// Encoded video from an RTSP camera: each access unit becomes one frame
/// with pts, dts, duration (time base nanoseconds), keyframe flag, codec,
/// size and framerate. Nothing is decoded: H.264 and HEVC come out as
/// byte-stream access units with the parameter sets before every keyframe,
/// VP8, VP9 and MJPEG as depayloaded.
///
/// The pipeline is `rtspsrc ! rtp<codec>depay ! <parser> ! appsink`
/// (no clock sync: the camera is live); audio streams go to a `fakesink`.
/// An RTP video codec other than H264, H265, VP8, VP9 and JPEG is an
/// [`SourceError::UnsupportedCodec`] naming it.
///
/// **Disconnects.** A pipeline error, an EOS from the server, or no access
/// unit for [`silence_timeout`](RtspSourceBuilder::silence_timeout) ends
/// the connection: the source sends one
/// [`SourceItem::EndOfStream`] (if it sent frames since the last one),
/// waits with backoff, reconnects, and resumes with the next keyframe
/// (delta units before the first keyframe of every connection are
/// dropped). A change of codec, size or framerate within a connection also
/// ends the stream with an EOS, as in the file source.
///
/// **Giving up.** The first connection gets
/// [`attempts`](RtspSourceBuilder::attempts) failed attempts in a row,
/// then `next` returns [`SourceError::RtspUnreachable`] with the URL
/// (credentials removed), the number of attempts and the last reason
/// (GStreamer's, e.g. `Not Found`, plus the operating system's answer to a
/// TCP connection, e.g. `Connection refused`). Once connected, the
/// [`reconnect`](RtspSourceBuilder::reconnect) policy applies: by default
/// it reconnects for ever, logging each failure with `tracing::warn`.
/// Calling `next` again after the error starts a new round of attempts.
/// Unsupported codecs, missing elements and streams without video are
/// errors at once, never retried.
///
/// **Timestamps.** Nanoseconds since the source's first frame, increasing
/// across reconnects: within a connection they follow the RTP time
/// (GStreamer's running time); each connection's first frame is placed at
/// the wall-clock time elapsed since the source's first frame, or just
/// after the previous connection's last frame if that is later, and the
/// connection's other frames keep their RTP distance to it. A gap in the
/// timestamps is the time the camera was away.
///
/// **Credentials.** A user and password in the URL go to `rtspsrc` only:
/// names, logs and errors show the URL through [`redact_url`].
///
/// ```no_run
/// use savant_sdk_core::source::{Source, SourceItem};
/// use savant_sdk_sources::RtspSource;
/// # async fn run() -> savant_sdk_core::Result<()> {
/// let mut source = RtspSource::builder("cam-1", "rtsp://10.0.0.5:554/stream1").build()?;
/// while let Some(item) = source.next().await? {
///     if let SourceItem::Frame(f) = item {
///         println!("{} bytes, keyframe {:?}", f.content.len(), f.frame.keyframe);
///     }
/// }
/// # Ok(()) }
/// ```
pub struct RtspSource {
    settings: RtspSourceBuilder,
    name: String,
    redacted: String,
    running: Option<RunningPipeline>,
    /// The current pipeline has delivered an access unit.
    connected: bool,
    /// Some pipeline has.
    ever_connected: bool,
    /// Failed attempts in a row.
    failures: u32,
    /// The next backoff after a failed attempt.
    backoff: Duration,
    /// To wait before the next attempt.
    wait: Option<Duration>,
    waiting_keyframe: bool,
    frames_since_eos: bool,
    /// When the first frame was sent.
    epoch: Option<Instant>,
    /// Added to this connection's timestamps (set by its first frame).
    offset: Option<i64>,
    /// Past the latest pts and dts sent.
    timeline_end: i64,
    params: Option<Arc<StreamParams>>,
    pending: VecDeque<SourceItem>,
}

impl std::fmt::Debug for RtspSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtspSource")
            .field("source_id", &self.settings.source_id)
            .field("url", &self.redacted)
            .field("connected", &self.connected)
            .field("failures", &self.failures)
            .finish()
    }
}

/// Why a connection ended or an attempt failed.
enum Ending {
    /// Retry (after backoff), with this reason.
    Retry(String),
    /// Give up at once.
    Fatal(SourceError),
}

impl RtspSource {
    /// Settings for a source of `source_id` reading the camera at `url`
    /// (`rtsp://[user:password@]host[:port]/path`).
    pub fn builder(source_id: impl Into<String>, url: impl Into<String>) -> RtspSourceBuilder {
        RtspSourceBuilder {
            source_id: source_id.into(),
            url: url.into(),
            transport: RtspTransport::Tcp,
            latency: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(10),
            silence_timeout: Duration::from_secs(5),
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            attempts: 5,
            reconnect: RtspReconnect::Forever,
        }
    }

    /// The camera's URL with the credentials replaced by `***`.
    pub fn redacted_url(&self) -> &str {
        &self.redacted
    }

    /// Starts a new pipeline.
    async fn connect(&mut self) -> Result<(), SourceError> {
        let url = self.settings.url.clone();
        let redacted = self.redacted.clone();
        let options = PipelineOptions {
            transport: self.settings.transport,
            latency_ms: self.settings.latency.as_millis() as u32,
            connect_timeout: self.settings.connect_timeout,
        };
        let running = tokio::task::spawn_blocking(move || open(&url, &redacted, options))
            .await
            .map_err(|e| SourceError::Gstreamer {
                name: self.redacted.clone(),
                message: format!("pipeline start failed: {e}"),
            })??;
        self.running = Some(running);
        self.connected = false;
        self.waiting_keyframe = true;
        self.offset = None;
        self.params = None;
        Ok(())
    }

    /// Stops the pipeline (off the async threads: the teardown can wait on
    /// the network).
    async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = tokio::task::spawn_blocking(move || drop(running)).await;
        }
    }

    /// Handles the end of a connection or a failed attempt; an error when
    /// the source gives up.
    async fn ended(&mut self, ending: Ending) -> Result<(), SourceError> {
        self.stop().await;
        let reason = match ending {
            Ending::Fatal(e) => return Err(e),
            Ending::Retry(reason) => reason,
        };
        if self.connected {
            self.connected = false;
            tracing::warn!(
                source_id = %self.settings.source_id,
                url = %self.redacted,
                "RTSP connection lost ({reason}): reconnecting"
            );
            if self.frames_since_eos {
                self.frames_since_eos = false;
                self.pending
                    .push_back(SourceItem::EndOfStream(self.settings.source_id.clone()));
            }
            self.failures = 0;
            self.backoff = self.settings.backoff_initial;
            self.wait = Some(self.backoff);
            return Ok(());
        }
        self.failures += 1;
        let reason = match self.refused_reason().await {
            Some(os) => format!("{reason}; TCP connect: {os}"),
            None => reason,
        };
        let limit = if self.ever_connected {
            match self.settings.reconnect {
                RtspReconnect::Forever => None,
                RtspReconnect::GiveUpAfter(n) => Some(n),
            }
        } else {
            Some(self.settings.attempts)
        };
        if limit.is_some_and(|n| self.failures >= n) {
            let attempts = self.failures;
            self.failures = 0;
            self.backoff = self.settings.backoff_initial;
            self.wait = None;
            return Err(SourceError::RtspUnreachable {
                url: self.redacted.clone(),
                attempts,
                detail: reason,
            });
        }
        tracing::warn!(
            source_id = %self.settings.source_id,
            url = %self.redacted,
            attempt = self.failures,
            "RTSP connection failed ({reason}): retrying in {:?}",
            self.backoff
        );
        self.wait = Some(self.backoff);
        self.backoff = (self.backoff * 2).min(self.settings.backoff_max);
        Ok(())
    }

    /// The operating system's reason when a TCP connection to the camera
    /// fails (GStreamer only says "Generic error").
    async fn refused_reason(&self) -> Option<String> {
        let (host, port) = host_port(&self.settings.url)?;
        let timeout = self.settings.connect_timeout.min(Duration::from_secs(2));
        tokio::task::spawn_blocking(move || {
            let addrs = match (host.as_str(), port).to_socket_addrs() {
                Ok(a) => a.collect::<Vec<_>>(),
                Err(e) => return Some(format!("cannot resolve {host}: {e}")),
            };
            let mut last = None;
            for addr in addrs {
                match TcpStream::connect_timeout(&addr, timeout) {
                    Ok(_) => return None,
                    Err(e) => last = Some(e.to_string()),
                }
            }
            last
        })
        .await
        .ok()
        .flatten()
    }

    fn frame(&mut self, unit: AccessUnit) -> SourceFrame {
        let raw_pts = unit.pts.or(unit.dts).unwrap_or(0) as i64;
        let raw_first = unit.dts.map(|d| d as i64).unwrap_or(raw_pts);
        let epoch = *self.epoch.get_or_insert_with(Instant::now);
        let timeline_end = self.timeline_end;
        let offset = *self.offset.get_or_insert_with(|| {
            let now = epoch.elapsed().as_nanos() as i64;
            now.max(timeline_end) - raw_first
        });
        let pts = offset + raw_pts;
        let dts = unit.dts.map(|d| offset + d as i64);
        let duration = unit.duration.map(|d| d as i64);
        self.timeline_end = self
            .timeline_end
            .max(pts + duration.unwrap_or(1).max(1))
            .max(dts.map(|d| d + 1).unwrap_or(0));
        self.frames_since_eos = true;
        unit.into_frame(self.settings.source_id.clone(), pts, dts)
    }

    /// A GStreamer error's reason in a line, without credentials.
    fn reason(&self, e: &SourceError) -> String {
        let text = match e {
            SourceError::Gstreamer { message, .. } => short_gst_message(message),
            other => other.to_string(),
        };
        scrub(&text, &self.settings.url, &self.redacted)
    }
}

#[async_trait]
impl Source for RtspSource {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Ok(Some(item));
            }
            if self.running.is_none() {
                if let Some(wait) = self.wait {
                    tokio::time::sleep(wait).await;
                    self.wait = None;
                }
                self.connect().await?;
            }
            let timeout = if self.connected {
                self.settings.silence_timeout
            } else {
                self.settings.connect_timeout
            };
            let running = self.running.as_mut().expect("connected above");
            let ending = match tokio::time::timeout(timeout, running.next_event()).await {
                Ok(Some(PipelineEvent::Unit(unit))) => {
                    if !self.connected {
                        self.connected = true;
                        self.ever_connected = true;
                        self.failures = 0;
                        self.backoff = self.settings.backoff_initial;
                        tracing::info!(
                            source_id = %self.settings.source_id,
                            url = %self.redacted,
                            "RTSP connected"
                        );
                    }
                    if self.waiting_keyframe && !unit.keyframe {
                        continue;
                    }
                    self.waiting_keyframe = false;
                    let changed = bridge::params_changed(&mut self.params, &unit.params);
                    let frame = self.frame(unit);
                    if changed {
                        tracing::info!(
                            source_id = %self.settings.source_id,
                            url = %self.redacted,
                            "stream parameters changed: EOS and a new stream"
                        );
                        self.pending.push_back(SourceItem::Frame(frame));
                        return Ok(Some(SourceItem::EndOfStream(
                            self.settings.source_id.clone(),
                        )));
                    }
                    return Ok(Some(SourceItem::Frame(frame)));
                }
                Ok(Some(PipelineEvent::Error(e))) => match e {
                    SourceError::Gstreamer { .. } => Ending::Retry(self.reason(&e)),
                    fatal => Ending::Fatal(fatal),
                },
                Ok(Some(PipelineEvent::Eos)) => Ending::Retry("the server ended the stream".into()),
                Ok(None) => Ending::Retry("the pipeline stopped".into()),
                Err(_) if self.connected => Ending::Retry(format!(
                    "no video for {:?} (silence timeout)",
                    self.settings.silence_timeout
                )),
                Err(_) => Ending::Retry(format!(
                    "no video within {:?} (connect timeout){}",
                    self.settings.connect_timeout,
                    if self.settings.transport == RtspTransport::Udp {
                        "; UDP may be blocked, try TCP"
                    } else {
                        ""
                    }
                )),
            };
            self.ended(ending).await?;
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[derive(Debug, Clone, Copy)]
struct PipelineOptions {
    transport: RtspTransport,
    latency_ms: u32,
    connect_timeout: Duration,
}

/// Live: every access unit is handed over as soon as it is parsed, and
/// nothing waits on the clock.
const LIVE: SinkSettings = SinkSettings {
    sync: false,
    batch: 1,
};

/// Builds and starts `rtspsrc`; the video branch is added when the camera
/// announces its streams.
fn open(
    url: &str,
    redacted: &str,
    options: PipelineOptions,
) -> Result<RunningPipeline, SourceError> {
    let (running, sender) = RunningPipeline::new(redacted, LIVE);
    let pipeline = running.pipeline().clone();
    let src = elements::make("rtspsrc")?;
    src.set_property("location", url);
    src.set_property("latency", options.latency_ms);
    // A consumer slower than the camera must not make the jitter buffer
    // grow without bound: late packets are dropped instead.
    src.set_property("drop-on-latency", true);
    src.set_property_from_str("protocols", options.transport.protocols());
    src.set_property(
        "tcp-timeout",
        options.connect_timeout.as_micros().min(u64::MAX as u128) as u64,
    );
    pipeline.add(&src).map_err(|e| SourceError::Gstreamer {
        name: redacted.to_string(),
        message: e.to_string(),
    })?;
    let linked = Arc::new(AtomicBool::new(false));
    let weak = pipeline.downgrade();
    let pad_sender = sender.clone();
    let pad_linked = linked.clone();
    src.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else {
            return;
        };
        if let Err(e) = on_pad_added(&pipeline, pad, &pad_sender, &pad_linked) {
            pad_sender.error(e);
        }
    });
    src.connect_no_more_pads(move |_| {
        if !linked.load(Ordering::SeqCst) {
            sender.error(SourceError::NoVideoStream {
                name: sender.name().to_string(),
            });
        }
    });
    running.play(redacted, None, false)?;
    Ok(running)
}

/// The depayloader and the caps it produces for an RTP encoding name.
fn depayloader_for(encoding: &str) -> Option<(&'static str, &'static str)> {
    let codec = savant_sdk_gst::Codec::from_rtp_encoding(encoding)?;
    Some((codec.depayloader()?, codec.media_type()))
}

fn on_pad_added(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    sender: &EventSender,
    linked: &AtomicBool,
) -> Result<(), SourceError> {
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let structure = caps.structure(0);
    let field = |name: &str| {
        structure
            .and_then(|s| s.get::<String>(name).ok())
            .unwrap_or_default()
    };
    if field("media") != "video" || linked.load(Ordering::SeqCst) {
        bridge::attach_fakesink(pipeline, pad);
        return Ok(());
    }
    let encoding = field("encoding-name");
    let Some((depay_name, media_type)) = depayloader_for(&encoding) else {
        bridge::attach_fakesink(pipeline, pad);
        return Err(SourceError::UnsupportedCodec {
            name: sender.name().to_string(),
            codec: format!("RTP {encoding}"),
        });
    };
    linked.store(true, Ordering::SeqCst);
    let gst_err = |message: String| SourceError::Gstreamer {
        name: sender.name().to_string(),
        message,
    };
    let depay = elements::make(depay_name)?;
    pipeline
        .add(&depay)
        .map_err(|e| gst_err(format!("cannot add {depay_name}: {e}")))?;
    let depay_src = depay
        .static_pad("src")
        .expect("depayloaders have a src pad");
    let settings = LIVE;
    bridge::attach_video_branch(
        pipeline,
        &depay_src,
        &gst::Caps::new_empty_simple(media_type),
        sender,
        settings,
    )?;
    depay
        .sync_state_with_parent()
        .map_err(|e| gst_err(format!("cannot start {depay_name}: {e}")))?;
    let depay_sink = depay
        .static_pad("sink")
        .expect("depayloaders have a sink pad");
    pad.link(&depay_sink)
        .map_err(|e| gst_err(format!("cannot link {depay_name}: {e:?}")))?;
    Ok(())
}

/// The host and port of an RTSP URL (port 554, or 322 for `rtsps`).
pub(crate) fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let default_port = if scheme.eq_ignore_ascii_case("rtsps") {
        322
    } else {
        554
    };
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        match after.strip_prefix(':') {
            Some(p) => (host, p.parse().ok()?),
            None if after.is_empty() => (host, default_port),
            None => return None,
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (host_port, default_port),
        }
    };
    (!host.is_empty()).then(|| (host.to_string(), port))
}

/// `element: error (debug)` from the bridge, as `error: last line of debug`.
fn short_gst_message(message: &str) -> String {
    let body = message
        .split_once(": ")
        .filter(|(element, _)| !element.contains(' '))
        .map_or(message, |(_, body)| body);
    match body.split_once(" (") {
        Some((error, debug)) => {
            let debug = debug.strip_suffix(')').unwrap_or(debug);
            let last = debug.rsplit('\n').next().unwrap_or(debug).trim();
            if last.is_empty() || last == error {
                error.to_string()
            } else {
                format!("{}: {last}", error.trim_end_matches('.'))
            }
        }
        None => body.to_string(),
    }
}

/// `text` with the URL's credentials removed, however they appear.
fn scrub(text: &str, url: &str, redacted: &str) -> String {
    let mut out = text.replace(url, redacted);
    if let Some((_, rest)) = url.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            let password = userinfo.split_once(':').map(|(_, p)| p).unwrap_or("");
            let decoded = percent_decode(password);
            for secret in [userinfo, password, decoded.as_str()] {
                if !secret.is_empty() {
                    out = out.replace(secret, "***");
                }
            }
        }
    }
    for secret in elements::query_secrets(url) {
        out = out.replace(secret, "***");
        let decoded = percent_decode(secret);
        if !decoded.is_empty() {
            out = out.replace(&decoded, "***");
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port() {
        assert_eq!(
            host_port("rtsp://u:p@cam.local:8554/live"),
            Some(("cam.local".into(), 8554))
        );
        assert_eq!(
            host_port("rtsp://10.0.0.5/live"),
            Some(("10.0.0.5".into(), 554))
        );
        assert_eq!(host_port("rtsp://[::1]:9000/x"), Some(("::1".into(), 9000)));
        assert_eq!(host_port("rtsps://h"), Some(("h".into(), 322)));
        assert_eq!(host_port("rtsp:///x"), None);
        assert_eq!(host_port("rtsp://h:port/x"), None);
    }

    #[test]
    fn short_messages() {
        assert_eq!(short_gst_message("rtspsrc0: Not Found"), "Not Found");
        assert_eq!(
            short_gst_message(
                "rtspsrc0: Could not open resource for reading and writing. (../gst/rtsp/gstrtspsrc.c(8336): gst_rtspsrc_retrieve_sdp (): /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0:\nFailed to connect. (Generic error))"
            ),
            "Could not open resource for reading and writing: Failed to connect. (Generic error)"
        );
    }

    #[test]
    fn credentials_scrubbed() {
        let url = "rtsp://admin:s%40cret@10.0.0.5/live";
        let text = format!("{url} said no to admin:s%40cret and s@cret");
        let out = scrub(&text, url, &redact_url(url));
        assert!(!out.contains("cret"), "{out}");
        assert!(out.contains("rtsp://***@10.0.0.5/live"), "{out}");
    }

    #[test]
    fn settings_checked() {
        let bad = [
            RtspSource::builder("a", "http://h/x"),
            RtspSource::builder("a", "rtsp://"),
            RtspSource::builder("a", "rtsp://h/x").attempts(0),
            RtspSource::builder("a", "rtsp://h/x").silence_timeout(Duration::ZERO),
            RtspSource::builder("a", "rtsp://h/x")
                .backoff(Duration::from_secs(2), Duration::from_secs(1)),
        ];
        for b in bad {
            let shown = format!("{b:?}");
            assert!(
                matches!(b.build(), Err(SourceError::InvalidSetting(_))),
                "{shown}"
            );
        }
        let debug = format!("{:?}", RtspSource::builder("a", "rtsp://u:pw@h/x"));
        assert!(!debug.contains("pw"), "{debug}");
    }
}
