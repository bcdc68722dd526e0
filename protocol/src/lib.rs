//! # savant-sdk-protocol
//!
//! The Savant protocol as bytes on the wire: the data model ([`model`]),
//! the protobuf codec byte-compatible with every savant-rs protocol
//! generation in use, 0.2.x, 1.x and 2.x ([`codec`], [`protocol`]), and
//! per-source sequence ids ([`seq_id`]).
//!
//! This is the crate a plugin or any code that only needs messages depends
//! on: it has no runtime, no sockets, no telemetry and needs no `protoc`.
//! The ZeroMQ transport and the runners are in `savant-sdk-core`.
#![warn(missing_docs)]

pub mod codec;
pub mod error;
pub mod model;
pub mod protocol;
pub mod seq_id;

pub use error::{DecodeError, EncodeError, ModelError};
