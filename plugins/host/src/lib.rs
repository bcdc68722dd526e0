//! # savant-sdk-plugin-host
//!
//! The host side of Savant plugins. A [`PluginRegistry`] collects
//! components linked into the binary (registered with
//! `savant_sdk_plugin::export_source!`/`export_sink!`) and loads `.so`
//! files built with the same macros; by name it builds sources and sinks
//! that are ordinary [`Source`](savant_sdk_core::source::Source)s and
//! [`Sink`](savant_sdk_core::sink::Sink)s, so they compose with
//! `SourceRunner::send_stream` and `SinkRunner::run`.
//!
//! Loading checks the ABI version first (reading nothing else of a
//! plugin built for another ABI), then the SDK version, kind and
//! functions; every failure is a [`PluginHostError`] naming the plugin,
//! and nothing of a refused library is called. Panics inside a plugin are
//! caught there and come back as [`PluginHostError::Panicked`]; malformed
//! output as [`PluginHostError::Malformed`]. Plugins log through the
//! host: their `tracing` events are re-emitted in the host (target
//! `savant_sdk_plugin`, fields `plugin`, `plugin_target`) inside the
//! caller's current span. Plugins get no sockets: the host's runners do
//! the transport.
//!
//! ```no_run
//! use savant_sdk_core::client::SourceBuilder;
//! use savant_sdk_plugin_host::PluginRegistry;
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut registry = PluginRegistry::new();
//! registry.load_path("plugins/")?;
//! let source = registry.source("synthetic", "frames = 100\nsource_id = 'cam-1'")?;
//! let runner = SourceBuilder::new("dealer+connect:ipc:///tmp/zmq-sockets/input-video.ipc").build().await?;
//! let summary = runner.send_stream(source).await?;
//! println!("{} frames sent", summary.frames);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod elf;
mod error;
mod instance;
mod library;
pub mod pipeline_file;
mod registry;

pub use error::PluginHostError;
pub use instance::{PluginSink, PluginSource};
pub use pipeline_file::{BuiltPipeline, PipelineFile};
pub use registry::{library_next_to_executable, ComponentInfo, LoadReport, Origin, PluginRegistry};
