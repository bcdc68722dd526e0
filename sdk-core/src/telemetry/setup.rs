//! [`TelemetryBuilder`]: one place to choose the exporter, the service
//! name and resource attributes, and the propagation format.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

use super::otlp_http::BlockingHttpClient;
use super::{Propagation, Telemetry};
use crate::error::{Error, Result};

/// Where spans go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Exporter {
    /// Nowhere (trace ids are still made and propagated).
    None,
    /// OTLP over HTTP/protobuf to `endpoint` (e.g. `http://127.0.0.1:4318`;
    /// `/v1/traces` is added unless the path already names it).
    OtlpHttp { endpoint: String },
}

/// Sets up the SDK's [`Telemetry`].
///
/// ```
/// use savant_sdk_core::telemetry::{Propagation, Telemetry};
/// # fn main() -> savant_sdk_core::Result<()> {
/// let telemetry = Telemetry::builder("my-client")
///     .propagation(Propagation::Jaeger)
///     .otlp_http("http://127.0.0.1:4318")
///     .resource_attribute("deployment.environment", "test")
///     .build()?;
/// // ... give it to SourceBuilder::telemetry(...) ...
/// telemetry.shutdown(); // flushes pending spans
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TelemetryBuilder {
    service_name: String,
    propagation: Propagation,
    exporter: Exporter,
    resource: Vec<(String, String)>,
    timeout: Duration,
    enabled: bool,
}

impl TelemetryBuilder {
    pub(crate) fn new(service_name: impl Into<String>) -> Self {
        Self {
            service_name: service_name.into(),
            propagation: Propagation::W3c,
            exporter: Exporter::None,
            resource: Vec::new(),
            timeout: Duration::from_secs(5),
            enabled: true,
        }
    }

    /// The propagation format (default W3C).
    pub fn propagation(mut self, p: Propagation) -> Self {
        self.propagation = p;
        self
    }

    /// Export spans with OTLP over HTTP/protobuf to a collector such as
    /// Jaeger (`http://HOST:4318`).
    pub fn otlp_http(mut self, endpoint: impl Into<String>) -> Self {
        self.exporter = Exporter::OtlpHttp {
            endpoint: endpoint.into(),
        };
        self
    }

    /// Adds a resource attribute (beside `service.name`).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource.push((key.into(), value.into()));
        self
    }

    /// Timeout of one export (default 5 s).
    pub fn export_timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Turns telemetry off altogether (no trace ids, nothing injected).
    pub fn off(mut self) -> Self {
        self.enabled = false;
        self
    }

    /// Builds the tracer provider. With an exporter, spans are batched and
    /// exported from a thread of its own; a slow or unreachable collector
    /// never blocks the code that makes spans (full queues drop spans).
    pub fn build(self) -> Result<Telemetry> {
        if !self.enabled {
            return Ok(Telemetry::off());
        }
        let resource = Resource::builder_empty()
            .with_service_name(self.service_name.clone())
            .with_attributes(
                self.resource
                    .iter()
                    .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
            )
            .build();
        let mut provider = SdkTracerProvider::builder().with_resource(resource);
        if let Exporter::OtlpHttp { endpoint } = &self.exporter {
            let endpoint = if endpoint.trim_end_matches('/').ends_with("/v1/traces") {
                endpoint.clone()
            } else {
                format!("{}/v1/traces", endpoint.trim_end_matches('/'))
            };
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_http_client(BlockingHttpClient {
                    timeout: self.timeout,
                })
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(endpoint)
                .with_timeout(self.timeout)
                .build()
                .map_err(|e| Error::Config(format!("cannot set up the OTLP exporter: {e}")))?;
            // After a failed export, wait (1 s, doubling to 30 s) before
            // encoding spans again: a down collector must not eat the CPU.
            let exporter = super::backoff::BackoffExporter::new(
                exporter,
                Duration::from_secs(1),
                Duration::from_secs(30),
            );
            provider = provider.with_batch_exporter(exporter);
        }
        Ok(Telemetry::with_provider(
            provider.build(),
            &self.service_name,
            self.propagation,
        ))
    }
}
