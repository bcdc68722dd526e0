//! Fetching what happened to a frame: [`LogProvider`] and
//! [`JaegerLogProvider`], which reads a trace's logs from the Jaeger query
//! HTTP API: `GET {endpoint}/api/traces/{trace_id}` (the v1 JSON shape that
//! Savant's client reads) or, with [`JaegerApi::V3`], Jaeger v2's
//! `GET {endpoint}/api/v3/traces/{trace_id}` (OTLP JSON).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::Deserialize;

use super::TraceId;
use crate::client::http;
use savant_sdk_component::logs::{LogEntry, LogProvider, LogProviderError, Logs};

/// Which Jaeger query API [`JaegerLogProvider`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JaegerApi {
    /// `GET /api/traces/{trace_id}`: `{"data":[{"spans":[{"logs":[...]}]}]}`
    /// with microsecond timestamps and key/value fields, the message in the
    /// field `event` (Jaeger 1.x, and Jaeger v2's compatible endpoint).
    #[default]
    V1,
    /// `GET /api/v3/traces/{trace_id}` (Jaeger v2):
    /// `{"result":{"resourceSpans":[{"scopeSpans":[{"spans":[{"events":[...]}]}]}]}}`
    /// in the OTLP JSON encoding (`timeUnixNano` as a string, attributes as
    /// `{"key", "value": AnyValue}`), the message being the event's name.
    V3,
}

/// Reads logs from the Jaeger query API ([`JaegerApi::V1`] by default,
/// or [`JaegerApi::V3`]).
///
/// Keeps span logs in Savant's shape (`event.name` = `log-record`, fields
/// `log.level`, `log.target`, the message as the event) and in the shape
/// `tracing`'s OpenTelemetry layer writes (`level`, `target`, the message
/// as the event); other span events are ignored.
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
    auth: Option<String>,
    timeout: Duration,
    api: JaegerApi,
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

// The v3 (OTLP JSON) shape; unknown fields are ignored, as OTLP JSON asks.
#[derive(Deserialize)]
struct V3Response {
    result: V3Traces,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V3Traces {
    #[serde(default)]
    resource_spans: Vec<V3ResourceSpans>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V3ResourceSpans {
    #[serde(default)]
    scope_spans: Vec<V3ScopeSpans>,
}
#[derive(Deserialize)]
struct V3ScopeSpans {
    #[serde(default)]
    spans: Vec<V3Span>,
}
#[derive(Deserialize)]
struct V3Span {
    #[serde(default)]
    events: Vec<V3Event>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V3Event {
    time_unix_nano: serde_json::Value,
    #[serde(default)]
    name: String,
    #[serde(default)]
    attributes: Vec<Field>,
}

/// An OTLP JSON integer: a string of digits (the encoding of 64-bit
/// integers) or a plain number.
fn otlp_int<T: std::str::FromStr + TryFrom<u64> + TryFrom<i64>>(
    v: &serde_json::Value,
) -> Result<T, String> {
    let bad = || format!("not an integer: {v}");
    match v {
        serde_json::Value::String(s) => s.parse().map_err(|_| bad()),
        serde_json::Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                T::try_from(u).map_err(|_| bad())
            } else {
                T::try_from(n.as_i64().ok_or_else(bad)?).map_err(|_| bad())
            }
        }
        _ => Err(bad()),
    }
}

/// An OTLP JSON `AnyValue` as plain JSON: strings, integers, doubles and
/// booleans as themselves, arrays as arrays, key/value lists as objects,
/// bytes as their base64 text, an empty value as null (an unknown kind as
/// it came).
fn any_value(v: &serde_json::Value) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    let Value::Object(m) = v else {
        return Err(format!("an AnyValue must be an object, got {v}"));
    };
    let Some((kind, inner)) = m.iter().next() else {
        return Ok(Value::Null);
    };
    Ok(match kind.as_str() {
        "stringValue" | "bytesValue" => match inner {
            Value::String(_) => inner.clone(),
            _ => return Err(format!("{kind} must be a string, got {inner}")),
        },
        "intValue" => Value::from(otlp_int::<i64>(inner)?),
        "doubleValue" => match inner {
            Value::Number(_) => inner.clone(),
            // NaN and the infinities are strings in OTLP JSON
            Value::String(s) if s.parse::<f64>().is_ok() => inner.clone(),
            _ => return Err(format!("doubleValue must be a number, got {inner}")),
        },
        "boolValue" => match inner {
            Value::Bool(_) => inner.clone(),
            _ => return Err(format!("boolValue must be a boolean, got {inner}")),
        },
        "arrayValue" => Value::Array(
            inner
                .get("values")
                .and_then(Value::as_array)
                .map(|vs| vs.iter().map(any_value).collect::<Result<_, _>>())
                .transpose()?
                .unwrap_or_default(),
        ),
        "kvlistValue" => {
            let mut out = serde_json::Map::new();
            for kv in inner
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let key = kv
                    .get("key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("a key/value without a key: {kv}"))?;
                let value = kv.get("value").map(any_value).transpose()?;
                out.insert(key.to_string(), value.unwrap_or(Value::Null));
            }
            Value::Object(out)
        }
        // a kind newer than this reader: kept as it came
        _ => v.clone(),
    })
}

/// A log entry from a span event's fields and message, in Savant's shape
/// or `tracing`'s; `None` for other span events and for logs missing a
/// level, target or message.
fn log_entry(
    timestamp: SystemTime,
    mut fields: BTreeMap<String, serde_json::Value>,
    message: Option<serde_json::Value>,
) -> Option<LogEntry> {
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
        return None; // some other span event
    };
    let (Some(level), Some(target), Some(message)) = (text(level), text(target), text(message))
    else {
        return None;
    };
    for k in ["event.domain", "event.name"] {
        fields.remove(k);
    }
    Some(LogEntry {
        timestamp,
        level,
        target,
        message,
        attributes: fields,
    })
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
        http::parse_url(&endpoint).map_err(|_| LogProviderError::BadEndpoint(endpoint.clone()))?;
        Ok(Self {
            endpoint,
            auth: None,
            timeout: Duration::from_secs(10),
            api: JaegerApi::V1,
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

    /// Which query API to read (default [`JaegerApi::V1`]).
    pub fn api(mut self, api: JaegerApi) -> Self {
        self.api = api;
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
            let message = fields.remove("event");
            let timestamp = UNIX_EPOCH + Duration::from_micros(log.timestamp);
            entries.extend(log_entry(timestamp, fields, message));
        }
        entries.sort_by_key(|e| e.timestamp);
        Ok(Logs { entries })
    }

    /// Parses a response body of the Jaeger v3 API (OTLP JSON). The message
    /// is the span event's name (an attribute `message` stands in for an
    /// empty name).
    pub fn parse_v3(body: &[u8]) -> Result<Logs, String> {
        let r: V3Response = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let mut entries = Vec::new();
        for event in r
            .result
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .flat_map(|s| &s.events)
        {
            let mut fields = BTreeMap::new();
            for a in &event.attributes {
                fields.insert(a.key.clone(), any_value(&a.value)?);
            }
            let nanos: u64 =
                otlp_int(&event.time_unix_nano).map_err(|e| format!("timeUnixNano: {e}"))?;
            let message = if event.name.is_empty() {
                fields.remove("message")
            } else {
                Some(serde_json::Value::String(event.name.clone()))
            };
            entries.extend(log_entry(
                UNIX_EPOCH + Duration::from_nanos(nanos),
                fields,
                message,
            ));
        }
        entries.sort_by_key(|e| e.timestamp);
        Ok(Logs { entries })
    }

    /// The request path of `trace_id`'s logs (below the endpoint).
    fn trace_path(&self, trace_id: TraceId) -> String {
        match self.api {
            JaegerApi::V1 => format!("/api/traces/{trace_id}"),
            JaegerApi::V3 => format!("/api/v3/traces/{trace_id}"),
        }
    }
}

#[async_trait]
impl LogProvider for JaegerLogProvider {
    async fn logs(&self, trace_id: TraceId) -> Result<Logs, LogProviderError> {
        let path = self.trace_path(trace_id);
        let full = format!("{}{path}", self.endpoint);
        let url = http::parse_url(&full)
            .map_err(|_| LogProviderError::BadEndpoint(self.endpoint.clone()))?;
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
            200..=299 => match self.api {
                JaegerApi::V1 => Self::parse(&r.body),
                JaegerApi::V3 => Self::parse_v3(&r.body),
            }
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

    #[test]
    fn otlp_json_any_values_become_plain_json() {
        use serde_json::json;
        let v = |j: serde_json::Value| super::any_value(&j);
        assert_eq!(v(json!({"stringValue": "a"})), Ok(json!("a")));
        assert_eq!(
            v(json!({"intValue": "-9007199254740993"})),
            Ok(json!(-9007199254740993i64))
        );
        assert_eq!(v(json!({"intValue": 7})), Ok(json!(7)));
        assert_eq!(v(json!({"doubleValue": 0.5})), Ok(json!(0.5)));
        assert_eq!(v(json!({"doubleValue": "NaN"})), Ok(json!("NaN")));
        assert_eq!(v(json!({"boolValue": true})), Ok(json!(true)));
        assert_eq!(v(json!({"bytesValue": "AAE="})), Ok(json!("AAE=")));
        assert_eq!(v(json!({})), Ok(json!(null)));
        assert_eq!(v(json!({"futureValue": 1})), Ok(json!({"futureValue": 1})));
        assert_eq!(
            v(json!({"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "x"}]}})),
            Ok(json!([1, "x"]))
        );
        assert_eq!(v(json!({"arrayValue": {}})), Ok(json!([])));
        assert_eq!(
            v(json!({"kvlistValue": {"values": [
                {"key": "a", "value": {"boolValue": false}},
                {"key": "b", "value": {"kvlistValue": {"values": [{"key": "c"}]}}}]}})),
            Ok(json!({"a": false, "b": {"c": null}}))
        );
        for bad in [
            json!("plain"),
            json!({"intValue": "1.5"}),
            json!({"intValue": true}),
            json!({"doubleValue": "x"}),
            json!({"boolValue": "true"}),
            json!({"stringValue": 1}),
            json!({"kvlistValue": {"values": [{"value": {"intValue": "1"}}]}}),
        ] {
            assert!(v(bad.clone()).is_err(), "{bad}");
        }
    }
}
