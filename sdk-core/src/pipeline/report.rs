//! What a pipeline run did: one report per source and per sink, each with
//! how it ended.

use std::fmt;

/// How a source ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceOutcome {
    /// It had nothing more to send.
    Completed,
    /// The shutdown signal stopped it.
    Stopped,
    /// It returned an error (the text); its streams were ended with EOS.
    Failed(String),
    /// It panicked (the panic's message); its streams were ended with EOS.
    Panicked(String),
    /// Sending failed (the transport's error); EOS may be missing.
    SendFailed(String),
}

impl SourceOutcome {
    /// `completed`, `stopped`, `failed`, `panicked` or `send_failed`.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceOutcome::Completed => "completed",
            SourceOutcome::Stopped => "stopped",
            SourceOutcome::Failed(_) => "failed",
            SourceOutcome::Panicked(_) => "panicked",
            SourceOutcome::SendFailed(_) => "send_failed",
        }
    }

    /// The error text, for the outcomes that have one.
    pub fn error(&self) -> Option<&str> {
        match self {
            SourceOutcome::Failed(e)
            | SourceOutcome::Panicked(e)
            | SourceOutcome::SendFailed(e) => Some(e),
            SourceOutcome::Completed | SourceOutcome::Stopped => None,
        }
    }

    /// Whether it ended in an error.
    pub fn is_error(&self) -> bool {
        self.error().is_some()
    }
}

impl fmt::Display for SourceOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.error() {
            Some(e) => write!(f, "{}: {e}", self.kind()),
            None => f.write_str(self.kind()),
        }
    }
}

/// What one source did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceReport {
    /// Its name in the pipeline.
    pub name: String,
    /// Frames sent.
    pub frames: u64,
    /// Payload bytes sent.
    pub bytes: u64,
    /// Source ids an EOS was sent for.
    pub ended: Vec<String>,
    /// How it ended.
    pub outcome: SourceOutcome,
}

/// How a sink ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkOutcome {
    /// It consumed everything and finished.
    Finished,
    /// `consume` returned an error (the text); it got nothing after it,
    /// and its `finish` was still called.
    Failed(String),
    /// `consume` or `finish` panicked (the message).
    Panicked(String),
    /// `finish` returned an error.
    FinishFailed(String),
}

impl SinkOutcome {
    /// `finished`, `failed`, `panicked` or `finish_failed`.
    pub fn kind(&self) -> &'static str {
        match self {
            SinkOutcome::Finished => "finished",
            SinkOutcome::Failed(_) => "failed",
            SinkOutcome::Panicked(_) => "panicked",
            SinkOutcome::FinishFailed(_) => "finish_failed",
        }
    }

    /// The error text, for the outcomes that have one.
    pub fn error(&self) -> Option<&str> {
        match self {
            SinkOutcome::Failed(e) | SinkOutcome::Panicked(e) | SinkOutcome::FinishFailed(e) => {
                Some(e)
            }
            SinkOutcome::Finished => None,
        }
    }
}

impl fmt::Display for SinkOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.error() {
            Some(e) => write!(f, "{}: {e}", self.kind()),
            None => f.write_str(self.kind()),
        }
    }
}

/// What one sink did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkReport {
    /// Its name in the pipeline.
    pub name: String,
    /// Results it consumed.
    pub consumed: u64,
    /// How it ended.
    pub outcome: SinkOutcome,
}

/// What one reader (a socket and its sinks) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderReport {
    /// The reader's socket.
    pub socket: String,
    /// Results received.
    pub received: u64,
    /// Messages skipped as malformed (too few parts, not decodable).
    pub malformed: u64,
    /// Messages skipped for a protocol version the reader refuses.
    pub version_refused: u64,
    /// Gaps in the sources' seq ids: messages lost between the peers.
    pub seq_gaps: u64,
    /// The messages those gaps add up to.
    pub lost: u64,
    /// Its sinks.
    pub sinks: Vec<SinkReport>,
    /// A receive error that ended the reader early.
    pub error: Option<String>,
}

/// What a whole run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineReport {
    /// Every source, in the order added.
    pub sources: Vec<SourceReport>,
    /// Every reader, in the order added.
    pub readers: Vec<ReaderReport>,
    /// Whether the shutdown signal ended the run.
    pub stopped: bool,
}

impl PipelineReport {
    /// Whether any source or sink ended in an error.
    pub fn has_errors(&self) -> bool {
        self.sources.iter().any(|s| s.outcome.is_error())
            || self
                .readers
                .iter()
                .any(|r| r.error.is_some() || r.sinks.iter().any(|s| s.outcome.error().is_some()))
    }
}
