//! From a checked pipeline file to a runnable [`Pipeline`]: every
//! component built before any socket opens, readers bound before the
//! module starts, writers last.

use std::sync::Arc;
use std::time::Duration;

use savant_sdk_core::client::{SinkBuilder, SourceBuilder, SourceRunner};
use savant_sdk_core::codec::VersionPolicy;
use savant_sdk_core::component::{BuildContext, ComponentLookup, TelemetryHandle};
use savant_sdk_core::pipeline::Pipeline;
use savant_sdk_core::protocol::ProtocolVersion;
use savant_sdk_core::sink::Sink;
use savant_sdk_core::telemetry::{OtlpProtocol, Propagation, Telemetry};
use savant_sdk_loopback::{LoopbackConfig, LoopbackHandle, LoopbackModule};

use super::{error, parse_mark, OtlpSetting, PipelineFile, TelemetrySection, TraceSetting};
use crate::error::PluginHostError;
use crate::PluginRegistry;

/// A pipeline ready to run, and the embedded module it runs against (stop
/// it after the run).
pub struct BuiltPipeline {
    /// The pipeline.
    pub pipeline: Pipeline,
    /// The loopback module of a `[loopback]` section, running.
    pub module: Option<LoopbackHandle>,
}

/// Sinks with their names, as `Pipeline::reader` takes them.
type NamedSinks = Vec<(String, Box<dyn Sink>)>;

fn sdk(what: impl Into<String>) -> impl FnOnce(savant_sdk_core::Error) -> PluginHostError {
    let what = what.into();
    move |source| PluginHostError::Sdk { what, source }
}

impl TelemetrySection {
    /// The propagation sources use; `None` for `off`.
    pub fn propagation(&self) -> Option<Propagation> {
        match self.trace {
            TraceSetting::Jaeger => Some(Propagation::Jaeger),
            TraceSetting::W3c => Some(Propagation::W3c),
            TraceSetting::Off => None,
        }
    }

    /// The telemetry this section describes (export only with an
    /// `otlp_endpoint`; off with `trace = "off"`).
    pub fn build(&self) -> Result<Telemetry, PluginHostError> {
        let Some(p) = self.propagation() else {
            return Ok(Telemetry::off());
        };
        let name = self.service_name.as_deref().unwrap_or("savant-sdk");
        let mut b = Telemetry::builder(name).propagation(p);
        if let Some(url) = &self.otlp_endpoint {
            let protocol = match self.otlp_protocol {
                OtlpSetting::Http => OtlpProtocol::HttpProtobuf,
                OtlpSetting::Grpc => OtlpProtocol::Grpc,
            };
            b = b.otlp(protocol, url);
        }
        b.build().map_err(sdk("[telemetry]"))
    }
}

impl PipelineFile {
    /// Builds every component (after [`PipelineFile::validate`]), binds
    /// the readers, starts the `[loopback]` module and connects the
    /// writers. `telemetry` is what the sources trace with (see
    /// [`TelemetrySection::build`]); the components' contexts carry the
    /// pipeline's shutdown signal and the registry (for nested sinks).
    pub async fn build(
        &self,
        registry: Arc<PluginRegistry>,
        telemetry: &Telemetry,
    ) -> Result<BuiltPipeline, PluginHostError> {
        self.validate(&registry)?;
        let mut pipeline = Pipeline::new();
        let lookup: Arc<dyn ComponentLookup> = registry.clone();
        let ctx = |name: &str| -> BuildContext {
            pipeline
                .context(name)
                .with_lookup(lookup.clone())
                .with_telemetry(TelemetryHandle::current())
        };
        let located = |line: usize, e: PluginHostError| error(&self.path, line, e.to_string());

        let mut sources = Vec::new();
        for s in &self.sources {
            let source = registry
                .build_source(&s.type_name, &s.config.json, &ctx(&s.name))
                .map_err(|e| located(s.line, e))?;
            sources.push((s, source));
        }
        // sinks grouped by socket, in the order the sockets first appear
        let mut groups: Vec<(String, NamedSinks)> = Vec::new();
        for s in &self.sinks {
            let sink = registry
                .build_sink(&s.type_name, &s.config.json, &ctx(&s.name))
                .map_err(|e| located(s.line, e))?;
            match groups.iter_mut().find(|(socket, _)| *socket == s.socket) {
                Some((_, sinks)) => sinks.push((s.name.clone(), sink)),
                None => groups.push((s.socket.clone(), vec![(s.name.clone(), sink)])),
            }
        }

        for (socket, sinks) in groups {
            let first = self
                .sinks
                .iter()
                .find(|s| s.socket == socket)
                .expect("a group has a sink");
            let mut builder = SinkBuilder::new(&socket).version_policy(first.accept.clone());
            if let Some(t) = first.idle_timeout {
                builder = builder.idle_timeout(t);
            }
            if let Some(n) = first.eos_count {
                builder = builder.stop_after_eos(n);
            }
            let runner = builder
                .build()
                .await
                .map_err(sdk(format!("reader {socket}")))?;
            pipeline.reader(socket, runner, sinks);
        }

        let module = match &self.loopback {
            Some(l) => Some(
                LoopbackModule::start(loopback_config(l).map_err(|m| error(&self.path, 1, m))?)
                    .map_err(sdk("[loopback]"))?,
            ),
            None => None,
        };

        let propagation = self.telemetry.propagation();
        let mut writers: Vec<(String, ProtocolVersion, SourceRunner)> = Vec::new();
        for (s, source) in sources {
            let existing = writers
                .iter()
                .find(|(socket, v, _)| *socket == s.socket && *v == s.version)
                .map(|(_, _, w)| w.clone());
            let writer = match existing {
                Some(w) => w,
                None => {
                    let mut b = SourceBuilder::new(&s.socket).protocol_version(s.version.clone());
                    b = match propagation {
                        Some(p) => b.telemetry(telemetry.clone()).propagation(p),
                        None => b.telemetry_off(),
                    };
                    if let Some(url) = &self.module.healthcheck {
                        let wait = self.module.healthcheck_timeout.unwrap_or(60.0);
                        b = b.healthcheck(
                            url,
                            Duration::from_secs_f64(wait),
                            Duration::from_millis(500),
                        );
                    }
                    let w = b
                        .build()
                        .await
                        .map_err(sdk(format!("writer {}", s.socket)))?;
                    writers.push((s.socket.clone(), s.version.clone(), w.clone()));
                    w
                }
            };
            pipeline.source_boxed(s.name.clone(), writer, source);
        }
        // a writer is closed by the last source using it
        drop(writers);
        Ok(BuiltPipeline { pipeline, module })
    }
}

/// The loopback module a `[loopback]` section describes (checked by `parse`).
fn loopback_config(l: &super::LoopbackSection) -> Result<LoopbackConfig, String> {
    let mut c = LoopbackConfig::new(&l.input, &l.output);
    if let Some(a) = &l.accept_version {
        c = c.version_policy(a.parse::<VersionPolicy>().map_err(|e| e.to_string())?);
    }
    if let Some(v) = ProtocolVersion::from_keys(l.protocol_version.as_deref(), l.savant.as_deref())
        .map_err(|e| e.to_string())?
    {
        c = c.protocol_version(v);
    }
    if let Some(m) = &l.mark {
        let (ns, name) = parse_mark(m)?;
        c = c.mark(ns, name);
    }
    Ok(c)
}
