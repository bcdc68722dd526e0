//! The errors of this crate.

/// What can go wrong building a component.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The configuration text is not valid for the component.
    #[error("invalid configuration for {plugin}: {message}")]
    Config {
        /// The component.
        plugin: String,
        /// What the parser said (with line and column).
        message: String,
    },
    /// The component's constructor failed.
    #[error("cannot create {plugin}: {source}")]
    Create {
        /// The component.
        plugin: String,
        /// The constructor's error.
        source: savant_sdk_component::BoxError,
    },
    /// A sink was asked of a source or the other way round.
    #[error("{plugin} is a {actual}, not a {expected}")]
    WrongKind {
        /// The component.
        plugin: String,
        /// `source` or `sink`.
        actual: &'static str,
        /// What was asked for.
        expected: &'static str,
    },
}
