//! The errors of this crate.

use std::path::PathBuf;

/// Why a plugin could not be loaded, built or called. Each names the
/// plugin: its component name once known, before that its file (and
/// entry point).
#[derive(Debug, thiserror::Error)]
pub enum PluginHostError {
    /// Nothing at the path.
    #[error("plugin {path}: no such file")]
    NotFound {
        /// The path.
        path: PathBuf,
    },
    /// A file or folder that cannot be read.
    #[error("plugin {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a shared library this host can load.
    #[error("plugin {path}: not a loadable library: {reason}")]
    NotALibrary {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A library without any `savant_sdk_plugin_entry_*` function.
    #[error("plugin {path}: no savant_sdk_plugin_entry_* entry point (not built with export_source!/export_sink!?)")]
    NoEntryPoint {
        /// The path.
        path: PathBuf,
    },
    /// Built for another plugin ABI; nothing but the version was read.
    #[error("plugin {plugin}: ABI version {found}, this host speaks {expected}; rebuild the plugin against this SDK")]
    AbiMismatch {
        /// File and entry point.
        plugin: String,
        /// The plugin's version.
        found: u32,
        /// The host's.
        expected: u32,
    },
    /// Built with an incompatible SDK version.
    #[error("plugin {plugin}: built with savant-sdk-plugin {found}, this host has {expected}; rebuild the plugin against this SDK")]
    SdkMismatch {
        /// The component.
        plugin: String,
        /// The plugin's SDK version.
        found: String,
        /// The host's.
        expected: String,
    },
    /// A descriptor that does not hold together.
    #[error("plugin {plugin}: invalid descriptor: {reason}")]
    BadDescriptor {
        /// File and entry point, or the name.
        plugin: String,
        /// What is wrong.
        reason: String,
    },
    /// Two components with one name.
    #[error("plugin {name}: already registered from {first}, refused from {second}")]
    Duplicate {
        /// The name.
        name: String,
        /// Where the registered one comes from.
        first: String,
        /// Where the refused one comes from.
        second: String,
    },
    /// No component of that name.
    #[error(
        "plugin {name}: not registered (known: {known}); a plugin crate linked into this binary \
         registers only when the binary refers to it: add `use the_plugin_crate as _;` to your \
         main.rs (rustc drops an unreferenced library, its registrations with it), or load \
         its .so file"
    )]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: String,
    },
    /// A source asked for as a sink or the other way round.
    #[error("plugin {plugin}: is a {actual}, not a {expected}")]
    WrongKind {
        /// The component.
        plugin: String,
        /// What it is.
        actual: &'static str,
        /// What was asked for.
        expected: &'static str,
    },
    /// A statically linked component could not be built.
    #[error(transparent)]
    Static(#[from] savant_sdk_plugin::PluginError),
    /// The plugin reported an error.
    #[error("plugin {plugin}: {call} failed: {message}")]
    Failed {
        /// The component.
        plugin: String,
        /// `create`, `next`, `consume` or `finish`.
        call: &'static str,
        /// The plugin's message.
        message: String,
    },
    /// The plugin panicked; the panic was caught inside it.
    #[error("plugin {plugin}: {call} {message}")]
    Panicked {
        /// The component.
        plugin: String,
        /// The call.
        call: &'static str,
        /// The panic message.
        message: String,
    },
    /// A received message the host cannot encode for the plugin.
    #[error("plugin {plugin}: cannot hand the message over: {source}")]
    Encode {
        /// The component.
        plugin: String,
        /// Why.
        source: savant_sdk_core::EncodeError,
    },
    /// Output the host cannot decode.
    #[error("plugin {plugin}: malformed output from {call}: {reason}")]
    Malformed {
        /// The component.
        plugin: String,
        /// The call.
        call: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A pipeline file that does not parse or check.
    #[error("{path} line {line}: {message}")]
    PipelineFile {
        /// The file.
        path: std::path::PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The SDK failed while building a pipeline (a socket, telemetry, the
    /// loopback module).
    #[error("{what}: {source}")]
    Sdk {
        /// What was being built.
        what: String,
        /// The SDK's error.
        source: savant_sdk_core::Error,
    },
    /// Called again after it panicked.
    #[error("plugin {plugin}: not called after its earlier panic")]
    Poisoned {
        /// The component.
        plugin: String,
    },
}

impl PluginHostError {
    /// The plugin error inside an error a loaded source or sink returned
    /// (they return `savant_sdk_core::Error::Source`/`Sink` wrapping it).
    ///
    /// ```
    /// use savant_sdk_plugin_host::PluginHostError;
    /// let e = savant_sdk_core::Error::source("p", PluginHostError::Poisoned { plugin: "p".into() });
    /// assert!(matches!(PluginHostError::find(&e), Some(PluginHostError::Poisoned { .. })));
    /// ```
    pub fn find(error: &savant_sdk_core::Error) -> Option<&PluginHostError> {
        match error {
            savant_sdk_core::Error::Source { source, .. }
            | savant_sdk_core::Error::Sink { source, .. } => source.downcast_ref(),
            _ => None,
        }
    }
}
