//! # savant-sdk-plugin
//!
//! Write a Savant source or sink once and use it two ways: loaded from a
//! `.so` by a host that was built without it, or linked into a binary and
//! found through a static registry.
//!
//! A plugin is written as every built-in source and sink is: a serde
//! configuration type that implements
//! [`SourceConfig`](savant_sdk_component::component::SourceConfig) or
//! [`SinkConfig`](savant_sdk_component::component::SinkConfig) (a `TYPE`
//! name, `validate()` without I/O, `build(ctx)` that returns the running
//! [`Source`](savant_sdk_component::source::Source) or
//! [`Sink`](savant_sdk_component::sink::Sink)), exported with
//! [`export_source!`] or [`export_sink!`]. Build the crate with
//! `crate-type = ["cdylib", "rlib"]`:
//!
//! ```
//! use savant_sdk_plugin::component::{BuildContext, SourceConfig};
//! use savant_sdk_plugin::model::VideoFrame;
//! use savant_sdk_plugin::source::{Source, SourceFrame, SourceItem};
//! use savant_sdk_plugin::{async_trait, export_source, schemars, Error};
//!
//! /// Counts to `frames`.
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! #[schemars(crate = "savant_sdk_plugin::schemars")]
//! #[serde(deny_unknown_fields)]
//! struct CounterConfig {
//!     /// How many frames.
//!     frames: i64,
//! }
//!
//! struct Counter { n: i64, max: i64 }
//!
//! #[async_trait]
//! impl Source for Counter {
//!     async fn next(&mut self) -> savant_sdk_plugin::Result<Option<SourceItem>> {
//!         if self.n == self.max { return Ok(None); }
//!         self.n += 1;
//!         tracing::debug!(pts = self.n, "counted");
//!         Ok(Some(SourceFrame::new(VideoFrame::builder("counter").pts(self.n).build(), "x").into()))
//!     }
//! }
//!
//! impl SourceConfig for CounterConfig {
//!     const TYPE: &'static str = "counter";
//!     const DESCRIPTION: &'static str = "frames numbered 1..=frames";
//!     fn validate(&self) -> savant_sdk_plugin::Result<()> {
//!         if self.frames < 0 {
//!             return Err(Error::invalid_config("frames", "must not be negative"));
//!         }
//!         Ok(())
//!     }
//!     fn build(self, _ctx: &BuildContext) -> savant_sdk_plugin::Result<Box<dyn Source>> {
//!         Ok(Box::new(Counter { n: 0, max: self.frames }))
//!     }
//! }
//!
//! export_source!(CounterConfig);
//! # fn main() {
//! # let c = savant_sdk_plugin::static_components().find(|c| c.name == "counter").unwrap();
//! # assert!(c.create_source("frames = 2", &BuildContext::new("counter")).is_ok());
//! # assert!((c.validate)("frames = -1").is_err());
//! # }
//! ```
//!
//! Inside a `.so`, each instance runs its async methods on a current-thread
//! tokio runtime of its own, and `tracing` events are forwarded to the
//! host's log callback (a `.so` has its own copy of `tracing`'s statics,
//! so the plugin installs a small forwarding subscriber there). Linked
//! statically, the component is an ordinary `Box<dyn Source>` on the
//! host's runtime and logs straight into the host's subscriber.
#![warn(missing_docs)]

mod config;
mod error;
#[doc(hidden)]
pub mod ffi;
mod forward;
mod registry;

pub use async_trait::async_trait;
#[doc(hidden)]
pub use inventory;
pub use savant_sdk_component;
/// The SDK's modules a plugin is written against, under the paths
/// `savant-sdk-core` has them: `savant_sdk_plugin::model::VideoFrame`,
/// `savant_sdk_plugin::source::Source`, ...
pub use savant_sdk_component::{
    codec, component, model, propagation, protocol, schemars, sink, source,
};
pub use savant_sdk_component::{BoxError, Error, Result};
pub use savant_sdk_plugin_abi as abi;

pub use config::{config_text, parse_config};
pub use error::PluginError;
pub use registry::{
    build_sink, build_source, schema_of, static_components, Factory, SinkFactory, SourceFactory,
    StaticComponent, ValidateFn,
};

/// The SDK version a plugin reports (this crate's version).
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Registers a [`SourceConfig`](savant_sdk_component::component::SourceConfig)
/// statically, found by [`static_components`] when the crate is linked
/// into a binary, without a C entry point: how the built-in sources of
/// `savant-sdk-sources` register.
#[macro_export]
macro_rules! register_source {
    ($ty:ty) => {
        $crate::inventory::submit! { $crate::StaticComponent::source::<$ty>() }
    };
}

/// Registers a [`SinkConfig`](savant_sdk_component::component::SinkConfig)
/// statically, as [`register_source!`] does for sources.
#[macro_export]
macro_rules! register_sink {
    ($ty:ty) => {
        $crate::inventory::submit! { $crate::StaticComponent::sink::<$ty>() }
    };
}

/// Exports a [`SourceConfig`](savant_sdk_component::component::SourceConfig):
/// registers it statically (found by [`static_components`] when the crate
/// is linked into a binary) and emits its C entry point (found by the host
/// when the crate is loaded as a `.so`). The entry point's name is
/// `savant_sdk_plugin_entry_<crate>__<type>`, so several plugin crates can
/// be linked into one binary.
///
/// See the [crate documentation](crate) for a complete plugin.
#[macro_export]
macro_rules! export_source {
    ($ty:ty) => {
        $crate::inventory::submit! { $crate::StaticComponent::source::<$ty>() }
        const _: () = {
            #[export_name = concat!("savant_sdk_plugin_entry_", env!("CARGO_CRATE_NAME"), "__", stringify!($ty))]
            extern "C" fn __savant_sdk_plugin_entry() -> *const $crate::abi::PluginDescriptor {
                static DESCRIPTOR: $crate::abi::PluginDescriptor =
                    $crate::ffi::source_descriptor::<$ty>();
                &DESCRIPTOR
            }
        };
    };
}

/// Exports a [`SinkConfig`](savant_sdk_component::component::SinkConfig),
/// as [`export_source!`] does for sources.
///
/// ```
/// use savant_sdk_plugin::component::{BuildContext, SinkConfig};
/// use savant_sdk_plugin::sink::{Sink, SinkResult};
/// use savant_sdk_plugin::{async_trait, export_sink, schemars};
///
/// #[derive(Default)]
/// struct Count(u64);
///
/// #[async_trait]
/// impl Sink for Count {
///     async fn consume(&mut self, _: SinkResult) -> savant_sdk_plugin::Result<()> {
///         self.0 += 1;
///         Ok(())
///     }
/// }
///
/// /// No settings.
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// #[schemars(crate = "savant_sdk_plugin::schemars")]
/// #[serde(deny_unknown_fields)]
/// struct CountConfig {}
///
/// impl SinkConfig for CountConfig {
///     const TYPE: &'static str = "count";
///     const DESCRIPTION: &'static str = "counts what it receives";
///     fn build(self, _: &BuildContext) -> savant_sdk_plugin::Result<Box<dyn Sink>> {
///         Ok(Box::new(Count::default()))
///     }
/// }
///
/// export_sink!(CountConfig);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_sink {
    ($ty:ty) => {
        $crate::inventory::submit! { $crate::StaticComponent::sink::<$ty>() }
        const _: () = {
            #[export_name = concat!("savant_sdk_plugin_entry_", env!("CARGO_CRATE_NAME"), "__", stringify!($ty))]
            extern "C" fn __savant_sdk_plugin_entry() -> *const $crate::abi::PluginDescriptor {
                static DESCRIPTOR: $crate::abi::PluginDescriptor =
                    $crate::ffi::sink_descriptor::<$ty>();
                &DESCRIPTOR
            }
        };
    };
}

/// The guide's example (`plugins/README.md`), compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
