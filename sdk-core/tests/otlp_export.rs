//! Spans exported with OTLP/HTTP to a real receiver started here (an HTTP
//! server on 127.0.0.1 decoding the protobuf body with the
//! `opentelemetry-proto` types), with the log events emitted while each
//! frame was made inside that frame's trace.
//!
//! Alone in its test binary: it installs a `tracing` subscriber, and
//! `tracing` caches per call site whether anyone listens, which other tests
//! running at the same time in the same process would race with.

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message as _;
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::source::{Source, SourceFrame, SourceItem};
use savant_sdk_core::telemetry::{Propagation, Telemetry};
use tracing_subscriber::layer::SubscriberExt;

mod support;
use support::read_request;

/// A minimal OTLP/HTTP trace receiver.
fn otlp_receiver() -> (String, Arc<Mutex<Vec<ExportTraceServiceRequest>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (line, body) = read_request(&mut stream);
            if line.starts_with("POST /v1/traces") {
                let req = ExportTraceServiceRequest::decode(&body[..]).expect("OTLP protobuf");
                g.lock().unwrap().push(req);
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n",
            );
        }
    });
    (url, got)
}

/// Two frames; the source logs while making each.
struct LoggingSource {
    n: i64,
}

#[async_trait]
impl Source for LoggingSource {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        if self.n == 2 {
            return Ok(None);
        }
        tracing::info!(target: "my_source", "making frame {}", self.n);
        let f = VideoFrame::builder("otlp")
            .codec("jpeg")
            .pts(self.n)
            .build();
        self.n += 1;
        Ok(Some(SourceItem::Frame(SourceFrame::new(f, "payload"))))
    }
}

fn string_attr(
    attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue],
    key: &str,
) -> Option<String> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            _ => None,
        }
    })
}

#[test]
fn spans_and_log_events_reach_an_otlp_receiver() {
    let (url, got) = otlp_receiver();
    let telemetry = Telemetry::builder("otlp-test-service")
        .otlp_http(&url)
        .resource_attribute("deployment.environment", "test")
        .propagation(Propagation::W3c)
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(telemetry.tracing_layer());
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (
        format!("ipc://{}/in.ipc", dir.path().display()),
        format!("ipc://{}/out.ipc", dir.path().display()),
    );
    let sent = rt.block_on(async {
        let mut sink = SinkBuilder::new(format!("router+bind:{output}"))
            .idle_timeout(Duration::from_secs(1))
            .build()
            .await
            .unwrap();
        let module = LoopbackModule::start(LoopbackConfig::new(
            format!("router+bind:{input}"),
            format!("dealer+connect:{output}"),
        ))
        .unwrap();
        let source = SourceBuilder::new(format!("dealer+connect:{input}"))
            .telemetry(telemetry.clone())
            .build()
            .await
            .unwrap();
        let mut sent = Vec::new();
        source
            .send_stream_with(LoggingSource { n: 0 }, |r| sent.push(r.clone()))
            .await
            .unwrap();
        while sink.next().await.is_some() {}
        source.close().await;
        module.stop().unwrap();
        sent
    });
    telemetry.shutdown(); // flushes
    let requests = got.lock().unwrap();
    assert!(!requests.is_empty(), "nothing exported");
    let resource_spans: Vec<_> = requests.iter().flat_map(|r| &r.resource_spans).collect();
    let resource = resource_spans[0].resource.as_ref().unwrap();
    assert_eq!(
        string_attr(&resource.attributes, "service.name").as_deref(),
        Some("otlp-test-service")
    );
    assert_eq!(
        string_attr(&resource.attributes, "deployment.environment").as_deref(),
        Some("test")
    );
    let spans: Vec<_> = resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    for (i, r) in sent.iter().filter(|r| r.kind == "frame").enumerate() {
        let trace = r.trace_id.unwrap().to_bytes().to_vec();
        let mine: Vec<_> = spans.iter().filter(|s| s.trace_id == trace).collect();
        assert!(
            mine.iter().any(|s| s.name == "savant.send_frame"
                && string_attr(&s.attributes, "savant.source_id").as_deref() == Some("otlp")),
            "the frame's root span, with its source id"
        );
        let events: Vec<_> = mine.iter().flat_map(|s| &s.events).collect();
        let log = events
            .iter()
            .find(|e| e.name == format!("making frame {i}"))
            .unwrap_or_else(|| panic!("log event of frame {i} in its trace: {events:?}"));
        assert_eq!(
            string_attr(&log.attributes, "level").as_deref(),
            Some("INFO")
        );
        assert_eq!(
            string_attr(&log.attributes, "target").as_deref(),
            Some("my_source")
        );
    }
}
