//! # savant-sdk-core
//!
//! The core of the Savant Rust SDK: the Savant data model ([`model`]), the
//! protobuf codec byte-compatible with every savant-rs protocol generation
//! in use, 0.2.x, 1.x and 2.x ([`codec`], [`protocol`]), per-source
//! sequence ids ([`seq_id`]) and the ZeroMQ transport ([`transport`]) with
//! every socket pair Savant uses.
//!
//! This crate has no GStreamer dependency.
#![warn(missing_docs)]

pub mod client;
pub mod codec;
pub mod error;
pub mod health_server;
pub mod loopback;
pub mod model;
pub mod protocol;
pub mod seq_id;
pub mod sink;
pub mod source;
pub mod telemetry;
pub mod transport;

/// Types generated from `proto/savant_rs.proto` (the wire schema).
#[allow(missing_docs, clippy::all)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/protocol.rs"));
}

/// The attribute macro that [`source::Source`] and [`sink::Sink`]
/// implementations need, re-exported so that a user needs no
/// `async-trait` dependency of their own:
/// `#[savant_sdk_core::async_trait] impl Source for MySource { ... }`.
pub use async_trait::async_trait;

pub use error::{
    BoxError, DecodeError, EncodeError, Error, HealthCheckError, ModelError, Result,
    SocketSpecError,
};
