//! The running buffer: an ingress thread (socket → store, the
//! acknowledgement after the durable commit), an egress thread (store →
//! module, removal after the module accepted), a stats logger and the
//! metrics endpoint.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use savant_sdk_core::codec::VersionPolicy;
use savant_sdk_core::transport::{
    BlockingReader, BlockingWriter, ReaderConfig, ReaderResult, Received, SocketType, WriteOutcome,
    WriterConfig,
};
use savant_sdk_core::Error as SdkError;

use crate::error::{BufferError, Result};
use crate::metrics::{now_seconds, Metrics, MetricsServer, Undelivered};
use crate::queue::{Admission, Kind, PersistentQueue, StoredMessage};
use crate::settings::BufferSettings;

/// A snapshot of the buffer's counters (also on `/metrics` and in the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BufferStats {
    /// Messages received on the input.
    pub received: u64,
    /// Messages stored.
    pub pushed: u64,
    /// Messages refused because the buffer was full.
    pub dropped: u64,
    /// Of those, video frames.
    pub dropped_frames: u64,
    /// Messages the module accepted (then removed).
    pub sent: u64,
    /// Sends retried after a send timeout (the module not taking input).
    pub send_timeouts: u64,
    /// Sends retried after no acknowledgement came (req, or EOS over dealer).
    pub ack_timeouts: u64,
    /// Messages queued now.
    pub queued: u64,
    /// Bytes of the queued records.
    pub payload_bytes: u64,
    /// Whether frames are being refused.
    pub full: bool,
}

/// The stop flag, and the wake-up of the egress when something was stored.
#[derive(Debug, Default)]
struct Signal {
    stop: AtomicBool,
    stored: Mutex<u64>,
    cv: Condvar,
    /// Where the stats logger waits: woken by the stop only, not by every
    /// stored batch.
    stopping: Mutex<()>,
    stop_cv: Condvar,
}

impl Signal {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        {
            let _g = self.stored.lock().unwrap_or_else(|p| p.into_inner());
            self.cv.notify_all();
        }
        let _g = self.stopping.lock().unwrap_or_else(|p| p.into_inner());
        self.stop_cv.notify_all();
    }

    /// Waits until the stop, or `max`.
    fn wait_for_stop(&self, max: Duration) {
        let g = self.stopping.lock().unwrap_or_else(|p| p.into_inner());
        let _ = self
            .stop_cv
            .wait_timeout_while(g, max, |_| !self.stop.load(Ordering::Relaxed))
            .unwrap_or_else(|p| p.into_inner());
    }

    fn stored(&self) {
        let mut g = self.stored.lock().unwrap_or_else(|p| p.into_inner());
        *g += 1;
        self.cv.notify_all();
    }

    /// Waits until something new was stored, the stop, or `max`.
    fn wait(&self, seen: &mut u64, max: Duration) {
        let g = self.stored.lock().unwrap_or_else(|p| p.into_inner());
        let (g, _) = self
            .cv
            .wait_timeout_while(g, max, |n| {
                *n == *seen && !self.stop.load(Ordering::Relaxed)
            })
            .unwrap_or_else(|p| p.into_inner());
        *seen = *g;
    }
}

struct Shared {
    queue: PersistentQueue,
    metrics: Arc<Metrics>,
    signal: Signal,
}

impl Shared {
    fn stats(&self) -> BufferStats {
        let m = &self.metrics;
        BufferStats {
            received: m.received.get(),
            pushed: m.pushed.get(),
            dropped: m.dropped.get(),
            dropped_frames: m.dropped_frames.get(),
            sent: m.sent.get(),
            send_timeouts: m.undelivered_count(Undelivered::SendTimeout),
            ack_timeouts: m.undelivered_count(Undelivered::AckTimeout),
            queued: self.queue.len(),
            payload_bytes: self.queue.payload_size(),
            full: self.queue.is_full(),
        }
    }

    fn refresh_gauges(&self) {
        let m = &self.metrics;
        m.buffer_size
            .set(i64::try_from(self.queue.len()).unwrap_or(i64::MAX));
        m.payload_size
            .set(i64::try_from(self.queue.payload_size()).unwrap_or(i64::MAX));
        m.full.set(i64::from(self.queue.is_full()));
    }
}

/// A running buffer. [`Buffer::start`] opens the store and both sockets;
/// [`Buffer::stop`] ends it (what is queued stays in the store for the
/// next start).
///
/// ```no_run
/// use savant_sdk_buffer::{Buffer, BufferSettings};
/// let settings = BufferSettings::new(
///     "router+bind:ipc:///tmp/savant/buffer-in.ipc",
///     "req+connect:ipc:///tmp/savant/module-in.ipc",
///     "/tmp/savant/buffer",
/// );
/// let buffer = Buffer::start(settings)?;
/// println!("metrics on http://{}/metrics", buffer.metrics_addr().unwrap());
/// // ... until asked to stop
/// let stats = buffer.stop()?;
/// println!("{} sent, {} still queued", stats.sent, stats.queued);
/// # Ok::<(), savant_sdk_buffer::BufferError>(())
/// ```
pub struct Buffer {
    shared: Arc<Shared>,
    threads: Vec<(&'static str, JoinHandle<Result<()>>)>,
    metrics_server: Option<MetricsServer>,
}

impl std::fmt::Debug for Buffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buffer")
            .field("queue", &self.shared.queue)
            .finish_non_exhaustive()
    }
}

impl Buffer {
    /// Opens the store (keeping what a previous run left, unless
    /// `reset_on_start`), binds or connects both sockets, serves the
    /// metrics, and starts moving messages.
    pub fn start(settings: BufferSettings) -> Result<Self> {
        settings.validate()?;
        let input_spec = savant_sdk_core::transport::SocketSpec::parse_reader(&settings.input)?;
        let socket_type = input_spec.socket_type;
        // the acknowledgement follows the durable write: rep (every
        // message) and router (EOS) defer theirs
        let reader = BlockingReader::new(
            ReaderConfig::from_spec(input_spec)
                .receive_timeout(Duration::from_millis(100))
                .receive_hwm(settings.receive_hwm)
                .version_policy(VersionPolicy::Any)
                .deferred_ack(true)
                .build()?,
        )?;
        let output_spec = savant_sdk_core::transport::SocketSpec::parse_writer(&settings.output)?;
        let writer_config = WriterConfig::from_spec(output_spec)
            .send_timeout(settings.send_timeout)
            .send_retries(0)
            .ack_timeout(settings.ack_timeout)
            .ack_retries(0)
            .send_hwm(settings.send_hwm)
            .build()?;
        // a connecting req that timed out waiting for OK reopens its
        // socket itself (BlockingWriter), so no copy stays queued
        let writer = BlockingWriter::new(writer_config)?;
        let queue = PersistentQueue::open(
            &settings.path,
            Admission::new(
                settings.capacity,
                settings.service_reserve,
                settings.threshold_percent,
            ),
            settings.reset_on_start,
        )?;
        if !queue.is_empty() {
            tracing::info!(queued = queue.len(), path = %queue.path().display(), "buffer reopened with messages from the last run; sending them first");
        }
        let shared = Arc::new(Shared {
            queue,
            metrics: Arc::new(Metrics::new()),
            signal: Signal::default(),
        });
        shared.refresh_gauges();
        let metrics_server = match settings.metrics_addr {
            Some(addr) => {
                let s = shared.clone();
                Some(MetricsServer::start(
                    addr,
                    shared.metrics.clone(),
                    move || s.refresh_gauges(),
                )?)
            }
            None => None,
        };
        let batch = if socket_type == SocketType::Rep {
            1
        } else {
            settings.max_batch
        };
        let mut threads = Vec::new();
        let spawn = |name: &'static str, f: Box<dyn FnOnce() -> Result<()> + Send>| {
            std::thread::Builder::new()
                .name(format!("buffer-{name}"))
                .spawn(f)
                .map_err(|source| BufferError::Io {
                    what: "cannot start the thread",
                    path: name.into(),
                    source,
                })
        };
        let s = shared.clone();
        threads.push((
            "ingress",
            spawn(
                "ingress",
                Box::new(move || guarded(&s, ingress(&s, reader, batch))),
            )?,
        ));
        let s = shared.clone();
        threads.push((
            "egress",
            spawn("egress", Box::new(move || guarded(&s, egress(&s, writer))))?,
        ));
        let s = shared.clone();
        let every = settings.stats_interval;
        threads.push((
            "stats",
            spawn(
                "stats",
                Box::new(move || {
                    stats_logger(&s, every);
                    Ok(())
                }),
            )?,
        ));
        Ok(Self {
            shared,
            threads,
            metrics_server,
        })
    }

    /// The address of the metrics endpoint (with the port picked for port 0).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_server.as_ref().map(MetricsServer::addr)
    }

    /// The counters now.
    pub fn stats(&self) -> BufferStats {
        self.shared.stats()
    }

    /// Whether a thread has ended (by an error: see [`Buffer::stop`]).
    pub fn has_failed(&self) -> bool {
        self.threads.iter().any(|(_, t)| t.is_finished())
    }

    /// Stops every thread (a send to the module in progress finishes or
    /// times out first), logs the counters and returns them, or the first
    /// error a thread stopped with.
    pub fn stop(mut self) -> Result<BufferStats> {
        self.shared.signal.stop();
        let mut first = Ok(());
        for (name, t) in self.threads.drain(..) {
            let r = t.join().unwrap_or(Err(BufferError::Panicked(name)));
            if first.is_ok() {
                first = r;
            }
        }
        self.metrics_server = None;
        log_stats(&self.shared);
        first.map(|()| self.shared.stats())
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        self.shared.signal.stop();
        for (_, t) in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A thread that fails stops the others.
fn guarded(shared: &Shared, r: Result<()>) -> Result<()> {
    if let Err(e) = &r {
        tracing::error!(error = %e, "buffer thread failed; stopping");
        shared.signal.stop();
    }
    r
}

fn stored_of(m: Received) -> StoredMessage {
    let kind = if m.message.as_video_frame().is_some() {
        Kind::Frame
    } else if m.message.is_end_of_stream() {
        Kind::Eos
    } else {
        Kind::Service
    };
    StoredMessage {
        kind,
        topic: m.topic,
        message: m.raw_message,
        extra: m.extra,
    }
}

/// Socket → store: a batch of what has arrived, one durable commit, then
/// the acknowledgements the batch holds back (rep: the message; router:
/// its EOS).
fn ingress(shared: &Shared, mut reader: BlockingReader, max_batch: usize) -> Result<()> {
    let m = &shared.metrics;
    let mut batch = Vec::with_capacity(max_batch);
    while !shared.signal.stopped() {
        if let ReaderResult::Message(first) = reader.receive()? {
            batch.push(stored_of(first));
        }
        if batch.is_empty() {
            continue;
        }
        // whatever else is already queued, up to the batch (a rep has
        // nothing more until it has answered)
        let mut tries = 0;
        while batch.len() < max_batch && tries < max_batch {
            tries += 1;
            match reader.try_receive()? {
                ReaderResult::Message(next) => batch.push(stored_of(next)),
                ReaderResult::Timeout => break,
                _ => {}
            }
        }
        let now = now_seconds();
        m.received.inc_by(batch.len() as u64);
        m.last_received.set(now);
        let taken = shared.queue.push(&batch)?;
        reader.acknowledge()?;
        let pushed = taken.iter().filter(|&&t| t).count() as u64;
        if pushed > 0 {
            m.pushed.inc_by(pushed);
            m.last_pushed.set(now);
            shared.signal.stored();
        }
        for (msg, _) in batch.iter().zip(&taken).filter(|(_, &t)| !t) {
            m.dropped.inc();
            m.last_dropped.set(now);
            if msg.kind == Kind::Frame {
                m.dropped_frames.inc();
            } else {
                tracing::warn!(topic = %String::from_utf8_lossy(&msg.topic), kind = ?msg.kind, "service message refused: the buffer and its service reserve are full");
            }
        }
        batch.clear();
    }
    Ok(())
}

/// Store → module, oldest first; each message is removed once the module
/// accepted it (req: acknowledged; dealer: handed to ZeroMQ, EOS
/// acknowledged; pub: handed to ZeroMQ) and sent again until it is. The
/// removals of a run of accepted messages are committed together.
fn egress(shared: &Shared, mut writer: BlockingWriter) -> Result<()> {
    let m = &shared.metrics;
    let mut cursor = 0u64;
    let mut seen = 0u64;
    let mut last_sync = Instant::now();
    let mut accepted = Vec::with_capacity(EGRESS_BATCH);
    while !shared.signal.stopped() {
        let batch = shared.queue.read_from(cursor, EGRESS_BATCH)?;
        if batch.is_empty() {
            // idle: make the removals durable now and then, so that a
            // restart sends little again
            if shared.queue.unsynced_removals() > 0
                && last_sync.elapsed() >= Duration::from_millis(200)
            {
                shared.queue.sync()?;
                last_sync = Instant::now();
            }
            shared.signal.wait(&mut seen, Duration::from_millis(50));
            continue;
        }
        for (key, msg) in batch {
            if !send_until_accepted(shared, &mut writer, &msg, &mut accepted)? {
                // stopped; this message stays queued
                shared.queue.remove(&accepted)?;
                return Ok(());
            }
            accepted.push(key);
            cursor = key + 1;
            m.sent.inc();
            m.last_sent.set(now_seconds());
        }
        shared.queue.remove(&accepted)?;
        accepted.clear();
        if shared.queue.unsynced_removals() >= 10_000 {
            shared.queue.sync()?;
            last_sync = Instant::now();
        }
    }
    Ok(())
}

/// Messages read (and their removals committed) at a time by the egress.
const EGRESS_BATCH: usize = 64;

/// Sends one message until the module accepts it; `false` when stopped
/// first. When the module does not take it, the removals of what it
/// accepted before (`accepted`) are committed first.
fn send_until_accepted(
    shared: &Shared,
    writer: &mut BlockingWriter,
    msg: &StoredMessage,
    accepted: &mut Vec<u64>,
) -> Result<bool> {
    let mut failing_since: Option<Instant> = None;
    loop {
        if shared.signal.stopped() {
            return Ok(false);
        }
        let sent = writer.send_raw(&msg.topic, &msg.message, &msg.extra, msg.kind == Kind::Eos);
        let why = match sent {
            Ok(WriteOutcome::Sent { .. } | WriteOutcome::Acknowledged { .. }) => {
                if let Some(since) = failing_since {
                    tracing::info!(after = ?since.elapsed(), "the module takes messages again");
                }
                return Ok(true);
            }
            Err(SdkError::SendTimeout { .. }) => Undelivered::SendTimeout,
            Err(SdkError::AckTimeout { .. }) => Undelivered::AckTimeout,
            Err(SdkError::UnexpectedAck { .. }) => Undelivered::UnexpectedAck,
            Err(e) => return Err(e.into()),
        };
        shared.metrics.count_undelivered(why);
        if failing_since.is_none() {
            failing_since = Some(Instant::now());
            shared.queue.remove(accepted)?;
            accepted.clear();
            tracing::warn!(reason = ?why, topic = %String::from_utf8_lossy(&msg.topic), "the module did not accept a message; sending it again until it does");
        }
    }
}

fn log_stats(shared: &Shared) {
    let s = shared.stats();
    tracing::info!(
        received = s.received,
        pushed = s.pushed,
        dropped = s.dropped,
        dropped_frames = s.dropped_frames,
        sent = s.sent,
        send_timeouts = s.send_timeouts,
        ack_timeouts = s.ack_timeouts,
        buffer_size = s.queued,
        payload_size = s.payload_bytes,
        full = s.full,
        "buffer stats"
    );
}

fn stats_logger(shared: &Shared, every: Duration) {
    let mut next = Instant::now() + every;
    while !shared.signal.stopped() {
        let now = Instant::now();
        if now >= next {
            log_stats(shared);
            next = now + every;
        }
        shared
            .signal
            .wait_for_stop(next.saturating_duration_since(now));
    }
}
