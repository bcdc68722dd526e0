//! # savant-sdk-component
//!
//! What a source, sink or plugin of the Savant Rust SDK is written
//! against: the [`Source`](source::Source) and [`Sink`](sink::Sink) traits
//! with their items and results, the component model of configurations
//! that build them ([`component`]), the SDK's one error type
//! ([`enum@Error`]), a result's [`LogHandle`](logs::LogHandle), and the
//! trace-context formats a frame's trace travels in ([`propagation`]).
//!
//! It depends on the protocol crate (re-exported here as [`model`],
//! [`codec`], [`protocol`] and [`seq_id`]) and the OpenTelemetry API, and
//! on nothing that opens a socket or exports spans: the ZeroMQ transport,
//! the runners and the exporters are in `savant-sdk-core`, which
//! re-exports everything here under the same paths.
#![warn(missing_docs)]

pub mod component;
pub mod error;
pub mod logs;
pub mod propagation;
pub mod sink;
pub mod source;

pub use savant_sdk_protocol::{codec, model, protocol, seq_id};

/// The JSON Schema derive that [`component::SourceConfig`] and
/// [`component::SinkConfig`] need, re-exported: derive with
/// `#[schemars(crate = "savant_sdk_component::schemars")]` to need no
/// dependency of your own.
pub use schemars;

/// The attribute macro that [`source::Source`] and [`sink::Sink`]
/// implementations need, re-exported so that a user needs no
/// `async-trait` dependency of their own.
pub use async_trait::async_trait;

/// The future an `#[async_trait]` method returns, for the impls written
/// without the macro.
pub(crate) type BoxFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

pub use error::{
    BoxError, DecodeError, EncodeError, Error, HealthCheckError, ModelError, Result,
    SocketSpecError,
};
