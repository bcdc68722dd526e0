//! [`PluginRegistry`]: components by name, from the static registry and
//! from `.so` files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use savant_sdk_core::sink::Sink;
use savant_sdk_core::source::Source;
use savant_sdk_plugin::component::BuildContext;
use savant_sdk_plugin::StaticComponent;
use savant_sdk_plugin_abi::Kind;

use crate::error::PluginHostError;
use crate::instance::{PluginSink, PluginSource};
use crate::library::DynComponent;

/// Where a component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Linked into this binary.
    Static,
    /// Loaded from this file.
    Library(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Static => f.write_str("(linked in)"),
            Origin::Library(p) => write!(f, "{}", p.display()),
        }
    }
}

/// What the registry knows about a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentInfo {
    /// Its name.
    pub name: String,
    /// `source` or `sink`.
    pub kind: &'static str,
    /// One line saying what it is.
    pub description: String,
    /// Where it comes from.
    pub origin: Origin,
    /// The SDK version it was built with (this host's for linked ones).
    pub sdk_version: String,
}

#[derive(Debug, Clone)]
enum Entry {
    Static(&'static StaticComponent),
    Dynamic(Arc<DynComponent>),
}

impl Entry {
    fn info(&self) -> ComponentInfo {
        match self {
            Entry::Static(c) => ComponentInfo {
                name: c.name.to_string(),
                kind: c.kind(),
                description: c.description.to_string(),
                origin: Origin::Static,
                sdk_version: savant_sdk_plugin::SDK_VERSION.to_string(),
            },
            Entry::Dynamic(c) => ComponentInfo {
                name: c.name.clone(),
                kind: if c.kind == Kind::SOURCE {
                    "source"
                } else {
                    "sink"
                },
                description: c.description.clone(),
                origin: Origin::Library(c.path.clone()),
                sdk_version: c.sdk_version.clone(),
            },
        }
    }
}

/// The result of [`PluginRegistry::load_path`] on a folder: what loaded
/// and what was refused (the rest of the folder still loads).
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Names of the components registered.
    pub loaded: Vec<String>,
    /// The files refused, each with its error.
    pub failed: Vec<PluginHostError>,
}

/// Components by name: statically linked ones and ones loaded from `.so`
/// files. A source it builds is an ordinary `Box<dyn Source>`, a sink an
/// ordinary `Box<dyn Sink>`, whatever their origin.
///
/// ```no_run
/// use savant_sdk_plugin_host::PluginRegistry;
/// let mut registry = PluginRegistry::with_static()?;
/// registry.load("target/release/libmy_plugin.so")?;
/// let source = registry.source("my-source", "frames = 10")?;
/// # Ok::<(), savant_sdk_plugin_host::PluginHostError>(())
/// ```
#[derive(Debug, Default)]
pub struct PluginRegistry {
    entries: BTreeMap<String, Entry>,
}

impl PluginRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry with every component linked into this binary.
    ///
    /// A plugin crate added as a dependency is linked, and its components
    /// found here, only when the binary refers to the crate: rustc drops a
    /// library nothing uses, and its registrations with it. One line in
    /// your `main.rs` does it:
    ///
    /// ```
    /// // links the example plugin crate's components into this binary;
    /// // without this line the registry would not know "synthetic"
    /// use savant_sdk_example_synthetic_source as _;
    ///
    /// let registry = savant_sdk_plugin_host::PluginRegistry::with_static()?;
    /// assert!(registry.names().any(|n| n == "synthetic"));
    /// # Ok::<(), savant_sdk_plugin_host::PluginHostError>(())
    /// ```
    pub fn with_static() -> Result<Self, PluginHostError> {
        let mut r = Self::new();
        r.add_static()?;
        Ok(r)
    }

    fn insert(&mut self, name: String, entry: Entry) -> Result<(), PluginHostError> {
        if let Some(first) = self.entries.get(&name) {
            return Err(PluginHostError::Duplicate {
                name,
                first: first.info().origin.to_string(),
                second: entry.info().origin.to_string(),
            });
        }
        self.entries.insert(name, entry);
        Ok(())
    }

    /// Adds the components linked into this binary; returns their names.
    pub fn add_static(&mut self) -> Result<Vec<String>, PluginHostError> {
        let mut names = Vec::new();
        for c in savant_sdk_plugin::static_components() {
            self.insert(c.name.to_string(), Entry::Static(c))?;
            names.push(c.name.to_string());
        }
        Ok(names)
    }

    /// Loads the components of one `.so`; returns their names. A library
    /// that fails any check adds nothing.
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<Vec<String>, PluginHostError> {
        let path = path.as_ref();
        let components = crate::library::load(path)?;
        for c in &components {
            if let Some(first) = self.entries.get(&c.name) {
                return Err(PluginHostError::Duplicate {
                    name: c.name.clone(),
                    first: first.info().origin.to_string(),
                    second: path.display().to_string(),
                });
            }
        }
        let mut names = Vec::new();
        for c in components {
            names.push(c.name.clone());
            self.insert(c.name.clone(), Entry::Dynamic(Arc::new(c)))?;
        }
        Ok(names)
    }

    /// Loads a `.so`, or every `*.so` of a folder (in name order). A
    /// missing or unreadable path is an error; a refused file of a folder
    /// is reported in [`LoadReport::failed`] and the others still load.
    pub fn load_path(&mut self, path: impl AsRef<Path>) -> Result<LoadReport, PluginHostError> {
        let path = path.as_ref();
        if !path.is_dir() {
            return Ok(LoadReport {
                loaded: self.load(path)?,
                failed: Vec::new(),
            });
        }
        let io = |source| PluginHostError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).map_err(io)? {
            let p = entry.map_err(io)?.path();
            if p.is_file() && p.extension().is_some_and(|e| e == "so") {
                files.push(p);
            }
        }
        files.sort();
        let mut report = LoadReport::default();
        for f in files {
            match self.load(&f) {
                Ok(names) => report.loaded.extend(names),
                Err(e) => report.failed.push(e),
            }
        }
        Ok(report)
    }

    /// The registered names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// What is known about `name`.
    pub fn info(&self, name: &str) -> Option<ComponentInfo> {
        self.entries.get(name).map(Entry::info)
    }

    fn get(&self, name: &str) -> Result<&Entry, PluginHostError> {
        self.entries
            .get(name)
            .ok_or_else(|| PluginHostError::Unknown {
                name: name.to_string(),
                known: self.names().collect::<Vec<_>>().join(", "),
            })
    }

    /// What is known about every component, sorted by name.
    pub fn components(&self) -> impl Iterator<Item = ComponentInfo> + '_ {
        self.entries.values().map(Entry::info)
    }

    /// Parses and checks a configuration of `name` without building
    /// anything or doing I/O (a `.so` component checks it itself).
    pub fn validate(&self, name: &str, config: &str) -> Result<(), PluginHostError> {
        match self.get(name)? {
            Entry::Static(c) => Ok((c.validate)(config)?),
            Entry::Dynamic(c) => c.validate(config),
        }
    }

    /// The JSON Schema of `name`'s configuration.
    pub fn schema(&self, name: &str) -> Result<serde_json::Value, PluginHostError> {
        match self.get(name)? {
            Entry::Static(c) => Ok((c.schema)()),
            Entry::Dynamic(c) => c.schema(),
        }
    }

    /// Builds source `name` from its configuration (TOML or JSON text),
    /// with a [`BuildContext`] named after it.
    pub fn source(&self, name: &str, config: &str) -> Result<Box<dyn Source>, PluginHostError> {
        self.build_source(name, config, &BuildContext::new(name))
    }

    /// Builds source `name` from its configuration with `ctx`. A `.so`
    /// component is built in its library with a context of its own name
    /// (the shutdown signal does not cross the ABI: whoever pulls from the
    /// source stops pulling).
    pub fn build_source(
        &self,
        name: &str,
        config: &str,
        ctx: &BuildContext,
    ) -> Result<Box<dyn Source>, PluginHostError> {
        match self.get(name)? {
            Entry::Static(c) => Ok(c.create_source(config, ctx)?),
            Entry::Dynamic(c) if c.kind == Kind::SOURCE => {
                Ok(Box::new(PluginSource::create(c.clone(), config)?))
            }
            Entry::Dynamic(_) => Err(PluginHostError::WrongKind {
                plugin: name.to_string(),
                actual: "sink",
                expected: "source",
            }),
        }
    }

    /// Builds source `name` from settings given as a value: a struct that
    /// derives `Serialize`, a map, or a `serde_json::Value`/`toml::Value`
    /// table (see [`savant_sdk_plugin::config_text`]).
    ///
    /// ```
    /// # use savant_sdk_plugin_host::PluginRegistry;
    /// #[derive(serde::Serialize)]
    /// struct Synthetic { frames: u64, source_id: &'static str }
    /// let registry = PluginRegistry::new();
    /// // nothing registered here: the error names the plugin
    /// let e = registry.source_with("synthetic", &Synthetic { frames: 3, source_id: "cam" }).err().unwrap();
    /// assert!(e.to_string().contains("synthetic"));
    /// ```
    pub fn source_with<T: serde::Serialize + ?Sized>(
        &self,
        name: &str,
        settings: &T,
    ) -> Result<Box<dyn Source>, PluginHostError> {
        self.get(name)?;
        self.source(name, &savant_sdk_plugin::config_text(name, settings)?)
    }

    /// Builds sink `name` from settings given as a value (see
    /// [`PluginRegistry::source_with`]).
    pub fn sink_with<T: serde::Serialize + ?Sized>(
        &self,
        name: &str,
        settings: &T,
    ) -> Result<Box<dyn Sink>, PluginHostError> {
        self.get(name)?;
        self.sink(name, &savant_sdk_plugin::config_text(name, settings)?)
    }

    /// Builds sink `name` from its configuration (TOML or JSON text).
    pub fn sink(&self, name: &str, config: &str) -> Result<Box<dyn Sink>, PluginHostError> {
        self.build_sink(name, config, &BuildContext::new(name))
    }

    /// Builds sink `name` from its configuration with `ctx`.
    pub fn build_sink(
        &self,
        name: &str,
        config: &str,
        ctx: &BuildContext,
    ) -> Result<Box<dyn Sink>, PluginHostError> {
        match self.get(name)? {
            Entry::Static(c) => Ok(c.create_sink(config, ctx)?),
            Entry::Dynamic(c) if c.kind == Kind::SINK => {
                Ok(Box::new(PluginSink::create(c.clone(), config)?))
            }
            Entry::Dynamic(_) => Err(PluginHostError::WrongKind {
                plugin: name.to_string(),
                actual: "source",
                expected: "sink",
            }),
        }
    }
}

/// A registry shared by the components it builds: a fan-out builds its
/// sinks through it (`BuildContext::with_lookup(Arc::new(registry))`).
impl savant_sdk_plugin::component::ComponentLookup for PluginRegistry {
    fn build_source(
        &self,
        type_name: &str,
        config: &str,
        ctx: &BuildContext,
    ) -> savant_sdk_core::Result<Box<dyn Source>> {
        PluginRegistry::build_source(self, type_name, config, ctx)
            .map_err(|e| savant_sdk_core::Error::source(ctx.name(), e))
    }

    fn build_sink(
        &self,
        type_name: &str,
        config: &str,
        ctx: &BuildContext,
    ) -> savant_sdk_core::Result<Box<dyn Sink>> {
        PluginRegistry::build_sink(self, type_name, config, ctx)
            .map_err(|e| savant_sdk_core::Error::sink(ctx.name(), e))
    }
}

/// Finds a library the build put next to the running executable:
/// `lib<crate_name>.so` in the executable's folder or its parent (tests
/// and benchmarks run from `target/<profile>/deps/`, libraries land in
/// `target/<profile>/` and, as dependencies, in `deps/`).
///
/// ```
/// let none = savant_sdk_plugin_host::library_next_to_executable("no_such_crate");
/// assert!(none.is_none());
/// ```
pub fn library_next_to_executable(crate_name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let file = format!("lib{crate_name}.so");
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_name_lists_the_known_ones_and_the_line_that_links_a_static_plugin() {
        let e = PluginRegistry::new()
            .source("moving-dots", "")
            .err()
            .expect("nothing registered");
        let text = e.to_string();
        assert!(text.contains("moving-dots"), "{text}");
        assert!(text.contains("use the_plugin_crate as _;"), "{text}");
    }
}
