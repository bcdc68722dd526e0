//! The [`Sink`] trait and [`SinkResult`]: what a sink receives from a module.

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::Result;
use crate::model::{Message, MessagePayload, VideoFrame};
use crate::BoxFuture;
use opentelemetry::trace::TraceId;

use crate::logs::{LogHandle, LogProviderError, Logs};

/// One message received from a module, with its payload and trace id.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkResult {
    /// The ZeroMQ topic (the source id for frames and EOS).
    pub topic: String,
    /// The message.
    pub message: Message,
    /// Frame payload: the extra parts, or the frame's internal content.
    pub content: Option<Bytes>,
    /// The trace id from the message's propagated context (W3C or Jaeger).
    pub trace_id: Option<TraceId>,
    /// Seq ids of this message's source skipped before it: messages lost
    /// between the peers (a module restart over dealer, a pub/sub drop).
    pub seq_gap: Option<SeqGap>,
    /// Where [`SinkResult::logs`] fetches from (set with
    /// `SinkBuilder::log_provider` of `savant-sdk-core`; empty by default).
    pub log_handle: LogHandle,
}

/// A gap in a source's seq ids, seen when the message after it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqGap {
    /// The seq id that was expected.
    pub expected: u64,
    /// The one that arrived.
    pub got: u64,
}

impl SeqGap {
    /// How many messages are missing.
    pub fn lost(&self) -> u64 {
        self.got.saturating_sub(self.expected)
    }
}

impl SinkResult {
    /// The frame, for frame messages.
    pub fn frame(&self) -> Option<&VideoFrame> {
        self.message.as_video_frame()
    }

    /// Whether this is an EOS.
    pub fn is_end_of_stream(&self) -> bool {
        self.message.is_end_of_stream()
    }

    /// The source id (frames, user data, EOS) or the topic.
    pub fn source_id(&self) -> &str {
        self.message.source_id().unwrap_or(&self.topic)
    }

    /// `frame`, `batch`, `update`, `user_data`, `eos`, `unknown` or `shutdown`.
    pub fn kind(&self) -> &'static str {
        self.message.kind()
    }

    /// What happened to this frame on its way, from the configured log
    /// provider; `None` without a provider or trace id.
    pub async fn logs(&self) -> Option<Result<Logs, LogProviderError>> {
        self.log_handle.logs(self.trace_id).await
    }

    /// The pts of a frame.
    pub fn pts(&self) -> Option<i64> {
        match &self.message.payload {
            MessagePayload::VideoFrame(f) => Some(f.pts),
            _ => None,
        }
    }
}

/// An async consumer of what a module sends back.
///
/// ```
/// use async_trait::async_trait;
/// use savant_sdk_component::sink::{Sink, SinkResult};
///
/// /// Counts frames and remembers their trace ids.
/// #[derive(Default)]
/// struct Collect { traces: Vec<String> }
///
/// #[async_trait]
/// impl Sink for Collect {
///     async fn consume(&mut self, result: SinkResult) -> savant_sdk_component::Result<()> {
///         if let (Some(_), Some(t)) = (result.frame(), result.trace_id) {
///             self.traces.push(t.to_string());
///         }
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Sink: Send {
    /// Handles one received message.
    async fn consume(&mut self, result: SinkResult) -> Result<()>;

    /// Called once after the last message (flush files, write summaries).
    async fn finish(&mut self) -> Result<()> {
        Ok(())
    }

    /// A short name for logs and errors.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }
}

/// The boxed sink's own futures are handed on as they are: `#[async_trait]`
/// here would box a second future around each (an allocation a message).
impl<S: Sink + ?Sized> Sink for Box<S> {
    fn consume<'life0, 'async_trait>(
        &'life0 mut self,
        result: SinkResult,
    ) -> BoxFuture<'async_trait, Result<()>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        (**self).consume(result)
    }
    fn finish<'life0, 'async_trait>(&'life0 mut self) -> BoxFuture<'async_trait, Result<()>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        (**self).finish()
    }
    fn name(&self) -> &str {
        (**self).name()
    }
}
