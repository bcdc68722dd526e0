//! # savant-sdk-loopback
//!
//! The embedded loopback module: a pass-through Savant module in-process,
//! so the SDK can be used and tested without a Savant installation. It is
//! a crate of its own so that code that only sends or receives frames does
//! not compile it.
//!
//! It reads from an input socket and forwards every message unchanged
//! (same topic, same bytes, same extra parts; EOS is acknowledged upstream
//! and forwarded downstream), optionally marking frames (single frames and
//! the frames of batches) with an attribute, and can serve a Savant-style
//! health endpoint (`/healthcheck` as plain text, `/status` as a JSON
//! string).
//!
//! Protocol versions: the input accepts every known generation by default
//! ([`LoopbackConfig::version_policy`] narrows it). A marked message is
//! re-encoded, in the version it came with unless
//! [`LoopbackConfig::protocol_version`] names another; everything else is
//! forwarded as the bytes that came, version and all.
//!
//! ```no_run
//! use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
//! let module = LoopbackModule::start(
//!     LoopbackConfig::new("router+bind:ipc:///tmp/loopback/in.ipc", "dealer+connect:ipc:///tmp/loopback/out.ipc")
//!         .mark("loopback", "seen")
//!         .healthcheck_port(8888),
//! )?;
//! // ... send to in.ipc, receive from out.ipc ...
//! let stats = module.stop()?;
//! println!("forwarded {}", stats.forwarded);
//! # Ok::<(), savant_sdk_core::Error>(())
//! ```
#![warn(missing_docs)]

pub mod health_server;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::health_server::HealthServer;
use savant_sdk_core::codec::{encode_message, encode_message_as, VersionPolicy};
use savant_sdk_core::error::{Error, Result};
use savant_sdk_core::model::{
    Attribute, AttributeValue, EndOfStream, Message, MessagePayload, VideoFrame,
};
use savant_sdk_core::protocol::ProtocolVersion;
use savant_sdk_core::transport::{
    BlockingReader, BlockingWriter, ReaderConfig, ReaderResult, ReaderStats, WriterConfig,
};

/// Settings of the loopback module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopbackConfig {
    input: String,
    output: String,
    mark: Option<(String, String)>,
    healthcheck: Option<SocketAddr>,
    spin: Duration,
    protocol_version: Option<ProtocolVersion>,
    accept: VersionPolicy,
    shutdown_auth: Option<String>,
}

impl LoopbackConfig {
    /// Reads from `input` (reader spec, e.g. `router+bind:...`) and writes
    /// to `output` (writer spec, e.g. `pub+bind:...` as a Savant module
    /// does, or `dealer+connect:...`).
    pub fn new(input: impl Into<String>, output: impl Into<String>) -> Self {
        Self {
            input: input.into(),
            output: output.into(),
            mark: None,
            healthcheck: None,
            spin: Duration::from_micros(200),
            protocol_version: None,
            accept: VersionPolicy::Known,
            shutdown_auth: None,
        }
    }

    /// Obeys a `Shutdown` whose `auth` is exactly `auth`, as a Savant
    /// module obeys its `shutdown_auth`: it sends an EOS downstream for
    /// every source still open, stops forwarding and reports
    /// [`LoopbackHandle::shutdown_requested`]. A `Shutdown` with any other
    /// auth is logged (once per auth value) and dropped. Without this
    /// setting shutdowns are forwarded like any other message and never
    /// acted on.
    pub fn shutdown_auth(mut self, auth: impl Into<String>) -> Self {
        self.shutdown_auth = Some(auth.into());
        self
    }

    /// The protocol version of the messages the module re-encodes (the
    /// marked ones); default: the version each came with. Messages
    /// forwarded unmarked keep their bytes, version included. A savant-rs
    /// 1.x or 2.x reader downstream drops any version but its own.
    pub fn protocol_version(mut self, version: ProtocolVersion) -> Self {
        self.protocol_version = Some(version);
        self
    }

    /// Which protocol versions the input accepts (default
    /// [`VersionPolicy::Known`], every known generation). Others are
    /// dropped as malformed, without an acknowledgement, as a savant-rs
    /// 1.x module does.
    pub fn version_policy(mut self, policy: VersionPolicy) -> Self {
        self.accept = policy;
        self
    }

    /// How long to keep polling without sleeping after a message (default
    /// 200 us; zero turns it off). Saves a thread wake-up per message when
    /// messages follow each other closely, for at most this much CPU time
    /// per message.
    pub fn spin(mut self, spin: Duration) -> Self {
        self.spin = spin;
        self
    }

    /// Adds the persistent frame attribute `namespace/name` (string value
    /// `"loopback"`) to every forwarded frame, the frames inside batches
    /// included.
    pub fn mark(mut self, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        self.mark = Some((namespace.into(), name.into()));
        self
    }

    /// Serves `GET /healthcheck` and `GET /status` on 127.0.0.1 at `port`
    /// (only this machine can reach it; [`LoopbackConfig::healthcheck_addr`]
    /// binds elsewhere, e.g. `0.0.0.0:8888` for a container).
    pub fn healthcheck_port(self, port: u16) -> Self {
        self.healthcheck_addr(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// Serves `GET /healthcheck` and `GET /status` at `addr`.
    pub fn healthcheck_addr(mut self, addr: SocketAddr) -> Self {
        self.healthcheck = Some(addr);
        self
    }
}

/// What the module did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopbackStats {
    /// Messages forwarded downstream.
    pub forwarded: u64,
    /// Messages that could not be sent downstream (logged and dropped).
    pub dropped: u64,
    /// The input reader's counters (filtered and malformed input).
    pub input: ReaderStats,
}

/// Starts [`LoopbackModule`]s.
#[derive(Debug)]
pub struct LoopbackModule;

impl LoopbackModule {
    /// Opens both sockets and starts forwarding on a thread of its own.
    pub fn start(config: LoopbackConfig) -> Result<LoopbackHandle> {
        let health = config
            .healthcheck
            .map(|addr| HealthServer::start(addr, "starting"))
            .transpose()?;
        let mut reader = BlockingReader::new(
            ReaderConfig::builder(&config.input)?
                .receive_timeout(Duration::from_millis(100))
                .version_policy(config.accept.clone())
                .build()?,
        )?;
        let mut writer_config = WriterConfig::builder(&config.output)?.assign_seq_ids(false);
        if let Some(v) = &config.protocol_version {
            writer_config = writer_config.protocol_version(v.clone());
        }
        let mut writer = BlockingWriter::new(writer_config.build()?)?;
        let version = config.protocol_version.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let forwarded = Arc::new(AtomicU64::new(0));
        let dropped = Arc::new(AtomicU64::new(0));
        let (s, f, d) = (stop.clone(), forwarded.clone(), dropped.clone());
        let mark = config.mark.clone();
        let spin = config.spin;
        let shutdown_auth = config.shutdown_auth.clone();
        let shutdown = Arc::new(AtomicBool::new(false));
        let shutdown_flag = shutdown.clone();
        let thread = std::thread::Builder::new()
            .name("savant-loopback".into())
            .spawn(move || -> Result<ReaderStats> {
                let mut last = Instant::now();
                // streams with frames and no EOS yet (for a shutdown)
                let mut open: HashMap<Bytes, OpenStream> = HashMap::new();
                let mut refused_auths: HashSet<String> = HashSet::new();
                while !s.load(Ordering::Relaxed) {
                    // Right after a message, poll without sleeping for a
                    // short while: the next one usually follows, and a
                    // thread that never went to sleep needs no wake-up.
                    let spinning = last.elapsed() < spin;
                    let result = if spinning {
                        reader.try_receive()?
                    } else {
                        reader.receive()?
                    };
                    let m = match result {
                        ReaderResult::Message(m) => m,
                        ReaderResult::Timeout if spinning => {
                            std::thread::yield_now();
                            continue;
                        }
                        _ => continue,
                    };
                    let is_eos = m.message.is_end_of_stream();
                    if let (Some(auth), MessagePayload::Shutdown(sd)) =
                        (&shutdown_auth, &m.message.payload)
                    {
                        if &sd.auth == auth {
                            tracing::info!(open = open.len(), "shutdown with the right auth: ending open streams and stopping");
                            for (topic, stream) in open.drain() {
                                let sent = stream
                                    .end_of_stream(version.as_ref())
                                    .and_then(|eos| writer.send_raw(&topic, &eos, &[], true));
                                match sent {
                                    Ok(_) => f.fetch_add(1, Ordering::Relaxed),
                                    Err(e) => {
                                        tracing::warn!(source_id = %stream.source_id, error = %e, "could not forward the EOS of an open stream");
                                        d.fetch_add(1, Ordering::Relaxed)
                                    }
                                };
                            }
                            shutdown_flag.store(true, Ordering::Relaxed);
                            break;
                        }
                        if refused_auths.len() < 64 && refused_auths.insert(sd.auth.clone()) {
                            tracing::warn!(topic = %String::from_utf8_lossy(&m.topic), "ignoring a shutdown whose auth does not match (logged once per auth value)");
                        }
                        continue;
                    }
                    if m.message.is_end_of_stream() {
                        open.remove(&m.topic);
                    } else if let Some(source_id) = m.message.source_id() {
                        match open.get_mut(&m.topic) {
                            Some(stream) => stream.seq_id = m.message.seq_id,
                            None => {
                                open.insert(m.topic.clone(), OpenStream::of(&m.message, source_id));
                            }
                        }
                    }
                    let marked = match &mark {
                        Some((ns, name)) => marked(m.message, ns, name, version.as_ref()),
                        None => None,
                    };
                    let sent = match marked {
                        Some(Ok(bytes)) => writer.send_raw(&m.topic, &bytes, &m.extra, is_eos),
                        Some(Err(e)) => Err(e),
                        None => writer.send_raw(&m.topic, &m.raw_message, &m.extra, is_eos),
                    };
                    last = Instant::now();
                    match sent {
                        Ok(_) => {
                            f.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            d.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(topic = %String::from_utf8_lossy(&m.topic), error = %e, "loopback could not forward a message");
                        }
                    }
                }
                Ok(reader.stats())
            })
            .map_err(|e| Error::Config(format!("cannot start loopback thread: {e}")))?;
        if let Some(h) = &health {
            h.set_status("running");
        }
        Ok(LoopbackHandle {
            stop,
            shutdown,
            forwarded,
            dropped,
            thread: Some(thread),
            health,
        })
    }
}

/// A stream that has sent frames or user data and no EOS yet: what its
/// EOS needs to be read by the same reader (the version it came in, its
/// writer's system id, the next seq id).
#[derive(Debug)]
struct OpenStream {
    source_id: String,
    version: String,
    system_id: String,
    seq_id: u64,
}

impl OpenStream {
    fn of(message: &Message, source_id: &str) -> Self {
        Self {
            source_id: source_id.to_string(),
            version: message.protocol_version.clone(),
            system_id: message.system_id.clone(),
            seq_id: message.seq_id,
        }
    }

    /// The stream's EOS, in `version` or the version it came in.
    fn end_of_stream(&self, version: Option<&ProtocolVersion>) -> Result<Bytes> {
        let own;
        let version = match version {
            Some(v) => v,
            None => {
                own = ProtocolVersion::parse(&self.version)
                    .unwrap_or_else(|_| ProtocolVersion::default());
                &own
            }
        };
        let eos = Message::end_of_stream(EndOfStream::new(&self.source_id));
        Ok(encode_message_as(
            &eos,
            version,
            self.seq_id + 1,
            &self.system_id,
        )?)
    }
}

/// Marks `frame` with `namespace/name` = `"loopback"` (replacing one it had).
fn mark_frame(frame: &mut VideoFrame, namespace: &str, name: &str) {
    frame.attributes.retain(|a| a.key() != (namespace, name));
    frame.attributes.push(Attribute::persistent(
        namespace.to_string(),
        name.to_string(),
        vec![AttributeValue::string("loopback")],
    ));
}

/// A frame or batch marked and re-encoded, in `version` or the version it
/// came with (its own seq id and system id kept); `None` for messages that
/// are forwarded as they came (other kinds, and a version of no known
/// generation, which only [`VersionPolicy::Any`] lets in).
fn marked(
    mut message: Message,
    namespace: &str,
    name: &str,
    version: Option<&ProtocolVersion>,
) -> Option<Result<Bytes>> {
    match &mut message.payload {
        MessagePayload::VideoFrame(frame) => mark_frame(frame, namespace, name),
        MessagePayload::VideoFrameBatch(batch) => {
            for frame in batch.frames.values_mut() {
                mark_frame(frame, namespace, name);
            }
        }
        _ => return None,
    }
    let encoded = match version {
        Some(v) => encode_message_as(&message, v, message.seq_id, &message.system_id),
        // in the version it came with, its own seq id and system id; one of
        // no known generation is forwarded as it came
        None => {
            message.generation()?;
            encode_message(&message)
        }
    };
    Some(encoded.map_err(Error::from))
}

/// A running loopback module. Dropping it stops the module.
#[derive(Debug)]
pub struct LoopbackHandle {
    stop: Arc<AtomicBool>,
    shutdown: Arc<AtomicBool>,
    forwarded: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
    thread: Option<JoinHandle<Result<ReaderStats>>>,
    health: Option<HealthServer>,
}

impl LoopbackHandle {
    /// The health endpoint's URL (`.../healthcheck`, plain text), if one
    /// is served.
    pub fn health_url(&self) -> Option<String> {
        self.health.as_ref().map(HealthServer::url)
    }

    /// The status endpoint's URL (`.../status`, a JSON string), if one is
    /// served.
    pub fn status_url(&self) -> Option<String> {
        self.health.as_ref().map(HealthServer::status_url)
    }

    /// Whether a `Shutdown` with the configured auth stopped the module
    /// (see [`LoopbackConfig::shutdown_auth`]).
    pub fn shutdown_requested(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed)
    }

    /// Messages forwarded so far.
    pub fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed)
    }

    /// Stops forwarding (within about 100 ms), closes the sockets and
    /// returns what the module did.
    pub fn stop(mut self) -> Result<LoopbackStats> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<LoopbackStats> {
        if let Some(h) = &self.health {
            h.set_status("stopping");
        }
        self.stop.store(true, Ordering::Relaxed);
        let input = match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| Error::Config("loopback thread panicked".into()))??,
            None => ReaderStats::default(),
        };
        if let Some(h) = &self.health {
            h.set_status("stopped");
        }
        Ok(LoopbackStats {
            forwarded: self.forwarded(),
            dropped: self.dropped.load(Ordering::Relaxed),
            input,
        })
    }
}

impl Drop for LoopbackHandle {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use savant_sdk_core::model::{FrameContent, VideoFrameBatch};
    use savant_sdk_core::transport::Received;

    fn frame(source: &str, pts: i64) -> VideoFrame {
        VideoFrame::builder(source)
            .codec("jpeg")
            .pts(pts)
            .content(FrameContent::Internal(Bytes::from_static(b"jpeg")))
            .build()
    }

    fn next(reader: &mut BlockingReader) -> Received {
        for _ in 0..100 {
            if let ReaderResult::Message(m) = reader.receive().unwrap() {
                return m;
            }
        }
        panic!("nothing arrived");
    }

    fn is_marked(f: &VideoFrame) -> bool {
        f.attribute("lb", "seen").is_some()
    }

    /// Frames, a batch and EOS through a module with `config`; what
    /// arrives downstream.
    fn through(
        dir: &std::path::Path,
        writer_version: &str,
        config: impl FnOnce(LoopbackConfig) -> LoopbackConfig,
    ) -> Vec<Received> {
        let (input, output) = (
            format!("ipc://{}/in.ipc", dir.display()),
            format!("ipc://{}/out.ipc", dir.display()),
        );
        let mut out = BlockingReader::new(
            ReaderConfig::builder(&format!("router+bind:{output}"))
                .unwrap()
                .receive_timeout(Duration::from_millis(100))
                .build()
                .unwrap(),
        )
        .unwrap();
        let module = LoopbackModule::start(config(LoopbackConfig::new(
            format!("router+bind:{input}"),
            format!("dealer+connect:{output}"),
        )))
        .unwrap();
        let mut writer = BlockingWriter::new(
            WriterConfig::builder(&format!("dealer+connect:{input}"))
                .unwrap()
                .protocol_version(writer_version.parse().unwrap())
                .build()
                .unwrap(),
        )
        .unwrap();
        let batch = VideoFrameBatch::new()
            .with_frame(0, frame("a", 1))
            .with_frame(1, frame("b", 2));
        writer
            .send_message("a", &Message::video_frame(frame("a", 0)), &[])
            .unwrap();
        writer
            .send_message("batch", &Message::video_frame_batch(batch), &[])
            .unwrap();
        writer.send_eos("a").unwrap(); // acknowledged by the module
        let got: Vec<Received> = (0..3).map(|_| next(&mut out)).collect();
        drop(writer);
        let stats = module.stop().unwrap();
        assert_eq!(stats.forwarded, 3);
        got
    }

    #[test]
    fn mark_reaches_frames_and_the_frames_of_batches() {
        let dir = tempfile::tempdir().unwrap();
        let got = through(dir.path(), "1.15.0", |c| c.mark("lb", "seen"));
        assert!(got[0].message.as_video_frame().is_some_and(is_marked));
        let MessagePayload::VideoFrameBatch(batch) = &got[1].message.payload else {
            panic!("{:?}", got[1].message.kind());
        };
        assert_eq!(batch.frames.len(), 2);
        assert!(batch.frames.values().all(is_marked), "{batch:?}");
        assert_eq!(&got[1].topic[..], b"batch");
        assert!(got[2].message.is_end_of_stream());
        // re-encoded in the version they came with
        assert!(got.iter().all(|r| r.message.protocol_version == "1.15.0"));
        // without --mark nothing is marked
        let dir = tempfile::tempdir().unwrap();
        let got = through(dir.path(), "1.15.0", |c| c);
        assert!(!got[0].message.as_video_frame().is_some_and(is_marked));
    }

    #[test]
    fn marked_messages_take_the_configured_version_and_raw_ones_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let got = through(dir.path(), "0.2.0", |c| c.mark("lb", "seen"));
        let versions: Vec<&str> = got
            .iter()
            .map(|r| r.message.protocol_version.as_str())
            .collect();
        assert_eq!(versions, ["0.2.0", "0.2.0", "0.2.0"]);
        let dir = tempfile::tempdir().unwrap();
        let got = through(dir.path(), "1.15.0", |c| {
            c.mark("lb", "seen")
                .protocol_version("1.15.1".parse().unwrap())
        });
        let versions: Vec<&str> = got
            .iter()
            .map(|r| r.message.protocol_version.as_str())
            .collect();
        // the EOS is forwarded as it came
        assert_eq!(versions, ["1.15.1", "1.15.1", "1.15.0"]);
        assert!(got[0].message.as_video_frame().is_some_and(is_marked));
    }

    #[test]
    fn the_input_can_require_one_version() {
        let dir = tempfile::tempdir().unwrap();
        let input = format!("ipc://{}/in.ipc", dir.path().display());
        let module = LoopbackModule::start(
            LoopbackConfig::new(
                format!("router+bind:{input}"),
                format!("dealer+connect:ipc://{}/out.ipc", dir.path().display()),
            )
            .version_policy(VersionPolicy::Exact("1.15.1".into())),
        )
        .unwrap();
        let writer = |v: &str| {
            BlockingWriter::new(
                WriterConfig::builder(&format!("dealer+connect:{input}"))
                    .unwrap()
                    .protocol_version(v.parse().unwrap())
                    .ack_timeout(Duration::from_millis(300))
                    .ack_retries(0)
                    .build()
                    .unwrap(),
            )
            .unwrap()
        };
        let e = writer("1.15.0").send_eos("x").unwrap_err();
        assert!(
            matches!(e, Error::AckTimeout { ref protocol_version, .. } if protocol_version == "1.15.0"),
            "{e}"
        );
        let stats = module.stop().unwrap();
        assert_eq!(stats.input.version_refused, 1);
        assert_eq!(stats.input.malformed(), 0);
    }

    #[test]
    fn a_shutdown_with_the_right_auth_ends_open_streams_and_stops_the_module() {
        let dir = tempfile::tempdir().unwrap();
        let (input, output) = (
            format!("ipc://{}/in.ipc", dir.path().display()),
            format!("ipc://{}/out.ipc", dir.path().display()),
        );
        let mut out = BlockingReader::new(
            ReaderConfig::builder(&format!("router+bind:{output}"))
                .unwrap()
                .receive_timeout(Duration::from_millis(100))
                .build()
                .unwrap(),
        )
        .unwrap();
        let module = LoopbackModule::start(
            LoopbackConfig::new(
                format!("router+bind:{input}"),
                format!("dealer+connect:{output}"),
            )
            .shutdown_auth("secret"),
        )
        .unwrap();
        let mut writer = BlockingWriter::new(
            WriterConfig::builder(&format!("dealer+connect:{input}"))
                .unwrap()
                .build()
                .unwrap(),
        )
        .unwrap();
        for source in ["a", "b"] {
            writer
                .send_message(source, &Message::video_frame(frame(source, 0)), &[])
                .unwrap();
        }
        writer.send_eos("b").unwrap();
        // the wrong auth is ignored: the module keeps forwarding
        writer.send_shutdown("control", "wrong").unwrap();
        writer
            .send_message("a", &Message::video_frame(frame("a", 1)), &[])
            .unwrap();
        let got: Vec<Received> = (0..4).map(|_| next(&mut out)).collect();
        assert_eq!(
            got.iter()
                .map(|r| (r.topic_str().into_owned(), r.message.kind()))
                .collect::<Vec<_>>(),
            [("a", "frame"), ("b", "frame"), ("b", "eos"), ("a", "frame")]
                .map(|(t, k)| (t.to_string(), k))
        );
        assert!(!module.shutdown_requested());
        // the right auth: EOS for the open stream "a", then the module stops
        writer.send_shutdown("control", "secret").unwrap();
        let eos = next(&mut out);
        assert!(eos.message.is_end_of_stream(), "{:?}", eos.message.kind());
        assert_eq!(&eos.topic[..], b"a");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !module.shutdown_requested() {
            assert!(Instant::now() < deadline, "the module did not stop");
            std::thread::sleep(Duration::from_millis(10));
        }
        // nothing more is forwarded
        writer
            .send_message("a", &Message::video_frame(frame("a", 2)), &[])
            .unwrap();
        for _ in 0..5 {
            assert!(
                !matches!(out.receive().unwrap(), ReaderResult::Message(_)),
                "forwarded after the shutdown"
            );
        }
        module.stop().unwrap();
    }
}
