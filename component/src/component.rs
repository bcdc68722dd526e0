//! The component model: a component is a serde configuration type apart
//! from the running component it builds (as vector separates a sink's
//! config from the sink). [`SourceConfig`] and [`SinkConfig`] are what the
//! built-in sources and sinks and every plugin implement; a registry finds
//! them by their [`TYPE`](SourceConfig::TYPE) name and a pipeline file
//! names them with `type = "..."`.
//!
//! - `validate()` checks the values and does no I/O, so a whole pipeline
//!   file is checked before anything opens;
//! - `build(ctx)` makes the running component; the [`BuildContext`] carries
//!   the component's name, the telemetry handle and the shutdown signal, so
//!   that constructors stay stable as the SDK grows.
//!
//! ```
//! use savant_sdk_component::component::{BuildContext, SourceConfig};
//! use savant_sdk_component::model::VideoFrame;
//! use savant_sdk_component::source::{IterSource, Source, SourceFrame, SourceItem};
//! use savant_sdk_component::{schemars, Error, Result};
//!
//! /// Counts to `frames`.
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! #[schemars(crate = "savant_sdk_component::schemars")]
//! #[serde(deny_unknown_fields)]
//! struct CounterConfig {
//!     /// How many frames.
//!     frames: u32,
//! }
//!
//! impl SourceConfig for CounterConfig {
//!     const TYPE: &'static str = "counter";
//!     const DESCRIPTION: &'static str = "frames numbered 1..=frames";
//!     fn validate(&self) -> Result<()> {
//!         if self.frames == 0 {
//!             return Err(Error::invalid_config("frames", "must be at least 1"));
//!         }
//!         Ok(())
//!     }
//!     fn build(self, _ctx: &BuildContext) -> Result<Box<dyn Source>> {
//!         let frames = (1..=i64::from(self.frames)).map(|pts| {
//!             SourceFrame::new(VideoFrame::builder("counter").pts(pts).build(), "x").into()
//!         });
//!         Ok(Box::new(IterSource::new(frames.collect::<Vec<SourceItem>>().into_iter())))
//!     }
//! }
//!
//! let config: CounterConfig = serde_json::from_str(r#"{"frames": 3}"#).unwrap();
//! config.validate()?;
//! let _source = config.build(&BuildContext::new("counter"))?;
//! # Ok::<(), Error>(())
//! ```

use std::fmt;
use std::sync::Arc;

use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::logs::LogHandle;
use crate::sink::Sink;
use crate::source::Source;

/// The configuration of a source: deserialised from a pipeline file or
/// settings, checked by [`validate`](Self::validate), turned into the
/// running source by [`build`](Self::build).
pub trait SourceConfig:
    serde::de::DeserializeOwned + schemars::JsonSchema + Send + 'static
{
    /// The name a registry and a pipeline file's `type = "..."` know it
    /// by; unique among the components of one registry.
    const TYPE: &'static str;
    /// One line saying what it is (`savant-sdk run --list`).
    const DESCRIPTION: &'static str;
    /// Checks the values without any I/O (files are opened by `build`).
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    /// Builds the running source.
    fn build(self, ctx: &BuildContext) -> Result<Box<dyn Source>>;
}

/// The configuration of a sink, as [`SourceConfig`] is for a source.
pub trait SinkConfig: serde::de::DeserializeOwned + schemars::JsonSchema + Send + 'static {
    /// The name a registry and a pipeline file's `type = "..."` know it by.
    const TYPE: &'static str;
    /// One line saying what it is.
    const DESCRIPTION: &'static str;
    /// Checks the values without any I/O.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    /// Builds the running sink.
    fn build(self, ctx: &BuildContext) -> Result<Box<dyn Sink>>;
}

/// Builds components by their `TYPE` name: what a registry offers to a
/// component that holds others (a fan-out of sinks).
pub trait ComponentLookup: Send + Sync {
    /// Builds source `type_name` from configuration text (TOML or JSON).
    fn build_source(
        &self,
        type_name: &str,
        config: &str,
        ctx: &BuildContext,
    ) -> Result<Box<dyn Source>>;
    /// Builds sink `type_name` from configuration text (TOML or JSON).
    fn build_sink(
        &self,
        type_name: &str,
        config: &str,
        ctx: &BuildContext,
    ) -> Result<Box<dyn Sink>>;
}

/// What a component is built with.
#[derive(Clone)]
pub struct BuildContext {
    name: String,
    shutdown: Shutdown,
    telemetry: TelemetryHandle,
    lookup: Option<Arc<dyn ComponentLookup>>,
}

impl fmt::Debug for BuildContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildContext")
            .field("name", &self.name)
            .field("shutdown", &self.shutdown)
            .field("telemetry", &self.telemetry)
            .field("lookup", &self.lookup.is_some())
            .finish()
    }
}

impl BuildContext {
    /// A context for a component called `name`, with a shutdown signal
    /// that never fires and the current `tracing` dispatcher.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            shutdown: Shutdown::never(),
            telemetry: TelemetryHandle::current(),
            lookup: None,
        }
    }

    /// With a registry to build nested components from.
    pub fn with_lookup(mut self, lookup: Arc<dyn ComponentLookup>) -> Self {
        self.lookup = Some(lookup);
        self
    }

    /// Builds a nested sink (of a fan-out) through the context's registry,
    /// with this context renamed `name`.
    pub fn build_sink(&self, name: &str, type_name: &str, config: &str) -> Result<Box<dyn Sink>> {
        let lookup = self.lookup.as_ref().ok_or_else(|| {
            Error::Config(format!(
                "{}: no registry in the build context to build nested sink {type_name:?} from",
                self.name
            ))
        })?;
        lookup.build_sink(type_name, config, &self.named(name))
    }

    /// Builds a nested source through the context's registry.
    pub fn build_source(
        &self,
        name: &str,
        type_name: &str,
        config: &str,
    ) -> Result<Box<dyn Source>> {
        let lookup = self.lookup.as_ref().ok_or_else(|| {
            Error::Config(format!(
                "{}: no registry in the build context to build nested source {type_name:?} from",
                self.name
            ))
        })?;
        lookup.build_source(type_name, config, &self.named(name))
    }

    /// With this shutdown signal.
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// With this telemetry handle.
    pub fn with_telemetry(mut self, telemetry: TelemetryHandle) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// The same context for another component.
    pub fn named(&self, name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..self.clone()
        }
    }

    /// The component's name in its pipeline (for logs and errors).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pipeline's shutdown signal: a source that waits (a camera, a
    /// paced loop) should end when it fires; the runner also stops pulling.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// The pipeline's telemetry.
    pub fn telemetry(&self) -> &TelemetryHandle {
        &self.telemetry
    }
}

/// What a component needs of the pipeline's telemetry: the `tracing`
/// dispatcher its logs go to (with the OpenTelemetry layer when the host
/// exports traces) and the log provider results fetch their logs from.
#[derive(Clone, Debug)]
pub struct TelemetryHandle {
    dispatch: tracing::Dispatch,
    logs: LogHandle,
}

impl TelemetryHandle {
    /// The current dispatcher and no log provider.
    pub fn current() -> Self {
        Self {
            dispatch: tracing::dispatcher::get_default(tracing::Dispatch::clone),
            logs: LogHandle::default(),
        }
    }

    /// A handle with this dispatcher and log provider.
    pub fn new(dispatch: tracing::Dispatch, logs: LogHandle) -> Self {
        Self { dispatch, logs }
    }

    /// The `tracing` dispatcher (for a thread of the component's own:
    /// `tracing::dispatcher::with_default(ctx.telemetry().dispatch(), ...)`).
    pub fn dispatch(&self) -> &tracing::Dispatch {
        &self.dispatch
    }

    /// The log provider results are given.
    pub fn logs(&self) -> &LogHandle {
        &self.logs
    }
}

/// The receiving end of a pipeline's shutdown signal: cheap to clone,
/// fires once, never un-fires.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// The sending end: [`trigger`](Self::trigger) fires every [`Shutdown`]
/// made from it.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl ShutdownTrigger {
    /// A new signal, not fired.
    pub fn new() -> Self {
        Self(watch::Sender::new(false))
    }

    /// A receiving end.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown(self.0.subscribe())
    }

    /// Fires the signal (again is a no-op).
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    /// Whether it has fired.
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }
}

impl Default for ShutdownTrigger {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A signal that never fires.
    pub fn never() -> Self {
        // a receiver whose sender is gone keeps its last value, false
        Shutdown(watch::channel(false).1)
    }

    /// Whether shutdown was asked for.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown is asked for (never, for [`Shutdown::never`]).
    pub async fn requested(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|fired| *fired).await.is_err() {
            // the trigger is gone without firing: it never will
            std::future::pending::<()>().await;
        }
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Shutdown")
            .field(&self.is_requested())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutdown_fires_every_subscriber_once_and_stays_fired() {
        let trigger = ShutdownTrigger::new();
        let (a, b) = (trigger.subscribe(), trigger.subscribe());
        assert!(!a.is_requested());
        let waiting = tokio::spawn(async move { b.requested().await });
        trigger.trigger();
        trigger.trigger();
        waiting.await.unwrap();
        assert!(a.is_requested() && trigger.is_triggered());
        a.requested().await; // already fired: returns at once
        assert!(a.clone().is_requested());
    }

    #[tokio::test]
    async fn never_never_fires() {
        let s = Shutdown::never();
        assert!(!s.is_requested());
        let r = tokio::time::timeout(std::time::Duration::from_millis(20), s.requested()).await;
        assert!(r.is_err());
        // a trigger dropped without firing behaves the same
        let t = ShutdownTrigger::new();
        let s = t.subscribe();
        drop(t);
        let r = tokio::time::timeout(std::time::Duration::from_millis(20), s.requested()).await;
        assert!(r.is_err());
    }
}
