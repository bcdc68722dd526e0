//! Encoded video through GStreamer (feature `gstreamer`): video files and
//! RTSP cameras, demuxed and parsed, never decoded.
//!
//! Both sources share one bridge (`bridge.rs`): the stream's parser feeds an
//! `appsink` whose callback hands each access unit, as `Bytes` over the
//! GStreamer buffer's memory, to a bounded channel the async
//! [`Source::next`](savant_sdk_core::source::Source::next) reads.

mod bridge;
mod elements;
mod rtsp;
mod video_file;

pub use bridge::StreamParams;
pub use elements::redact_url;
pub(crate) use rtsp::host_port as rtsp_host_port;
pub use rtsp::{RtspReconnect, RtspSource, RtspSourceBuilder, RtspTransport};
pub use video_file::{VideoFileSource, VideoFileSourceBuilder};
