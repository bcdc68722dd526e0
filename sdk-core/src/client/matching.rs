//! [`TraceMatcher`]: pairs sent and received frames by trace id and
//! reports round-trip latency and frames that never came back.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::client::SourceResult;
use crate::sink::SinkResult;
use crate::telemetry::TraceId;

/// One sent frame and, if it came back, when.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchedFrame {
    /// The trace id.
    pub trace_id: TraceId,
    /// Source id and pts as sent.
    pub source_id: String,
    /// pts as sent.
    pub pts: Option<i64>,
    /// Round-trip latency; `None` if it did not come back.
    pub latency: Option<Duration>,
}

/// The outcome of matching.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatchReport {
    /// Every sent frame, in sending order.
    pub frames: Vec<MatchedFrame>,
    /// Received trace ids that were never sent (from another sender).
    pub unexpected: Vec<TraceId>,
}

impl MatchReport {
    /// Frames that came back.
    pub fn received(&self) -> usize {
        self.frames.iter().filter(|f| f.latency.is_some()).count()
    }

    /// Frames that did not come back.
    pub fn missing(&self) -> Vec<&MatchedFrame> {
        self.frames.iter().filter(|f| f.latency.is_none()).collect()
    }

    /// The `p`-quantile (0..=1) of the latencies of the frames that came back.
    pub fn latency_quantile(&self, p: f64) -> Option<Duration> {
        let mut v: Vec<Duration> = self.frames.iter().filter_map(|f| f.latency).collect();
        if v.is_empty() {
            return None;
        }
        v.sort();
        Some(v[((v.len() - 1) as f64 * p.clamp(0.0, 1.0)).round() as usize])
    }
}

/// Records sent frames and received trace ids. It is a handle: clones
/// share one record, and every method takes `&self`, so the sending and
/// the receiving task each keep a clone (no `Arc<Mutex<..>>` needed).
///
/// ```
/// use std::time::{Duration, Instant};
/// use savant_sdk_core::client::TraceMatcher;
/// use savant_sdk_core::telemetry::TraceId;
/// let m = TraceMatcher::new();
/// let (a, b) = (TraceId::from(1u128), TraceId::from(2u128));
/// let t0 = Instant::now();
/// m.sent_at(a, "cam", Some(0), t0);
/// m.sent_at(b, "cam", Some(1), t0);
/// m.received_at(a, t0 + Duration::from_millis(3));
/// let report = m.report();
/// assert_eq!(report.received(), 1);
/// assert_eq!(report.missing()[0].trace_id, b);
/// assert_eq!(report.latency_quantile(0.5), Some(Duration::from_millis(3)));
/// ```
/// Arrivals may be recorded before their sending (a fast round trip can
/// beat the sender's bookkeeping); they are matched either way.
///
/// Fed from the runners' results directly:
///
/// ```no_run
/// # async fn run(source: savant_sdk_core::client::SourceRunner, mut sink: savant_sdk_core::client::SinkRunner, frame: savant_sdk_core::source::SourceFrame) -> savant_sdk_core::Result<()> {
/// use savant_sdk_core::client::TraceMatcher;
/// let matcher = TraceMatcher::new();
/// let on_receive = matcher.clone(); // for the receiving task
/// matcher.record_sent(&source.send(frame).await?);
/// while let Some(result) = sink.next().await {
///     on_receive.record_received(&result?);
/// }
/// println!("{} of {} came back", matcher.report().received(), matcher.report().frames.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Default, Clone)]
pub struct TraceMatcher {
    inner: Arc<Mutex<Record>>,
}

#[derive(Debug, Default)]
struct Record {
    order: Vec<(TraceId, String, Option<i64>, Instant)>,
    arrived: HashMap<TraceId, Instant>,
    index: HashSet<TraceId>,
}

impl TraceMatcher {
    /// Nothing recorded yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&self) -> MutexGuard<'_, Record> {
        // a panic elsewhere while holding the lock leaves the record usable
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a frame sent now.
    pub fn sent(&self, trace_id: TraceId, source_id: &str, pts: Option<i64>) {
        self.sent_at(trace_id, source_id, pts, Instant::now());
    }

    /// Records a frame sent at `at`.
    pub fn sent_at(&self, trace_id: TraceId, source_id: &str, pts: Option<i64>, at: Instant) {
        let mut r = self.record();
        r.index.insert(trace_id);
        r.order.push((trace_id, source_id.to_string(), pts, at));
    }

    /// Records what [`crate::client::SourceRunner`] sent, now (results
    /// without a trace, such as EOS, are ignored).
    pub fn record_sent(&self, result: &SourceResult) {
        if let Some(t) = result.trace_id {
            self.sent(t, &result.source_id, result.pts);
        }
    }

    /// Records a frame received now.
    pub fn received(&self, trace_id: TraceId) {
        self.received_at(trace_id, Instant::now());
    }

    /// Records what [`crate::client::SinkRunner`] received, now (results
    /// without a trace are ignored).
    pub fn record_received(&self, result: &SinkResult) {
        if let Some(t) = result.trace_id {
            self.received(t);
        }
    }

    /// Records a frame received at `at`; the first arrival counts.
    pub fn received_at(&self, trace_id: TraceId, at: Instant) {
        self.record().arrived.entry(trace_id).or_insert(at);
    }

    /// Whether every sent frame has come back.
    pub fn complete(&self) -> bool {
        let r = self.record();
        r.order.iter().all(|(t, ..)| r.arrived.contains_key(t))
    }

    /// The report so far.
    pub fn report(&self) -> MatchReport {
        let r = self.record();
        let this = &*r;
        MatchReport {
            frames: this
                .order
                .iter()
                .map(|(t, s, p, at)| MatchedFrame {
                    trace_id: *t,
                    source_id: s.clone(),
                    pts: *p,
                    latency: this
                        .arrived
                        .get(t)
                        .map(|r| r.saturating_duration_since(*at)),
                })
                .collect(),
            unexpected: this
                .arrived
                .keys()
                .filter(|t| !this.index.contains(t))
                .copied()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Message, VideoFrame};
    use crate::transport::WriteOutcome;

    #[test]
    fn clones_share_one_record_fed_from_runner_results() {
        let trace = TraceId::from(7u128);
        let sent = SourceResult {
            source_id: "cam".into(),
            pts: Some(3),
            status: WriteOutcome::Sent { attempts: 1 },
            trace_id: Some(trace),
            kind: "frame",
            content_bytes: 0,
            log_handle: Default::default(),
        };
        let eos = SourceResult {
            trace_id: None,
            kind: "eos",
            content_bytes: 0,
            pts: None,
            ..sent.clone()
        };
        let received = SinkResult {
            topic: "cam".into(),
            message: Message::video_frame(VideoFrame::builder("cam").build()),
            content: None,
            trace_id: Some(trace),
            log_handle: Default::default(),
            seq_gap: None,
        };
        let matcher = TraceMatcher::new();
        let receiving = matcher.clone();
        let t = std::thread::spawn(move || receiving.record_received(&received));
        matcher.record_sent(&sent);
        matcher.record_sent(&eos); // no trace: not a frame to match
        t.join().unwrap();
        let report = matcher.report();
        assert_eq!(report.frames.len(), 1);
        assert_eq!(report.received(), 1);
        assert_eq!(report.frames[0].pts, Some(3));
        assert!(matcher.complete());
    }
}
