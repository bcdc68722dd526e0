//! Reader and writer settings, with savant-rs's defaults.

use std::time::Duration;

use crate::codec::{DecodeOptions, VersionPolicy};
use crate::error::{Error, Result};
use crate::protocol::ProtocolVersion;
use crate::transport::socket_spec::{Role, SocketSpec};

/// Which topics a reader delivers. EOS always passes, as in savant-rs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TopicFilter {
    /// Everything.
    #[default]
    All,
    /// Only this exact source id.
    SourceId(String),
    /// Only source ids starting with this prefix.
    Prefix(String),
}

impl TopicFilter {
    /// Whether `topic` passes.
    pub fn matches(&self, topic: &[u8]) -> bool {
        match self {
            TopicFilter::All => true,
            TopicFilter::SourceId(s) => topic == s.as_bytes(),
            TopicFilter::Prefix(p) => topic.starts_with(p.as_bytes()),
        }
    }

    /// The SUB subscription: every topic, whatever the filter, since the
    /// EOS of other source ids passes it (a subscription by topic would
    /// drop them in ZeroMQ); [`TopicFilter::matches`] filters the rest.
    pub(crate) fn subscription(&self) -> &[u8] {
        b""
    }
}

/// Settings shared by readers and writers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Common {
    pub spec: SocketSpec,
    pub receive_hwm: i32,
    pub linger: Duration,
    pub ipc_permissions: Option<u32>,
}

impl Common {
    fn new(spec: SocketSpec) -> Self {
        Self {
            spec,
            receive_hwm: 50,
            linger: Duration::from_millis(100),
            ipc_permissions: Some(0o777),
        }
    }
}

fn millis(d: Duration, what: &str) -> Result<i32> {
    i32::try_from(d.as_millis()).map_err(|_| Error::Config(format!("{what} of {d:?} is too long")))
}

/// Writer settings. Build with [`WriterConfig::builder`].
///
/// ```
/// use std::time::Duration;
/// use savant_sdk_core::transport::WriterConfig;
/// let config = WriterConfig::builder("dealer+connect:ipc:///tmp/savant/in.ipc")?
///     .send_timeout(Duration::from_secs(1))
///     .send_retries(5)
///     .build()?;
/// assert_eq!(config.send_hwm(), 50);
/// # Ok::<(), savant_sdk_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterConfig {
    pub(crate) common: Common,
    pub(crate) protocol_version: ProtocolVersion,
    pub(crate) send_hwm: i32,
    pub(crate) send_timeout: Duration,
    pub(crate) send_retries: u32,
    pub(crate) ack_timeout: Duration,
    pub(crate) ack_retries: u32,
    pub(crate) resend_unacknowledged: bool,
    pub(crate) assign_seq_ids: bool,
}

impl WriterConfig {
    /// Starts from `spec` (Savant syntax; defaults to `dealer+bind`).
    pub fn builder(spec: &str) -> Result<WriterConfigBuilder> {
        Ok(Self::from_spec(SocketSpec::parse_writer(spec)?))
    }

    /// Starts from a parsed spec.
    pub fn from_spec(spec: SocketSpec) -> WriterConfigBuilder {
        WriterConfigBuilder {
            config: WriterConfig {
                common: Common::new(spec),
                protocol_version: ProtocolVersion::default(),
                send_hwm: 50,
                send_timeout: Duration::from_millis(5000),
                send_retries: 3,
                ack_timeout: Duration::from_millis(5000),
                ack_retries: 3,
                resend_unacknowledged: true,
                assign_seq_ids: true,
            },
        }
    }

    /// The socket spec.
    pub fn spec(&self) -> &SocketSpec {
        &self.common.spec
    }
    /// The protocol version every message is stamped with.
    pub fn protocol_version(&self) -> &ProtocolVersion {
        &self.protocol_version
    }
    /// Send high-water mark.
    pub fn send_hwm(&self) -> i32 {
        self.send_hwm
    }
    /// Timeout of one send attempt.
    pub fn send_timeout(&self) -> Duration {
        self.send_timeout
    }
    /// Timeout of one wait for an acknowledgement.
    pub fn ack_timeout(&self) -> Duration {
        self.ack_timeout
    }
}

/// Builder for [`WriterConfig`].
#[derive(Debug, Clone)]
pub struct WriterConfigBuilder {
    config: WriterConfig,
}

impl WriterConfigBuilder {
    /// The protocol version stamped on every message, which also picks the
    /// wire layout (default [`ProtocolVersion::default`], `"1.15.0"`, what
    /// Savant 0.6.1 accepts). A savant-rs 1.x or 2.x module drops any other
    /// version without acknowledging it: see [`crate::protocol`].
    pub fn protocol_version(mut self, version: ProtocolVersion) -> Self {
        self.config.protocol_version = version;
        self
    }
    /// Messages queued per peer before sends block (default 50).
    pub fn send_hwm(mut self, hwm: i32) -> Self {
        self.config.send_hwm = hwm;
        self
    }
    /// Replies queued (default 50).
    pub fn receive_hwm(mut self, hwm: i32) -> Self {
        self.config.common.receive_hwm = hwm;
        self
    }
    /// How long one send attempt may block (default 5 s).
    pub fn send_timeout(mut self, t: Duration) -> Self {
        self.config.send_timeout = t;
        self
    }
    /// Extra send attempts after a timeout (default 3).
    pub fn send_retries(mut self, n: u32) -> Self {
        self.config.send_retries = n;
        self
    }
    /// How long one wait for `OK` may take (default 5 s).
    pub fn ack_timeout(mut self, t: Duration) -> Self {
        self.config.ack_timeout = t;
        self
    }
    /// Extra waits for `OK` after a timeout (default 3).
    pub fn ack_retries(mut self, n: u32) -> Self {
        self.config.ack_retries = n;
        self
    }
    /// Whether a req sends a message again when a wait for its `OK` times
    /// out (default true; up to `ack_retries` times). The module may have
    /// restarted and lost it; a module that was only slow gets it twice
    /// (at-least-once). Resends are counted in
    /// [`WriteOutcome::Acknowledged`](crate::transport::WriteOutcome). Off,
    /// a req only waits again, as savant-rs's writer does. Other socket
    /// types never resend.
    pub fn resend_unacknowledged(mut self, on: bool) -> Self {
        self.config.resend_unacknowledged = on;
        self
    }
    /// How long unsent messages are kept when the writer closes (default 100 ms).
    pub fn linger(mut self, t: Duration) -> Self {
        self.config.common.linger = t;
        self
    }
    /// Mode of a bound ipc socket file (default `0o777`; `None` leaves it).
    pub fn ipc_permissions(mut self, mode: Option<u32>) -> Self {
        self.config.common.ipc_permissions = mode;
        self
    }
    /// Whether the writer numbers frames, user data and EOS per source
    /// (default true); turn off to send `seq_id` as given.
    pub fn assign_seq_ids(mut self, on: bool) -> Self {
        self.config.assign_seq_ids = on;
        self
    }
    /// Checks the values and returns the config.
    pub fn build(self) -> Result<WriterConfig> {
        let c = &self.config;
        millis(c.send_timeout, "send timeout")?;
        millis(c.ack_timeout, "ack timeout")?;
        millis(c.common.linger, "linger")?;
        if c.send_hwm < 0 || c.common.receive_hwm < 0 {
            return Err(Error::Config(
                "high-water marks must not be negative".into(),
            ));
        }
        debug_assert_eq!(c.common.spec.socket_type.role(), Role::Writer);
        Ok(self.config)
    }
}

/// Reader settings. Build with [`ReaderConfig::builder`].
///
/// ```
/// use savant_sdk_core::transport::{ReaderConfig, TopicFilter};
/// let config = ReaderConfig::builder("router+bind:tcp://127.0.0.1:5555")?
///     .topic_filter(TopicFilter::Prefix("cam-".into()))
///     .build()?;
/// assert_eq!(config.receive_hwm(), 50);
/// # Ok::<(), savant_sdk_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderConfig {
    pub(crate) common: Common,
    pub(crate) receive_timeout: Duration,
    pub(crate) topic_filter: TopicFilter,
    pub(crate) routing_id_cache: usize,
    pub(crate) decode: DecodeOptions,
    pub(crate) channel_capacity: usize,
    pub(crate) deferred_ack: bool,
}

impl ReaderConfig {
    /// Starts from `spec` (Savant syntax; defaults to `router+bind`).
    pub fn builder(spec: &str) -> Result<ReaderConfigBuilder> {
        Ok(Self::from_spec(SocketSpec::parse_reader(spec)?))
    }

    /// Starts from a parsed spec.
    pub fn from_spec(spec: SocketSpec) -> ReaderConfigBuilder {
        ReaderConfigBuilder {
            config: ReaderConfig {
                common: Common::new(spec),
                receive_timeout: Duration::from_millis(1000),
                topic_filter: TopicFilter::All,
                routing_id_cache: 512,
                decode: DecodeOptions::default(),
                channel_capacity: 64,
                deferred_ack: false,
            },
        }
    }

    /// The socket spec.
    pub fn spec(&self) -> &SocketSpec {
        &self.common.spec
    }
    /// Receive high-water mark.
    pub fn receive_hwm(&self) -> i32 {
        self.common.receive_hwm
    }
    /// The topic filter.
    pub fn topic_filter(&self) -> &TopicFilter {
        &self.topic_filter
    }
    /// Decoding limits.
    pub fn decode_options(&self) -> &DecodeOptions {
        &self.decode
    }
    /// Whether the acknowledgements of delivered messages wait for
    /// [`crate::transport::BlockingReader::acknowledge`].
    pub fn deferred_ack(&self) -> bool {
        self.deferred_ack
    }
}

/// Builder for [`ReaderConfig`].
#[derive(Debug, Clone)]
pub struct ReaderConfigBuilder {
    config: ReaderConfig,
}

impl ReaderConfigBuilder {
    /// Messages queued before the peer is pushed back (default 50).
    pub fn receive_hwm(mut self, hwm: i32) -> Self {
        self.config.common.receive_hwm = hwm;
        self
    }
    /// How long one receive waits before reporting a timeout (default 1 s).
    pub fn receive_timeout(mut self, t: Duration) -> Self {
        self.config.receive_timeout = t;
        self
    }
    /// Which topics to deliver (default all).
    pub fn topic_filter(mut self, f: TopicFilter) -> Self {
        self.config.topic_filter = f;
        self
    }
    /// Routing ids remembered as replaced, per router reader (default 512).
    pub fn routing_id_cache(mut self, n: usize) -> Self {
        self.config.routing_id_cache = n;
        self
    }
    /// Largest message accepted, in bytes, all parts together (default
    /// 128 MiB). libzmq also refuses any single part larger than this
    /// before allocating it.
    pub fn max_message_size(mut self, n: usize) -> Self {
        self.config.decode.max_message_size = n;
        self
    }
    /// Accepted protocol versions (default: every known generation).
    pub fn version_policy(mut self, p: VersionPolicy) -> Self {
        self.config.decode.version = p;
        self
    }
    /// How long unsent replies are kept on close (default 100 ms).
    pub fn linger(mut self, t: Duration) -> Self {
        self.config.common.linger = t;
        self
    }
    /// Mode of a bound ipc socket file (default `0o777`; `None` leaves it).
    pub fn ipc_permissions(mut self, mode: Option<u32>) -> Self {
        self.config.common.ipc_permissions = mode;
        self
    }
    /// Messages buffered between the socket thread and the async consumer
    /// (default 64). When full, the socket thread stops reading and ZeroMQ
    /// pushes back on the writer.
    pub fn channel_capacity(mut self, n: usize) -> Self {
        self.config.channel_capacity = n.max(1);
        self
    }
    /// Defers the acknowledgements of delivered messages (default off):
    /// a rep reader does not reply `OK` to a message it delivers, nor a
    /// router to an EOS, until [`crate::transport::BlockingReader::acknowledge`]
    /// is called, so that the sender's acknowledgement can follow what the
    /// receiver did with the message (a durable write, a forward).
    /// Messages that are not delivered (filtered, malformed, refused) are
    /// still answered at once. A rep reader receives nothing more until it
    /// has acknowledged; the async [`crate::transport::Reader`] does not
    /// support it.
    pub fn deferred_ack(mut self, on: bool) -> Self {
        self.config.deferred_ack = on;
        self
    }
    /// Checks the values and returns the config.
    pub fn build(self) -> Result<ReaderConfig> {
        let c = &self.config;
        millis(c.receive_timeout, "receive timeout")?;
        millis(c.common.linger, "linger")?;
        if c.common.receive_hwm < 0 {
            return Err(Error::Config(
                "high-water marks must not be negative".into(),
            ));
        }
        if c.decode.max_message_size == 0 {
            return Err(Error::Config("max message size must be positive".into()));
        }
        debug_assert_eq!(c.common.spec.socket_type.role(), Role::Reader);
        Ok(self.config)
    }
}

pub(crate) fn ms(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
