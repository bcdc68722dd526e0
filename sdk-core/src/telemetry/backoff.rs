//! [`BackoffExporter`]: an exporter that stops trying for a while after a
//! failed export, so an unreachable collector costs no CPU on a busy host.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

/// Wraps an exporter: after a failure, batches are dropped unencoded for a
/// pause that doubles on each failure (from `min` up to `max`) and resets on
/// success.
#[derive(Debug)]
pub(crate) struct BackoffExporter<E> {
    inner: E,
    min: Duration,
    max: Duration,
    state: Mutex<(Option<Instant>, Duration)>,
    dropped: AtomicU64,
}

impl<E> BackoffExporter<E> {
    pub(crate) fn new(inner: E, min: Duration, max: Duration) -> Self {
        Self {
            inner,
            min,
            max,
            state: Mutex::new((None, min)),
            dropped: AtomicU64::new(0),
        }
    }
}

impl<E: SpanExporter> SpanExporter for BackoffExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let paused = {
            let s = self
                .state
                .lock()
                .map_err(|_| OTelSdkError::InternalFailure("poisoned".into()))?;
            s.0.is_some_and(|until| Instant::now() < until)
        };
        if paused {
            self.dropped
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            return Err(OTelSdkError::InternalFailure(
                "collector unreachable; spans dropped while pausing".into(),
            ));
        }
        let r = self.inner.export(batch).await;
        if let Ok(mut s) = self.state.lock() {
            match &r {
                Ok(()) => *s = (None, self.min),
                Err(e) => {
                    let pause = s.1;
                    tracing::debug!(error = %e, ?pause, "span export failed; pausing");
                    *s = (Some(Instant::now() + pause), (pause * 2).min(self.max));
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
            // paused: the collector is not tried again
            for _ in 0..10 {
                assert!(e.export(Vec::new()).await.is_err());
            }
            assert_eq!(calls.load(Ordering::Relaxed), 1);
            std::thread::sleep(Duration::from_millis(60));
            assert!(e.export(Vec::new()).await.is_err());
            assert_eq!(calls.load(Ordering::Relaxed), 2);
            // the pause doubled to 100 ms
            std::thread::sleep(Duration::from_millis(60));
            assert!(e.export(Vec::new()).await.is_err());
            assert_eq!(calls.load(Ordering::Relaxed), 2);
        });
    }
}
