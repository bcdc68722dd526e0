//! `--otlp-endpoint`, `--otlp-protocol` and `--service-name`, shared by the
//! subcommands that send or receive.

use anyhow::Result;
use clap::Args;
use savant_sdk_core::telemetry::{OtlpProtocol, Propagation, Telemetry};

/// Exporter options.
#[derive(Debug, Clone, Args)]
pub struct TelemetryArgs {
    /// Export spans with OTLP to this collector (e.g. http://127.0.0.1:4318
    /// for HTTP, http://127.0.0.1:4317 for gRPC).
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// The OTLP transport: http (HTTP/protobuf) or grpc.
    #[arg(long, value_name = "PROTOCOL", default_value = "http", value_parser = parse_protocol)]
    pub otlp_protocol: OtlpProtocol,
    /// Service name of the exported spans.
    #[arg(long, default_value = "savant-sdk")]
    pub service_name: String,
}

fn parse_protocol(s: &str) -> std::result::Result<OtlpProtocol, String> {
    s.parse()
}

impl TelemetryArgs {
    /// The telemetry for these options; off when `propagation` is `None`.
    pub fn build(&self, propagation: Option<Propagation>) -> Result<Telemetry> {
        let Some(p) = propagation else {
            return Ok(Telemetry::off());
        };
        let mut b = Telemetry::builder(&self.service_name).propagation(p);
        if let Some(url) = &self.otlp_endpoint {
            b = b.otlp(self.otlp_protocol, url);
        }
        Ok(b.build()?)
    }
}
