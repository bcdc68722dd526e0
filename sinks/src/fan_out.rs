//! [`FanOut`]: one received stream into several sinks.

use async_trait::async_trait;
use savant_sdk_core::sink::{Sink, SinkResult};

/// Hands every result to each of its sinks in turn (cloning the result,
/// which shares the frame content rather than copying it).
///
/// ```no_run
/// use savant_sdk_sinks::{FanOut, ImageFilesSink, MetadataJsonSink};
/// let sink = FanOut::new()
///     .with(ImageFilesSink::new("out/images")?)
///     .with(MetadataJsonSink::per_source("out/meta")?);
/// # Ok::<(), savant_sdk_sinks::SinkError>(())
/// ```
#[derive(Default)]
pub struct FanOut {
    sinks: Vec<Box<dyn Sink>>,
}

impl std::fmt::Debug for FanOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.sinks.iter().map(|s| s.name().to_string()))
            .finish()
    }
}

impl FanOut {
    /// No sinks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sink.
    pub fn with(mut self, sink: impl Sink + 'static) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// Adds a boxed sink.
    pub fn push(&mut self, sink: Box<dyn Sink>) {
        self.sinks.push(sink);
    }

    /// How many sinks.
    pub fn len(&self) -> usize {
        self.sinks.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }
}

#[async_trait]
impl Sink for FanOut {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_core::Result<()> {
        if let Some((last, rest)) = self.sinks.split_last_mut() {
            for s in rest {
                s.consume(result.clone()).await?;
            }
            last.consume(result).await?;
        }
        Ok(())
    }

    async fn finish(&mut self) -> savant_sdk_core::Result<()> {
        for s in &mut self.sinks {
            s.finish().await?;
        }
        Ok(())
    }

    fn name(&self) -> &str {
        "fan-out"
    }
}
