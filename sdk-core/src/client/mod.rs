//! The client runners: send frames to a module ([`SourceBuilder`] →
//! [`SourceRunner`]) and receive its results ([`SinkBuilder`] →
//! [`SinkRunner`]), with a trace per frame and the module's health check;
//! as Savant's Python client does, in Rust style.

mod health;
pub(crate) mod http;
mod matching;
mod sink_runner;
mod source_runner;

pub use health::HealthCheck;
pub use matching::{MatchReport, MatchedFrame, TraceMatcher};
pub use sink_runner::{BlockingSinkRunner, SeqGapStats, SinkBuilder, SinkRunner, SinkTask};
pub use source_runner::{
    BlockingSourceRunner, FinalEos, SourceBuilder, SourceResult, SourceRunner, StreamSummary,
    STREAM_BATCH, STREAM_WINDOW, STREAM_WINDOW_BYTES,
};
