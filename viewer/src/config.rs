//! The `viewer` sink type of pipeline files, registered with
//! [`savant_sdk_plugin::register_sink!`].
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `bind` | `"127.0.0.1"` | the address to serve on (this machine only by default) |
//! | `port` | `8080` | the port; 0: any free port (logged at info level) |
//! | `max_sources` | 256 | source ids kept; beyond, the one idle longest goes |
//! | `max_fps` | 10 | pictures rendered per source and second at most |
//! | `jpeg_quality` | 80 | 1 to 100 |
//! | `latency` | `true` | round-trip latency from the send times of the pipeline's own sources (in `savant-sdk run`) |
//!
//! ```toml
//! [[sink]]
//! type = "viewer"
//! port = 8080
//! ```
//!
//! The page is served from when the pipeline is built until its sinks
//! finish.

use std::net::{IpAddr, SocketAddr};

use savant_sdk_component::component::{BuildContext, SinkConfig};
use savant_sdk_component::sink::Sink;
use savant_sdk_component::{Error, Result};
use savant_sdk_plugin::schemars;
use serde::Deserialize;

use crate::{SentTimes, Viewer, ViewerError, ViewerOptions, ViewerSink};

fn default_bind() -> String {
    "127.0.0.1".into()
}
fn default_port() -> u16 {
    8080
}
fn default_max_sources() -> usize {
    crate::viewer::DEFAULT_MAX_SOURCES
}
fn default_max_fps() -> f64 {
    crate::viewer::DEFAULT_MAX_RENDERS_PER_SECOND
}
fn default_quality() -> u8 {
    crate::viewer::DEFAULT_JPEG_QUALITY
}
fn default_true() -> bool {
    true
}

/// `viewer`: a live page in the browser with a tile per source id
/// ([`Viewer`], [`ViewerSink`]).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "savant_sdk_plugin::schemars")]
#[serde(deny_unknown_fields)]
pub struct ViewerConfig {
    /// The address to serve on.
    #[serde(default = "default_bind")]
    pub bind: String,
    /// The port (0: any free port).
    #[serde(default = "default_port")]
    pub port: u16,
    /// Source ids kept at most.
    #[serde(default = "default_max_sources")]
    pub max_sources: usize,
    /// Pictures rendered per source and second at most.
    #[serde(default = "default_max_fps")]
    pub max_fps: f64,
    /// JPEG quality, 1 to 100.
    #[serde(default = "default_quality")]
    pub jpeg_quality: u8,
    /// Show round-trip latency of the frames the pipeline's own sources sent.
    #[serde(default = "default_true")]
    pub latency: bool,
}

impl ViewerConfig {
    fn options(&self) -> ViewerOptions {
        ViewerOptions {
            max_sources: self.max_sources,
            max_renders_per_second: self.max_fps,
            jpeg_quality: self.jpeg_quality,
            sent_times: None,
        }
    }

    fn addr(&self) -> Result<SocketAddr> {
        let ip: IpAddr = self.bind.parse().map_err(|_| {
            Error::invalid_config("bind", format!("{:?} is not an IP address", self.bind))
        })?;
        Ok(SocketAddr::new(ip, self.port))
    }
}

impl SinkConfig for ViewerConfig {
    const TYPE: &'static str = "viewer";
    const DESCRIPTION: &'static str =
        "a live page in the browser: a tile per source with the latest annotated frame";

    fn validate(&self) -> Result<()> {
        self.addr()?;
        self.options().validate().map_err(|e| match e {
            ViewerError::Option { option, reason } => {
                let key = if option == "max_renders_per_second" {
                    "max_fps"
                } else {
                    option
                };
                Error::invalid_config(key, reason)
            }
            other => Error::invalid_config("viewer", other.to_string()),
        })
    }

    fn build(self, ctx: &BuildContext) -> Result<Box<dyn Sink>> {
        self.validate()?;
        let addr = self.addr()?;
        let mut options = self.options();
        if self.latency {
            options.sent_times = Some(SentTimes::enable_global().clone());
        }
        let viewer = Viewer::with_options(options).map_err(|e| Error::sink(ctx.name(), e))?;
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|source| Error::sink(ctx.name(), ViewerError::Bind { addr, source }))?;
        let server = viewer
            .serve_std(listener)
            .map_err(|e| Error::sink(ctx.name(), e))?;
        tracing::info!(sink = ctx.name(), url = %server.url(), "viewer sink serving");
        Ok(Box::new(ViewerSink::new(viewer).with_server(server)))
    }
}

savant_sdk_plugin::register_sink!(ViewerConfig);

#[cfg(test)]
mod tests {
    use savant_sdk_plugin::parse_config;

    use super::*;

    fn refused(text: &str, key: &str) {
        let message = match parse_config::<ViewerConfig>("viewer", text) {
            Err(e) => e.to_string(),
            Ok(c) => c.validate().expect_err(text).to_string(),
        };
        assert!(message.contains(key), "{text:?}: {message}");
    }

    #[test]
    fn keys_defaults_and_refusals() {
        let c: ViewerConfig = parse_config("viewer", "").unwrap();
        c.validate().unwrap();
        assert_eq!(
            (c.bind.as_str(), c.port, c.max_sources),
            ("127.0.0.1", 8080, 256)
        );
        refused("bind = 'localhost'", "bind");
        refused("max_sources = 0", "max_sources");
        refused("max_fps = 0.0", "max_fps");
        refused("jpeg_quality = 0", "jpeg_quality");
        refused("colour = 1", "colour");
        let c = savant_sdk_plugin::static_components()
            .find(|c| c.name == "viewer")
            .expect("registered");
        assert_eq!(c.kind(), "sink");
    }

    #[tokio::test]
    async fn builds_and_serves_on_a_free_port() {
        let c: ViewerConfig = parse_config("viewer", "port = 0").unwrap();
        let mut sink = c.build(&BuildContext::new("v")).unwrap();
        sink.finish().await.unwrap();
        // outside a runtime: an error saying so
        let c: ViewerConfig = parse_config("viewer", "port = 0").unwrap();
        let e = std::thread::spawn(move || c.build(&BuildContext::new("v")).err())
            .join()
            .unwrap()
            .expect("refused");
        assert!(e.to_string().contains("runtime"), "{e}");
    }
}
