//! The Jaeger log provider against a local HTTP server serving the
//! documented Jaeger v1 JSON (no Jaeger binary can be had here), and
//! results fetching their logs through it. (OTLP export is tested in
//! `otlp_export.rs`.)

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::source::SourceFrame;
use savant_sdk_core::telemetry::{JaegerLogProvider, LogProvider, LogProviderError, TraceId};

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
