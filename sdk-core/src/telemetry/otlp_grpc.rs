//! OTLP over gRPC (tonic), behind the crate feature `otlp-grpc`.
//!
//! tonic's channel and its HTTP/2 connection are tasks of a Tokio runtime,
//! while the batch span processor exports from a plain thread of its own
//! (no runtime there). So the exporter brings a runtime of its own, one
//! worker thread named `savant-otlp-grpc`: the channel is made inside it
//! and every export runs on it, whatever runtime (if any) the application
//! has. As for HTTP, none of this is on the send path.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use crate::error::{Error, Result};

/// opentelemetry-otlp's tonic exporter on a runtime of its own.
#[derive(Debug)]
pub(crate) struct GrpcExporter {
    inner: Arc<opentelemetry_otlp::SpanExporter>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl GrpcExporter {
    /// An exporter to `endpoint` (e.g. `http://127.0.0.1:4317`); connects
    /// lazily, at the first export.
    pub(crate) fn new(endpoint: &str, timeout: Duration) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("savant-otlp-grpc")
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("cannot start the OTLP/gRPC runtime: {e}")))?;
        let inner = {
            // tonic spawns the channel's worker on the current runtime
            let _guard = runtime.enter();
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .with_timeout(timeout)
                .build()
                .map_err(|e| Error::Config(format!("cannot set up the OTLP/gRPC exporter: {e}")))?
        };
        Ok(Self {
            inner: Arc::new(inner),
            runtime: Some(runtime),
        })
    }
}

impl SpanExporter for GrpcExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let runtime = self.runtime.as_ref().ok_or(OTelSdkError::AlreadyShutdown)?;
        let inner = self.inner.clone();
        runtime
            .spawn(async move { inner.export(batch).await })
            .await
            .map_err(|e| OTelSdkError::InternalFailure(format!("OTLP/gRPC export task: {e}")))?
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        // Called once when the provider is built, before any export holds
        // a clone of the exporter.
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.set_resource(resource),
            None => tracing::warn!("OTLP/gRPC exporter busy; resource not updated"),
        }
    }
}

impl Drop for GrpcExporter {
    fn drop(&mut self) {
        // Does not wait, so it is safe wherever the exporter is dropped
        // (even inside another runtime).
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::model::PropagatedContext;
    use crate::telemetry::Telemetry;

    /// A collector that is down costs the code making spans nothing, and
    /// shutting down (which flushes) gives up in bounded time; both inside
    /// an application's own runtime, where the exporter's runtime must not
    /// be dropped or blocked on.
    #[test]
    fn a_down_collector_neither_blocks_spans_nor_shutdown() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let app = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        app.block_on(async {
            let telemetry = Telemetry::builder("down")
                .otlp_grpc(format!("http://{closed}"))
                .export_timeout(Duration::from_millis(500))
                .build()
                .unwrap();
            let t = Instant::now();
            for pts in 0..5000 {
                let span = telemetry.frame_span("cam", pts);
                let mut carrier = PropagatedContext::new();
                telemetry.inject(&span, &mut carrier);
            }
            // thousands of spans in well under a second on any machine
            // when nothing waits for the collector
            assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
            tokio::time::sleep(Duration::from_millis(200)).await;
            let t = Instant::now();
            telemetry.shutdown();
            assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
            drop(telemetry);
        });
    }
}
