//! Fetching what happened to a frame: [`LogProvider`] and
//! [`JaegerLogProvider`], which reads a trace's logs from the Jaeger query
//! HTTP API (`GET {endpoint}/api/traces/{trace_id}`, the v1 JSON shape that
//! Savant's client reads).

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::Deserialize;

use super::TraceId;
use crate::client::http::{self, HttpUrl};

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

/// Reads logs from the Jaeger query API.
///
/// Keeps span logs in Savant's shape (`event.name` = `log-record`, fields
/// `log.level`, `log.target`, `event`) and in the shape `tracing`'s
/// OpenTelemetry layer writes (`level`, `target`, `event`); other span
/// events are ignored.
///
/// ```no_run
/// use savant_sdk_core::telemetry::{JaegerLogProvider, LogProvider, TraceId};
/// # async fn run(trace_id: TraceId) -> Result<(), savant_sdk_core::telemetry::LogProviderError> {
/// let jaeger = JaegerLogProvider::new("http://127.0.0.1:16686")?;
/// println!("{}", jaeger.logs(trace_id).await?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct JaegerLogProvider {
    endpoint: String,
    url: HttpUrl,
    auth: Option<String>,
    timeout: Duration,
}

#[derive(Deserialize)]
struct Response {
    data: Vec<TraceData>,
}
#[derive(Deserialize)]
struct TraceData {
    #[serde(default)]
    spans: Vec<SpanData>,
}
#[derive(Deserialize)]
struct SpanData {
    #[serde(default)]
    logs: Vec<LogData>,
}
#[derive(Deserialize)]
struct LogData {
    timestamp: u64,
    #[serde(default)]
    fields: Vec<Field>,
}
#[derive(Deserialize)]
struct Field {
    key: String,
    value: serde_json::Value,
}

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in input.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl JaegerLogProvider {
    /// The Jaeger query service at `endpoint` (e.g. `http://127.0.0.1:16686`).
    pub fn new(endpoint: impl Into<String>) -> Result<Self, LogProviderError> {
        let endpoint = endpoint.into().trim_end_matches('/').to_string();
        let url = HttpUrl::parse(&endpoint)
            .map_err(|_| LogProviderError::BadEndpoint(endpoint.clone()))?;
        Ok(Self {
            endpoint,
            url,
            auth: None,
            timeout: Duration::from_secs(10),
        })
    }

    /// Sends HTTP basic authentication.
    pub fn basic_auth(mut self, login: &str, password: &str) -> Self {
        self.auth = Some(format!(
            "Basic {}",
            base64(format!("{login}:{password}").as_bytes())
        ));
        self
    }

    /// Timeout of one request (default 10 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Parses a response body of the Jaeger v1 API.
    pub fn parse(body: &[u8]) -> Result<Logs, String> {
        let r: Response = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let mut entries = Vec::new();
        for log in r.data.iter().flat_map(|t| &t.spans).flat_map(|s| &s.logs) {
            let mut fields: BTreeMap<String, serde_json::Value> = log
                .fields
                .iter()
                .map(|f| (f.key.clone(), f.value.clone()))
                .collect();
            let text = |v: Option<serde_json::Value>| -> Option<String> {
                match v? {
                    serde_json::Value::String(s) => Some(s),
                    other => Some(other.to_string()),
                }
            };
            let savant = fields.get("event.name").and_then(|v| v.as_str()) == Some("log-record");
            let (level, target) = if savant {
                (fields.remove("log.level"), fields.remove("log.target"))
            } else if fields.contains_key("level") && fields.contains_key("target") {
                (fields.remove("level"), fields.remove("target"))
            } else {
                continue; // some other span event
            };
            let message = fields.remove("event");
            let (Some(level), Some(target), Some(message)) =
                (text(level), text(target), text(message))
            else {
                continue;
            };
            for k in ["event.domain", "event.name"] {
                fields.remove(k);
            }
            entries.push(LogEntry {
                timestamp: UNIX_EPOCH + Duration::from_micros(log.timestamp),
                level,
                target,
                message,
                attributes: fields,
            });
        }
        entries.sort_by_key(|e| e.timestamp);
        Ok(Logs { entries })
    }
}

#[async_trait]
impl LogProvider for JaegerLogProvider {
    async fn logs(&self, trace_id: TraceId) -> Result<Logs, LogProviderError> {
        let mut url = self.url.clone();
        url.path = format!("{}/api/traces/{trace_id}", url.path.trim_end_matches('/'));
        let full = format!("{}/api/traces/{trace_id}", self.endpoint);
        let headers: Vec<(&str, &str)> = self
            .auth
            .as_deref()
            .map(|a| vec![("Authorization", a)])
            .unwrap_or_default();
        let r = http::get(&url, self.timeout, &headers)
            .await
            .map_err(|reason| LogProviderError::Unreachable {
                url: full.clone(),
                reason,
            })?;
        match r.status {
            200..=299 => Self::parse(&r.body)
                .map_err(|reason| LogProviderError::Malformed { url: full, reason }),
            404 => Err(LogProviderError::NotFound { url: full }),
            status => Err(LogProviderError::Status { url: full, status }),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(
            super::base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(super::base64(b"ab"), "YWI=");
        assert_eq!(super::base64(b"abc"), "YWJj");
    }
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
