//! [`SinkBuilder`] and [`SinkRunner`]: receive what a module sends back, as
//! an async `Stream` or a blocking iterator.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use crate::client::health::HealthCheck;
use crate::codec::VersionPolicy;
use crate::error::{Error, Result};
use crate::seq_id::{SeqIdCheck, SeqIdValidator};
use crate::sink::{SeqGap, Sink, SinkResult};
use crate::telemetry::{extract_trace_id, LogHandle, LogProvider};
use crate::transport::{Reader, ReaderConfig, ReaderStats, Received, TopicFilter};

/// The gaps a [`SinkRunner`] saw in its sources' seq ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqGapStats {
    /// How many gaps.
    pub gaps: u64,
    /// How many messages they add up to.
    pub lost: u64,
}

/// Configures a [`SinkRunner`], mirroring Savant's Python `SinkBuilder`.
///
/// ```no_run
/// use std::time::Duration;
/// use savant_sdk_core::client::SinkBuilder;
/// # async fn run() -> savant_sdk_core::Result<()> {
/// let mut sink = SinkBuilder::new("router+bind:ipc:///tmp/zmq-sockets/output-video.ipc")
///     .source_id_prefix("cam-")
///     .idle_timeout(Duration::from_secs(10))
///     .build()
///     .await?;
/// while let Some(result) = sink.next().await {
///     let result = result?;
///     println!("{} {:?} trace {:?}", result.kind(), result.pts(), result.trace_id);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SinkBuilder {
    socket: String,
    filter: TopicFilter,
    idle_timeout: Option<Duration>,
    receive_timeout: Duration,
    receive_hwm: i32,
    health: Option<HealthCheck>,
    logs: LogHandle,
    version: VersionPolicy,
    stop: StopConditions,
}

/// When a [`SinkRunner`] ends on its own, besides the idle timeout: set with
/// [`SinkBuilder::stop_after_frames`], [`SinkBuilder::stop_after_eos`] and
/// [`SinkBuilder::stop_when_all_ended`]. The result that meets a condition
/// is still delivered; the stream ends after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct StopConditions {
    messages: Option<u64>,
    frames: Option<u64>,
    eos: Option<u64>,
    all_ended: bool,
}

/// What a [`SinkRunner`] counts to apply its [`StopConditions`].
#[derive(Debug, Default)]
struct StopState {
    messages: u64,
    frames: u64,
    eos: u64,
    /// Source ids with a frame (or batch, or user data) and no EOS since.
    open: std::collections::BTreeSet<String>,
}

impl StopState {
    /// Counts `r`; whether the stream ends after it.
    fn after(&mut self, stop: &StopConditions, r: &SinkResult) -> bool {
        use crate::model::MessagePayload;
        self.messages += 1;
        match &r.message.payload {
            MessagePayload::VideoFrame(_) => {
                self.frames += 1;
                self.open_id(stop, r.source_id());
            }
            MessagePayload::VideoFrameBatch(b) => {
                self.frames += b.frames.len() as u64;
                for f in b.frames.values() {
                    self.open_id(stop, &f.source_id);
                }
            }
            MessagePayload::UserData(u) => self.open_id(stop, &u.source_id),
            MessagePayload::EndOfStream(_) => {
                self.eos += 1;
                let id = r.source_id();
                let was_open = self.open.remove(id);
                if stop.all_ended && was_open && self.open.is_empty() {
                    return true;
                }
            }
            _ => {}
        }
        stop.messages.is_some_and(|n| self.messages >= n)
            || stop.frames.is_some_and(|n| self.frames >= n)
            || stop.eos.is_some_and(|n| self.eos >= n)
    }

    /// Keeps `id` open, only where a stop condition needs the open set (no
    /// per-frame lookup otherwise).
    fn open_id(&mut self, stop: &StopConditions, id: &str) {
        if stop.all_ended && !self.open.contains(id) {
            self.open.insert(id.to_string());
        }
    }
}

impl SinkBuilder {
    /// A builder for `socket` (Savant syntax; `router+bind:...` by default,
    /// `sub+connect:...` for a module's pub output).
    pub fn new(socket: impl Into<String>) -> Self {
        Self {
            socket: socket.into(),
            filter: TopicFilter::All,
            idle_timeout: None,
            receive_timeout: Duration::from_millis(100),
            receive_hwm: 50,
            health: None,
            logs: LogHandle::default(),
            version: VersionPolicy::Known,
            stop: StopConditions::default(),
        }
    }

    /// End the stream after `n` messages of any kind.
    pub fn stop_after_messages(mut self, n: u64) -> Self {
        self.stop.messages = Some(n);
        self
    }

    /// End the stream after `n` frames (the frames of a batch count each).
    pub fn stop_after_frames(mut self, n: u64) -> Self {
        self.stop.frames = Some(n);
        self
    }

    /// End the stream after `n` EOS messages, of any source id.
    pub fn stop_after_eos(mut self, n: u64) -> Self {
        self.stop.eos = Some(n);
        self
    }

    /// End the stream when every source id that sent a frame (or a batch,
    /// or user data) has ended with an EOS: after the EOS that closes the
    /// last open one. An EOS of a source id that sent nothing (such as
    /// another source's EOS passing a [`SinkBuilder::source_id`] filter)
    /// neither opens nor closes anything. Whichever stop condition (or the
    /// idle timeout) comes first ends the stream.
    ///
    /// ```no_run
    /// use savant_sdk_core::client::SinkBuilder;
    /// # async fn run() -> savant_sdk_core::Result<()> {
    /// let mut sink = SinkBuilder::new("router+bind:ipc:///tmp/zmq-sockets/output-video.ipc")
    ///     .stop_when_all_ended()
    ///     .build()
    ///     .await?;
    /// while let Some(result) = sink.next().await {
    ///     let _ = result?; // ends right after the last source's EOS, no idle wait
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stop_when_all_ended(mut self) -> Self {
        self.stop.all_ended = true;
        self
    }

    /// Which protocol versions are read (default [`VersionPolicy::Known`]:
    /// every known generation, see [`crate::protocol`]). Messages of other
    /// versions are skipped as malformed and counted in
    /// [`SinkRunner::stats`].
    pub fn version_policy(mut self, policy: VersionPolicy) -> Self {
        self.version = policy;
        self
    }

    /// Where [`SinkResult::logs`] fetches a frame's logs from (e.g. a
    /// [`crate::telemetry::JaegerLogProvider`]).
    pub fn log_provider(mut self, provider: std::sync::Arc<dyn LogProvider>) -> Self {
        self.logs = LogHandle::new(provider);
        self
    }
    /// Only this source id (EOS of others still passes, as in Savant).
    pub fn source_id(mut self, id: impl Into<String>) -> Self {
        self.filter = TopicFilter::SourceId(id.into());
        self
    }
    /// Only source ids with this prefix.
    pub fn source_id_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.filter = TopicFilter::Prefix(prefix.into());
        self
    }
    /// End the stream after this long without a message (default: never).
    pub fn idle_timeout(mut self, t: Duration) -> Self {
        self.idle_timeout = Some(t);
        self
    }
    /// Receive high-water mark (default 50).
    pub fn receive_hwm(mut self, n: i32) -> Self {
        self.receive_hwm = n;
        self
    }
    /// Waits for the module's health endpoint to say `running` or
    /// `stopping` before receiving.
    pub fn healthcheck(
        mut self,
        url: impl Into<String>,
        timeout: Duration,
        interval: Duration,
    ) -> Self {
        self.health = Some(HealthCheck::new(url).timeout(timeout).interval(interval));
        self
    }

    /// Opens the socket (before the health check, so nothing the module
    /// sends meanwhile is lost) and waits for the module.
    pub async fn build(self) -> Result<SinkRunner> {
        let config = ReaderConfig::builder(&self.socket)?
            .topic_filter(self.filter)
            .receive_timeout(self.receive_timeout)
            .receive_hwm(self.receive_hwm)
            .version_policy(self.version)
            .build()?;
        let reader = Reader::new(config)?;
        if let Some(h) = &self.health {
            h.wait(&["running", "stopping"]).await?;
        }
        Ok(SinkRunner {
            reader,
            idle_timeout: self.idle_timeout,
            idle: None,
            active: false,
            seq_ids: SeqIdValidator::default(),
            gaps: SeqGapStats::default(),
            done: false,
            logs: self.logs,
            stop: self.stop,
            stop_state: StopState::default(),
        })
    }
}

/// Receives results; an async [`Stream`] of [`SinkResult`] that ends after
/// the idle timeout or a stop condition of its [`SinkBuilder`].
///
/// A module whose output nobody reads stops taking input once the
/// high-water marks fill, so read it **while** frames are sent: in a task of
/// its own, for which [`SinkRunner::spawn`] is the short form.
#[derive(Debug)]
pub struct SinkRunner {
    reader: Reader,
    idle_timeout: Option<Duration>,
    /// The idle timer: made once, moved on (a cheap reset to a later
    /// deadline) when messages came since it was last polled.
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Messages came since the idle timer was last polled.
    active: bool,
    seq_ids: SeqIdValidator,
    gaps: SeqGapStats,
    done: bool,
    logs: LogHandle,
    stop: StopConditions,
    stop_state: StopState,
}

/// A [`SinkRunner`] feeding a [`Sink`] in a task of its own, from
/// [`SinkRunner::spawn`]; [`SinkTask::join`] waits for it.
#[derive(Debug)]
pub struct SinkTask<S> {
    handle: tokio::task::JoinHandle<Result<(S, u64)>>,
}

impl<S> SinkTask<S> {
    /// Waits until the stream has ended and the sink has finished; the sink
    /// back and how many results it consumed. A panic in the sink is
    /// resumed here.
    pub async fn join(self) -> Result<(S, u64)> {
        match self.handle.await {
            Ok(r) => r,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(Error::Closed("sink task")),
        }
    }

    /// Stops the task (what the sink has not finished is lost).
    pub fn abort(&self) {
        self.handle.abort();
    }
}

impl SinkRunner {
    fn make_result(&mut self, r: Received) -> SinkResult {
        let seq_gap = match self.seq_ids.check(&r.message) {
            SeqIdCheck::Gap { expected, got } => {
                let gap = SeqGap { expected, got };
                self.gaps.gaps += 1;
                self.gaps.lost += gap.lost();
                tracing::warn!(topic = %r.topic_str(), expected, got, lost = gap.lost(), "seq_id gap: messages were lost");
                Some(gap)
            }
            SeqIdCheck::Valid => None,
        };
        let content = r.content();
        SinkResult {
            topic: r.topic_str().into_owned(),
            trace_id: extract_trace_id(&r.message.propagated_context),
            content,
            message: r.message,
            log_handle: self.logs.clone(),
            seq_gap,
        }
    }

    /// The next result; `None` after the idle timeout.
    pub async fn next(&mut self) -> Option<Result<SinkResult>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Feeds every result into `sink` until the stream ends, then calls
    /// [`Sink::finish`]. Returns how many results were consumed.
    pub async fn run<S: Sink + ?Sized>(&mut self, sink: &mut S) -> Result<u64> {
        use tracing::Instrument;
        let mut n = 0;
        while let Some(r) = self.next().await {
            let r = r?;
            // what the sink logs while handling a frame joins the frame's trace
            let span = crate::telemetry::receive_span(&r);
            sink.consume(r).instrument(span).await?;
            n += 1;
        }
        sink.finish().await?;
        Ok(n)
    }

    /// Runs [`SinkRunner::run`] into `sink` in a task of its own (on the
    /// current tokio runtime), closing the socket at the end: the shape
    /// that works for any number of frames, since the module's output is
    /// read while the frames are sent. End the stream with a stop
    /// condition ([`SinkBuilder::stop_when_all_ended`]) or the idle
    /// timeout.
    ///
    /// ```no_run
    /// use savant_sdk_core::async_trait;
    /// use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
    /// use savant_sdk_core::sink::{Sink, SinkResult};
    /// use savant_sdk_core::source::IterSource;
    ///
    /// #[derive(Default)]
    /// struct Count(u64);
    /// #[async_trait]
    /// impl Sink for Count {
    ///     async fn consume(&mut self, r: SinkResult) -> savant_sdk_core::Result<()> {
    ///         self.0 += u64::from(r.frame().is_some());
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # async fn run(frames: IterSource<std::vec::IntoIter<savant_sdk_core::source::SourceItem>>) -> savant_sdk_core::Result<()> {
    /// let sink = SinkBuilder::new("router+bind:ipc:///tmp/savant/output.ipc")
    ///     .stop_when_all_ended()
    ///     .build()
    ///     .await?;
    /// let reading = sink.spawn(Count::default()); // reads while we send
    /// let source = SourceBuilder::new("dealer+connect:ipc:///tmp/savant/input.ipc").build().await?;
    /// let sent = source.send_stream(frames).await?; // ends each source id with an EOS
    /// let (count, _) = reading.join().await?;
    /// assert_eq!(sent.frames, count.0);
    /// # Ok(()) }
    /// ```
    pub fn spawn<S: Sink + 'static>(mut self, mut sink: S) -> SinkTask<S> {
        let handle = tokio::spawn(async move {
            let r = self.run(&mut sink).await;
            self.close().await;
            r.map(|n| (sink, n))
        });
        SinkTask { handle }
    }

    /// What the reader delivered and skipped so far.
    pub fn stats(&self) -> ReaderStats {
        self.reader.stats()
    }

    /// The gaps in the sources' seq ids seen so far: messages lost
    /// between the peers, counted where the loss shows.
    pub fn seq_gaps(&self) -> SeqGapStats {
        self.gaps
    }

    /// Closes the socket and waits until it is released.
    pub async fn close(self) {
        self.reader.close().await;
    }
}

impl Stream for SinkRunner {
    type Item = Result<SinkResult>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match this.reader.poll_recv(cx) {
            Poll::Ready(Some(Ok(r))) => {
                this.active = true;
                let r = this.make_result(r);
                if this.stop_state.after(&this.stop, &r) {
                    this.done = true;
                }
                Poll::Ready(Some(Ok(r)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => {
                let Some(t) = this.idle_timeout else {
                    return Poll::Pending;
                };
                let sleep = match &mut this.idle {
                    Some(sleep) => {
                        if this.active {
                            sleep.as_mut().reset(tokio::time::Instant::now() + t);
                        }
                        sleep
                    }
                    None => this.idle.insert(Box::pin(tokio::time::sleep(t))),
                };
                this.active = false;
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.done = true;
                        Poll::Ready(None)
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

use std::future::Future as _;

/// The blocking form of [`SinkRunner`]: an iterator of results that ends
/// after the idle timeout.
///
/// ```no_run
/// use std::time::Duration;
/// use savant_sdk_core::client::{BlockingSinkRunner, SinkBuilder};
/// let sink = BlockingSinkRunner::build(
///     SinkBuilder::new("router+bind:tcp://127.0.0.1:3332").idle_timeout(Duration::from_secs(5)),
/// )?;
/// for result in sink {
///     let result = result?;
///     println!("{} {:?}", result.kind(), result.trace_id);
/// }
/// # Ok::<(), savant_sdk_core::Error>(())
/// ```
#[derive(Debug)]
pub struct BlockingSinkRunner {
    rt: tokio::runtime::Runtime,
    inner: SinkRunner,
}

impl BlockingSinkRunner {
    /// Builds the runner from `builder`.
    pub fn build(builder: SinkBuilder) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("cannot start a runtime: {e}")))?;
        let inner = rt.block_on(builder.build())?;
        Ok(Self { rt, inner })
    }

    /// What the reader delivered and skipped so far.
    pub fn stats(&self) -> ReaderStats {
        self.inner.stats()
    }
}

impl Iterator for BlockingSinkRunner {
    type Item = Result<SinkResult>;
    fn next(&mut self) -> Option<Self::Item> {
        self.rt.block_on(self.inner.next())
    }
}
