//! [`FanOut`]: one received stream into several sinks, each behind a
//! bounded queue of its own.

use async_trait::async_trait;
use savant_sdk_core::sink::{Sink, SinkResult};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Results each sink may lag behind the fastest one by default.
pub const DEFAULT_QUEUE: usize = 64;

/// Hands every result to each of its sinks (cloning the result, which
/// shares the frame content rather than copying it).
///
/// Inside a tokio runtime each sink runs in a task of its own behind a
/// bounded queue ([`FanOut::queue`], default [`DEFAULT_QUEUE`]), so a slow
/// sink (annotating, encoding video) does not hold back the others until
/// its queue is full; then `consume` waits for it, so memory stays
/// bounded. Each sink sees the results in order. The first error of any
/// sink is returned by the next `consume` or by `finish`, which also waits
/// for every sink to drain and finish. Outside a runtime the sinks are
/// called in turn.
///
/// ```no_run
/// use savant_sdk_sinks::{FanOut, ImageFilesSink, MetadataJsonSink};
/// let sink = FanOut::new()
///     .with(ImageFilesSink::new("out/images")?)
///     .with(MetadataJsonSink::per_source("out/meta")?);
/// # Ok::<(), savant_sdk_sinks::SinkError>(())
/// ```
pub struct FanOut {
    queue: usize,
    state: State,
}

enum State {
    /// Not started: the sinks, called in turn outside a runtime.
    Idle(Vec<Box<dyn Sink>>),
    /// One task per sink.
    Running(Vec<Lane>),
    /// Finished.
    Done,
}

struct Lane {
    name: String,
    tx: Option<mpsc::Sender<SinkResult>>,
    task: Option<JoinHandle<savant_sdk_core::Result<()>>>,
}

impl Default for FanOut {
    fn default() -> Self {
        Self {
            queue: DEFAULT_QUEUE,
            state: State::Idle(Vec::new()),
        }
    }
}

impl std::fmt::Debug for FanOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = match &self.state {
            State::Idle(s) => s.iter().map(|s| s.name().to_string()).collect(),
            State::Running(l) => l.iter().map(|l| l.name.clone()).collect(),
            State::Done => Vec::new(),
        };
        f.debug_struct("FanOut")
            .field("sinks", &names)
            .field("queue", &self.queue)
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
        self.push(Box::new(sink));
        self
    }

    /// Adds a boxed sink (before the first result).
    pub fn push(&mut self, sink: Box<dyn Sink>) {
        match &mut self.state {
            State::Idle(sinks) => sinks.push(sink),
            _ => tracing::warn!(
                sink = sink.name(),
                "a sink added after the fan-out started is ignored"
            ),
        }
    }

    /// How many results one sink may lag behind (default
    /// [`DEFAULT_QUEUE`], at least 1).
    pub fn queue(mut self, results: usize) -> Self {
        self.queue = results.max(1);
        self
    }

    /// How many sinks.
    pub fn len(&self) -> usize {
        match &self.state {
            State::Idle(s) => s.len(),
            State::Running(l) => l.len(),
            State::Done => 0,
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts one task per sink, when in a tokio runtime.
    fn start(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let State::Idle(sinks) = std::mem::replace(&mut self.state, State::Done) else {
            return;
        };
        let lanes = sinks
            .into_iter()
            .map(|mut sink| {
                let (tx, mut rx) = mpsc::channel::<SinkResult>(self.queue);
                let name = sink.name().to_string();
                let task = tokio::spawn(async move {
                    while let Some(r) = rx.recv().await {
                        sink.consume(r).await?;
                    }
                    sink.finish().await
                });
                Lane {
                    name,
                    tx: Some(tx),
                    task: Some(task),
                }
            })
            .collect();
        self.state = State::Running(lanes);
    }
}

/// The outcome of a sink's task: its error, or its panic as an error.
async fn outcome(lane: &mut Lane) -> savant_sdk_core::Result<()> {
    lane.tx = None;
    let Some(task) = lane.task.take() else {
        return Ok(());
    };
    match task.await {
        Ok(r) => r,
        Err(e) => Err(savant_sdk_core::Error::sink(
            lane.name.clone(),
            format!("the sink's task failed: {e}"),
        )),
    }
}

#[async_trait]
impl Sink for FanOut {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_core::Result<()> {
        if let State::Idle(_) = self.state {
            self.start();
        }
        match &mut self.state {
            State::Idle(sinks) => {
                if let Some((last, rest)) = sinks.split_last_mut() {
                    for s in rest {
                        s.consume(result.clone()).await?;
                    }
                    last.consume(result).await?;
                }
                Ok(())
            }
            State::Running(lanes) => {
                // every sink still running gets the result, whatever
                // another one did; the first failure is returned after
                let mut first = Ok(());
                let last = lanes.iter().rposition(|l| l.tx.is_some());
                let mut result = Some(result);
                for (i, lane) in lanes.iter_mut().enumerate() {
                    let Some(tx) = &lane.tx else { continue };
                    // the last running sink takes the result itself: one
                    // clone (a deep copy of the message) fewer per result
                    let r = if Some(i) == last {
                        result.take()
                    } else {
                        result.clone()
                    };
                    let Some(r) = r else { continue };
                    if tx.send(r).await.is_err() {
                        // the task ended early: it failed
                        let r = outcome(lane).await;
                        if first.is_ok() {
                            first = r;
                        }
                    }
                }
                first
            }
            State::Done => Ok(()),
        }
    }

    async fn finish(&mut self) -> savant_sdk_core::Result<()> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Idle(mut sinks) => {
                for s in &mut sinks {
                    s.finish().await?;
                }
                Ok(())
            }
            State::Running(mut lanes) => {
                for lane in &mut lanes {
                    lane.tx = None;
                }
                let mut first = Ok(());
                for lane in &mut lanes {
                    let r = outcome(lane).await;
                    if first.is_ok() {
                        first = r;
                    }
                }
                first
            }
            State::Done => Ok(()),
        }
    }

    fn name(&self) -> &str {
        "fan-out"
    }
}
