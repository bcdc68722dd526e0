//! Pipeline files: sources, sinks and the module of a pipeline in one
//! TOML file, any registered component by its `type` name.
//!
//! ```toml
//! plugins = ["plugins/"]            # .so files or folders, relative to this file
//! protocol_version = "1.15.0"       # what sources stamp (or savant = "0.6.1"; default "1.15.0")
//!
//! [telemetry]                       # optional
//! trace = "jaeger"                  # how sources propagate traces: jaeger (default), w3c, off
//! otlp_endpoint = "http://127.0.0.1:4318"   # export spans (otlp_protocol = "http" or "grpc")
//!
//! [loopback]                        # optional: the embedded pass-through module
//! input = "router+bind:ipc:///tmp/p/in.ipc"
//! output = "dealer+connect:ipc:///tmp/p/out.ipc"
//!
//! [module]                          # optional: defaults for the sockets below
//! input = "dealer+connect:ipc:///tmp/p/in.ipc"
//! output = "router+bind:ipc:///tmp/p/out.ipc"
//!
//! [[source]]
//! type = "video_file"               # any registered source; its own keys follow
//! path = "cam1.mp4"
//! source_id = "cam-1"
//!
//! [[source]]
//! type = "synthetic"                # a plugin source
//! socket = "dealer+connect:ipc:///tmp/p/in.ipc"   # default: [module] input
//! savant = "0.6.0"                  # this source only
//! frames = 30
//!
//! [[sink]]
//! type = "video_files"              # any registered sink
//! dir = "out/"
//! idle_timeout = 5.0                # of its reader (seconds, 0 = until stopped)
//!
//! [[sink]]
//! type = "metadata_json"            # several sinks on one socket share one reader
//! path = "out/meta.jsonl"
//! ```
//!
//! The keys of a `[[source]]` or `[[sink]]` besides the pipeline's own
//! (`type`, `name`, `socket`, and `protocol_version`/`savant` for sources,
//! `idle_timeout`/`accept_version` for sinks) are the component's
//! configuration, checked by its `validate()` before anything opens; a
//! component whose keys collide with these gives them in a `settings`
//! table instead. Unknown keys and wrong types are errors naming the line.
//! `savant-sdk run --list` prints every component with its keys, and
//! `--schema` a JSON Schema of the whole file ([`schema`]).
//!
//! In a program of your own, [`PipelineFile::registry`] finds the
//! components linked into it: the built-ins once the program refers to
//! `savant-sdk-sources` and `savant-sdk-sinks` (`use savant_sdk_sources as
//! _; use savant_sdk_sinks as _;` is enough; rustc drops a crate nothing
//! refers to, and its registrations with it), plugin crates the same way,
//! and the file's `plugins`.

mod build;
mod config_text;
pub mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use savant_sdk_core::codec::VersionPolicy;
use savant_sdk_core::protocol::ProtocolVersion;
use serde::Deserialize;
use toml::Spanned;

use crate::error::PluginHostError;
pub use build::BuiltPipeline;
use config_text::{line_of, ConfigText};

/// `[telemetry]`: how sources propagate traces and where spans go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySection {
    /// How sources write a frame's trace context into its message:
    /// `jaeger` (`uber-trace-id`, Savant's default), `w3c` (`traceparent`)
    /// or `off` (no trace).
    #[serde(default)]
    pub trace: TraceSetting,
    /// Export spans with OTLP to this collector, for example
    /// `http://127.0.0.1:4318` (HTTP) or `http://127.0.0.1:4317` (gRPC).
    pub otlp_endpoint: Option<String>,
    /// The OTLP transport: `http` (HTTP/protobuf, the default) or `grpc`.
    #[serde(default)]
    pub otlp_protocol: OtlpSetting,
    /// Service name of the exported spans (default `savant-sdk`).
    pub service_name: Option<String>,
}

/// `trace` of `[telemetry]`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TraceSetting {
    /// Jaeger `uber-trace-id` (Savant's default).
    #[default]
    Jaeger,
    /// W3C `traceparent`.
    W3c,
    /// No trace context.
    Off,
}

/// `otlp_protocol` of `[telemetry]`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OtlpSetting {
    /// OTLP over HTTP/protobuf.
    #[default]
    Http,
    /// OTLP over gRPC.
    Grpc,
}

/// `[module]`: an external module's sockets, the default `socket` of
/// every `[[source]]` (input) and `[[sink]]` (output).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleSection {
    /// The socket sources write to, e.g. `dealer+connect:ipc:///tmp/zmq-sockets/input-video.ipc`.
    pub input: Option<String>,
    /// The socket sinks read from, e.g. `router+bind:ipc:///tmp/zmq-sockets/output-video.ipc`.
    pub output: Option<String>,
    /// The module's health endpoint (`http://host:port/healthcheck` or
    /// `/status`): sources wait for it to report ready before sending.
    pub healthcheck: Option<String>,
    /// How long sources wait for the health endpoint, in seconds (default 60).
    pub healthcheck_timeout: Option<f64>,
}

/// `[loopback]`: the embedded pass-through module.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoopbackSection {
    /// Its input socket, e.g. `router+bind:ipc:///tmp/p/in.ipc`.
    pub input: String,
    /// Its output socket, e.g. `dealer+connect:ipc:///tmp/p/out.ipc`.
    pub output: String,
    /// Mark frames (and the frames of batches) with this attribute,
    /// `NAMESPACE/NAME`.
    pub mark: Option<String>,
    /// The version marked messages are re-encoded in (default: the
    /// version each came with).
    pub protocol_version: Option<String>,
    /// As `protocol_version`, by Savant release.
    pub savant: Option<String>,
    /// Which versions its input reads: `known` (default), `any`, a
    /// generation (`0.2.x`, `1.x`, `1.15+`, `2.x`) or a version.
    pub accept_version: Option<String>,
}

/// The pipeline's own keys of a `[[source]]` (the rest configure the component).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub struct SourceKeys {
    /// The component: a registered source's name (`savant-sdk run --list`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Its name in reports and logs (default `TYPE#N`).
    pub name: Option<String>,
    /// The socket it writes to (default: `[module] input`).
    pub socket: Option<String>,
    /// The protocol version it stamps (over the file's).
    pub protocol_version: Option<String>,
    /// As `protocol_version`, by Savant release.
    pub savant: Option<String>,
    /// The component's keys, when they collide with the ones above.
    pub settings: Option<BTreeMap<String, serde_json::Value>>,
}

/// The pipeline's own keys of a `[[sink]]` (the rest configure the component).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, schemars::JsonSchema)]
pub struct SinkKeys {
    /// The component: a registered sink's name (`savant-sdk run --list`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Its name in reports and logs (default `TYPE#N`).
    pub name: Option<String>,
    /// The socket its reader reads (default: `[module] output`); sinks
    /// with the same socket share one reader and get every result.
    pub socket: Option<String>,
    /// Seconds without a message before its reader stops (default 5;
    /// 0 waits until the pipeline is stopped). One value per socket.
    pub idle_timeout: Option<f64>,
    /// Which versions its reader reads (default `known`). One value per socket.
    pub accept_version: Option<String>,
    /// Its reader stops after this many EOS (as `receive --eos-count`).
    /// One value per socket.
    pub eos_count: Option<u64>,
    /// The component's keys, when they collide with the ones above.
    pub settings: Option<BTreeMap<String, serde_json::Value>>,
}

type Section = BTreeMap<String, Spanned<toml::Value>>;

/// The longest timeout a file may give, in seconds (about 31 years).
const MAX_SECONDS: f64 = 1e9;

/// The reader keys of the sinks of one socket (one value per socket) and
/// the line of the first sink on that socket.
#[derive(Debug, Default)]
struct ReaderKeys {
    idle: Option<f64>,
    accept: Option<String>,
    eos_count: Option<u64>,
    line: usize,
}

/// The second look at the file: `settings` tables with a span per key
/// (the first look keeps one span per top-level key only).
#[derive(Debug, Default, Deserialize)]
struct SettingsPass {
    #[serde(default, rename = "source")]
    sources: Vec<SettingsOf>,
    #[serde(default, rename = "sink")]
    sinks: Vec<SettingsOf>,
}

#[derive(Debug, Default, Deserialize)]
struct SettingsOf {
    settings: Option<Section>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    plugins: Vec<PathBuf>,
    protocol_version: Option<Spanned<String>>,
    savant: Option<Spanned<String>>,
    telemetry: Option<TelemetrySection>,
    module: Option<ModuleSection>,
    loopback: Option<Spanned<LoopbackSection>>,
    #[serde(default, rename = "source")]
    sources: Vec<Spanned<Section>>,
    #[serde(default, rename = "sink")]
    sinks: Vec<Spanned<Section>>,
}

/// One `[[source]]`, checked.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    /// Its line in the file.
    pub line: usize,
    /// The component.
    pub type_name: String,
    /// Its name in reports.
    pub name: String,
    /// The writer socket.
    pub socket: String,
    /// The version it stamps.
    pub version: ProtocolVersion,
    /// Whether the section names its version itself.
    pub own_version: bool,
    config: ConfigText,
}

/// One `[[sink]]`, checked.
#[derive(Debug, Clone)]
pub struct SinkSpec {
    /// Its line in the file.
    pub line: usize,
    /// The component.
    pub type_name: String,
    /// Its name in reports.
    pub name: String,
    /// The reader socket.
    pub socket: String,
    /// Its reader's idle timeout (`None`: until stopped).
    pub idle_timeout: Option<std::time::Duration>,
    /// What its reader reads.
    pub accept: VersionPolicy,
    /// Its reader stops after this many EOS.
    pub eos_count: Option<u64>,
    config: ConfigText,
}

/// A parsed and checked pipeline file (see the [module documentation](self)).
#[derive(Debug, Clone)]
pub struct PipelineFile {
    /// Where it was read from (for messages).
    pub path: PathBuf,
    /// The `.so` files and folders to load, resolved against the file's folder.
    pub plugins: Vec<PathBuf>,
    /// `[telemetry]`.
    pub telemetry: TelemetrySection,
    /// `[module]`.
    pub module: ModuleSection,
    /// `[loopback]`.
    pub loopback: Option<LoopbackSection>,
    /// The sources, in file order.
    pub sources: Vec<SourceSpec>,
    /// The sinks, in file order.
    pub sinks: Vec<SinkSpec>,
}

fn error(path: &Path, line: usize, message: impl Into<String>) -> PluginHostError {
    PluginHostError::PipelineFile {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Takes key `key` out of `section` as a string.
fn take_str(
    section: &mut Section,
    key: &str,
    path: &Path,
    text: &str,
) -> Result<Option<String>, PluginHostError> {
    match section.remove(key) {
        None => Ok(None),
        Some(v) => match v.get_ref() {
            toml::Value::String(s) => Ok(Some(s.clone())),
            other => Err(error(
                path,
                line_of(text, v.span().start),
                format!("`{key}` must be a string, not {}", other.type_str()),
            )),
        },
    }
}

/// Takes `settings = { ... }` out and merges its keys (each with its own
/// span, from `spanned`) into the section.
fn merge_settings(
    section: &mut Section,
    spanned: Option<Section>,
    path: &Path,
    text: &str,
) -> Result<(), PluginHostError> {
    let Some(settings) = section.remove("settings") else {
        return Ok(());
    };
    let line = line_of(text, settings.span().start);
    let toml::Value::Table(own) = settings.get_ref() else {
        return Err(error(path, line, "`settings` must be a table"));
    };
    // a line per key from the second look at the file; if that look
    // failed (another section's `settings` is not a table), the table's line
    let table = spanned.unwrap_or_else(|| {
        own.iter()
            .map(|(k, v)| (k.clone(), Spanned::new(settings.span(), v.clone())))
            .collect()
    });
    for (k, v) in table {
        if section.contains_key(&k) {
            return Err(error(
                path,
                line_of(text, v.span().start),
                format!("`{k}` is given both in `settings` and beside it"),
            ));
        }
        section.insert(k, v);
    }
    Ok(())
}

impl PipelineFile {
    /// Reads and checks the file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, PluginHostError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PluginHostError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Checks pipeline file `text`, read from `path` (plugins are resolved
    /// against its folder): TOML syntax, the pipeline's own keys and their
    /// types, each with its line. The components' keys are checked by
    /// [`PipelineFile::validate`], which needs the registry.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Self, PluginHostError> {
        let path = path.as_ref();
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            error(path, line, e.message().trim_end())
        })?;
        // a settings table that is not a table fails in merge_settings
        let mut settings: SettingsPass = toml::from_str(text).unwrap_or_default();
        let base = path.parent().unwrap_or(Path::new("."));
        let key_line =
            |s: &Option<Spanned<String>>| s.as_ref().map(|s| line_of(text, s.span().start));
        let file_version = ProtocolVersion::from_keys(
            raw.protocol_version.as_ref().map(|s| s.get_ref().as_str()),
            raw.savant.as_ref().map(|s| s.get_ref().as_str()),
        )
        .map_err(|e| {
            let line = key_line(&raw.protocol_version)
                .or(key_line(&raw.savant))
                .unwrap_or(1);
            error(path, line, e.to_string())
        })?
        .unwrap_or_default();
        let module = raw.module.unwrap_or_default();
        if let Some(t) = module.healthcheck_timeout {
            if !(0.0..=MAX_SECONDS).contains(&t) {
                return Err(error(
                    path,
                    1,
                    "[module]: `healthcheck_timeout` must be a number of seconds from 0 to 1e9",
                ));
            }
        }
        let telemetry = raw.telemetry.unwrap_or_default();
        let mut loopback_line = 1;
        let loopback = match raw.loopback {
            None => None,
            Some(l) => {
                let line = line_of(text, l.span().start);
                loopback_line = line;
                let l = l.into_inner();
                let bad = |m: String| error(path, line, format!("[loopback]: {m}"));
                ProtocolVersion::from_keys(l.protocol_version.as_deref(), l.savant.as_deref())
                    .map_err(|e| bad(e.to_string()))?;
                if let Some(a) = &l.accept_version {
                    a.parse::<VersionPolicy>()
                        .map_err(|e| bad(format!("accept_version: {e}")))?;
                }
                if let Some(m) = &l.mark {
                    parse_mark(m).map_err(bad)?;
                }
                Some(l)
            }
        };

        let mut sources = Vec::new();
        for (i, s) in raw.sources.into_iter().enumerate() {
            let line = line_of(text, s.span().start);
            let mut section = s.into_inner();
            let at = |m: String| error(path, line, format!("[[source]]: {m}"));
            let type_name = take_str(&mut section, "type", path, text)?
                .ok_or_else(|| at("`type` is missing: the name of a registered source".into()))?;
            let name = take_str(&mut section, "name", path, text)?
                .unwrap_or_else(|| format!("{type_name}#{}", i + 1));
            let socket = take_str(&mut section, "socket", path, text)?
                .or_else(|| module.input.clone())
                .ok_or_else(|| at("`socket` is missing and no [module] input is given".into()))?;
            let pv = take_str(&mut section, "protocol_version", path, text)?;
            let sv = take_str(&mut section, "savant", path, text)?;
            let own = ProtocolVersion::from_keys(pv.as_deref(), sv.as_deref())
                .map_err(|e| at(e.to_string()))?;
            let own_version = own.is_some();
            let version = own.unwrap_or_else(|| file_version.clone());
            let own = settings.sources.get_mut(i).and_then(|s| s.settings.take());
            merge_settings(&mut section, own, path, text)?;
            sources.push(SourceSpec {
                line,
                type_name,
                name,
                socket,
                version,
                own_version,
                config: ConfigText::new(&section, text).map_err(|(l, m)| error(path, l, m))?,
            });
        }

        let mut sinks = Vec::new();
        let mut readers: BTreeMap<String, ReaderKeys> = BTreeMap::new();
        for (i, s) in raw.sinks.into_iter().enumerate() {
            let line = line_of(text, s.span().start);
            let mut section = s.into_inner();
            let at = |m: String| error(path, line, format!("[[sink]]: {m}"));
            let type_name = take_str(&mut section, "type", path, text)?
                .ok_or_else(|| at("`type` is missing: the name of a registered sink".into()))?;
            let name = take_str(&mut section, "name", path, text)?
                .unwrap_or_else(|| format!("{type_name}#{}", i + 1));
            let socket = take_str(&mut section, "socket", path, text)?
                .or_else(|| module.output.clone())
                .ok_or_else(|| at("`socket` is missing and no [module] output is given".into()))?;
            let idle = match section.remove("idle_timeout") {
                None => None,
                Some(v) => {
                    let l = line_of(text, v.span().start);
                    match v.get_ref() {
                        toml::Value::Float(f) if (0.0..=MAX_SECONDS).contains(f) => Some(*f),
                        toml::Value::Integer(n) if (0..=MAX_SECONDS as i64).contains(n) => {
                            Some(*n as f64)
                        }
                        _ => return Err(error(
                            path,
                            l,
                            "[[sink]]: `idle_timeout` must be a number of seconds from 0 to 1e9",
                        )),
                    }
                }
            };
            let eos_count = match section.remove("eos_count") {
                None => None,
                Some(v) => match v.get_ref() {
                    toml::Value::Integer(n) if *n > 0 => Some(*n as u64),
                    _ => {
                        return Err(error(
                            path,
                            line_of(text, v.span().start),
                            "[[sink]]: `eos_count` must be a whole number > 0",
                        ))
                    }
                },
            };
            let accept_text = take_str(&mut section, "accept_version", path, text)?;
            let accept = match &accept_text {
                Some(a) => a
                    .parse::<VersionPolicy>()
                    .map_err(|e| at(format!("accept_version: {e}")))?,
                None => VersionPolicy::Known,
            };
            // reader keys: one value per socket
            let entry = readers.entry(socket.clone()).or_insert(ReaderKeys {
                line,
                ..Default::default()
            });
            let differs = |key: &str| {
                at(format!(
                    "`{key}` differs from the one of the [[sink]] at line {} on the same socket (one reader serves both)",
                    entry.line
                ))
            };
            if let (Some(a), Some(b)) = (idle, entry.idle) {
                if a != b {
                    return Err(differs("idle_timeout"));
                }
            }
            if let (Some(a), Some(b)) = (&accept_text, &entry.accept) {
                if a != b {
                    return Err(differs("accept_version"));
                }
            }
            if let (Some(a), Some(b)) = (eos_count, entry.eos_count) {
                if a != b {
                    return Err(differs("eos_count"));
                }
            }
            if eos_count.is_some() {
                entry.eos_count = eos_count;
            }
            if idle.is_some() {
                entry.idle = idle;
            }
            if accept_text.is_some() {
                entry.accept = accept_text;
            }
            let own = settings.sinks.get_mut(i).and_then(|s| s.settings.take());
            merge_settings(&mut section, own, path, text)?;
            sinks.push(SinkSpec {
                line,
                type_name,
                name,
                socket,
                idle_timeout: None,
                accept,
                eos_count: None,
                config: ConfigText::new(&section, text).map_err(|(l, m)| error(path, l, m))?,
            });
        }
        // every sink of a socket gets its reader's settings
        for s in &mut sinks {
            let ReaderKeys {
                idle,
                accept,
                eos_count,
                ..
            } = &readers[&s.socket];
            s.eos_count = *eos_count;
            let idle = idle.unwrap_or(5.0);
            s.idle_timeout = (idle > 0.0).then(|| std::time::Duration::from_secs_f64(idle));
            if let Some(a) = accept {
                s.accept = a.parse().expect("checked above");
            }
        }
        if let Some(l) = &loopback {
            let out = endpoint(&l.output);
            if !sinks.iter().any(|s| endpoint(&s.socket) == out) {
                return Err(error(
                    path,
                    loopback_line,
                    format!(
                        "nothing reads the loopback module's output {:?}: add a [[sink]] whose socket is on {out} (the module stalls when its output is not read)",
                        l.output
                    ),
                ));
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            plugins: raw.plugins.iter().map(|p| base.join(p)).collect(),
            telemetry,
            module,
            loopback,
            sources,
            sinks,
        })
    }

    /// Stamps `version` on every source that does not name its own (a
    /// command line's `--protocol-version` over the file's).
    pub fn set_default_version(&mut self, version: &ProtocolVersion) {
        for s in self.sources.iter_mut().filter(|s| !s.own_version) {
            s.version = version.clone();
        }
    }

    /// Checks every component's keys with its `validate()`, which does no
    /// I/O, before anything is built or opened; errors name the line.
    pub fn validate(&self, registry: &crate::PluginRegistry) -> Result<(), PluginHostError> {
        let check = |type_name: &str, config: &ConfigText, line: usize, kind: &str| {
            let located = |e: PluginHostError| {
                let (line, message) = config.locate(&e.to_string(), line);
                error(
                    &self.path,
                    line,
                    format!("[[{kind}]] {type_name}: {message}"),
                )
            };
            match registry.info(type_name) {
                None => Err(error(
                    &self.path,
                    line,
                    format!(
                        "[[{kind}]]: no component {type_name:?} (known: {})",
                        registry.names().collect::<Vec<_>>().join(", ")
                    ),
                )),
                Some(info) if info.kind != kind => Err(error(
                    &self.path,
                    line,
                    format!("[[{kind}]]: {type_name:?} is a {}, not a {kind}", info.kind),
                )),
                Some(_) => registry.validate(type_name, &config.json).map_err(located),
            }
        };
        for s in &self.sources {
            check(&s.type_name, &s.config, s.line, "source")?;
        }
        for s in &self.sinks {
            check(&s.type_name, &s.config, s.line, "sink")?;
        }
        Ok(())
    }

    /// A registry with every component linked into this binary and the
    /// file's plugins; a refused file of a plugin folder is logged and the
    /// others load.
    pub fn registry(&self) -> Result<crate::PluginRegistry, PluginHostError> {
        let mut registry = crate::PluginRegistry::with_static()?;
        for p in &self.plugins {
            let report = registry.load_path(p)?;
            for e in &report.failed {
                tracing::warn!("{e}");
            }
        }
        Ok(registry)
    }
}

/// `NAMESPACE/NAME`.
pub fn parse_mark(s: &str) -> Result<(String, String), String> {
    match s.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() => Ok((ns.into(), name.into())),
        _ => Err(format!("mark: expected NAMESPACE/NAME, got {s:?}")),
    }
}

/// The endpoint of a socket spec (`type+mode:endpoint` or an endpoint).
fn endpoint(spec: &str) -> &str {
    match spec.split_once(':') {
        Some((head, rest)) if head.contains('+') => rest,
        _ => spec,
    }
}

#[cfg(test)]
mod tests;
