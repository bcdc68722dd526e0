//! The Jaeger log provider against a local HTTP server serving the
//! documented Jaeger JSON shapes, v1 (`/api/traces/{id}`) and v3 (Jaeger
//! v2's `/api/v3/traces/{id}`, OTLP JSON): no Jaeger binary can be had
//! here, so the responses are written after Jaeger's documentation. Also
//! results fetching their logs through it. (OTLP export is tested in
//! `otlp_export.rs` and `otlp_grpc_export.rs`.)

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::source::SourceFrame;
use savant_sdk_core::telemetry::{
    JaegerApi, JaegerLogProvider, LogProvider, LogProviderError, TraceId,
};

mod support;
use support::read_request;

/// A local HTTP server answering by path with fixed responses.
fn jaeger_like_server(routes: Vec<(&'static str, u16, String)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (line, _) = read_request(&mut stream);
            let path = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            let (code, body) = routes
                .iter()
                .find(|(p, _, _)| path.ends_with(p))
                .map(|(_, c, b)| (*c, b.clone()))
                .unwrap_or((404, String::new()));
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

const TRACE: &str = "8aab6a3a7fc890993629d61e6efc419d";

fn jaeger_json() -> String {
    // the v1 shape: data[].spans[].logs[] with microsecond timestamps and key/value fields
    serde_json::json!({"data": [{"traceID": TRACE, "spans": [
        {"spanID": "1", "logs": [
            {"timestamp": 1_700_000_000_000_300u64, "fields": [
                {"key": "event", "type": "string", "value": "second"},
                {"key": "event.name", "type": "string", "value": "log-record"},
                {"key": "event.domain", "type": "string", "value": "savant"},
                {"key": "log.level", "type": "string", "value": "WARN"},
                {"key": "log.target", "type": "string", "value": "savant::module"},
                {"key": "frame", "type": "int64", "value": 7}]},
            {"timestamp": 1_700_000_000_000_100u64, "fields": [
                {"key": "event", "type": "string", "value": "exception"},
                {"key": "exception.message", "type": "string", "value": "not a log"}]}
        ]},
        {"spanID": "2", "logs": [
            {"timestamp": 1_700_000_000_000_200u64, "fields": [
                {"key": "event", "type": "string", "value": "first"},
                {"key": "level", "type": "string", "value": "INFO"},
                {"key": "target", "type": "string", "value": "my_client"}]},
            {"timestamp": 1_700_000_000_000_400u64, "fields": [
                {"key": "event.name", "type": "string", "value": "log-record"},
                {"key": "log.level", "type": "string", "value": "INFO"}]}
        ]}
    ]}]})
    .to_string()
}

#[tokio::test]
async fn jaeger_log_provider_reads_the_v1_shape() {
    let url = jaeger_like_server(vec![
        (
            "/api/traces/8aab6a3a7fc890993629d61e6efc419d",
            200,
            jaeger_json(),
        ),
        (
            "/api/traces/00000000000000000000000000000bad",
            200,
            "{not json".into(),
        ),
        (
            "/api/traces/00000000000000000000000000000500",
            500,
            "oops".into(),
        ),
    ]);
    let jaeger = JaegerLogProvider::new(&url)
        .unwrap()
        .basic_auth("user", "pass");
    let logs = jaeger
        .logs(TraceId::from_hex(TRACE).unwrap())
        .await
        .unwrap();
    // non-log events and logs missing a field are left out; sorted by time
    let messages: Vec<&str> = logs.entries.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages, ["first", "second"]);
    assert_eq!(logs.entries[1].level, "WARN");
    assert_eq!(logs.entries[1].target, "savant::module");
    assert_eq!(
        logs.entries[1].attributes.get("frame"),
        Some(&serde_json::json!(7))
    );
    assert!(!logs.entries[1].attributes.contains_key("event.domain"));
    let printed = logs.to_string();
    assert!(
        printed.contains("1700000000.000200 INFO  my_client: first"),
        "{printed}"
    );
    assert!(
        printed.contains("WARN  savant::module: second frame=7"),
        "{printed}"
    );

    let e = jaeger.logs(TraceId::from(1u128)).await.unwrap_err();
    assert!(matches!(e, LogProviderError::NotFound { .. }), "{e}");
    let e = jaeger.logs(TraceId::from(0x500u128)).await.unwrap_err();
    assert!(
        matches!(e, LogProviderError::Status { status: 500, .. }),
        "{e}"
    );
    let e = jaeger.logs(TraceId::from(0xbadu128)).await.unwrap_err();
    assert!(matches!(e, LogProviderError::Malformed { .. }), "{e}");
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let e = JaegerLogProvider::new(format!("http://{closed}"))
        .unwrap()
        .logs(TraceId::from(1u128))
        .await
        .unwrap_err();
    assert!(matches!(e, LogProviderError::Unreachable { .. }), "{e}");
    assert!(matches!(
        JaegerLogProvider::new("ftp://x").unwrap_err(),
        LogProviderError::BadEndpoint(_)
    ));
}

fn jaeger_v3_json() -> String {
    // The v3 shape (OTLP JSON): result.resourceSpans[].scopeSpans[].spans[].events[]
    // with nanosecond timestamps as strings and attributes as AnyValues.
    let s = |v: &str| serde_json::json!({"stringValue": v});
    let kv = |k: &str, v: serde_json::Value| serde_json::json!({"key": k, "value": v});
    serde_json::json!({"result": {"resourceSpans": [
        {"resource": {"attributes": [kv("service.name", s("savant-module"))]},
         "scopeSpans": [{"scope": {"name": "savant"}, "spans": [
            {"traceId": TRACE, "spanId": "00f067aa0ba902b7", "name": "process",
             "kind": 1, "startTimeUnixNano": "1700000000000000000",
             "endTimeUnixNano": "1700000000001000000", "status": {},
             "events": [
                // Savant's shape
                {"timeUnixNano": "1700000000000300500", "name": "second", "attributes": [
                    kv("event.name", s("log-record")),
                    kv("event.domain", s("savant")),
                    kv("log.level", s("WARN")),
                    kv("log.target", s("savant::module")),
                    kv("frame", serde_json::json!({"intValue": "7"})),
                    kv("score", serde_json::json!({"doubleValue": 0.5})),
                    kv("ok", serde_json::json!({"boolValue": true})),
                    kv("tags", serde_json::json!({"arrayValue": {"values": [s("a"), {"intValue": "2"}]}})),
                    kv("box", serde_json::json!({"kvlistValue": {"values": [kv("w", serde_json::json!({"intValue": "3"}))]}}))]},
                // not a log
                {"timeUnixNano": "1700000000000100000", "name": "exception", "attributes": [
                    kv("exception.message", s("not a log"))]}]}]}]},
        {"resource": {"attributes": [kv("service.name", s("my-client"))]},
         "scopeSpans": [{"spans": [
            {"traceId": TRACE, "spanId": "00f067aa0ba902b8", "name": "savant.send_frame",
             "events": [
                // what tracing-opentelemetry writes: the message is the event's name
                {"timeUnixNano": "1700000000000300400", "name": "first", "attributes": [
                    kv("level", s("INFO")),
                    kv("target", s("my_client")),
                    kv("code.file.path", s("src/main.rs")),
                    kv("code.line.number", serde_json::json!({"intValue": "42"}))]},
                // a log without its target: left out
                {"timeUnixNano": "1700000000000400000", "name": "incomplete", "attributes": [
                    kv("event.name", s("log-record")),
                    kv("log.level", s("INFO"))]}]}]}]}
    ]}})
    .to_string()
}

#[tokio::test]
async fn jaeger_log_provider_reads_the_v3_otlp_json_shape() {
    let url = jaeger_like_server(vec![
        (
            "/api/v3/traces/8aab6a3a7fc890993629d61e6efc419d",
            200,
            jaeger_v3_json(),
        ),
        (
            "/api/v3/traces/00000000000000000000000000000404",
            404,
            r#"{"error":{"httpCode":404,"message":"trace not found"}}"#.into(),
        ),
        (
            "/api/v3/traces/00000000000000000000000000000bad",
            200,
            "{not json".into(),
        ),
        // the v1 shape where v3 is expected
        (
            "/api/v3/traces/000000000000000000000000000000b1",
            200,
            jaeger_json(),
        ),
        (
            "/api/v3/traces/00000000000000000000000000000b1a",
            200,
            r#"{"result":{"resourceSpans":[{"scopeSpans":[{"spans":[{"events":[
                {"timeUnixNano":"soon","name":"x","attributes":[]}]}]}]}]}}"#
                .into(),
        ),
        (
            "/api/v3/traces/00000000000000000000000000000500",
            500,
            "oops".into(),
        ),
        // a v1 provider must not read the v3 path, nor the other way round
        (
            "/api/traces/8aab6a3a7fc890993629d61e6efc419d",
            200,
            jaeger_json(),
        ),
    ]);
    let jaeger = JaegerLogProvider::new(&url)
        .unwrap()
        .api(JaegerApi::V3)
        .basic_auth("user", "pass");
    let logs = jaeger
        .logs(TraceId::from_hex(TRACE).unwrap())
        .await
        .unwrap();
    // non-log events and logs missing a field are left out; sorted by time
    // (these two are 100 ns apart)
    let messages: Vec<&str> = logs.entries.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages, ["first", "second"]);
    let (first, second) = (&logs.entries[0], &logs.entries[1]);
    assert_eq!(
        (first.level.as_str(), first.target.as_str()),
        ("INFO", "my_client")
    );
    assert_eq!(
        first.timestamp,
        std::time::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_300_400)
    );
    assert_eq!(
        first.attributes.get("code.line.number"),
        Some(&serde_json::json!(42))
    );
    assert_eq!(
        (second.level.as_str(), second.target.as_str()),
        ("WARN", "savant::module")
    );
    let attrs = serde_json::to_value(&second.attributes).unwrap();
    assert_eq!(
        attrs,
        serde_json::json!({"frame": 7, "score": 0.5, "ok": true, "tags": ["a", 2], "box": {"w": 3}})
    );
    let printed = logs.to_string();
    assert!(
        printed.contains("1700000000.000300 INFO  my_client: first"),
        "{printed}"
    );
    assert!(
        printed.contains("WARN  savant::module: second"),
        "{printed}"
    );
    // the same trace read through v1 is the v1 fixture, from the v1 path
    let v1 = JaegerLogProvider::new(&url)
        .unwrap()
        .logs(TraceId::from_hex(TRACE).unwrap())
        .await
        .unwrap();
    assert_eq!(
        v1.entries[1].attributes.get("frame"),
        Some(&serde_json::json!(7))
    );
    assert_ne!(v1, logs);

    let e = jaeger.logs(TraceId::from(0x404u128)).await.unwrap_err();
    assert!(matches!(e, LogProviderError::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("/api/v3/traces/"), "{e}");
    let e = jaeger.logs(TraceId::from(0x500u128)).await.unwrap_err();
    assert!(
        matches!(e, LogProviderError::Status { status: 500, .. }),
        "{e}"
    );
    for bad in [0xbadu128, 0xb1, 0xb1a] {
        let e = jaeger.logs(TraceId::from(bad)).await.unwrap_err();
        assert!(
            matches!(e, LogProviderError::Malformed { .. }),
            "{bad:x}: {e}"
        );
    }
    let e = jaeger.logs(TraceId::from(0xb1au128)).await.unwrap_err();
    assert!(e.to_string().contains("timeUnixNano"), "{e}");
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let e = JaegerLogProvider::new(format!("http://{closed}"))
        .unwrap()
        .api(JaegerApi::V3)
        .logs(TraceId::from(1u128))
        .await
        .unwrap_err();
    assert!(matches!(e, LogProviderError::Unreachable { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_result_fetches_its_logs() {
    let url = jaeger_like_server(vec![("", 200, jaeger_json())]);
    let dir = tempfile::tempdir().unwrap();
    let ep = format!("ipc://{}/direct.ipc", dir.path().display());
    let mut sink = SinkBuilder::new(format!("router+bind:{ep}"))
        .idle_timeout(Duration::from_millis(500))
        .log_provider(Arc::new(JaegerLogProvider::new(&url).unwrap()))
        .build()
        .await
        .unwrap();
    let source = SourceBuilder::new(format!("dealer+connect:{ep}"))
        .log_provider(Arc::new(JaegerLogProvider::new(&url).unwrap()))
        .build()
        .await
        .unwrap();
    let r = source
        .send(SourceFrame::new(VideoFrame::builder("l").build(), "x"))
        .await
        .unwrap();
    let logs = r.logs().await.expect("a provider and a trace").unwrap();
    assert_eq!(logs.entries.len(), 2);
    // without a provider there is nothing to fetch
    let plain = SourceBuilder::new(format!("dealer+connect:{ep}"))
        .build()
        .await
        .unwrap();
    let r = plain
        .send(SourceFrame::new(VideoFrame::builder("l").build(), "x"))
        .await
        .unwrap();
    assert!(r.logs().await.is_none());
    // the sink side fetches the logs of what it received
    let first = sink.next().await.unwrap().unwrap();
    assert_eq!(first.logs().await.unwrap().unwrap().entries.len(), 2);
    while sink.next().await.is_some() {}
}
