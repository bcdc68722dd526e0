//! Example plugin: `frame-counter`, a sink that counts frames and EOS per
//! source id, keeps the frames' trace ids, and writes a JSON summary when
//! the stream ends.
//!
//! Settings: `summary = "PATH"` (required), where the JSON goes.
//!
//! ```
//! use savant_sdk_example_frame_counter::{FrameCounter, Summary};
//! use savant_sdk_plugin::model::{EndOfStream, Message};
//! use savant_sdk_plugin::sink::{Sink, SinkResult};
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("summary.json");
//! let mut sink = FrameCounter::new(path.clone());
//! let eos = SinkResult { topic: "a".into(), message: Message::end_of_stream(EndOfStream::new("a")), content: None, trace_id: None, log_handle: Default::default(), seq_gap: None };
//! let rt = tokio::runtime::Builder::new_current_thread().build()?;
//! rt.block_on(async { sink.consume(eos).await?; sink.finish().await })?;
//! let summary: Summary = serde_json::from_slice(&std::fs::read(path)?)?;
//! assert_eq!(summary.sources["a"].eos, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use savant_sdk_plugin::component::{BuildContext, SinkConfig};
use savant_sdk_plugin::model::MessagePayload;
use savant_sdk_plugin::sink::{Sink, SinkResult};
use savant_sdk_plugin::{async_trait, export_sink, schemars, Error};
use serde::{Deserialize, Serialize};

/// The settings of [`FrameCounter`].
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "savant_sdk_plugin::schemars")]
#[serde(deny_unknown_fields)]
pub struct CounterConfig {
    /// Where the JSON summary is written.
    pub summary: PathBuf,
}

/// What was received for one source id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceCount {
    /// Frames.
    pub frames: u64,
    /// Payload bytes of the frames.
    pub bytes: u64,
    /// EOS messages.
    pub eos: u64,
    /// The frames' trace ids (32 hex digits), in arrival order.
    pub trace_ids: Vec<String>,
}

/// The JSON summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Per source id.
    pub sources: BTreeMap<String, SourceCount>,
    /// Frames of all sources.
    pub total_frames: u64,
    /// Messages that are neither frames nor EOS.
    pub other_messages: u64,
}

/// Why the summary could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    /// Writing the file failed.
    #[error("cannot write summary {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Counts frames per source id.
#[derive(Debug)]
pub struct FrameCounter {
    path: PathBuf,
    summary: Summary,
}

impl FrameCounter {
    /// A counter writing its summary to `path`.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            summary: Summary::default(),
        }
    }

    /// What was counted so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    fn write(&self) -> Result<(), CounterError> {
        let error = |source| CounterError::Write {
            path: self.path.clone(),
            source,
        };
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(error)?;
        }
        let json = serde_json::to_vec_pretty(&self.summary).map_err(std::io::Error::from);
        std::fs::write(&self.path, json.map_err(error)?).map_err(error)
    }
}

#[async_trait]
impl Sink for FrameCounter {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_plugin::Result<()> {
        match &result.message.payload {
            MessagePayload::VideoFrame(f) => {
                let trace = result.trace_id.map(|t| t.to_string()).unwrap_or_default();
                let count = self.summary.sources.entry(f.source_id.clone()).or_default();
                count.frames += 1;
                count.bytes += result.content.as_ref().map_or(0, |c| c.len() as u64);
                count.trace_ids.push(trace.clone());
                self.summary.total_frames += 1;
                tracing::debug!(source_id = %f.source_id, pts = f.pts, trace_id = %trace, "counted frame");
            }
            MessagePayload::EndOfStream(e) => {
                self.summary
                    .sources
                    .entry(e.source_id.clone())
                    .or_default()
                    .eos += 1;
                tracing::info!(source_id = %e.source_id, "end of stream");
            }
            _ => self.summary.other_messages += 1,
        }
        Ok(())
    }

    async fn finish(&mut self) -> savant_sdk_plugin::Result<()> {
        self.write()
            .map_err(|e| savant_sdk_plugin::Error::sink("frame-counter", e))?;
        tracing::info!(path = %self.path.display(), frames = self.summary.total_frames, "summary written");
        Ok(())
    }

    fn name(&self) -> &str {
        "frame-counter"
    }
}

impl SinkConfig for CounterConfig {
    const TYPE: &'static str = "frame-counter";
    const DESCRIPTION: &'static str =
        "counts frames and EOS per source id into a JSON summary (example plugin)";

    fn validate(&self) -> savant_sdk_plugin::Result<()> {
        if self.summary.as_os_str().is_empty() {
            return Err(Error::invalid_config("summary", "must name a file"));
        }
        Ok(())
    }

    fn build(self, _ctx: &BuildContext) -> savant_sdk_plugin::Result<Box<dyn Sink>> {
        Ok(Box::new(FrameCounter::new(self.summary)))
    }
}

export_sink!(CounterConfig);
