//! # savant-sdk-core
//!
//! The core of the Savant Rust SDK: the ZeroMQ transport ([`transport`])
//! with every socket pair Savant uses, OpenTelemetry propagation and export
//! ([`telemetry`]), module health checks and the source and sink runners
//! ([`client`]). The data model, codec and seq ids (crate
//! `savant-sdk-protocol`) and the `Source`/`Sink` traits (crate
//! `savant-sdk-component`) are re-exported under the same paths:
//! [`model`], [`codec`], [`protocol`], [`seq_id`], [`source`], [`sink`].
//!
//! This crate has no GStreamer dependency.
#![warn(missing_docs)]

pub mod client;
pub mod pipeline;
pub mod telemetry;
pub mod transport;

pub use savant_sdk_component::{
    codec, component, error, model, propagation, protocol, seq_id, sink, source,
};

/// The attribute macro that [`source::Source`] and [`sink::Sink`]
/// implementations need, re-exported so that a user needs no
/// `async-trait` dependency of their own:
/// `#[savant_sdk_core::async_trait] impl Source for MySource { ... }`.
pub use savant_sdk_component::async_trait;

pub use savant_sdk_component::error::{
    BoxError, DecodeError, EncodeError, Error, HealthCheckError, ModelError, Result,
    SocketSpecError,
};
