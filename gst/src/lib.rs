//! # savant-sdk-gst
//!
//! The GStreamer layer of the Savant Rust SDK, shared by the video
//! sources, the video sinks and the decoding and encoding adapters around
//! the pass-through core:
//!
//! - [`init`], [`make`], [`require`]: one GStreamer start-up per process,
//!   and elements whose absence names the Debian package to install
//!   ([`debian_package`]);
//! - [`Codec`] and [`Container`]: the one table of parsers, caps,
//!   depayloaders, decoders and muxers per codec;
//! - [`FrameDecoder`]: received encoded frames (H.264, HEVC, VP8, VP9,
//!   AV1, JPEG, PNG) into RGB [`Picture`]s with their frames, in order, one
//!   decoder per source id; [`DecodingSink`] does it as a `Sink` that
//!   calls a [`PictureSink`] of yours;
//! - [`H264Encoder`]: pictures back into H.264 (`x264enc`), for annotated
//!   video files and re-encoded streams.
//!
//! Decoders are GStreamer's, chosen per codec ([`Codec::decoders`]):
//! `avdec_h264`/`avdec_h265` (Debian `gstreamer1.0-libav`), `vp8dec`,
//! `vp9dec`, `jpegdec`, `pngdec` (`gstreamer1.0-plugins-good`), `dav1ddec`
//! or `av1dec` (`gstreamer1.0-plugins-bad`).

mod codec;
mod decode;
mod decoding_sink;
mod elements;
mod encode;
mod error;
mod picture;

pub use codec::{parse_framerate, Codec, Container};
pub use decode::{
    ticks_to_ns, DecodeStats, Decoded, DecoderSettings, FrameDecoder, UndecodedReason,
};
pub use decoding_sink::{blocking, DecodingSink, PictureSink};
pub use elements::{
    bus_error_text, debian_package, first_installed, init, is_installed, make, require,
};
pub use encode::{EncodedUnit, EncoderSettings, H264Encoder};
pub use error::GstError;
pub use picture::Picture;

/// The GStreamer crates this layer is built on, for components that build
/// their own pipelines with the same versions.
pub use gstreamer;
pub use gstreamer_app;
