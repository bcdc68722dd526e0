//! # savant-sdk-viewer
//!
//! A live viewer in the browser: a local web page with a tile per source
//! id showing the latest annotated frame, frames/s, round-trip latency
//! (when the send times are known) and the objects of the last frame,
//! and a JSON endpoint with the same numbers. No X11, no GPU: axum on the
//! caller's tokio runtime, the page is static HTML and JavaScript
//! embedded in the binary.
//!
//! - [`Viewer`]: the shared state (one picture per source, bounded);
//!   [`Viewer::publish`] takes decoded pictures (from a video decoder),
//!   [`ViewerSink`] publishes JPEG/PNG frames itself;
//! - [`Viewer::serve`]: the HTTP server ([`server`] lists the endpoints);
//! - [`SentTimes`]: send times by trace id, for latency;
//! - [`config`]: the `viewer` sink type of pipeline files;
//! - [`annotate`]: how objects are drawn.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use savant_sdk_core::client::SinkBuilder;
//! use savant_sdk_viewer::{Viewer, ViewerSink};
//! let viewer = Viewer::new();
//! let server = viewer.serve("127.0.0.1:0".parse()?).await?;
//! println!("open {}", server.url());
//! let mut reader = SinkBuilder::new("router+bind:ipc:///tmp/savant/output.ipc").build().await?;
//! reader.run(&mut ViewerSink::new(viewer.clone())).await?;
//! println!("{:?}", viewer.snapshot());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod annotate;
pub mod config;
mod error;
mod sent;
pub mod server;
mod sink;
mod viewer;

pub use annotate::annotate;
pub use error::ViewerError;
pub use sent::{SentTimes, DEFAULT_SENT_CAPACITY};
pub use server::ViewerServer;
pub use sink::ViewerSink;
pub use viewer::{
    BoxInfo, ObjectInfo, Snapshot, StreamInfo, Viewer, ViewerOptions, DEFAULT_JPEG_QUALITY,
    DEFAULT_MAX_RENDERS_PER_SECOND, DEFAULT_MAX_SOURCES,
};
