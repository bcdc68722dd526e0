//! [`SourceBuilder`] and [`SourceRunner`]: send frames to a module, one
//! trace per frame.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::sync::oneshot;

use tracing::Instrument;

use crate::client::health::HealthCheck;
use crate::error::{Error, Result};
use crate::model::{EndOfStream, FrameContent, Message, UserData, VideoFrameBatch};
use crate::protocol::ProtocolVersion;
use crate::source::{Source, SourceFrame, SourceItem};
use crate::telemetry::{
    FrameSpan, LogHandle, LogProvider, LogProviderError, Logs, Propagation, Telemetry, TraceId,
};
use crate::transport::async_writer::{Command, Extra, Reply};
use crate::transport::{WriteOutcome, Writer, WriterConfig};

/// What sending one message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceResult {
    /// The source id (or topic) it was sent for.
    pub source_id: String,
    /// The frame's pts (`None` for EOS and other messages).
    pub pts: Option<i64>,
    /// How the transport handled it.
    pub status: WriteOutcome,
    /// The trace started for the frame (`None` when telemetry is off).
    pub trace_id: Option<TraceId>,
    /// `frame`, `eos`, `batch`, `user_data` or `shutdown`.
    pub kind: &'static str,
    /// Payload bytes sent with a frame (0 for other messages).
    pub content_bytes: usize,
    /// Where [`SourceResult::logs`] fetches from (set with
    /// [`SourceBuilder::log_provider`]).
    pub log_handle: LogHandle,
}

impl SourceResult {
    /// What happened to this frame, from the log provider configured with
    /// [`SourceBuilder::log_provider`]; `None` without a provider or trace.
    pub async fn logs(&self) -> Option<Result<Logs, LogProviderError>> {
        self.log_handle.logs(self.trace_id).await
    }
}

/// Whether a stream a source leaves open gets an EOS when the source ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FinalEos {
    /// Send it (the default: a module keeps a stream's state until its EOS).
    #[default]
    Send,
    /// Leave the streams open (what `send --no-eos` does).
    Skip,
}

/// Totals of [`SourceRunner::send_stream`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamSummary {
    /// Frames sent.
    pub frames: u64,
    /// Payload bytes sent.
    pub bytes: u64,
    /// Source ids an EOS was sent for, each once, in the order of their
    /// first EOS.
    pub ended: Vec<String>,
}

/// Configures a [`SourceRunner`], mirroring Savant's Python
/// `SourceBuilder`.
///
/// ```no_run
/// use std::time::Duration;
/// use savant_sdk_core::client::SourceBuilder;
/// use savant_sdk_core::telemetry::Propagation;
/// # async fn run() -> savant_sdk_core::Result<()> {
/// let source = SourceBuilder::new("dealer+connect:ipc:///tmp/zmq-sockets/input-video.ipc")
///     .send_retries(3)
///     .healthcheck("http://127.0.0.1:8888/healthcheck", Duration::from_secs(60), Duration::from_secs(1))
///     .propagation(Propagation::W3c)
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SourceBuilder {
    socket: String,
    send_timeout: Duration,
    send_retries: u32,
    ack_timeout: Duration,
    ack_retries: u32,
    send_hwm: i32,
    protocol_version: ProtocolVersion,
    health: Option<HealthCheck>,
    telemetry: Option<Telemetry>,
    propagation: Option<Propagation>,
    service_name: String,
    logs: LogHandle,
}

impl SourceBuilder {
    /// A builder for `socket` (Savant syntax; `dealer+connect:...` is usual).
    pub fn new(socket: impl Into<String>) -> Self {
        Self {
            socket: socket.into(),
            send_timeout: Duration::from_millis(5000),
            send_retries: 3,
            ack_timeout: Duration::from_millis(5000),
            ack_retries: 3,
            send_hwm: 50,
            protocol_version: ProtocolVersion::default(),
            health: None,
            telemetry: None,
            propagation: Some(Propagation::Jaeger),
            service_name: "savant-sdk-source".into(),
            logs: LogHandle::default(),
        }
    }

    /// Timeout of one send attempt (default 5 s).
    pub fn send_timeout(mut self, t: Duration) -> Self {
        self.send_timeout = t;
        self
    }
    /// Extra send attempts (default 3).
    pub fn send_retries(mut self, n: u32) -> Self {
        self.send_retries = n;
        self
    }
    /// Timeout of one wait for an acknowledgement (default 5 s).
    pub fn ack_timeout(mut self, t: Duration) -> Self {
        self.ack_timeout = t;
        self
    }
    /// Extra waits for an acknowledgement (default 3).
    pub fn ack_retries(mut self, n: u32) -> Self {
        self.ack_retries = n;
        self
    }
    /// Send high-water mark (default 50).
    pub fn send_hwm(mut self, n: i32) -> Self {
        self.send_hwm = n;
        self
    }
    /// The protocol version every message is stamped with (default
    /// `"1.15.0"`, Savant 0.6.1's; see [`crate::protocol`]). A savant-rs
    /// 1.x module drops any other version without acknowledging it.
    pub fn protocol_version(mut self, version: ProtocolVersion) -> Self {
        self.protocol_version = version;
        self
    }
    /// Waits for the module's health endpoint to say `running` before
    /// sending, polling every `interval` up to `timeout`.
    pub fn healthcheck(
        mut self,
        url: impl Into<String>,
        timeout: Duration,
        interval: Duration,
    ) -> Self {
        self.health = Some(HealthCheck::new(url).timeout(timeout).interval(interval));
        self
    }
    /// Per-frame traces in this format (default Jaeger `uber-trace-id`,
    /// Savant's own default).
    pub fn propagation(mut self, p: Propagation) -> Self {
        self.propagation = Some(p);
        self
    }
    /// No traces.
    pub fn telemetry_off(mut self) -> Self {
        self.propagation = None;
        self.telemetry = None;
        self
    }
    /// Uses this telemetry handle (for example one that exports with OTLP).
    pub fn telemetry(mut self, t: Telemetry) -> Self {
        self.telemetry = Some(t);
        self
    }
    /// Where [`SourceResult::logs`] fetches a frame's logs from (e.g. a
    /// [`crate::telemetry::JaegerLogProvider`]).
    pub fn log_provider(mut self, provider: std::sync::Arc<dyn LogProvider>) -> Self {
        self.logs = LogHandle::new(provider);
        self
    }

    /// Service name of the traces (default `savant-sdk-source`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// Waits for the health check (if any) and opens the socket.
    pub async fn build(self) -> Result<SourceRunner> {
        let config = WriterConfig::builder(&self.socket)?
            .send_timeout(self.send_timeout)
            .send_retries(self.send_retries)
            .ack_timeout(self.ack_timeout)
            .ack_retries(self.ack_retries)
            .send_hwm(self.send_hwm)
            .protocol_version(self.protocol_version)
            .build()?;
        if let Some(h) = &self.health {
            h.wait(&["running"]).await?;
        }
        let telemetry = match (self.telemetry, self.propagation) {
            (Some(t), _) => t,
            (None, Some(p)) => Telemetry::new(&self.service_name, p),
            (None, None) => Telemetry::off(),
        };
        Ok(SourceRunner {
            writer: std::sync::Arc::new(Writer::new(config)?),
            telemetry,
            logs: self.logs,
        })
    }
}

/// Sends frames, streams, EOS, batches and shutdowns to a module.
///
/// `Clone` shares one socket: clones can send from several tasks at once
/// (sends are serialised in arrival order), and the socket is closed, what
/// is queued flushed first, when the last clone is closed or dropped.
///
/// ```no_run
/// use savant_sdk_core::client::SourceBuilder;
/// use savant_sdk_core::model::VideoFrame;
/// use savant_sdk_core::source::SourceFrame;
/// # async fn run() -> savant_sdk_core::Result<()> {
/// let source = SourceBuilder::new("dealer+connect:ipc:///tmp/savant/input.ipc").build().await?;
/// let tasks: Vec<_> = ["cam-1", "cam-2"].into_iter().map(|id| {
///     let source = source.clone();
///     tokio::spawn(async move {
///         let frame = VideoFrame::builder(id).codec("jpeg").build();
///         source.send(SourceFrame::new(frame, vec![0xFF, 0xD8])).await?;
///         source.send_eos(id).await?;
///         source.close().await; // this clone only; the socket stays open
///         Ok::<_, savant_sdk_core::Error>(())
///     })
/// }).collect();
/// for t in tasks { t.await.expect("no panic")?; }
/// source.close().await; // the last one: flushes and closes the socket
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SourceRunner {
    writer: std::sync::Arc<Writer>,
    telemetry: Telemetry,
    logs: LogHandle,
}

impl SourceRunner {
    /// The telemetry in use.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Sends one frame with its payload in a new trace. A non-empty payload
    /// travels in the part after the message (external `"zeromq"`
    /// content); otherwise the frame's own content is kept.
    pub async fn send(&self, item: SourceFrame) -> Result<SourceResult> {
        let span = self
            .telemetry
            .frame_span(&item.frame.source_id, item.frame.pts);
        let tspan = span.tracing_span(&item.frame.source_id, item.frame.pts);
        let (cmd, inflight) = self.prepare(SourceItem::Frame(item), Some((span, tspan)), None);
        self.writer.enqueue_one(cmd).await?;
        inflight.outcome(&self.logs).await
    }

    /// The command that sends `item` and what its result will say. A
    /// frame goes in `frame_span` when given (else in a new trace), a
    /// batch in a new trace; `failed` ties the command to a stream.
    fn prepare(
        &self,
        item: SourceItem,
        frame_span: Option<(FrameSpan, tracing::Span)>,
        failed: Option<&Arc<AtomicBool>>,
    ) -> (Command, InFlight) {
        let mut meta = InFlight {
            rx: None,
            reply: None,
            pts: None,
            trace_id: None,
            kind: "frame",
            content_bytes: 0,
            span: None,
        };
        let (topic, message, extra) = match item {
            SourceItem::Frame(SourceFrame { mut frame, content }) => {
                let (span, tspan) = frame_span.unwrap_or_else(|| {
                    let span = self.telemetry.frame_span(&frame.source_id, frame.pts);
                    let tspan = span.tracing_span(&frame.source_id, frame.pts);
                    (span, tspan)
                });
                meta.content_bytes = content.len();
                meta.pts = Some(frame.pts);
                meta.trace_id = span.trace_id();
                let topic = frame.source_id.clone();
                let extra = if content.is_empty() {
                    Extra::One(None)
                } else {
                    frame.content = FrameContent::external_zeromq();
                    Extra::One(Some(content))
                };
                let mut message = Message::video_frame(frame);
                self.telemetry
                    .inject(&span, &mut message.propagated_context);
                meta.span = Some((span, tspan));
                (topic, message, extra)
            }
            SourceItem::Batch { topic, batch } => {
                let span = self.telemetry.root_span("savant.send_batch", &topic, None);
                let mut message = Message::video_frame_batch(batch);
                self.telemetry
                    .inject(&span, &mut message.propagated_context);
                meta.kind = "batch";
                meta.trace_id = span.trace_id();
                meta.span = Some((span, tracing::Span::none()));
                (topic, message, Extra::One(None))
            }
            SourceItem::UserData(data) => {
                meta.kind = "user_data";
                let topic = data.source_id.clone();
                (topic, Message::user_data(data), Extra::One(None))
            }
            SourceItem::EndOfStream(source_id) => {
                meta.kind = "eos";
                let message = Message::end_of_stream(EndOfStream::new(&source_id));
                (source_id, message, Extra::One(None))
            }
        };
        let (cmd, rx) = Command::new(topic, message, extra, failed.cloned());
        meta.rx = Some(rx);
        (cmd, meta)
    }

    /// Sends an EOS for `source_id` and waits for its acknowledgement.
    pub async fn send_eos(&self, source_id: &str) -> Result<SourceResult> {
        self.send_item(SourceItem::EndOfStream(source_id.to_string()))
            .await
    }

    /// Asks the module to shut down (it obeys when `auth` matches its
    /// `shutdown_auth`).
    pub async fn send_shutdown(&self, topic: &str, auth: &str) -> Result<SourceResult> {
        let status = self.writer.send_shutdown(topic, auth).await?;
        Ok(SourceResult {
            source_id: topic.to_string(),
            pts: None,
            status,
            trace_id: None,
            kind: "shutdown",
            content_bytes: 0,
            log_handle: self.logs.clone(),
        })
    }

    /// Sends a batch on `topic`, in one trace.
    pub async fn send_batch(&self, topic: &str, batch: VideoFrameBatch) -> Result<SourceResult> {
        self.send_item(SourceItem::Batch {
            topic: topic.to_string(),
            batch,
        })
        .await
    }

    /// Sends user data for its source.
    pub async fn send_user_data(&self, data: UserData) -> Result<SourceResult> {
        self.send_item(SourceItem::UserData(data)).await
    }

    /// Sends one item of a source.
    pub async fn send_item(&self, item: SourceItem) -> Result<SourceResult> {
        let (cmd, inflight) = self.prepare(item, None, None);
        self.writer.enqueue_one(cmd).await?;
        inflight.outcome(&self.logs).await
    }

    /// Sends everything `source` produces, then an EOS for every source id
    /// that did not end with one. `on_result` sees each result as it comes.
    pub async fn send_stream_with<S, F>(&self, source: S, on_result: F) -> Result<StreamSummary>
    where
        S: Source,
        F: FnMut(&SourceResult) + Send,
    {
        self.send_stream_ending(source, FinalEos::Send, on_result)
            .await
    }

    /// [`SourceRunner::send_stream_with`], with the EOS of the streams the
    /// source leaves open sent or not (`--no-eos`).
    ///
    /// The stream is pipelined: messages go to the socket thread in
    /// batches (a batch as soon as the source would make it wait, or once
    /// it has [`STREAM_BATCH`] messages), up to [`STREAM_WINDOW`] messages
    /// (and about [`STREAM_WINDOW_BYTES`] of payload) queued or in flight
    /// at once; only an EOS over dealer (and every message over req)
    /// waits for its acknowledgement, on the socket thread. Results come
    /// to `on_result` in the order of the messages. At the first failed
    /// send the stream stops: what was queued after it is not sent, and
    /// its error is returned. When the source fails, what it made before
    /// is sent and reported, then its error is returned (no EOS is sent).
    pub async fn send_stream_ending<S, F>(
        &self,
        mut source: S,
        final_eos: FinalEos,
        mut on_result: F,
    ) -> Result<StreamSummary>
    where
        S: Source,
        F: FnMut(&SourceResult) + Send,
    {
        let mut open = BTreeSet::new();
        let mut ended = BTreeSet::new();
        let mut summary = StreamSummary::default();
        let mut pipe = Pipelined::new(&self.writer, &self.logs);
        loop {
            // The next frame's trace starts before the source makes it, so
            // what the source logs meanwhile belongs to that frame.
            let span = self.telemetry.root_span("savant.send_frame", "", None);
            let tspan = span.tracing_span_unnamed();
            let next = source.next().instrument(tspan.clone());
            tokio::pin!(next);
            // a source that makes us wait gets what is batched sent first
            let item = match std::future::poll_fn(|cx| Poll::Ready(next.as_mut().poll(cx))).await {
                Poll::Ready(r) => r,
                Poll::Pending => {
                    pipe.flush().await?;
                    pipe.collect_ready(&mut on_result)?;
                    // results are reported as they come while the source
                    // makes the next item (a paced source's frame is
                    // reported when it is sent, not with the next one)
                    loop {
                        let Some(mut rx) = pipe.take_front_rx() else {
                            break next.await;
                        };
                        tokio::select! {
                            biased;
                            r = &mut next => {
                                pipe.put_front_rx(rx);
                                break r;
                            }
                            reply = &mut rx => {
                                pipe.put_front_reply(reply);
                                pipe.collect_ready(&mut on_result)?;
                            }
                        }
                    }
                }
            };
            let item = match item {
                Ok(item) => item,
                Err(e) => {
                    // what the source made before it failed is sent, and
                    // reported, before its error
                    pipe.finish(&mut on_result).await?;
                    return Err(e);
                }
            };
            let Some(item) = item else {
                break;
            };
            match &item {
                SourceItem::Frame(f) => {
                    // No allocation for a source id already open.
                    if !open.contains(&f.frame.source_id) {
                        open.insert(f.frame.source_id.clone());
                    }
                    summary.frames += 1;
                    summary.bytes += f.content.len() as u64;
                }
                SourceItem::Batch { batch, .. } => {
                    for f in batch.frames.values() {
                        open.insert(f.source_id.clone());
                    }
                    summary.frames += batch.frames.len() as u64;
                }
                SourceItem::UserData(u) => {
                    open.insert(u.source_id.clone());
                }
                SourceItem::EndOfStream(s) => {
                    open.remove(s);
                    if !ended.contains(s) {
                        ended.insert(s.clone());
                        summary.ended.push(s.clone());
                    }
                }
            }
            let frame_span = match &item {
                SourceItem::Frame(f) => {
                    span.set_frame(&tspan, &f.frame.source_id, f.frame.pts);
                    Some((span, tspan))
                }
                _ => None,
            };
            let (cmd, inflight) = self.prepare(item, frame_span, Some(&pipe.failed));
            pipe.push(cmd, inflight).await?;
            pipe.collect_ready(&mut on_result)?;
            if pipe.full() {
                pipe.make_room(&mut on_result).await?;
            }
        }
        if final_eos == FinalEos::Send {
            for s in open {
                let item = SourceItem::EndOfStream(s.clone());
                let (cmd, inflight) = self.prepare(item, None, Some(&pipe.failed));
                pipe.push(cmd, inflight).await?;
                pipe.collect_ready(&mut on_result)?;
                if pipe.full() {
                    pipe.make_room(&mut on_result).await?;
                }
                if !ended.contains(&s) {
                    summary.ended.push(s);
                }
            }
        }
        pipe.finish(&mut on_result).await?;
        Ok(summary)
    }

    /// [`SourceRunner::send_stream_with`] without a callback.
    pub async fn send_stream<S: Source>(&self, source: S) -> Result<StreamSummary> {
        self.send_stream_with(source, |_| {}).await
    }

    /// Closes this handle. The last clone to close closes the socket after
    /// what is queued has been sent, and waits for it; an earlier clone's
    /// sends are complete by then, since each send (and each stream) waits
    /// for its outcomes.
    pub async fn close(self) {
        if let Some(writer) = std::sync::Arc::into_inner(self.writer) {
            writer.close().await;
        }
    }
}

/// Messages a stream ([`SourceRunner::send_stream_with`]) keeps queued or
/// in flight at most.
pub const STREAM_WINDOW: usize = 128;

/// Payload bytes a stream keeps queued or in flight at most (past this
/// it waits for the oldest half; one message always goes).
pub const STREAM_WINDOW_BYTES: usize = 16 << 20;

/// Messages a stream hands to the socket thread at once at most.
pub const STREAM_BATCH: usize = 32;

/// A message queued for sending and what its result will say.
struct InFlight {
    rx: Option<oneshot::Receiver<Reply>>,
    /// The reply, once taken from `rx` out of order.
    reply: Option<Reply>,
    pts: Option<i64>,
    trace_id: Option<TraceId>,
    kind: &'static str,
    content_bytes: usize,
    /// The frame's (or batch's) spans: they end when the send is done.
    span: Option<(FrameSpan, tracing::Span)>,
}

impl InFlight {
    fn result(self, reply: Reply, logs: &LogHandle) -> Result<SourceResult> {
        let (status, topic) = reply;
        Ok(SourceResult {
            source_id: topic.unwrap_or_default(),
            pts: self.pts,
            status: status?,
            trace_id: self.trace_id,
            kind: self.kind,
            content_bytes: self.content_bytes,
            log_handle: logs.clone(),
        })
    }

    /// Waits for the outcome.
    async fn outcome(mut self, logs: &LogHandle) -> Result<SourceResult> {
        let rx = self.rx.take().expect("a receiver until the outcome");
        let reply = rx.await.map_err(|_| Error::Closed("writer"))?;
        self.result(reply, logs)
    }

    /// The outcome if it is there, without waiting.
    fn try_outcome(&mut self) -> Option<Reply> {
        if let Some(reply) = self.reply.take() {
            return Some(reply);
        }
        let rx = self.rx.as_mut()?;
        match rx.try_recv() {
            Ok(reply) => Some(reply),
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => Some((Err(Error::Closed("writer")), None)),
        }
    }
}

/// A stream's messages between the source and their results: a batch
/// not yet handed to the socket thread, and those queued or in flight, in
/// order.
struct Pipelined<'a> {
    writer: &'a Writer,
    logs: &'a LogHandle,
    failed: Arc<AtomicBool>,
    batch: Vec<Command>,
    inflight: VecDeque<InFlight>,
    bytes: usize,
}

impl<'a> Pipelined<'a> {
    fn new(writer: &'a Writer, logs: &'a LogHandle) -> Self {
        Self {
            writer,
            logs,
            failed: Arc::default(),
            batch: Vec::with_capacity(STREAM_BATCH),
            inflight: VecDeque::with_capacity(STREAM_WINDOW),
            bytes: 0,
        }
    }

    /// Adds a message; a full batch goes to the socket thread.
    async fn push(&mut self, cmd: Command, inflight: InFlight) -> Result<()> {
        self.bytes += inflight.content_bytes;
        self.batch.push(cmd);
        self.inflight.push_back(inflight);
        if self.batch.len() >= STREAM_BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    /// Hands the batch to the socket thread.
    async fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(STREAM_BATCH));
        self.writer.enqueue_batch(batch).await
    }

    fn full(&self) -> bool {
        self.inflight.len() >= STREAM_WINDOW
            || (self.bytes >= STREAM_WINDOW_BYTES && self.inflight.len() > 1)
    }

    /// Reports the oldest result.
    fn report<F: FnMut(&SourceResult)>(&mut self, reply: Reply, on_result: &mut F) -> Result<()> {
        let done = self.inflight.pop_front().expect("an entry per reply");
        self.bytes -= done.content_bytes;
        let r = done.result(reply, self.logs)?;
        on_result(&r);
        Ok(())
    }

    /// Reports the results that are there, oldest first, without waiting.
    fn collect_ready<F: FnMut(&SourceResult)>(&mut self, on_result: &mut F) -> Result<()> {
        while let Some(reply) = self.inflight.front_mut().and_then(InFlight::try_outcome) {
            self.report(reply, on_result)?;
        }
        Ok(())
    }

    /// The oldest entry's receiver, when its reply is still to come.
    fn take_front_rx(&mut self) -> Option<oneshot::Receiver<Reply>> {
        self.inflight.front_mut().and_then(|f| f.rx.take())
    }

    /// Puts back what [`Pipelined::take_front_rx`] took.
    fn put_front_rx(&mut self, rx: oneshot::Receiver<Reply>) {
        if let Some(front) = self.inflight.front_mut() {
            front.rx = Some(rx);
        }
    }

    /// The oldest entry's reply, from its receiver.
    fn put_front_reply(&mut self, reply: std::result::Result<Reply, oneshot::error::RecvError>) {
        if let Some(front) = self.inflight.front_mut() {
            front.reply = Some(reply.unwrap_or((Err(Error::Closed("writer")), None)));
        }
    }

    /// Waits for the oldest result.
    async fn wait_oldest<F: FnMut(&SourceResult)>(&mut self, on_result: &mut F) -> Result<()> {
        let front = self.inflight.front_mut().expect("an entry to wait for");
        let reply = match (front.reply.take(), front.rx.take()) {
            (Some(reply), _) => reply,
            (None, Some(rx)) => rx.await.unwrap_or((Err(Error::Closed("writer")), None)),
            (None, None) => (Err(Error::Closed("writer")), None),
        };
        self.report(reply, on_result)
    }

    /// Waits until the older half of the window is done (one wake-up for
    /// half a window, not one per message), then reports what is there.
    async fn make_room<F: FnMut(&SourceResult)>(&mut self, on_result: &mut F) -> Result<()> {
        self.flush().await?;
        let half = self.inflight.len().div_ceil(2);
        if let Some(mid) = self.inflight.get_mut(half - 1) {
            if let Some(rx) = mid.rx.take() {
                // the socket thread answers in order: the older ones are
                // done too once this one is
                mid.reply = Some(rx.await.unwrap_or((Err(Error::Closed("writer")), None)));
            }
        }
        for _ in 0..half {
            self.wait_oldest(on_result).await?;
        }
        self.collect_ready(on_result)
    }

    /// Sends what is batched and reports every result.
    async fn finish<F: FnMut(&SourceResult)>(&mut self, on_result: &mut F) -> Result<()> {
        self.flush().await?;
        while !self.inflight.is_empty() {
            self.wait_oldest(on_result).await?;
        }
        Ok(())
    }
}

/// The blocking form of [`SourceRunner`], for code without an async
/// runtime (it runs a small one of its own).
///
/// ```no_run
/// use savant_sdk_core::client::{BlockingSourceRunner, SourceBuilder};
/// use savant_sdk_core::model::VideoFrame;
/// use savant_sdk_core::source::SourceFrame;
/// let source = BlockingSourceRunner::build(SourceBuilder::new("dealer+connect:tcp://127.0.0.1:3331"))?;
/// let result = source.send(SourceFrame::new(VideoFrame::builder("cam").codec("jpeg").build(), std::fs::read("a.jpeg").unwrap()))?;
/// println!("trace {:?}", result.trace_id);
/// source.send_eos("cam")?;
/// # Ok::<(), savant_sdk_core::Error>(())
/// ```
#[derive(Debug)]
pub struct BlockingSourceRunner {
    rt: tokio::runtime::Runtime,
    inner: Option<SourceRunner>,
}

impl BlockingSourceRunner {
    /// Builds the runner from `builder`.
    pub fn build(builder: SourceBuilder) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("cannot start a runtime: {e}")))?;
        let inner = rt.block_on(builder.build())?;
        Ok(Self {
            rt,
            inner: Some(inner),
        })
    }

    fn inner(&self) -> &SourceRunner {
        self.inner.as_ref().expect("present until drop")
    }

    /// See [`SourceRunner::send`].
    pub fn send(&self, frame: SourceFrame) -> Result<SourceResult> {
        self.rt.block_on(self.inner().send(frame))
    }
    /// See [`SourceRunner::send_eos`].
    pub fn send_eos(&self, source_id: &str) -> Result<SourceResult> {
        self.rt.block_on(self.inner().send_eos(source_id))
    }
    /// See [`SourceRunner::send_shutdown`].
    pub fn send_shutdown(&self, topic: &str, auth: &str) -> Result<SourceResult> {
        self.rt.block_on(self.inner().send_shutdown(topic, auth))
    }
    /// See [`SourceRunner::send_stream`].
    pub fn send_stream<S: Source>(&self, source: S) -> Result<StreamSummary> {
        self.rt.block_on(self.inner().send_stream(source))
    }
}

impl Drop for BlockingSourceRunner {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            self.rt.block_on(inner.close());
        }
    }
}
