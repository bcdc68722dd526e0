//! [`TelemetryBuilder`]: one place to choose the exporter, the service
//! name and resource attributes, and the propagation format.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter};
use opentelemetry_sdk::Resource;

use super::backoff::{BackoffExporter, GatedProcessor};
use super::otlp_http::BlockingHttpClient;
use super::{Propagation, Telemetry};
use crate::error::{Error, Result};

/// The OTLP transport of the exporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    /// OTLP over HTTP/protobuf (a collector's port 4318; `/v1/traces` is
    /// added to the endpoint unless its path already names it).
    #[default]
    HttpProtobuf,
    /// OTLP over gRPC (a collector's port 4317, e.g.
    /// `http://127.0.0.1:4317`). Needs the crate feature `otlp-grpc`;
    /// without it [`TelemetryBuilder::build`] refuses it.
    Grpc,
}

impl std::str::FromStr for OtlpProtocol {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "http" | "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
            "grpc" => Ok(OtlpProtocol::Grpc),
            other => Err(format!(
                "unknown OTLP protocol {other:?} (expected http or grpc)"
            )),
        }
    }
}

impl std::fmt::Display for OtlpProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OtlpProtocol::HttpProtobuf => "http",
            OtlpProtocol::Grpc => "grpc",
        })
    }
}

/// Where spans go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Exporter {
    /// Nowhere (trace ids are still made and propagated).
    None,
    /// OTLP to `endpoint` over `protocol`.
    Otlp {
        protocol: OtlpProtocol,
        endpoint: String,
    },
}

/// Sets up the SDK's [`Telemetry`].
///
/// OTLP goes over HTTP/protobuf ([`otlp_http`](Self::otlp_http)) or, with
/// the crate feature `otlp-grpc` (off by default), over gRPC
/// (`otlp_grpc("http://127.0.0.1:4317")`); [`otlp`](Self::otlp) takes the
/// choice as an [`OtlpProtocol`]. Both go through the same batching and
/// the same pause after a failed export.
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
            propagation: Propagation::Jaeger,
            exporter: Exporter::None,
            resource: Vec::new(),
            timeout: Duration::from_secs(5),
            enabled: true,
        }
    }

    /// The propagation format (default Jaeger `uber-trace-id`, Savant's
    /// default; W3C `traceparent` is the option).
    pub fn propagation(mut self, p: Propagation) -> Self {
        self.propagation = p;
        self
    }

    /// Export spans with OTLP over HTTP/protobuf to a collector such as
    /// Jaeger (`http://HOST:4318`).
    pub fn otlp_http(self, endpoint: impl Into<String>) -> Self {
        self.otlp(OtlpProtocol::HttpProtobuf, endpoint)
    }

    /// Export spans with OTLP over gRPC to a collector such as Jaeger
    /// (`http://HOST:4317`). The gRPC client runs on a Tokio runtime of its
    /// own (one thread), so this works with or without the caller's runtime.
    #[cfg(feature = "otlp-grpc")]
    pub fn otlp_grpc(self, endpoint: impl Into<String>) -> Self {
        self.otlp(OtlpProtocol::Grpc, endpoint)
    }

    /// Export spans with OTLP over `protocol` to `endpoint` (what
    /// [`otlp_http`](Self::otlp_http) and `otlp_grpc` do, chosen at run
    /// time).
    pub fn otlp(mut self, protocol: OtlpProtocol, endpoint: impl Into<String>) -> Self {
        self.exporter = Exporter::Otlp {
            protocol,
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
        let provider = SdkTracerProvider::builder().with_resource(resource);
        let (provider, recording) = match &self.exporter {
            Exporter::None => (provider, super::Recording::Never),
            Exporter::Otlp {
                protocol: OtlpProtocol::HttpProtobuf,
                endpoint,
            } => with_backoff(provider, self.http_exporter(endpoint)?),
            #[cfg(feature = "otlp-grpc")]
            Exporter::Otlp {
                protocol: OtlpProtocol::Grpc,
                endpoint,
            } => with_backoff(
                provider,
                super::otlp_grpc::GrpcExporter::new(endpoint, self.timeout)?,
            ),
            #[cfg(not(feature = "otlp-grpc"))]
            Exporter::Otlp {
                protocol: OtlpProtocol::Grpc,
                ..
            } => {
                return Err(Error::Config(
                    "OTLP over gRPC needs savant-sdk-core's feature otlp-grpc".into(),
                ))
            }
        };
        Ok(Telemetry::with_recording(
            provider.build(),
            &self.service_name,
            self.propagation,
            recording,
        ))
    }

    fn http_exporter(&self, endpoint: &str) -> Result<opentelemetry_otlp::SpanExporter> {
        let endpoint = if endpoint.trim_end_matches('/').ends_with("/v1/traces") {
            endpoint.to_string()
        } else {
            format!("{}/v1/traces", endpoint.trim_end_matches('/'))
        };
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(BlockingHttpClient {
                timeout: self.timeout,
            })
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .with_timeout(self.timeout)
            .build()
            .map_err(|e| Error::Config(format!("cannot set up the OTLP exporter: {e}")))
    }
}

/// Batches spans for `exporter`. After a failed export, wait (1 s,
/// doubling to 30 s) before encoding spans again, and meanwhile drop
/// finished spans before they are queued: a down collector must not eat
/// the CPU of the send path.
fn with_backoff<E: SpanExporter + 'static>(
    provider: opentelemetry_sdk::trace::TracerProviderBuilder,
    exporter: E,
) -> (
    opentelemetry_sdk::trace::TracerProviderBuilder,
    super::Recording,
) {
    let exporter = BackoffExporter::new(exporter, Duration::from_secs(1), Duration::from_secs(30));
    let gate = exporter.gate();
    let batch = opentelemetry_sdk::trace::BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            opentelemetry_sdk::trace::BatchConfigBuilder::default()
                .with_max_queue_size(super::backoff::QUEUE_CAPACITY)
                .build(),
        )
        .build();
    (
        provider.with_span_processor(GatedProcessor::new(batch, gate.clone())),
        super::Recording::UnlessPaused(gate),
    )
}
