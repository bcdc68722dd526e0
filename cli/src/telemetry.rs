//! `--otlp-endpoint` and `--service-name`, shared by the subcommands that
//! send or receive.

use anyhow::Result;
use clap::Args;
use savant_sdk_core::telemetry::{Propagation, Telemetry};

/// Exporter options.
#[derive(Debug, Clone, Args)]
pub struct TelemetryArgs {
    /// Export spans with OTLP over HTTP/protobuf to this collector (e.g. http://127.0.0.1:4318).
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// Service name of the exported spans.
    #[arg(long, default_value = "savant-sdk")]
    pub service_name: String,
}

impl TelemetryArgs {
    /// The telemetry for these options; off when `propagation` is `None`.
    pub fn build(&self, propagation: Option<Propagation>) -> Result<Telemetry> {
        let Some(p) = propagation else {
            return Ok(Telemetry::off());
        };
        let mut b = Telemetry::builder(&self.service_name).propagation(p);
        if let Some(url) = &self.otlp_endpoint {
            b = b.otlp_http(url);
        }
        Ok(b.build()?)
    }
}
