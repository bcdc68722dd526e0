//! [`SentTimes`]: when each frame was sent, by trace id, so that a viewer
//! in the same process can show round-trip latency.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use savant_sdk_core::client::SourceResult;
use savant_sdk_core::telemetry::TraceId;

/// Default of [`SentTimes::with_capacity`]: frames in flight remembered.
pub const DEFAULT_SENT_CAPACITY: usize = 65_536;

/// When frames were sent, by trace id: a bounded record (the oldest are
/// forgotten beyond its capacity, so frames that never come back cost
/// nothing forever) that a [`Viewer`](crate::Viewer) takes each received
/// frame's send time from. A handle: clones share one record.
///
/// A frame is recorded once its send returned; one whose round trip
/// beats that (rare: two ZeroMQ hops against one) has no latency, and
/// the viewer keeps showing the last known one.
///
/// [`TraceMatcher`](savant_sdk_core::client::TraceMatcher) keeps every
/// frame for its report; this keeps only those in flight, for a viewer
/// that runs for days.
///
/// ```
/// use std::time::{Duration, Instant};
/// use savant_sdk_core::telemetry::TraceId;
/// use savant_sdk_viewer::SentTimes;
/// let sent = SentTimes::with_capacity(2);
/// let t0 = Instant::now();
/// for i in 1..=3u128 {
///     sent.sent_at(TraceId::from(i), t0);
/// }
/// assert_eq!(sent.take(TraceId::from(1)), None); // forgotten: capacity 2
/// assert_eq!(sent.take(TraceId::from(3)), Some(t0));
/// assert_eq!(sent.take(TraceId::from(3)), None); // taken once
/// ```
#[derive(Debug, Clone)]
pub struct SentTimes {
    inner: Arc<Mutex<Record>>,
}

#[derive(Debug)]
struct Record {
    order: VecDeque<TraceId>,
    at: HashMap<TraceId, Instant>,
    capacity: usize,
}

static GLOBAL: OnceLock<SentTimes> = OnceLock::new();

impl Default for SentTimes {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_SENT_CAPACITY)
    }
}

impl SentTimes {
    /// Remembers up to `capacity` frames (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Record {
                order: VecDeque::new(),
                at: HashMap::new(),
                capacity: capacity.max(1),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Record> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a frame sent at `at`.
    pub fn sent_at(&self, trace_id: TraceId, at: Instant) {
        let mut r = self.lock();
        if r.at.insert(trace_id, at).is_none() {
            r.order.push_back(trace_id);
        }
        while r.order.len() > r.capacity {
            if let Some(old) = r.order.pop_front() {
                r.at.remove(&old);
            }
        }
    }

    /// Records what a [`SourceRunner`](savant_sdk_core::client::SourceRunner)
    /// sent, now (results without a trace, such as EOS, are ignored).
    pub fn record(&self, result: &SourceResult) {
        if let (Some(t), "frame") = (result.trace_id, result.kind) {
            self.sent_at(t, Instant::now());
        }
    }

    /// When the frame of `trace_id` was sent, if it is remembered; it is
    /// forgotten then (the first arrival counts).
    pub fn take(&self, trace_id: TraceId) -> Option<Instant> {
        // its place in `order` goes when the capacity pushes it out
        self.lock().at.remove(&trace_id)
    }

    /// Frames remembered.
    pub fn len(&self) -> usize {
        self.lock().at.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The process-wide record, once [`SentTimes::enable_global`] was
    /// called: a pipeline's sources feed it (the CLI's `run` does, from
    /// its pipeline observer) and the `viewer` sinks of pipeline files
    /// read it. `None` until enabled, so feeding it costs one atomic load
    /// in a process without a viewer.
    pub fn global() -> Option<&'static SentTimes> {
        GLOBAL.get()
    }

    /// Enables the process-wide record (idempotent) and returns it.
    pub fn enable_global() -> &'static SentTimes {
        GLOBAL.get_or_init(SentTimes::default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_taken_once() {
        let s = SentTimes::with_capacity(3);
        let t0 = Instant::now();
        for i in 0..10u128 {
            s.sent_at(TraceId::from(i + 1), t0);
        }
        assert_eq!(s.len(), 3);
        assert!(s.take(TraceId::from(7)).is_none());
        assert_eq!(s.take(TraceId::from(10)), Some(t0));
        // taken ids leave room: their order slot goes with the next push
        for i in 20..30u128 {
            s.sent_at(TraceId::from(i), t0);
        }
        assert_eq!(s.len(), 3);
        let r = s.lock();
        assert_eq!(r.order.len(), 3);
    }
}
