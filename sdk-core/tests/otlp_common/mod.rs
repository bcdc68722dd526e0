//! What the OTLP export tests share: two frames sent through the loopback
//! module with a source that logs while making each, and the checks on
//! what a receiver decoded (`opentelemetry-proto` types, the same for
//! OTLP/HTTP and OTLP/gRPC).

use std::time::Duration;

use async_trait::async_trait;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use savant_sdk_core::client::{SinkBuilder, SourceBuilder, SourceResult};
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::source::{Source, SourceFrame, SourceItem};
use savant_sdk_core::telemetry::Telemetry;
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use tracing_subscriber::layer::SubscriberExt;

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

fn string_attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            _ => None,
        }
    })
}

/// Sends two logged frames (and their EOS) with `telemetry` through the
/// loopback module to a sink, with `telemetry`'s tracing layer as this
/// thread's subscriber; shuts `telemetry` down (which flushes) and returns
/// what the source runner reported.
pub fn send_two_logged_frames(telemetry: &Telemetry) -> Vec<SourceResult> {
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
    sent
}

/// Checks that `requests` carry `service` and the resource attribute
/// `deployment.environment=test`, and for each frame of `sent` its root
/// span (with its source id) and its log event (level, target, message)
/// under the frame's trace id.
pub fn check_export(requests: &[ExportTraceServiceRequest], sent: &[SourceResult], service: &str) {
    assert!(!requests.is_empty(), "nothing exported");
    let resource_spans: Vec<_> = requests.iter().flat_map(|r| &r.resource_spans).collect();
    let resource = resource_spans[0].resource.as_ref().unwrap();
    assert_eq!(
        string_attr(&resource.attributes, "service.name").as_deref(),
        Some(service)
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
    let frames: Vec<_> = sent.iter().filter(|r| r.kind == "frame").collect();
    assert_eq!(frames.len(), 2, "two frames sent: {sent:?}");
    for (i, r) in frames.into_iter().enumerate() {
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
