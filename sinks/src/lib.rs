//! # savant-sdk-sinks
//!
//! Ready-made [`Sink`](savant_sdk_core::sink::Sink)s for what a module sends
//! back: [`ImageFilesSink`] (the images as files), [`MetadataJsonSink`]
//! (frame metadata as JSON lines, schema in [`metadata`]) and
//! [`AnnotatedFrameSink`] (frames with the detected objects drawn on them).
//! With the `gstreamer` feature, `VideoFileSink` muxes encoded video
//! frames into MP4 or MKV files, `AnnotatedFrameSink` also decodes video
//! codecs, and `AnnotatedVideoSink` writes annotated video re-encoded as
//! H.264; with `rtsp-server`, `AlwaysOnRtspSink` serves each source id as
//! an RTSP stream that never stops.
//!
//! [`diff`] compares two runs' metadata JSON lines (frames by source id
//! and pts, objects per label by IoU).
//!
//! [`draw`] has the drawing itself ([`draw::Annotator`]: boxes and labels
//! with `imageproc` and `ab_glyph`, in DejaVu Sans), in place on any RGB
//! [`ImageBuffer`](image::ImageBuffer) whose pixels deref to `[u8]`.
//!
//! Each is also a registered component with a serde configuration
//! ([`config`]): `image_files`, `metadata_json`, `annotated`, `fan_out`;
//! with `gstreamer` `video_files` and `annotated_video`; with
//! `rtsp-server` `always_on_rtsp`.

#[cfg(feature = "rtsp-server")]
pub mod always_on_rtsp;
mod annotated;
#[cfg(feature = "gstreamer")]
mod annotated_video;
pub mod config;
pub mod diff;
pub mod draw;
mod error;
mod fan_out;
mod image_files;
pub mod metadata;
mod metadata_json;
mod skipped;
#[cfg(feature = "gstreamer")]
mod video_file;

#[cfg(feature = "rtsp-server")]
pub use always_on_rtsp::{
    AlwaysOnRtspSettings, AlwaysOnRtspSink, FeedState, Stub, STUB_BACKGROUND,
};
pub use annotated::AnnotatedFrameSink;
#[cfg(feature = "gstreamer")]
pub use annotated_video::{AnnotatedVideoSink, AnnotatedVideoSinkBuilder};
pub use error::SinkError;
pub use fan_out::{FanOut, DEFAULT_QUEUE};
pub use image_files::{image_extension, ImageFilesSink};
pub use metadata_json::MetadataJsonSink;
pub use skipped::{SkipReason, Skipped};
#[cfg(feature = "gstreamer")]
pub use video_file::{VideoContainer, VideoFileSink, VideoFileSinkBuilder, WrittenFile};
