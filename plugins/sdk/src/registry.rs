//! The static registry: components linked into the binary, the built-in
//! ones of `savant-sdk-sources` and `savant-sdk-sinks` and plugin crates
//! alike, each registered by its configuration type.

use savant_sdk_component::component::{BuildContext, SinkConfig, SourceConfig};
use savant_sdk_component::sink::Sink;
use savant_sdk_component::source::Source;

use crate::config::parse_config;
use crate::error::PluginError;

/// Builds a source from configuration text (TOML, or JSON).
pub type SourceFactory = fn(&str, &BuildContext) -> Result<Box<dyn Source>, PluginError>;
/// Builds a sink from configuration text.
pub type SinkFactory = fn(&str, &BuildContext) -> Result<Box<dyn Sink>, PluginError>;
/// Parses and validates configuration text without building anything.
pub type ValidateFn = fn(&str) -> Result<(), PluginError>;

/// What a statically registered component builds.
#[derive(Debug, Clone, Copy)]
pub enum Factory {
    /// A source.
    Source(SourceFactory),
    /// A sink.
    Sink(SinkFactory),
}

/// A component registered by [`register_source!`](crate::register_source),
/// [`export_source!`](crate::export_source) or their sink forms in a crate
/// linked into this binary.
#[derive(Debug)]
pub struct StaticComponent {
    /// Its name (the configuration type's `TYPE`).
    pub name: &'static str,
    /// One line saying what it is.
    pub description: &'static str,
    /// The JSON Schema of its configuration.
    pub schema: fn() -> serde_json::Value,
    /// Parses and validates a configuration.
    pub validate: ValidateFn,
    /// Its constructor.
    pub factory: Factory,
}

inventory::collect!(StaticComponent);

fn parse<C: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<C, PluginError> {
    parse_config::<C>(name, text)
}

fn invalid(name: &str, e: savant_sdk_component::Error) -> PluginError {
    PluginError::Config {
        plugin: name.to_string(),
        message: e.to_string(),
    }
}

fn create(name: &str, e: savant_sdk_component::Error) -> PluginError {
    PluginError::Create {
        plugin: name.to_string(),
        source: Box::new(e),
    }
}

/// Parses, validates and builds source configuration `C`.
pub fn build_source<C: SourceConfig>(
    text: &str,
    ctx: &BuildContext,
) -> Result<Box<dyn Source>, PluginError> {
    let config = parse::<C>(C::TYPE, text)?;
    config.validate().map_err(|e| invalid(C::TYPE, e))?;
    config.build(ctx).map_err(|e| create(C::TYPE, e))
}

/// Parses, validates and builds sink configuration `C`.
pub fn build_sink<C: SinkConfig>(
    text: &str,
    ctx: &BuildContext,
) -> Result<Box<dyn Sink>, PluginError> {
    let config = parse::<C>(C::TYPE, text)?;
    config.validate().map_err(|e| invalid(C::TYPE, e))?;
    config.build(ctx).map_err(|e| create(C::TYPE, e))
}

fn validate_source<C: SourceConfig>(text: &str) -> Result<(), PluginError> {
    parse::<C>(C::TYPE, text)?
        .validate()
        .map_err(|e| invalid(C::TYPE, e))
}

fn validate_sink<C: SinkConfig>(text: &str) -> Result<(), PluginError> {
    parse::<C>(C::TYPE, text)?
        .validate()
        .map_err(|e| invalid(C::TYPE, e))
}

/// The JSON Schema of configuration `C`.
pub fn schema_of<C: savant_sdk_component::schemars::JsonSchema>() -> serde_json::Value {
    serde_json::to_value(savant_sdk_component::schemars::schema_for!(C)).unwrap_or_default()
}

impl StaticComponent {
    /// The registration of source configuration `C` (what
    /// `register_source!` and `export_source!` submit).
    pub const fn source<C: SourceConfig>() -> Self {
        Self {
            name: C::TYPE,
            description: C::DESCRIPTION,
            schema: schema_of::<C>,
            validate: validate_source::<C>,
            factory: Factory::Source(build_source::<C>),
        }
    }

    /// The registration of sink configuration `C`.
    pub const fn sink<C: SinkConfig>() -> Self {
        Self {
            name: C::TYPE,
            description: C::DESCRIPTION,
            schema: schema_of::<C>,
            validate: validate_sink::<C>,
            factory: Factory::Sink(build_sink::<C>),
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
    pub fn create_source(
        &self,
        config: &str,
        ctx: &BuildContext,
    ) -> Result<Box<dyn Source>, PluginError> {
        match self.factory {
            Factory::Source(f) => f(config, ctx),
            Factory::Sink(_) => Err(PluginError::WrongKind {
                plugin: self.name.to_string(),
                actual: "sink",
                expected: "source",
            }),
        }
    }

    /// Builds the sink from configuration text.
    pub fn create_sink(
        &self,
        config: &str,
        ctx: &BuildContext,
    ) -> Result<Box<dyn Sink>, PluginError> {
        match self.factory {
            Factory::Sink(f) => f(config, ctx),
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
