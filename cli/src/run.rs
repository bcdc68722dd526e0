//! `savant-sdk run PIPELINE.toml`: builds sources and sinks (built-in
//! image sources and plugins) from a TOML file, optionally starts the
//! embedded loopback module, and runs everything until the sources end
//! and the sinks go idle, or until SIGINT/SIGTERM.
//!
//! ```toml
//! plugins = ["plugins/"]            # .so files or folders, relative to this file
//! protocol_version = "1.15.0"       # what the sources stamp (or savant = "0.6.1"; default "1.15.0")
//!
//! [loopback]                        # optional: the embedded pass-through module
//! input = "router+bind:ipc:///tmp/p/in.ipc"
//! output = "dealer+connect:ipc:///tmp/p/out.ipc"
//! mark = "loopback/seen"            # optional: mark frames (and the frames of batches)
//! # protocol_version / savant: the version marked messages are re-encoded in
//! # (default: the version each came with); accept_version: as --accept-version
//!
//! [[source]]                        # a plugin source
//! plugin = "synthetic"
//! socket = "dealer+connect:ipc:///tmp/p/in.ipc"
//! settings = { frames = 30, source_id = "cam-1" }
//! savant = "0.6.0"                  # this source only: protocol_version or savant
//!
//! [[source]]                        # the built-in JPEG/PNG source: a file or a folder
//! images = "frames/"
//! source_id = "cam-2"
//! fps = "30/1"
//! socket = "dealer+connect:ipc:///tmp/p/in.ipc"
//!
//! [[sink]]
//! plugin = "frame-counter"
//! socket = "router+bind:ipc:///tmp/p/out.ipc"
//! idle_timeout = 2.0                # seconds; 0 waits for SIGINT
//! settings = { summary = "counts.json" }
//! accept_version = "known"          # as receive's --accept-version (default known)
//! ```
//!
//! The version a source stamps: its own `protocol_version`/`savant` key,
//! else `run --protocol-version`/`--savant`, else the file's top-level key,
//! else "1.15.0" (Savant 0.6.1's). A savant-rs 1.x or 2.x module drops any
//! version but its own without acknowledging it.
//!
//! Unknown keys and wrong types are errors with their line. Prints one
//! JSON line per finished source (`source_done`) and sink (`sink_done`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::codec::VersionPolicy;
use savant_sdk_core::protocol::ProtocolVersion;
use savant_sdk_core::sink::Sink;
use savant_sdk_core::source::Source;
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_plugin_host::PluginRegistry;
use savant_sdk_sources::{ImageDirectorySource, JpegSource, PngSource};
use serde::Deserialize;

use crate::protocol::{from_keys, parse_accept, ProtocolArgs};
use crate::TraceFormat;
use serde_json::json;
use toml::Spanned;

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline description (TOML).
    pipeline: PathBuf,
    /// The version sources stamp unless their [[source]] sets one (over
    /// the file's top-level key).
    #[command(flatten)]
    protocol: ProtocolArgs,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pipeline {
    #[serde(default)]
    plugins: Vec<PathBuf>,
    protocol_version: Option<Spanned<String>>,
    savant: Option<Spanned<String>>,
    loopback: Option<Spanned<LoopbackSection>>,
    #[serde(default, rename = "source")]
    sources: Vec<Spanned<SourceSection>>,
    #[serde(default, rename = "sink")]
    sinks: Vec<Spanned<SinkSection>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoopbackSection {
    input: String,
    output: String,
    mark: Option<String>,
    protocol_version: Option<String>,
    savant: Option<String>,
    accept_version: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSection {
    socket: String,
    plugin: Option<String>,
    settings: Settings,
    images: Option<PathBuf>,
    source_id: Option<String>,
    fps: Option<String>,
    trace: Option<TraceFormat>,
    protocol_version: Option<String>,
    savant: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SinkSection {
    socket: String,
    plugin: String,
    settings: Settings,
    idle_timeout: Option<f64>,
    accept_version: Option<String>,
}

/// The file's top-level `protocol_version` or `savant`, checked.
fn file_version(p: &Pipeline, text: &str) -> Result<Option<ProtocolVersion>> {
    let span = p
        .protocol_version
        .as_ref()
        .or(p.savant.as_ref())
        .map(|s| s.span().start);
    from_keys(
        p.protocol_version.as_ref().map(|s| s.get_ref().as_str()),
        p.savant.as_ref().map(|s| s.get_ref().as_str()),
    )
    .map_err(|e| anyhow::anyhow!("line {}: {e}", line_of(text, span.unwrap_or(0))))
}

/// `accept_version` of a section (default known).
fn accept(key: &Option<String>) -> Result<VersionPolicy, String> {
    match key {
        Some(k) => parse_accept(k).map_err(|e| format!("accept_version: {e}")),
        None => Ok(VersionPolicy::Known),
    }
}

/// 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses and checks a pipeline; errors carry the line.
fn parse(text: &str) -> Result<Pipeline> {
    let p: Pipeline =
        toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))?;
    file_version(&p, text)?;
    if let Some(l) = &p.loopback {
        let line = line_of(text, l.span().start);
        let l = l.get_ref();
        from_keys(l.protocol_version.as_deref(), l.savant.as_deref())
            .and_then(|_| accept(&l.accept_version))
            .and_then(|_| {
                l.mark
                    .as_deref()
                    .map_or(Ok(()), |m| crate::parse_ns_name(m).map(drop))
            })
            .map_err(|e| anyhow::anyhow!("[loopback] at line {line}: {e}"))?;
    }
    for s in &p.sources {
        let line = line_of(text, s.span().start);
        let s = s.get_ref();
        match (&s.plugin, &s.images) {
            (Some(_), Some(_)) | (None, None) => {
                bail!("[[source]] at line {line}: give exactly one of `plugin` or `images`")
            }
            (Some(_), None) if s.source_id.is_some() || s.fps.is_some() => {
                bail!("[[source]] at line {line}: `source_id` and `fps` belong to `images` sources; a plugin takes them in `settings`")
            }
            (None, Some(_)) if s.settings.is_some() => {
                bail!("[[source]] at line {line}: `settings` belongs to plugin sources")
            }
            _ => {}
        }
        if let Some(fps) = &s.fps {
            crate::parse_fps(fps)
                .map_err(|e| anyhow::anyhow!("[[source]] at line {line}: fps: {e}"))?;
        }
        from_keys(s.protocol_version.as_deref(), s.savant.as_deref())
            .map_err(|e| anyhow::anyhow!("[[source]] at line {line}: {e}"))?;
    }
    for s in &p.sinks {
        accept(&s.get_ref().accept_version).map_err(|e| {
            anyhow::anyhow!("[[sink]] at line {}: {e}", line_of(text, s.span().start))
        })?;
        if s.get_ref()
            .idle_timeout
            .is_some_and(|t| !t.is_finite() || t < 0.0)
        {
            bail!(
                "[[sink]] at line {}: idle_timeout must be a number of seconds >= 0",
                line_of(text, s.span().start)
            );
        }
    }
    Ok(p)
}

/// A plugin's `settings`, each key with where its value is in the file.
type Settings = Option<std::collections::BTreeMap<String, Spanned<toml::Value>>>;

/// A plugin's settings as the text it is built from: a JSON object with
/// one top-level key a line (key `i` on line `i + 2`), so that a parse
/// error's line names the key; and each key with its line in the file.
struct SettingsText {
    json: String,
    keys: Vec<(String, usize)>,
}

fn settings_text(settings: &Settings, file: &str) -> Result<SettingsText> {
    let mut keys: Vec<(&String, &Spanned<toml::Value>)> =
        settings.iter().flat_map(|m| m.iter()).collect();
    keys.sort_by_key(|(_, v)| v.span().start);
    let mut json = String::from("{\n");
    for (i, (k, v)) in keys.iter().enumerate() {
        let sep = if i + 1 < keys.len() { "," } else { "" };
        json += &format!(
            "{}: {}{sep}\n",
            serde_json::to_string(k)?,
            serde_json::to_string(v.get_ref())?
        );
    }
    json.push('}');
    Ok(SettingsText {
        json,
        keys: keys
            .into_iter()
            .map(|(k, v)| (k.clone(), line_of(file, v.span().start)))
            .collect(),
    })
}

impl SettingsText {
    /// `e` (a plugin refusing these settings) with the position inside
    /// the generated text replaced by the key and its line in the file.
    fn error(&self, e: savant_sdk_plugin_host::PluginHostError) -> anyhow::Error {
        let text = e.to_string();
        let Some(at) = text.rfind(" at line ") else {
            return e.into();
        };
        let (message, position) = text.split_at(at);
        let line: Option<usize> = position
            .trim_start_matches(" at line ")
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok());
        let message = message.replacen("JSON: ", "", 1);
        match line
            .and_then(|l| l.checked_sub(2))
            .and_then(|i| self.keys.get(i))
        {
            Some((key, line)) => anyhow::anyhow!("settings `{key}` at line {line}: {message}"),
            None => anyhow::anyhow!("settings: {message}"),
        }
    }
}

fn image_source(s: &SourceSection, base: &Path) -> Result<Box<dyn Source>> {
    let path = base.join(s.images.as_ref().expect("checked"));
    let id = s.source_id.clone().unwrap_or_else(|| "images".into());
    let (n, d) = match &s.fps {
        Some(f) => crate::parse_fps(f).map_err(anyhow::Error::msg)?,
        None => (30, 1),
    };
    if path.is_dir() {
        let dir = ImageDirectorySource::new(id, &path)?.framerate(n, d);
        if dir.files().is_empty() {
            bail!("folder {} has no .jpg/.jpeg/.png files", path.display());
        }
        return Ok(Box::new(dir));
    }
    let png = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    Ok(if png {
        Box::new(PngSource::from_path(id, &path)?.with_framerate(n, d))
    } else {
        Box::new(JpegSource::from_path(id, &path)?.with_framerate(n, d))
    })
}

struct BuiltSource {
    label: String,
    source: Box<dyn Source>,
    socket: String,
    trace: Option<TraceFormat>,
    version: ProtocolVersion,
}

struct BuiltSink {
    label: String,
    sink: Box<dyn Sink>,
    socket: String,
    idle: Option<Duration>,
    accept: VersionPolicy,
}

pub async fn run(a: RunArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.pipeline)
        .with_context(|| format!("cannot read {}", a.pipeline.display()))?;
    let pipeline = parse(&text).with_context(|| format!("{}", a.pipeline.display()))?;
    let base = a.pipeline.parent().unwrap_or(Path::new("."));
    run_pipeline(pipeline, &text, base, a.protocol.given()).await
}

async fn run_pipeline(
    p: Pipeline,
    text: &str,
    base: &Path,
    command_line: Option<ProtocolVersion>,
) -> Result<()> {
    let default_version = match command_line {
        Some(v) => v,
        None => file_version(&p, text)?.unwrap_or_default(),
    };
    let mut registry = PluginRegistry::with_static()?;
    for path in &p.plugins {
        let report = registry.load_path(base.join(path))?;
        for e in &report.failed {
            tracing::warn!("{e}");
        }
    }

    // build every component before opening any socket: bad settings fail early
    let mut sources = Vec::new();
    for (i, s) in p.sources.iter().enumerate() {
        let line = line_of(text, s.span().start);
        let s = s.get_ref();
        let (label, source) = match &s.plugin {
            Some(name) => {
                let settings = settings_text(&s.settings, text)?;
                (
                    name.clone(),
                    registry
                        .source(name, &settings.json)
                        .map_err(|e| settings.error(e))
                        .with_context(|| format!("[[source]] at line {line}"))?,
                )
            }
            None => (
                format!("images#{i}"),
                image_source(s, base).with_context(|| format!("[[source]] at line {line}"))?,
            ),
        };
        let version = from_keys(s.protocol_version.as_deref(), s.savant.as_deref())
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("[[source]] at line {line}"))?
            .unwrap_or_else(|| default_version.clone());
        sources.push(BuiltSource {
            label,
            source,
            socket: s.socket.clone(),
            trace: s.trace,
            version,
        });
    }
    let mut sinks = Vec::new();
    for s in &p.sinks {
        let line = line_of(text, s.span().start);
        let s = s.get_ref();
        let settings = settings_text(&s.settings, text)?;
        let sink = registry
            .sink(&s.plugin, &settings.json)
            .map_err(|e| settings.error(e))
            .with_context(|| format!("[[sink]] at line {line}"))?;
        sinks.push(BuiltSink {
            label: s.plugin.clone(),
            sink,
            socket: s.socket.clone(),
            idle: match s.idle_timeout {
                Some(t) => (t > 0.0).then(|| Duration::from_secs_f64(t)),
                None => Some(Duration::from_secs(5)),
            },
            accept: accept(&s.accept_version)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("[[sink]] at line {line}"))?,
        });
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut sink_tasks = Vec::new();
    for mut s in sinks {
        let mut builder = SinkBuilder::new(&s.socket).version_policy(s.accept.clone());
        if let Some(t) = s.idle {
            builder = builder.idle_timeout(t);
        }
        let mut runner = builder
            .build()
            .await
            .with_context(|| format!("sink {}", s.label))?;
        let mut stop = stop_rx.clone();
        sink_tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            let result: Result<()> = async {
                loop {
                    tokio::select! {
                        r = runner.next() => match r {
                            Some(r) => { s.sink.consume(r?).await?; n += 1; }
                            None => break,
                        },
                        _ = stop.changed() => break,
                    }
                }
                s.sink.finish().await?;
                Ok(())
            }
            .await;
            runner.close().await;
            result.with_context(|| format!("sink {}", s.label))?;
            crate::emit(json!({"event": "sink_done", "sink": s.label, "messages": n}));
            Ok::<_, anyhow::Error>(())
        }));
    }
    let module = match &p.loopback {
        Some(l) => Some(LoopbackModule::start(loopback_config(l.get_ref())?)?),
        None => None,
    };
    let mut source_tasks = Vec::new();
    for s in sources {
        let builder = SourceBuilder::new(&s.socket).protocol_version(s.version.clone());
        let builder = match s.trace.unwrap_or(TraceFormat::Jaeger).propagation() {
            Some(p) => builder.propagation(p),
            None => builder.telemetry_off(),
        };
        let runner = builder
            .build()
            .await
            .with_context(|| format!("source {}", s.label))?;
        let mut stop = stop_rx.clone();
        source_tasks.push(tokio::spawn(async move {
            let result = tokio::select! {
                r = runner.send_stream(s.source) => Some(r),
                _ = stop.changed() => None,
            };
            runner.close().await;
            if let Some(summary) = result {
                let summary = summary.with_context(|| format!("source {}", s.label))?;
                crate::emit(json!({
                    "event": "source_done",
                    "source": s.label,
                    "frames": summary.frames,
                    "bytes": summary.bytes,
                    "ended": summary.ended,
                }));
            }
            Ok::<_, anyhow::Error>(())
        }));
    }

    let work = async {
        let mut first_error = None;
        for t in source_tasks.into_iter().chain(sink_tasks) {
            if let Err(e) = t.await.map_err(anyhow::Error::from).and_then(|r| r) {
                tracing::error!("{}", crate::error_text(&e));
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    };
    tokio::pin!(work);
    let result = tokio::select! {
        r = &mut work => r,
        r = crate::interrupted() => {
            r?;
            let _ = stop_tx.send(true);
            work.await
        }
    };
    if let Some(m) = module {
        m.stop()?;
    }
    result
}

/// The loopback module a `[loopback]` section describes (checked by `parse`).
fn loopback_config(l: &LoopbackSection) -> Result<LoopbackConfig> {
    let mut c = LoopbackConfig::new(&l.input, &l.output)
        .version_policy(accept(&l.accept_version).map_err(anyhow::Error::msg)?);
    if let Some(v) =
        from_keys(l.protocol_version.as_deref(), l.savant.as_deref()).map_err(anyhow::Error::msg)?
    {
        c = c.protocol_version(v);
    }
    if let Some(m) = &l.mark {
        let (ns, name) = crate::parse_ns_name(m).map_err(anyhow::Error::msg)?;
        c = c.mark(ns, name);
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_versions_come_from_the_file_the_section_and_their_line() {
        let p = parse(
            "protocol_version = '1.15.1'\n[[source]]\nplugin = 'x'\nsocket = 'ipc:///a'\nsavant = '0.4'\n[[source]]\nplugin = 'y'\nsocket = 'ipc:///b'\n",
        )
        .unwrap();
        assert_eq!(file_version(&p, "").unwrap().unwrap().as_str(), "1.15.1");
        let s = p.sources[0].get_ref();
        let v = from_keys(s.protocol_version.as_deref(), s.savant.as_deref()).unwrap();
        assert_eq!(v.unwrap().as_str(), "0.2.0");
        let p = parse("savant = '0.6.0'\n").unwrap();
        assert_eq!(file_version(&p, "").unwrap().unwrap().as_str(), "1.13.0");
        let e = err("plugins = []\nprotocol_version = '1.15.1'\nsavant = '0.6.1'\n");
        assert!(e.contains("line 2") && e.contains("not both"), "{e}");
        let e = err("protocol_version = '7.0.0'\n");
        assert!(e.contains("line 1") && e.contains("7.0.0"), "{e}");
        let e = err("[[source]]\nplugin = 'x'\nsocket = 'ipc:///a'\nsavant = '0.5.9'\n");
        assert!(
            e.contains("line 1") && e.contains("--protocol-version"),
            "{e}"
        );
        let e = err("\n[loopback]\ninput = 'a'\noutput = 'b'\nprotocol_version = 'x'\n");
        assert!(
            e.contains("line 2") && e.contains("protocol_version"),
            "{e}"
        );
        let e = err("[loopback]\ninput = 'a'\noutput = 'b'\nmark = 'nope'\n");
        assert!(e.contains("NAMESPACE/NAME"), "{e}");
        let e = err("[[sink]]\nplugin = 'x'\nsocket = 'ipc:///a'\naccept_version = '1.x.y'\n");
        assert!(e.contains("line 1") && e.contains("accept_version"), "{e}");
        let p = parse("[loopback]\ninput = 'router+bind:ipc:///tmp/a'\noutput = 'dealer+connect:ipc:///tmp/b'\nsavant = '0.6.1'\naccept_version = '1.15+'\nmark = 'a/b'\n").unwrap();
        assert!(loopback_config(p.loopback.as_ref().unwrap().get_ref()).is_ok());
    }

    fn err(text: &str) -> String {
        format!("{:#}", parse(text).unwrap_err())
    }

    #[test]
    fn trace_settings_use_the_command_line_names() {
        let p = parse(
            "[[source]]\nplugin = 'x'\nsocket = 'ipc:///a'\ntrace = 'jaeger'\n\n[[source]]\nplugin = 'y'\nsocket = 'ipc:///b'\ntrace = 'off'\n",
        )
        .unwrap();
        let traces: Vec<_> = p.sources.iter().map(|s| s.get_ref().trace).collect();
        assert_eq!(
            traces,
            vec![Some(TraceFormat::Jaeger), Some(TraceFormat::Off)]
        );
        let e = err("[[source]]\nplugin = 'x'\nsocket = 'ipc:///a'\ntrace = 'zipkin'\n");
        assert!(e.contains("zipkin") || e.contains("unknown variant"), "{e}");
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_their_line() {
        let e = err("plugins = []\n\n[[source]]\nplugin = 'x'\nsocket = 'ipc:///a'\nbogus = 1\n");
        assert!(e.contains("line 6") && e.contains("bogus"), "{e}");
        let e = err("[[sink]]\nplugin = 'x'\nsocket = 'ipc:///a'\nidle_timeout = 'soon'\n");
        assert!(e.contains("line 4") && e.contains("idle_timeout"), "{e}");
        let e = err("[loopback]\ninput = 'a'\noutput = 'b'\nspin = 3\n");
        assert!(e.contains("line 4") && e.contains("spin"), "{e}");
        let e = err("colour = 'red'\n");
        assert!(e.contains("line 1") && e.contains("colour"), "{e}");
    }

    #[test]
    fn source_kinds_are_checked_with_their_line() {
        let e = err("\n[[source]]\nsocket = 'ipc:///a'\n");
        assert!(e.contains("line 2") && e.contains("exactly one"), "{e}");
        let e = err("[[source]]\nsocket = 'ipc:///a'\nplugin = 'p'\nimages = 'x'\n");
        assert!(e.contains("line 1") && e.contains("exactly one"), "{e}");
        let e = err("[[source]]\nsocket = 'ipc:///a'\nimages = 'x'\nfps = 'fast'\n");
        assert!(e.contains("fps"), "{e}");
        let file = "plugins = ['a.so']\n[[source]]\nsocket = 's'\nplugin = 'p'\nsettings = { n = 1 }\n[[sink]]\nsocket = 'k'\nplugin = 'q'\n";
        let p = parse(file).unwrap();
        assert_eq!(p.sources.len(), 1);
        let settings = settings_text(&p.sources[0].get_ref().settings, file).unwrap();
        assert_eq!(settings.json, "{\n\"n\": 1\n}");
        assert_eq!(settings.keys, [("n".to_string(), 5)]);
        assert_eq!(p.sinks[0].get_ref().plugin, "q");
    }
}
