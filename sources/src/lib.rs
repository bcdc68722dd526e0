//! # savant-sdk-sources
//!
//! Ready-made [`Source`](savant_sdk_core::source::Source)s: [`JpegSource`]
//! and [`PngSource`] (one image, one frame; size from the header, no
//! decoding), [`ImageDirectorySource`] (a folder of images), and
//! combinators ([`SourceExt`]: chain, take, map, with_update, repeat, pace;
//! [`interleave`]) to build sources out of sources, and
//! [`MultiStreamSource`] (one input as N streams, for load tests). [`image_utils`] prepares
//! pictures (resize with padding, pad to aspect).
//!
//! With the `gstreamer` feature: `VideoFileSource` (MP4/MOV, MKV/WebM,
//! MPEG-TS, AVI; H.264, HEVC, VP8, VP9, AV1, MJPEG passed through
//! untouched) and `RtspSource` (cameras, with reconnection).
//!
//! Each is also a registered component with a serde configuration
//! ([`config`]): `jpeg_file`, `png_file`, `image_folder`, `multi_stream`, and with
//! `gstreamer` `video_file` and `rtsp`.

pub mod combinators;
pub mod config;
mod directory;
mod error;
mod image;
pub mod image_utils;
mod multi_stream;
#[cfg(feature = "gstreamer")]
pub mod video;

pub use crate::image::{
    image_file_frame, JpegSource, PngSource, DEFAULT_NAMESPACE, LOCATION_ATTRIBUTE,
};
pub use combinators::{
    check_loss_rate, interleave, Chain, Interleave, Loss, Lossy, Map, Pace, Repeat, SourceExt,
    Take, WithUpdate,
};
pub use directory::{
    glob_match, is_image_file_name, is_video_file_name, ImageDirectorySource, VIDEO_FILE_EXTENSIONS,
};
pub use error::SourceError;
pub use multi_stream::{stream_ids, MultiStreamSource, MAX_INPUT_BYTES};
#[cfg(feature = "gstreamer")]
pub use video::{redact_url, StreamParams, VideoFileSource, VideoFileSourceBuilder};
#[cfg(feature = "gstreamer")]
pub use video::{RtspReconnect, RtspSource, RtspSourceBuilder, RtspTransport};
