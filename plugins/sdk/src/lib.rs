//! # savant-sdk-plugin
//!
//! Write a Savant source or sink once and use it two ways: loaded from a
//! `.so` by a host that was built without it, or linked into a binary and
//! found through a static registry.
//!
//! A plugin implements the same [`Source`](savant_sdk_component::source::Source)
//! or [`Sink`](savant_sdk_component::sink::Sink) trait as in-process code, plus
//! [`SourcePlugin`] or [`SinkPlugin`] (a name, a serde config type and a
//! constructor), and exports itself with [`export_source!`] or
//! [`export_sink!`]. Build the crate with
//! `crate-type = ["cdylib", "rlib"]`:
//!
//! ```
//! use savant_sdk_plugin::model::VideoFrame;
//! use savant_sdk_plugin::source::{Source, SourceFrame, SourceItem};
//! use savant_sdk_plugin::{async_trait, export_source, BoxError, SourcePlugin};
//!
//! #[derive(serde::Deserialize)]
//! struct Config { frames: i64 }
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
//! impl SourcePlugin for Counter {
//!     const NAME: &'static str = "counter";
//!     type Config = Config;
//!     fn from_config(c: Config) -> Result<Self, BoxError> {
//!         Ok(Counter { n: 0, max: c.frames })
//!     }
//! }
//!
//! export_source!(Counter);
//! # fn main() {
//! # let c = savant_sdk_plugin::static_components().find(|c| c.name == "counter").unwrap();
//! # assert!(c.create_source("frames = 2").is_ok());
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
pub use savant_sdk_component::{codec, model, propagation, protocol, sink, source};
pub use savant_sdk_component::{BoxError, Error, Result};
pub use savant_sdk_plugin_abi as abi;

pub use config::{config_text, parse_config};
pub use error::PluginError;
pub use registry::{static_components, Factory, SinkFactory, SourceFactory, StaticComponent};

/// The SDK version a plugin reports (this crate's version).
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A [`Source`](savant_sdk_component::source::Source) that can be built from
/// configuration text by a host.
pub trait SourcePlugin: savant_sdk_component::source::Source + Sized + 'static {
    /// The name hosts look it up by; unique among loaded components.
    const NAME: &'static str;
    /// Its settings, parsed from TOML or JSON text (an empty text is an
    /// empty table).
    type Config: serde::de::DeserializeOwned;
    /// Builds the source (inside the instance's runtime when loaded).
    fn from_config(config: Self::Config) -> Result<Self, BoxError>;
}

/// A [`Sink`](savant_sdk_component::sink::Sink) that can be built from
/// configuration text by a host.
pub trait SinkPlugin: savant_sdk_component::sink::Sink + Sized + 'static {
    /// The name hosts look it up by; unique among loaded components.
    const NAME: &'static str;
    /// Its settings, parsed from TOML or JSON text.
    type Config: serde::de::DeserializeOwned;
    /// Builds the sink (inside the instance's runtime when loaded).
    fn from_config(config: Self::Config) -> Result<Self, BoxError>;
}

/// Exports a [`SourcePlugin`]: registers it statically (found by
/// [`static_components`] when the crate is linked into a binary) and
/// emits its C entry point (found by the host when the crate is loaded
/// as a `.so`). The entry point's name is
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

/// Exports a [`SinkPlugin`], as [`export_source!`] does for sources.
///
/// ```
/// use savant_sdk_plugin::sink::{Sink, SinkResult};
/// use savant_sdk_plugin::{async_trait, export_sink, BoxError, SinkPlugin};
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
/// impl SinkPlugin for Count {
///     const NAME: &'static str = "count";
///     type Config = std::collections::BTreeMap<String, String>;
///     fn from_config(_: Self::Config) -> Result<Self, BoxError> { Ok(Count(0)) }
/// }
///
/// export_sink!(Count);
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
