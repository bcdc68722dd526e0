//! [`BackoffExporter`]: an exporter that stops trying for a while after a
//! failed export, so an unreachable collector costs no CPU on a busy host;
//! and [`GatedProcessor`], which drops finished spans at once during that
//! pause instead of queueing them for a batch that would be dropped anyway.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

/// When the pause after a failed export ends, shared by the exporter and
/// the processor in front of it: nanoseconds since a process-wide origin,
/// 0 when not pausing.
#[derive(Debug, Default)]
pub(crate) struct PauseGate {
    until_ns: AtomicU64,
    /// Spans handed to the batch processor and not yet taken by an export.
    queued: AtomicU64,
}

/// The batch processor's queue size (set explicitly where it is built):
/// with this many spans waiting, the next would be dropped by the
/// processor, so it is dropped (and not even recorded) before.
pub(crate) const QUEUE_CAPACITY: usize = 2048;

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

impl PauseGate {
    fn pause_until(&self, until: Instant) {
        let ns = until.saturating_duration_since(origin()).as_nanos() as u64;
        self.until_ns.store(ns.max(1), Ordering::Relaxed);
    }

    #[cfg(test)]
    pub(crate) fn pause_for_test(&self, d: Duration) {
        self.pause_until(Instant::now() + d);
    }

    fn resume(&self) {
        self.until_ns.store(0, Ordering::Relaxed);
    }

    /// Whether a finished span would be dropped now: exports pause after
    /// a failure, or the queue is full because an export hangs.
    pub(crate) fn paused(&self) -> bool {
        self.queued.load(Ordering::Relaxed) >= QUEUE_CAPACITY as u64 || self.pausing()
    }

    /// Whether exports pause after a failure (the queue aside).
    fn pausing(&self) -> bool {
        let until = self.until_ns.load(Ordering::Relaxed);
        until != 0 && (origin().elapsed().as_nanos() as u64) < until
    }

    fn enqueued(&self) {
        self.queued.fetch_add(1, Ordering::Relaxed);
    }

    fn taken(&self, n: usize) {
        let _ = self
            .queued
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| {
                Some(q.saturating_sub(n as u64))
            });
    }
}

/// Passes spans to `inner` (the batch processor) except while the
/// exporter pauses after a failure: then a finished span is dropped on the
/// sending thread, and neither the queue nor the batch thread sees it.
#[derive(Debug)]
pub(crate) struct GatedProcessor<P> {
    inner: P,
    gate: Arc<PauseGate>,
}

impl<P> GatedProcessor<P> {
    pub(crate) fn new(inner: P, gate: Arc<PauseGate>) -> Self {
        Self { inner, gate }
    }
}

impl<P: SpanProcessor> SpanProcessor for GatedProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if self.gate.paused() {
            return;
        }
        self.gate.enqueued();
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Wraps an exporter: after a failure, batches are dropped unencoded for a
/// pause that doubles on each failure (from `min` up to `max`) and resets on
/// success.
#[derive(Debug)]
pub(crate) struct BackoffExporter<E> {
    inner: E,
    min: Duration,
    max: Duration,
    /// The pause after the next failure (when the current one ends is in
    /// the gate).
    next_pause: Mutex<Duration>,
    gate: Arc<PauseGate>,
}

impl<E> BackoffExporter<E> {
    pub(crate) fn new(inner: E, min: Duration, max: Duration) -> Self {
        Self {
            inner,
            min,
            max,
            next_pause: Mutex::new(min),
            gate: Arc::default(),
        }
    }

    /// The pause this exporter sets, for a [`GatedProcessor`] in front of it.
    pub(crate) fn gate(&self) -> Arc<PauseGate> {
        self.gate.clone()
    }
}

impl<E: SpanExporter> SpanExporter for BackoffExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.gate.taken(batch.len());
        if self.gate.pausing() {
            return Err(OTelSdkError::InternalFailure(
                "collector unreachable; spans dropped while pausing".into(),
            ));
        }
        let r = self.inner.export(batch).await;
        if let Ok(mut next) = self.next_pause.lock() {
            match &r {
                Ok(()) => {
                    *next = self.min;
                    self.gate.resume();
                }
                Err(e) => {
                    let pause = *next;
                    tracing::debug!(error = %e, ?pause, "span export failed; pausing");
                    self.gate.pause_until(Instant::now() + pause);
                    *next = (pause * 2).min(self.max);
                }
            }
        }
        r
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;

    /// Fails every export and counts the attempts.
    #[derive(Debug, Default)]
    struct Failing(Arc<AtomicU32>);

    impl SpanExporter for Failing {
        async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
            self.0.fetch_add(1, Ordering::Relaxed);
            Err(OTelSdkError::InternalFailure("refused".into()))
        }
    }

    #[test]
    fn a_full_queue_closes_the_gate_until_an_export_takes_spans() {
        let gate = PauseGate::default();
        for _ in 0..QUEUE_CAPACITY - 1 {
            gate.enqueued();
        }
        assert!(!gate.paused());
        gate.enqueued();
        assert!(gate.paused(), "a hung export: the queue is full");
        gate.taken(512);
        assert!(!gate.paused());
    }

    #[test]
    fn pauses_after_a_failure_and_grows_the_pause() {
        let calls = Arc::new(AtomicU32::new(0));
        let e = BackoffExporter::new(
            Failing(calls.clone()),
            Duration::from_millis(50),
            Duration::from_millis(150),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            assert!(e.export(Vec::new()).await.is_err());
            assert!(e.gate().paused(), "the gate shows the pause");
            // paused: the collector is not tried again
            for _ in 0..10 {
                assert!(e.export(Vec::new()).await.is_err());
            }
            assert_eq!(calls.load(Ordering::Relaxed), 1);
            std::thread::sleep(Duration::from_millis(60));
            assert!(!e.gate().paused(), "the pause is over");
            assert!(e.export(Vec::new()).await.is_err());
            assert_eq!(calls.load(Ordering::Relaxed), 2);
            // the pause doubled to 100 ms
            std::thread::sleep(Duration::from_millis(60));
            assert!(e.export(Vec::new()).await.is_err());
            assert_eq!(calls.load(Ordering::Relaxed), 2);
        });
    }
}
