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
        let settings = RtspSettings {
            name: format!("rtsp {redacted}"),
            redacted,
            source_id: self.source_id,
            url: self.url,
            pipeline: PipelineOptions {
                transport: self.transport,
                latency_ms: self.latency.as_millis() as u32,
                connect_timeout: self.connect_timeout,
            },
            silence_timeout: self.silence_timeout,
            backoff_initial: self.backoff_initial,
            backoff_max: self.backoff_max,
            attempts: self.attempts,
            reconnect: self.reconnect,
        };
        Ok(RtspSource {
            state: State::Idle {
                attempts: Attempts::first(&settings),
            },
            settings,
            history: History::default(),
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
    settings: RtspSettings,
    state: State,
    history: History,
    /// Items decided but not yet returned by [`Source::next`].
    pending: VecDeque<SourceItem>,
}

impl std::fmt::Debug for RtspSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtspSource")
            .field("source_id", &self.settings.source_id)
            .field("url", &self.settings.redacted)
            .field("connected", &self.state.connected())
            .field("failures", &self.state.failures())
            .finish()
    }
}

/// What an [`RtspSource`] was built with, checked by
/// [`RtspSourceBuilder::build`]; fixed for the source's life.
struct RtspSettings {
    source_id: String,
    /// The URL as given, credentials included: for `rtspsrc` only.
    url: String,
    /// The URL with the credentials replaced by `***`: the only form shown.
    redacted: String,
    /// The source's name, `rtsp <redacted URL>`.
    name: String,
    /// What each pipeline is built with (the connect timeout also bounds
    /// the wait for an attempt's first access unit).
    pipeline: PipelineOptions,
    silence_timeout: Duration,
    backoff_initial: Duration,
    backoff_max: Duration,
    /// Failed attempts in a row allowed before the first connection.
    attempts: u32,
    /// What happens after a connection that worked is lost.
    reconnect: RtspReconnect,
}

impl RtspSettings {
    /// How many failed attempts in a row end a round with
    /// [`SourceError::RtspUnreachable`] (`None`: never): the first
    /// connection's `attempts`, then the reconnect policy's.
    fn attempt_limit(&self, ever_connected: bool) -> Option<u32> {
        if !ever_connected {
            return Some(self.attempts);
        }
        match self.reconnect {
            RtspReconnect::Forever => None,
            RtspReconnect::GiveUpAfter(n) => Some(n),
        }
    }
}

/// What an [`RtspSource`] is doing. Each variant holds the data that is
/// valid in it, and [`Source::next`] moves from one to the next:
///
/// - `Idle` → `Open(Connecting)`: a pipeline starts, in the same round of
///   attempts; `GaveUp` → `Open(Connecting)`: the same, in a new round.
/// - `Backoff` → `Idle`: after the wait.
/// - `Connecting` → `WaitingKeyframe`: the first access unit
///   (`RTSP connected`).
/// - `WaitingKeyframe` → `Streaming`: the first keyframe; delta units
///   before it are dropped.
/// - `Streaming` → `Streaming`: each unit becomes a frame; a change of
///   stream parameters sends an EOS before it.
/// - `Open(Connecting)` ends (error, EOS, connect timeout): a failed
///   attempt, `Backoff` with one more failure and the backoff doubled, or
///   `GaveUp` with [`SourceError::RtspUnreachable`] at the attempt limit.
/// - `Open(WaitingKeyframe | Streaming)` ends (error, EOS, silence): a
///   lost connection, an EOS if frames were sent since the last one, then
///   `Backoff` in a new round.
/// - A fatal error, in any phase: `Idle`, in the same round while
///   connecting, in a new one once connected.
enum State {
    /// No pipeline; the next `next` starts one at once, in this round of
    /// attempts. The first state, and the state after a fatal error.
    Idle { attempts: Attempts },
    /// No pipeline; the next attempt starts after `wait`.
    Backoff { wait: Duration, attempts: Attempts },
    /// The last round's attempts all failed and `next` returned
    /// [`SourceError::RtspUnreachable`]; the next `next` starts a new round.
    GaveUp,
    /// A pipeline is running.
    Open {
        pipeline: RunningPipeline,
        phase: Phase,
    },
}

/// How far an open pipeline has got.
enum Phase {
    /// No access unit yet: the connect timeout applies, and an ending is a
    /// failed attempt of this round.
    Connecting { attempts: Attempts },
    /// Connected (a unit arrived), but no keyframe yet: delta units are
    /// dropped. From here on the silence timeout applies and an ending is
    /// a lost connection.
    WaitingKeyframe,
    /// Frames are being sent.
    Streaming {
        /// The stream parameters of the latest unit.
        params: Arc<StreamParams>,
        /// Added to this connection's timestamps (set by its first frame).
        offset: i64,
    },
}

/// A round of connection attempts: the failures so far and the next wait.
#[derive(Debug, Clone, Copy)]
struct Attempts {
    /// Failed attempts in a row.
    failures: u32,
    /// The wait after the next failed attempt.
    backoff: Duration,
}

/// What survives from one connection to the next.
#[derive(Debug, Default)]
struct History {
    /// When the first frame was sent: the zero of the timestamps.
    epoch: Option<Instant>,
    /// Past the latest pts and dts sent.
    timeline_end: i64,
    /// Frames were sent since the last EOS: a lost connection owes one.
    /// Survives a fatal error, as the consumer's stream does.
    frames_since_eos: bool,
    /// Some pipeline has delivered an access unit: the reconnect policy
    /// applies instead of the first connection's attempts.
    ever_connected: bool,
}

/// Why a connection ended or an attempt failed.
enum Ending {
    /// Retry (after backoff), with this reason.
    Retry(String),
    /// Give up at once.
    Fatal(SourceError),
}

impl Attempts {
    /// A new round: no failures, the initial backoff.
    fn first(settings: &RtspSettings) -> Self {
        Attempts {
            failures: 0,
            backoff: settings.backoff_initial,
        }
    }
}

impl State {
    /// Whether the open pipeline has delivered an access unit.
    fn connected(&self) -> bool {
        matches!(
            self,
            State::Open {
                phase: Phase::WaitingKeyframe | Phase::Streaming { .. },
                ..
            }
        )
    }

    /// Failed attempts in a row so far.
    fn failures(&self) -> u32 {
        match self {
            State::Idle { attempts }
            | State::Backoff { attempts, .. }
            | State::Open {
                phase: Phase::Connecting { attempts },
                ..
            } => attempts.failures,
            State::GaveUp | State::Open { .. } => 0,
        }
    }
}

impl Phase {
    /// How long to wait for the pipeline's next event.
    fn timeout(&self, settings: &RtspSettings) -> Duration {
        match self {
            Phase::Connecting { .. } => settings.pipeline.connect_timeout,
            Phase::WaitingKeyframe | Phase::Streaming { .. } => settings.silence_timeout,
        }
    }

    /// Why [`Phase::timeout`] passing without an event ends the pipeline.
    fn timeout_reason(&self, settings: &RtspSettings) -> String {
        match self {
            Phase::Connecting { .. } => format!(
                "no video within {:?} (connect timeout){}",
                settings.pipeline.connect_timeout,
                if settings.pipeline.transport == RtspTransport::Udp {
                    "; UDP may be blocked, try TCP"
                } else {
                    ""
                }
            ),
            Phase::WaitingKeyframe | Phase::Streaming { .. } => format!(
                "no video for {:?} (silence timeout)",
                settings.silence_timeout
            ),
        }
    }

    /// The round of attempts that goes on if this phase ends with a fatal
    /// error: the current one while connecting, else a new one.
    fn attempts(&self, settings: &RtspSettings) -> Attempts {
        match self {
            Phase::Connecting { attempts } => *attempts,
            Phase::WaitingKeyframe | Phase::Streaming { .. } => Attempts::first(settings),
        }
    }

    /// An access unit arrived: the next phase, and the item to send now
    /// (`pending` gets the one after it, if any).
    fn unit(
        self,
        unit: AccessUnit,
        settings: &RtspSettings,
        history: &mut History,
        pending: &mut VecDeque<SourceItem>,
    ) -> (Phase, Option<SourceItem>) {
        match self {
            Phase::Connecting { .. } => {
                history.ever_connected = true;
                tracing::info!(
                    source_id = %settings.source_id,
                    url = %settings.redacted,
                    "RTSP connected"
                );
                Phase::WaitingKeyframe.unit(unit, settings, history, pending)
            }
            Phase::WaitingKeyframe if !unit.keyframe => (Phase::WaitingKeyframe, None),
            Phase::WaitingKeyframe => {
                let params = unit.params.clone();
                let offset = history.offset_for(&unit);
                let frame = history.frame(offset, unit, settings);
                (
                    Phase::Streaming { params, offset },
                    Some(SourceItem::Frame(frame)),
                )
            }
            Phase::Streaming { params, offset } => {
                let changed = !Arc::ptr_eq(&params, &unit.params) && *params != *unit.params;
                let params = unit.params.clone();
                let frame = history.frame(offset, unit, settings);
                let item = if changed {
                    tracing::info!(
                        source_id = %settings.source_id,
                        url = %settings.redacted,
                        "stream parameters changed: EOS and a new stream"
                    );
                    pending.push_back(SourceItem::Frame(frame));
                    SourceItem::EndOfStream(settings.source_id.clone())
                } else {
                    SourceItem::Frame(frame)
                };
                (Phase::Streaming { params, offset }, Some(item))
            }
        }
    }
}

impl History {
    /// The offset of a connection whose first frame is `unit`: that frame
    /// goes at the wall-clock time since the source's first frame, or at
    /// the end of the timeline if that is later.
    fn offset_for(&mut self, unit: &AccessUnit) -> i64 {
        let raw_pts = unit.pts.or(unit.dts).unwrap_or(0) as i64;
        let raw_first = unit.dts.map(|d| d as i64).unwrap_or(raw_pts);
        let epoch = *self.epoch.get_or_insert_with(Instant::now);
        let now = epoch.elapsed().as_nanos() as i64;
        now.max(self.timeline_end) - raw_first
    }

    /// The frame of `unit`, its timestamps moved by the connection's
    /// `offset`; extends the timeline.
    fn frame(&mut self, offset: i64, unit: AccessUnit, settings: &RtspSettings) -> SourceFrame {
        let raw_pts = unit.pts.or(unit.dts).unwrap_or(0) as i64;
        let pts = offset + raw_pts;
        let dts = unit.dts.map(|d| offset + d as i64);
        let duration = unit.duration.map(|d| d as i64);
        self.timeline_end = self
            .timeline_end
            .max(pts + duration.unwrap_or(1).max(1))
            .max(dts.map(|d| d + 1).unwrap_or(0));
        self.frames_since_eos = true;
        unit.into_frame(settings.source_id.clone(), pts, dts)
    }
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
        &self.settings.redacted
    }

    /// Starts a new pipeline: `Idle` or `GaveUp` to `Open(Connecting)` in
    /// the round `attempts`; the state is left as it is on an error.
    async fn start(&mut self, attempts: Attempts) -> Result<(), SourceError> {
        let url = self.settings.url.clone();
        let redacted = self.settings.redacted.clone();
        let options = self.settings.pipeline;
        let pipeline = tokio::task::spawn_blocking(move || open(&url, &redacted, options))
            .await
            .map_err(|e| SourceError::Gstreamer {
                name: self.settings.redacted.clone(),
                message: format!("pipeline start failed: {e}"),
            })??;
        self.state = State::Open {
            pipeline,
            phase: Phase::Connecting { attempts },
        };
        Ok(())
    }

    /// The open pipeline has ended: stops it and moves to the next state
    /// (`Idle` after a fatal error, `Backoff` to retry, `GaveUp` at the
    /// attempt limit); an error when the source gives up.
    async fn ended(&mut self, ending: Ending) -> Result<(), SourceError> {
        let State::Open { pipeline, phase } = std::mem::replace(&mut self.state, State::GaveUp)
        else {
            unreachable!("only an open pipeline ends");
        };
        // Until the next state is known (and if `next` is cancelled on the
        // way), the next attempt starts at once.
        self.state = State::Idle {
            attempts: phase.attempts(&self.settings),
        };
        // Off the async threads: the teardown can wait on the network.
        let _ = tokio::task::spawn_blocking(move || drop(pipeline)).await;
        let reason = match ending {
            Ending::Fatal(e) => return Err(e),
            Ending::Retry(reason) => reason,
        };
        match phase {
            Phase::WaitingKeyframe | Phase::Streaming { .. } => {
                tracing::warn!(
                    source_id = %self.settings.source_id,
                    url = %self.settings.redacted,
                    "RTSP connection lost ({reason}): reconnecting"
                );
                if self.history.frames_since_eos {
                    self.history.frames_since_eos = false;
                    self.pending
                        .push_back(SourceItem::EndOfStream(self.settings.source_id.clone()));
                }
                let attempts = Attempts::first(&self.settings);
                self.state = State::Backoff {
                    wait: attempts.backoff,
                    attempts,
                };
                Ok(())
            }
            Phase::Connecting { attempts } => {
                let failures = attempts.failures + 1;
                self.state = State::Idle {
                    attempts: Attempts {
                        failures,
                        ..attempts
                    },
                };
                let reason = match self.refused_reason().await {
                    Some(os) => format!("{reason}; TCP connect: {os}"),
                    None => reason,
                };
                let limit = self.settings.attempt_limit(self.history.ever_connected);
                if limit.is_some_and(|n| failures >= n) {
                    self.state = State::GaveUp;
                    return Err(SourceError::RtspUnreachable {
                        url: self.settings.redacted.clone(),
                        attempts: failures,
                        detail: reason,
                    });
                }
                tracing::warn!(
                    source_id = %self.settings.source_id,
                    url = %self.settings.redacted,
                    attempt = failures,
                    "RTSP connection failed ({reason}): retrying in {:?}",
                    attempts.backoff
                );
                self.state = State::Backoff {
                    wait: attempts.backoff,
                    attempts: Attempts {
                        failures,
                        backoff: (attempts.backoff * 2).min(self.settings.backoff_max),
                    },
                };
                Ok(())
            }
        }
    }

    /// The operating system's reason when a TCP connection to the camera
    /// fails (GStreamer only says "Generic error").
    async fn refused_reason(&self) -> Option<String> {
        let (host, port) = host_port(&self.settings.url)?;
        let timeout = self
            .settings
            .pipeline
            .connect_timeout
            .min(Duration::from_secs(2));
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
}

/// A GStreamer error's reason in a line, without credentials.
fn gst_reason(e: &SourceError, settings: &RtspSettings) -> String {
    let text = match e {
        SourceError::Gstreamer { message, .. } => short_gst_message(message),
        other => other.to_string(),
    };
    scrub(&text, &settings.url, &settings.redacted)
}

#[async_trait]
impl Source for RtspSource {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Ok(Some(item));
            }
            let (pipeline, phase) = match &mut self.state {
                State::Idle { attempts } => {
                    let attempts = *attempts;
                    self.start(attempts).await?;
                    continue;
                }
                State::GaveUp => {
                    self.start(Attempts::first(&self.settings)).await?;
                    continue;
                }
                State::Backoff { wait, attempts } => {
                    tokio::time::sleep(*wait).await;
                    self.state = State::Idle {
                        attempts: *attempts,
                    };
                    continue;
                }
                State::Open { pipeline, phase } => (pipeline, phase),
            };
            let timeout = phase.timeout(&self.settings);
            let ending = match tokio::time::timeout(timeout, pipeline.next_event()).await {
                Ok(Some(PipelineEvent::Unit(unit))) => {
                    let current = std::mem::replace(phase, Phase::WaitingKeyframe);
                    let (next, item) =
                        current.unit(unit, &self.settings, &mut self.history, &mut self.pending);
                    *phase = next;
                    match item {
                        Some(item) => return Ok(Some(item)),
                        None => continue,
                    }
                }
                Ok(Some(PipelineEvent::Error(e))) => match e {
                    SourceError::Gstreamer { .. } => Ending::Retry(gst_reason(&e, &self.settings)),
                    fatal => Ending::Fatal(fatal),
                },
                Ok(Some(PipelineEvent::Eos)) => Ending::Retry("the server ended the stream".into()),
                Ok(None) => Ending::Retry("the pipeline stopped".into()),
                Err(_) => Ending::Retry(phase.timeout_reason(&self.settings)),
            };
            self.ended(ending).await?;
        }
    }

    fn name(&self) -> &str {
        &self.settings.name
    }
}

/// What each pipeline is built with.
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
