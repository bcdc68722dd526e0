//! A source as the pipeline runs it: it ends (returns `None`) when the
//! shutdown signal fires, when the inner source fails and when it panics,
//! so that the runner's end-of-stream handling sends an EOS for every
//! stream it left open; what ended it is kept for the report.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use async_trait::async_trait;

use crate::component::Shutdown;
use crate::error::Result;
use crate::source::{Source, SourceItem};

use super::report::SourceOutcome;

/// Makes a future and polls it, both inside `catch_unwind`: a panic
/// becomes `Err(message)`. The future is made on the first poll, so that
/// a component whose method panics before it returns its future (one
/// written without `#[async_trait]`) is contained too, inside whatever
/// span the caller instruments this with.
pub(crate) enum CatchUnwind<M, F> {
    /// Not polled yet.
    Make(Option<M>),
    /// Made.
    Running(F),
}

impl<M: FnOnce() -> F, F> CatchUnwind<M, F> {
    /// The future `make` returns, guarded.
    pub(crate) fn new(make: M) -> Self {
        Self::Make(Some(make))
    }
}

impl<M: FnOnce() -> F + Unpin, F: Future + Unpin> Future for CatchUnwind<M, F> {
    type Output = std::result::Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let polled = catch_unwind(AssertUnwindSafe(|| {
            if let Self::Make(make) = this {
                let make = make.take().expect("made once");
                *this = Self::Running(make());
            }
            match this {
                Self::Running(running) => Pin::new(running).poll(cx),
                Self::Make(_) => unreachable!("made above"),
            }
        }));
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// What ended a guarded source, shared with the runner.
pub(crate) type OutcomeSlot = Arc<Mutex<Option<SourceOutcome>>>;

pub(crate) struct GuardedSource {
    inner: Option<Box<dyn Source>>,
    shutdown: Shutdown,
    outcome: OutcomeSlot,
}

impl GuardedSource {
    pub(crate) fn new(inner: Box<dyn Source>, shutdown: Shutdown) -> (Self, OutcomeSlot) {
        let outcome = OutcomeSlot::default();
        (
            Self {
                inner: Some(inner),
                shutdown,
                outcome: outcome.clone(),
            },
            outcome,
        )
    }

    fn end(&mut self, outcome: SourceOutcome) -> Result<Option<SourceItem>> {
        // not called again; a Drop that panics too is contained
        let inner = self.inner.take();
        let _ = catch_unwind(AssertUnwindSafe(move || drop(inner)));
        *self.outcome.lock().expect("outcome lock") = Some(outcome);
        Ok(None)
    }
}

#[async_trait]
impl Source for GuardedSource {
    async fn next(&mut self) -> Result<Option<SourceItem>> {
        let Some(inner) = self.inner.as_mut() else {
            return Ok(None);
        };
        if self.shutdown.is_requested() {
            return self.end(SourceOutcome::Stopped);
        }
        let next = CatchUnwind::new(|| inner.next());
        let shutdown = self.shutdown.clone();
        let r = tokio::select! {
            biased;
            r = next => Some(r),
            _ = shutdown.requested() => None,
        };
        match r {
            None => self.end(SourceOutcome::Stopped),
            Some(Ok(Ok(Some(item)))) => Ok(Some(item)),
            // a source that watches the shutdown itself ends on it too
            Some(Ok(Ok(None))) if self.shutdown.is_requested() => self.end(SourceOutcome::Stopped),
            Some(Ok(Ok(None))) => self.end(SourceOutcome::Completed),
            Some(Ok(Err(e))) => self.end(SourceOutcome::Failed(e.to_string())),
            Some(Err(panic)) => self.end(SourceOutcome::Panicked(panic)),
        }
    }

    fn name(&self) -> &str {
        self.inner.as_ref().map_or("ended", |s| s.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{Sink, SinkResult};

    /// A source written without `#[async_trait]` that panics before it
    /// returns its future.
    struct PanicsWhenAsked;

    impl Source for PanicsWhenAsked {
        fn next<'life0, 'async_trait>(
            &'life0 mut self,
        ) -> Pin<Box<dyn Future<Output = Result<Option<SourceItem>>> + Send + 'async_trait>>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            panic!("asked too soon")
        }
    }

    #[tokio::test]
    async fn a_source_that_panics_before_its_future_exists_is_contained() {
        let (mut guarded, outcome) =
            GuardedSource::new(Box::new(PanicsWhenAsked), Shutdown::never());
        assert!(guarded.next().await.unwrap().is_none());
        let outcome = outcome.lock().unwrap().clone();
        assert!(
            matches!(&outcome, Some(SourceOutcome::Panicked(p)) if p.contains("asked too soon")),
            "{outcome:?}"
        );
    }

    /// A sink written without `#[async_trait]` that panics before it
    /// returns its future.
    struct RefusesAtOnce;

    impl Sink for RefusesAtOnce {
        fn consume<'life0, 'async_trait>(
            &'life0 mut self,
            _result: SinkResult,
        ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'async_trait>>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            panic!("no room")
        }
    }

    #[tokio::test]
    async fn a_sink_that_panics_before_its_future_exists_is_contained() {
        let mut sink: Box<dyn Sink> = Box::new(RefusesAtOnce);
        let r = SinkResult {
            topic: "a".into(),
            message: crate::model::Message::end_of_stream(crate::model::EndOfStream::new("a")),
            content: None,
            trace_id: None,
            log_handle: Default::default(),
            seq_gap: None,
        };
        let out = CatchUnwind::new(|| sink.consume(r)).await;
        assert!(matches!(&out, Err(p) if p.contains("no room")), "{out:?}");
    }
}
