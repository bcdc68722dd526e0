//! The pipeline runner: sources into writers, readers into sinks, and one
//! shutdown for all of them.
//!
//! A [`Pipeline`] runs every source on the writer it was given (several
//! sources may share one writer: [`SourceRunner`] is a cheap clone) and
//! every reader into its sinks, all at once, so a module's output is read
//! while frames are sent. It ends when every source has ended and every
//! reader has stopped (by its own stop condition or idle timeout), or on
//! shutdown: SIGINT or SIGTERM (with [`Pipeline::stop_on_signals`]), a
//! [`ShutdownTrigger`] fired from code, or a source's context seeing it.
//!
//! On shutdown the sources stop being pulled at once; every stream a
//! source left open gets its EOS (within [`Pipeline::eos_budget`]); the
//! readers go on reading for up to [`Pipeline::drain`] so the module's
//! answers to those EOS reach the sinks; then every sink is finished
//! (files flushed). Without a shutdown, a reader of a pipeline with
//! sources stops once every source is done and every stream they ended
//! has come back with its EOS (or by its own stop condition or idle
//! timeout: a module that renames streams never sends those EOS back). A source that fails or panics ends the same way, its
//! open streams with EOS and its error reported once in its
//! [`SourceReport`]; the other sources go on. A sink that fails gets
//! nothing more (its `finish` is still called); the others go on.
//!
//! Every sink's `consume` runs inside the frame's trace span
//! ([`crate::telemetry::receive_span`]), so what it logs joins the
//! frame's trace.
//!
//! ```no_run
//! use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
//! use savant_sdk_core::pipeline::Pipeline;
//! use savant_sdk_core::sink::{Sink, SinkResult};
//! use savant_sdk_core::source::IterSource;
//! # #[derive(Default)] struct Count(u64);
//! # #[savant_sdk_core::async_trait]
//! # impl Sink for Count {
//! #     async fn consume(&mut self, _: SinkResult) -> savant_sdk_core::Result<()> { self.0 += 1; Ok(()) }
//! # }
//! # async fn run() -> savant_sdk_core::Result<()> {
//! let writer = SourceBuilder::new("dealer+connect:ipc:///tmp/savant/input.ipc").build().await?;
//! let reader = SinkBuilder::new("router+bind:ipc:///tmp/savant/output.ipc")
//!     .stop_when_all_ended()
//!     .build()
//!     .await?;
//! let mut pipeline = Pipeline::new();
//! pipeline
//!     .source("frames", writer, IterSource::new(Vec::new().into_iter()))
//!     .reader("output", reader, vec![("count".into(), Box::new(Count::default()))])
//!     .stop_on_signals();
//! let report = pipeline.run().await;
//! assert!(!report.has_errors());
//! # Ok(()) }
//! ```

mod guarded;
mod report;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument;

use crate::client::{FinalEos, SinkRunner, SourceResult, SourceRunner};
use crate::component::{BuildContext, Shutdown, ShutdownTrigger};
use crate::sink::{Sink, SinkResult};
use crate::source::Source;

use guarded::{CatchUnwind, GuardedSource};
pub use report::{
    PipelineReport, ReaderReport, SinkOutcome, SinkReport, SourceOutcome, SourceReport,
};

/// Default of [`Pipeline::eos_budget`].
pub const DEFAULT_EOS_BUDGET: Duration = Duration::from_secs(2);
/// Default of [`Pipeline::drain`].
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(2);
/// After shutdown, once every source is done, a reader that received
/// nothing for this long stops draining early.
const DRAIN_IDLE: Duration = Duration::from_millis(300);

/// Sees what a pipeline does while it runs (the CLI prints it as JSON
/// lines). Every method has an empty default; without an observer of
/// its own a pipeline logs each failed source and sink once
/// ([`LogFailures`]), with one a pipeline leaves reporting to it.
pub trait PipelineObserver: Send + Sync {
    /// A message of source `source` was sent.
    fn on_sent(&self, _source: &str, _result: &SourceResult) {}
    /// Source `report.name` ended.
    fn on_source_done(&self, _report: &SourceReport) {}
    /// A sink of reader `socket` ended.
    fn on_sink_done(&self, _socket: &str, _report: &SinkReport) {}
    /// SIGINT or SIGTERM arrived (with [`Pipeline::stop_on_signals`]).
    fn on_signal(&self, _signal: &'static str) {}
}

/// The default observer: one `tracing` error per source or sink that
/// ended in an error.
#[derive(Debug, Default)]
pub struct LogFailures;

impl PipelineObserver for LogFailures {
    fn on_source_done(&self, r: &SourceReport) {
        if let Some(e) = r.outcome.error() {
            tracing::error!(source = %r.name, outcome = r.outcome.kind(), error = %e, "source ended with an error; its open streams were ended with EOS");
        }
    }

    fn on_sink_done(&self, socket: &str, r: &SinkReport) {
        if let Some(e) = r.outcome.error() {
            tracing::error!(sink = %r.name, socket, outcome = r.outcome.kind(), error = %e, "sink failed; it got nothing after the failure");
        }
    }
}

struct SourceEntry {
    name: String,
    runner: SourceRunner,
    source: Box<dyn Source>,
    final_eos: FinalEos,
}

struct ReaderEntry {
    socket: String,
    runner: SinkRunner,
    sinks: Vec<(String, Box<dyn Sink>)>,
}

/// Sources into writers and readers into sinks, run together with one
/// shutdown (see the [module documentation](self)).
pub struct Pipeline {
    trigger: Arc<ShutdownTrigger>,
    sources: Vec<SourceEntry>,
    readers: Vec<ReaderEntry>,
    observer: Arc<dyn PipelineObserver>,
    signals: bool,
    eos_budget: Duration,
    drain: Duration,
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Pipeline {
    /// An empty pipeline.
    pub fn new() -> Self {
        Self {
            trigger: Arc::new(ShutdownTrigger::new()),
            sources: Vec::new(),
            readers: Vec::new(),
            observer: Arc::new(LogFailures),
            signals: false,
            eos_budget: DEFAULT_EOS_BUDGET,
            drain: DEFAULT_DRAIN,
        }
    }

    /// The receiving end of this pipeline's shutdown signal.
    pub fn shutdown(&self) -> Shutdown {
        self.trigger.subscribe()
    }

    /// What fires this pipeline's shutdown from code.
    pub fn trigger(&self) -> Arc<ShutdownTrigger> {
        self.trigger.clone()
    }

    /// A [`BuildContext`] for component `name` with this pipeline's
    /// shutdown signal.
    pub fn context(&self, name: impl Into<String>) -> BuildContext {
        BuildContext::new(name).with_shutdown(self.shutdown())
    }

    /// Adds a source sending through `writer`.
    pub fn source(
        &mut self,
        name: impl Into<String>,
        writer: SourceRunner,
        source: impl Source + 'static,
    ) -> &mut Self {
        self.source_boxed(name, writer, Box::new(source))
    }

    /// Adds a boxed source (what a registry builds).
    pub fn source_boxed(
        &mut self,
        name: impl Into<String>,
        writer: SourceRunner,
        source: Box<dyn Source>,
    ) -> &mut Self {
        self.source_ending(name, writer, source, FinalEos::Send)
    }

    /// Adds a boxed source whose open streams get an EOS at its end or
    /// not ([`FinalEos::Skip`], for `send --no-eos`; on shutdown too).
    pub fn source_ending(
        &mut self,
        name: impl Into<String>,
        writer: SourceRunner,
        source: Box<dyn Source>,
        final_eos: FinalEos,
    ) -> &mut Self {
        self.sources.push(SourceEntry {
            name: name.into(),
            runner: writer,
            source,
            final_eos,
        });
        self
    }

    /// Adds a reader and the sinks every result it receives goes to (in
    /// order; each gets each result). `socket` names it in reports.
    pub fn reader(
        &mut self,
        socket: impl Into<String>,
        runner: SinkRunner,
        sinks: Vec<(String, Box<dyn Sink>)>,
    ) -> &mut Self {
        self.readers.push(ReaderEntry {
            socket: socket.into(),
            runner,
            sinks,
        });
        self
    }

    /// Shuts down on SIGINT and SIGTERM.
    pub fn stop_on_signals(&mut self) -> &mut Self {
        self.signals = true;
        self
    }

    /// Who sees what happens while it runs (instead of [`LogFailures`]).
    pub fn observer(&mut self, observer: Arc<dyn PipelineObserver>) -> &mut Self {
        self.observer = observer;
        self
    }

    /// After shutdown, how long a source may take to send the EOS of its
    /// open streams (default 2 s); a source still sending then is reported
    /// as [`SourceOutcome::SendFailed`].
    pub fn eos_budget(&mut self, budget: Duration) -> &mut Self {
        self.eos_budget = budget;
        self
    }

    /// After shutdown, how long the readers go on reading, so the module's
    /// answers to the last frames and EOS reach the sinks (default 2 s; a
    /// reader idle for 300 ms once every source is done stops sooner).
    pub fn drain(&mut self, drain: Duration) -> &mut Self {
        self.drain = drain;
        self
    }

    /// Whether it has any sources.
    pub fn has_sources(&self) -> bool {
        !self.sources.is_empty()
    }

    /// Runs everything to the end (see the [module documentation](self)).
    pub async fn run(self) -> PipelineReport {
        let shutdown = self.trigger.subscribe();
        // watched before anything starts: no signal falls between
        let signal_task = match self.signals.then(Signals::watch) {
            Some(Ok(signals)) => Some(tokio::spawn(wait_for_signal(
                signals,
                self.trigger.clone(),
                self.observer.clone(),
            ))),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "cannot watch SIGINT and SIGTERM");
                None
            }
            None => None,
        };
        let sources_done = Arc::new(ShutdownTrigger::new());
        let has_sources = !self.sources.is_empty();
        let ended = EndedStreams::default();
        let readers_count = self.readers.len();
        let readers: Vec<_> = self
            .readers
            .into_iter()
            .map(|entry| {
                let run = ReaderRun {
                    shutdown: shutdown.clone(),
                    sources_done: sources_done.subscribe(),
                    has_sources,
                    only_reader: readers_count == 1,
                    ended: ended.clone(),
                    drain: self.eos_budget + self.drain,
                    observer: self.observer.clone(),
                };
                tokio::spawn(run.run(entry))
            })
            .collect();
        let sources: Vec<_> = self
            .sources
            .into_iter()
            .map(|entry| {
                let shutdown = shutdown.clone();
                let observer = self.observer.clone();
                let budget = self.eos_budget;
                let ended = ended.clone();
                tokio::spawn(run_source(entry, shutdown, budget, observer, ended))
            })
            .collect();
        let mut report = PipelineReport::default();
        for task in sources {
            match task.await {
                Ok(r) => report.sources.push(r),
                Err(e) => tracing::error!(error = %e, "a source task failed"),
            }
        }
        sources_done.trigger();
        for task in readers {
            match task.await {
                Ok(r) => report.readers.push(r),
                Err(e) => tracing::error!(error = %e, "a reader task failed"),
            }
        }
        report.stopped = shutdown.is_requested();
        if let Some(t) = signal_task {
            t.abort();
        }
        report
    }
}

/// SIGTERM and SIGINT, watched from the moment this is made (a signal
/// that comes before the first wait is kept, not lost to the default
/// action that ends the process).
pub struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Starts watching both (inside a tokio runtime).
    pub fn watch() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// The next signal: `"SIGTERM"` or `"SIGINT"`.
    pub async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

async fn wait_for_signal(
    mut signals: Signals,
    trigger: Arc<ShutdownTrigger>,
    observer: Arc<dyn PipelineObserver>,
) {
    let name = signals.next().await;
    tracing::info!(
        signal = name,
        "shutting down: ending every open stream with EOS"
    );
    observer.on_signal(name);
    trigger.trigger();
}

/// How many EOS the pipeline's sources sent, per source id (a source id
/// a source ends several times, a folder of videos under one id, counts
/// each).
type EndedStreams = Arc<Mutex<HashMap<String, u64>>>;

async fn run_source(
    entry: SourceEntry,
    shutdown: Shutdown,
    budget: Duration,
    observer: Arc<dyn PipelineObserver>,
    ended: EndedStreams,
) -> SourceReport {
    let SourceEntry {
        name,
        runner,
        source,
        final_eos,
    } = entry;
    let (guarded, outcome) = GuardedSource::new(source, shutdown.clone());
    let send = runner.send_stream_ending(guarded, final_eos, |r| {
        if r.kind == "eos" {
            *ended
                .lock()
                .expect("ended lock")
                .entry(r.source_id.clone())
                .or_default() += 1;
        }
        observer.on_sent(&name, r)
    });
    let late = async {
        shutdown.requested().await;
        tokio::time::sleep(budget).await;
    };
    let sent = tokio::select! {
        r = send => Some(r),
        _ = late => None,
    };
    let ended_by = outcome.lock().expect("outcome lock").take();
    let (summary, outcome) = match sent {
        Some(Ok(summary)) => (summary, ended_by.unwrap_or(SourceOutcome::Completed)),
        Some(Err(e)) => (
            Default::default(),
            SourceOutcome::SendFailed(crate::error::report(&e)),
        ),
        None => (
            Default::default(),
            SourceOutcome::SendFailed(format!(
                "still sending {budget:?} after the shutdown: the EOS of its open streams may be \
                 missing; check that the module is reading its input"
            )),
        ),
    };
    // what is still queued goes within the budget, or is given up
    let _ = tokio::time::timeout(budget, runner.close()).await;
    let report = SourceReport {
        name,
        frames: summary.frames,
        bytes: summary.bytes,
        ended: summary.ended,
        outcome,
    };
    observer.on_source_done(&report);
    report
}

struct SinkSlot {
    name: String,
    sink: Option<Box<dyn Sink>>,
    consumed: u64,
    outcome: Option<SinkOutcome>,
}

impl SinkSlot {
    async fn consume(&mut self, result: SinkResult, span: &tracing::Span) {
        let Some(sink) = self.sink.as_mut() else {
            return;
        };
        match CatchUnwind::new(|| sink.consume(result))
            .instrument(span.clone())
            .await
        {
            Ok(Ok(())) => self.consumed += 1,
            Ok(Err(e)) => {
                let e = crate::error::report(&e);
                tracing::debug!(sink = %self.name, error = %e, "sink failed; it gets nothing more");
                self.outcome = Some(SinkOutcome::Failed(e));
                self.finish().await;
            }
            Err(panic) => {
                tracing::debug!(sink = %self.name, panic = %panic, "sink panicked; it gets nothing more");
                self.outcome = Some(SinkOutcome::Panicked(panic));
                let sink = self.sink.take();
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(sink)));
            }
        }
    }

    async fn finish(&mut self) {
        let Some(mut sink) = self.sink.take() else {
            return;
        };
        let finished = CatchUnwind::new(|| sink.finish()).await;
        let outcome = match finished {
            Ok(Ok(())) => SinkOutcome::Finished,
            Ok(Err(e)) => SinkOutcome::FinishFailed(crate::error::report(&e)),
            Err(panic) => SinkOutcome::Panicked(panic),
        };
        // a consume failure stays the outcome
        self.outcome.get_or_insert(outcome);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(sink)));
    }

    fn running(&self) -> bool {
        self.sink.is_some()
    }
}

struct ReaderRun {
    shutdown: Shutdown,
    sources_done: Shutdown,
    has_sources: bool,
    /// With one reader, every stream the sources ended must come back to
    /// it; with several, each waits for the streams it has seen.
    only_reader: bool,
    ended: EndedStreams,
    drain: Duration,
    observer: Arc<dyn PipelineObserver>,
}

impl ReaderRun {
    /// How long to go on reading after the shutdown: the drain with sources
    /// of ours (their last frames and EOS are on their way), a moment
    /// without (nothing more is owed to this reader).
    fn drain_after_shutdown(&self) -> Duration {
        if self.has_sources {
            self.drain
        } else {
            Duration::from_millis(200)
        }
    }

    /// Whether every source is done and every EOS they sent came back (to
    /// this reader: all of them when it is the only one, else those of the
    /// source ids it has seen).
    fn all_came_back(&self, eos_seen: &HashMap<String, u64>) -> bool {
        if !self.has_sources || !self.sources_done.is_requested() {
            return false;
        }
        let ended = self.ended.lock().expect("ended lock");
        !ended.is_empty()
            && ended.iter().all(|(id, sent)| match eos_seen.get(id) {
                Some(seen) => seen >= sent,
                None => !self.only_reader,
            })
    }

    async fn run(self, entry: ReaderEntry) -> ReaderReport {
        let ReaderEntry {
            socket,
            mut runner,
            sinks,
        } = entry;
        let mut slots: Vec<SinkSlot> = sinks
            .into_iter()
            .map(|(name, sink)| SinkSlot {
                name,
                sink: Some(sink),
                consumed: 0,
                outcome: None,
            })
            .collect();
        let mut received = 0u64;
        let mut error = None;
        // set on shutdown: read until then at the latest
        let mut deadline: Option<Instant> = None;
        let mut last = Instant::now();
        // EOS seen per source id: once every stream the sources ended has
        // come back ended, nothing more is owed to this reader
        let mut eos_seen: HashMap<String, u64> = HashMap::new();
        let ticking = self.has_sources;
        // one timer and one shutdown future for the whole run, not one of
        // each per message
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let fired = self.shutdown.requested();
        tokio::pin!(fired);
        loop {
            // checked every round: results arriving faster than the tick
            // must not keep a reader past its deadline
            let now = Instant::now();
            // a busy reader polls `next` first (biased): the shutdown is
            // seen here too, not only when `next` is pending
            if deadline.is_none() && self.shutdown.is_requested() {
                deadline = Some(now + self.drain_after_shutdown());
            }
            // the one check per round (after every message, every tick)
            if deadline.is_some_and(|d| now >= d) || self.all_came_back(&eos_seen) {
                break;
            }
            let idle =
                deadline.is_some() && self.sources_done.is_requested() && now - last >= DRAIN_IDLE;
            if idle {
                break;
            }
            tokio::select! {
                biased;
                next = runner.next() => match next {
                    None => break,
                    Some(Err(e)) => {
                        error = Some(crate::error::report(&e));
                        break;
                    }
                    Some(Ok(result)) => {
                        received += 1;
                        last = Instant::now();
                        if self.has_sources {
                            let seen = match eos_seen.get_mut(result.source_id()) {
                                Some(n) => n,
                                None => eos_seen.entry(result.source_id().to_string()).or_default(),
                            };
                            *seen += u64::from(result.is_end_of_stream());
                        }
                        dispatch(&mut slots, result).await;
                        if !slots.iter().any(SinkSlot::running) {
                            tracing::error!(socket = %socket, "every sink of this reader failed; it stops reading");
                            break;
                        }
                    }
                },
                _ = &mut fired, if deadline.is_none() => {
                    deadline = Some(Instant::now() + self.drain_after_shutdown());
                }
                // wakes the checks at the top while nothing arrives
                _ = tick.tick(), if ticking || deadline.is_some() => {}
            }
        }
        if self.has_sources && !self.sources_done.is_requested() && !self.shutdown.is_requested() {
            // nothing reads the module's output now: it stalls once its
            // queues fill, and the sources with it (their send timeout
            // says so); a longer idle timeout or a stop condition fits
            tracing::warn!(socket = %socket, "a reader stopped while sources still send; the module's output is no longer read");
        }
        for slot in &mut slots {
            slot.finish().await;
        }
        let stats = runner.stats();
        let gaps = runner.seq_gaps();
        runner.close().await;
        let sinks: Vec<SinkReport> = slots
            .into_iter()
            .map(|s| SinkReport {
                name: s.name,
                consumed: s.consumed,
                outcome: s.outcome.unwrap_or(SinkOutcome::Finished),
            })
            .collect();
        for s in &sinks {
            self.observer.on_sink_done(&socket, s);
        }
        ReaderReport {
            socket,
            received,
            malformed: stats.malformed(),
            version_refused: stats.version_refused,
            seq_gaps: gaps.gaps,
            lost: gaps.lost,
            sinks,
            error,
        }
    }
}

/// Hands `result` to every running sink, all in one span of the frame's
/// trace: a clone to each but the last, which takes it.
async fn dispatch(slots: &mut [SinkSlot], result: SinkResult) {
    let last = slots.iter().rposition(SinkSlot::running);
    let Some(last) = last else {
        return;
    };
    let span = crate::telemetry::receive_span(&result);
    for slot in slots[..last].iter_mut().filter(|s| s.running()) {
        slot.consume(result.clone(), &span).await;
    }
    slots[last].consume(result, &span).await;
}
