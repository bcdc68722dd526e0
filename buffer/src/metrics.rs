//! The buffer's counters, under the names Savant's buffer adapter exports
//! (`received_messages`, `pushed_messages`, `dropped_messages`,
//! `sent_messages`, `buffer_size`, `payload_size`, `last_*_message`), and
//! the Prometheus endpoint that serves them.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::error::{BufferError, Result};

/// Why a send to the module did not go through (label `reason` of
/// `undelivered_messages`, as Savant's Buffer NG names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Undelivered {
    SendTimeout,
    AckTimeout,
    UnexpectedAck,
}

impl Undelivered {
    fn label(self) -> &'static str {
        match self {
            Undelivered::SendTimeout => "send_timeout",
            Undelivered::AckTimeout => "ack_timeout",
            Undelivered::UnexpectedAck => "unexpected_ack",
        }
    }
}

type Labels = Vec<(String, String)>;

/// The live counters, shared by the buffer's threads.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    pub received: Counter,
    pub pushed: Counter,
    pub dropped: Counter,
    pub dropped_frames: Counter,
    pub sent: Counter,
    pub undelivered: Family<Labels, Counter>,
    pub buffer_size: Gauge,
    pub payload_size: Gauge,
    pub full: Gauge,
    pub last_received: Gauge<f64, AtomicU64>,
    pub last_pushed: Gauge<f64, AtomicU64>,
    pub last_dropped: Gauge<f64, AtomicU64>,
    pub last_sent: Gauge<f64, AtomicU64>,
}

/// Seconds since the epoch, what Savant's `last_*_message` gauges hold.
pub(crate) fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Metrics {
    pub fn new() -> Self {
        let mut m = Self {
            registry: Registry::default(),
            received: Counter::default(),
            pushed: Counter::default(),
            dropped: Counter::default(),
            dropped_frames: Counter::default(),
            sent: Counter::default(),
            undelivered: Family::default(),
            buffer_size: Gauge::default(),
            payload_size: Gauge::default(),
            full: Gauge::default(),
            last_received: Gauge::default(),
            last_pushed: Gauge::default(),
            last_dropped: Gauge::default(),
            last_sent: Gauge::default(),
        };
        let r = &mut m.registry;
        r.register(
            "received_messages",
            "Number of messages received by the buffer",
            m.received.clone(),
        );
        r.register(
            "pushed_messages",
            "Number of messages stored in the buffer",
            m.pushed.clone(),
        );
        r.register(
            "dropped_messages",
            "Number of messages refused because the buffer was full",
            m.dropped.clone(),
        );
        r.register(
            "dropped_frames",
            "Number of video frames refused because the buffer was full",
            m.dropped_frames.clone(),
        );
        r.register(
            "sent_messages",
            "Number of messages the module accepted (then removed from the buffer)",
            m.sent.clone(),
        );
        r.register(
            "undelivered_messages",
            "Sends to the module that did not go through and were retried, by reason",
            m.undelivered.clone(),
        );
        r.register(
            "buffer_size",
            "Number of messages in the buffer",
            m.buffer_size.clone(),
        );
        r.register(
            "payload_size",
            "Size of the queued records in bytes",
            m.payload_size.clone(),
        );
        r.register(
            "buffer_full",
            "1 while frames are refused (full, until drained to the threshold)",
            m.full.clone(),
        );
        r.register(
            "last_received_message",
            "Timestamp of the last received message",
            m.last_received.clone(),
        );
        r.register(
            "last_pushed_message",
            "Timestamp of the last stored message",
            m.last_pushed.clone(),
        );
        r.register(
            "last_dropped_message",
            "Timestamp of the last refused message",
            m.last_dropped.clone(),
        );
        r.register(
            "last_sent_message",
            "Timestamp of the last message sent",
            m.last_sent.clone(),
        );
        m
    }

    /// Counts a send that did not go through.
    pub fn count_undelivered(&self, why: Undelivered) {
        self.undelivered
            .get_or_create(&vec![("reason".to_string(), why.label().to_string())])
            .inc();
    }

    /// Undelivered sends of one reason so far.
    pub fn undelivered_count(&self, why: Undelivered) -> u64 {
        self.undelivered
            .get_or_create(&vec![("reason".to_string(), why.label().to_string())])
            .get()
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // writing into a String cannot fail
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// The Prometheus endpoint: `GET /metrics` answers the OpenMetrics text
/// (tiny_http, one thread); other paths get 404. Stops when dropped.
pub(crate) struct MetricsServer {
    addr: SocketAddr,
    server: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    pub fn start(
        addr: SocketAddr,
        metrics: Arc<Metrics>,
        refresh: impl Fn() + Send + 'static,
    ) -> Result<Self> {
        let fail = |detail: String| BufferError::Metrics { addr, detail };
        let listener = TcpListener::bind(addr).map_err(|e| fail(e.to_string()))?;
        let addr = listener.local_addr().map_err(|e| fail(e.to_string()))?;
        let server = Arc::new(
            tiny_http::Server::from_listener(listener, None).map_err(|e| fail(e.to_string()))?,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let (sv, sp) = (server.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("buffer-metrics".into())
            .spawn(move || {
                while let Ok(request) = sv.recv() {
                    if sp.load(Ordering::Relaxed) {
                        break;
                    }
                    let ok = request.method() == &tiny_http::Method::Get
                        && request.url().split('?').next() == Some("/metrics");
                    let response = if ok {
                        refresh();
                        let header = tiny_http::Header::from_bytes(
                            &b"Content-Type"[..],
                            &b"application/openmetrics-text; version=1.0.0; charset=utf-8"[..],
                        )
                        .expect("a valid header");
                        tiny_http::Response::from_string(metrics.encode()).with_header(header)
                    } else {
                        tiny_http::Response::from_string("not found\n").with_status_code(404)
                    };
                    if let Err(e) = request.respond(response) {
                        tracing::debug!(error = %e, "metrics endpoint could not answer");
                    }
                }
            })
            .map_err(|e| BufferError::Io {
                what: "cannot start the metrics thread for",
                path: addr.to_string().into(),
                source: e,
            })?;
        Ok(Self {
            addr,
            server,
            stop,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
