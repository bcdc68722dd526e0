//! The buffer's settings (what to run), apart from its running state
//! ([`crate::Buffer`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{BufferError, Result};

/// How a buffer runs: its sockets, its store, its limits and its metrics.
/// The defaults follow Savant's buffer adapter (`BUFFER_LEN` 1000,
/// `BUFFER_SERVICE_MESSAGES` 100, `BUFFER_THRESHOLD_PERCENTAGE` 80,
/// `STATS_LOG_INTERVAL` 60 s).
///
/// ```
/// use savant_sdk_buffer::BufferSettings;
/// let settings = BufferSettings::new(
///     "router+bind:ipc:///tmp/savant/buffer-in.ipc",
///     "req+connect:ipc:///tmp/savant/module-in.ipc",
///     "/var/lib/savant/buffer",
/// )
/// .capacity(10_000)
/// .service_reserve(500);
/// assert!(settings.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BufferSettings {
    /// Where messages come in: a reader spec (`router`, `rep` or `sub`).
    pub input: String,
    /// Where they go on to the module: a writer spec (`req` for
    /// acknowledged delivery, `dealer`, `pub`).
    pub output: String,
    /// The directory of the store.
    pub path: PathBuf,
    /// Messages queued before frames are refused (Savant's `BUFFER_LEN`).
    pub capacity: u64,
    /// Room kept for service messages (EOS, shutdown, user data, ...)
    /// beyond `capacity` (Savant's `BUFFER_SERVICE_MESSAGES`).
    pub service_reserve: u64,
    /// A full buffer takes frames again once it has drained to this
    /// percentage of `capacity` (Savant's `BUFFER_THRESHOLD_PERCENTAGE`).
    pub threshold_percent: u8,
    /// Most messages stored in one durable commit (group commit) over
    /// router and sub input; a rep input commits each message alone.
    pub max_batch: usize,
    /// Drop every queued message at start (default: keep them).
    pub reset_on_start: bool,
    /// Where the Prometheus endpoint (`GET /metrics`) listens; `None`
    /// serves none. Port 0 picks a free port ([`crate::Buffer::metrics_addr`]).
    pub metrics_addr: Option<SocketAddr>,
    /// How often the counters are logged (`tracing` at info).
    pub stats_interval: Duration,
    /// How long one send to the module may block before it is retried.
    pub send_timeout: Duration,
    /// How long the module's acknowledgement is awaited (req: every
    /// message, dealer: EOS) before the message is sent again.
    pub ack_timeout: Duration,
    /// Send high-water mark of the output.
    pub send_hwm: i32,
    /// Receive high-water mark of the input: with dealer input, what a
    /// killed buffer can lose is bounded by this queue (plus the kernel's
    /// socket buffer and the batch being committed).
    pub receive_hwm: i32,
}

impl BufferSettings {
    /// Settings with Savant's defaults; the metrics endpoint on
    /// 127.0.0.1:8000 as in Savant's buffer sample.
    pub fn new(
        input: impl Into<String>,
        output: impl Into<String>,
        path: impl Into<PathBuf>,
    ) -> Self {
        Self {
            input: input.into(),
            output: output.into(),
            path: path.into(),
            capacity: 1000,
            service_reserve: 100,
            threshold_percent: 80,
            max_batch: 64,
            reset_on_start: false,
            metrics_addr: Some(SocketAddr::from(([127, 0, 0, 1], 8000))),
            stats_interval: Duration::from_secs(60),
            send_timeout: Duration::from_secs(1),
            ack_timeout: Duration::from_secs(5),
            send_hwm: 50,
            receive_hwm: 50,
        }
    }

    /// Sets [`BufferSettings::capacity`].
    pub fn capacity(mut self, n: u64) -> Self {
        self.capacity = n;
        self
    }

    /// Sets [`BufferSettings::service_reserve`].
    pub fn service_reserve(mut self, n: u64) -> Self {
        self.service_reserve = n;
        self
    }

    /// Sets [`BufferSettings::metrics_addr`].
    pub fn metrics_addr(mut self, addr: Option<SocketAddr>) -> Self {
        self.metrics_addr = addr;
        self
    }

    /// Checks the values (no I/O).
    pub fn validate(&self) -> Result<()> {
        let bad = |s: &str| Err(BufferError::Settings(s.to_string()));
        if self.capacity == 0 {
            return bad("capacity must be above 0");
        }
        if self.service_reserve == 0 {
            return bad("the service reserve must be above 0 (EOS must always have room)");
        }
        if self.threshold_percent > 100 {
            return bad("the threshold is a percentage, 0 to 100");
        }
        if self.max_batch == 0 {
            return bad("the batch must hold at least one message");
        }
        if self.stats_interval.is_zero() {
            return bad("the stats interval must be above 0");
        }
        Ok(())
    }
}
