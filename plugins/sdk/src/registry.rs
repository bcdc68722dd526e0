//! The static registry: components linked into the binary.

use savant_sdk_component::sink::Sink;
use savant_sdk_component::source::Source;

use crate::config::parse_config;
use crate::error::PluginError;
use crate::{SinkPlugin, SourcePlugin};

/// Builds a source from configuration text.
pub type SourceFactory = fn(&str) -> Result<Box<dyn Source>, PluginError>;
/// Builds a sink from configuration text.
pub type SinkFactory = fn(&str) -> Result<Box<dyn Sink>, PluginError>;

/// What a statically registered component builds.
#[derive(Debug, Clone, Copy)]
pub enum Factory {
    /// A source.
    Source(SourceFactory),
    /// A sink.
    Sink(SinkFactory),
}

/// A component registered by [`export_source!`](crate::export_source) or
/// [`export_sink!`](crate::export_sink) in a crate linked into this
/// binary.
#[derive(Debug)]
pub struct StaticComponent {
    /// Its name.
    pub name: &'static str,
    /// Its constructor.
    pub factory: Factory,
}

inventory::collect!(StaticComponent);

fn build_source<T: SourcePlugin>(config: &str) -> Result<Box<dyn Source>, PluginError> {
    let config = parse_config::<T::Config>(T::NAME, config)?;
    match T::from_config(config) {
        Ok(s) => Ok(Box::new(s)),
        Err(source) => Err(PluginError::Create {
            plugin: T::NAME.to_string(),
            source,
        }),
    }
}

fn build_sink<T: SinkPlugin>(config: &str) -> Result<Box<dyn Sink>, PluginError> {
    let config = parse_config::<T::Config>(T::NAME, config)?;
    match T::from_config(config) {
        Ok(s) => Ok(Box::new(s)),
        Err(source) => Err(PluginError::Create {
            plugin: T::NAME.to_string(),
            source,
        }),
    }
}

impl StaticComponent {
    /// The registration of source `T` (what `export_source!` submits).
    pub const fn source<T: SourcePlugin>() -> Self {
        Self {
            name: T::NAME,
            factory: Factory::Source(build_source::<T>),
        }
    }

    /// The registration of sink `T` (what `export_sink!` submits).
    pub const fn sink<T: SinkPlugin>() -> Self {
        Self {
            name: T::NAME,
            factory: Factory::Sink(build_sink::<T>),
        }
    }

    /// `source` or `sink`.
    pub fn kind(&self) -> &'static str {
        match self.factory {
            Factory::Source(_) => "source",
            Factory::Sink(_) => "sink",
        }
    }

    /// Builds the source from configuration text.
    pub fn create_source(&self, config: &str) -> Result<Box<dyn Source>, PluginError> {
        match self.factory {
            Factory::Source(f) => f(config),
            Factory::Sink(_) => Err(PluginError::WrongKind {
                plugin: self.name.to_string(),
                actual: "sink",
                expected: "source",
            }),
        }
    }

    /// Builds the sink from configuration text.
    pub fn create_sink(&self, config: &str) -> Result<Box<dyn Sink>, PluginError> {
        match self.factory {
            Factory::Sink(f) => f(config),
            Factory::Source(_) => Err(PluginError::WrongKind {
                plugin: self.name.to_string(),
                actual: "source",
                expected: "sink",
            }),
        }
    }
}

/// Every component registered in this binary (in the order the linker
/// left them; look them up by name).
pub fn static_components() -> impl Iterator<Item = &'static StaticComponent> {
    inventory::iter::<StaticComponent>.into_iter()
}
