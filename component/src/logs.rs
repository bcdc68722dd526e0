//! Fetching what happened to a frame: the [`LogProvider`] trait, the
//! [`Logs`] it returns and the [`LogHandle`] a [`SinkResult`](crate::sink::SinkResult)
//! carries. The Jaeger implementation lives in `savant-sdk-core`
//! (`telemetry::JaegerLogProvider`).

use std::collections::BTreeMap;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use opentelemetry::trace::TraceId;

/// One log line of a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// When it was logged.
    pub timestamp: SystemTime,
    /// `ERROR`, `WARN`, `INFO`, `DEBUG`, `TRACE` (as the logger wrote it).
    pub level: String,
    /// The logger's target (module path).
    pub target: String,
    /// The message.
    pub message: String,
    /// The other fields.
    pub attributes: BTreeMap<String, serde_json::Value>,
}

/// A trace's logs, sorted by time; `Display` pretty-prints them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Logs {
    /// The entries, oldest first.
    pub entries: Vec<LogEntry>,
}

impl fmt::Display for Logs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.entries {
            let t = e.timestamp.duration_since(UNIX_EPOCH).unwrap_or_default();
            write!(
                f,
                "{}.{:06} {:<5} {}: {}",
                t.as_secs(),
                t.subsec_micros(),
                e.level,
                e.target,
                e.message
            )?;
            for (k, v) in &e.attributes {
                write!(f, " {k}={v}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Why logs could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogProviderError {
    /// The endpoint is not an `http://` URL.
    #[error("invalid log provider endpoint {0:?}")]
    BadEndpoint(String),
    /// Nothing answered.
    #[error("log provider {url} unreachable: {reason}")]
    Unreachable {
        /// The request URL.
        url: String,
        /// The error.
        reason: String,
    },
    /// The trace is not there (HTTP 404).
    #[error("trace not found at {url}")]
    NotFound {
        /// The request URL.
        url: String,
    },
    /// Any other non-2xx answer.
    #[error("log provider {url} answered HTTP {status}")]
    Status {
        /// The request URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body is not the expected JSON.
    #[error("log provider {url} returned malformed JSON: {reason}")]
    Malformed {
        /// The request URL.
        url: String,
        /// The parser's message.
        reason: String,
    },
}

/// Fetches the logs of a trace.
#[async_trait]
pub trait LogProvider: Send + Sync + fmt::Debug {
    /// The logs of `trace_id`.
    async fn logs(&self, trace_id: TraceId) -> Result<Logs, LogProviderError>;
}

/// An optional log provider carried by results so that they can fetch
/// their own logs. Compares equal to any other (it is not part of a
/// result's value).
#[derive(Clone, Default)]
pub struct LogHandle(pub(crate) Option<std::sync::Arc<dyn LogProvider>>);

impl LogHandle {
    /// A handle to `provider`.
    pub fn new(provider: std::sync::Arc<dyn LogProvider>) -> Self {
        Self(Some(provider))
    }

    /// The logs of `trace_id`, or `None` without a provider or trace id.
    pub async fn logs(&self, trace_id: Option<TraceId>) -> Option<Result<Logs, LogProviderError>> {
        let (Some(p), Some(t)) = (&self.0, trace_id) else {
            return None;
        };
        Some(p.logs(t).await)
    }
}

impl fmt::Debug for LogHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(p) => write!(f, "LogHandle({p:?})"),
            None => f.write_str("LogHandle(none)"),
        }
    }
}

impl PartialEq for LogHandle {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for LogHandle {}
