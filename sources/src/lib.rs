//! # savant-sdk-sources
//!
//! Ready-made [`Source`](savant_sdk_core::source::Source)s: [`JpegSource`]
//! and [`PngSource`] (one image, one frame; size from the header, no
//! decoding).

mod error;
mod image;

pub use crate::image::{JpegSource, PngSource, DEFAULT_NAMESPACE, LOCATION_ATTRIBUTE};
pub use error::SourceError;
