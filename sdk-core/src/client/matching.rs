//! [`TraceMatcher`]: pairs sent and received frames by trace id and
//! reports round-trip latency and frames that never came back.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

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

/// Records sent frames and received trace ids.
///
/// ```
/// use std::time::{Duration, Instant};
/// use savant_sdk_core::client::TraceMatcher;
/// use savant_sdk_core::telemetry::TraceId;
/// let mut m = TraceMatcher::new();
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
#[derive(Debug, Default)]
pub struct TraceMatcher {
    order: Vec<(TraceId, String, Option<i64>, Instant)>,
    arrived: HashMap<TraceId, Instant>,
    index: HashSet<TraceId>,
}

impl TraceMatcher {
    /// Nothing recorded yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a frame sent now.
    pub fn sent(&mut self, trace_id: TraceId, source_id: &str, pts: Option<i64>) {
        self.sent_at(trace_id, source_id, pts, Instant::now());
    }

    /// Records a frame sent at `at`.
    pub fn sent_at(&mut self, trace_id: TraceId, source_id: &str, pts: Option<i64>, at: Instant) {
        self.index.insert(trace_id);
        self.order.push((trace_id, source_id.to_string(), pts, at));
    }

    /// Records a frame received now.
    pub fn received(&mut self, trace_id: TraceId) {
        self.received_at(trace_id, Instant::now());
    }

    /// Records a frame received at `at`; the first arrival counts.
    pub fn received_at(&mut self, trace_id: TraceId, at: Instant) {
        self.arrived.entry(trace_id).or_insert(at);
    }

    /// Whether every sent frame has come back.
    pub fn complete(&self) -> bool {
        self.order
            .iter()
            .all(|(t, ..)| self.arrived.contains_key(t))
    }

    /// The report so far.
    pub fn report(&self) -> MatchReport {
        MatchReport {
            frames: self
                .order
                .iter()
                .map(|(t, s, p, at)| MatchedFrame {
                    trace_id: *t,
                    source_id: s.clone(),
                    pts: *p,
                    latency: self
                        .arrived
                        .get(t)
                        .map(|r| r.saturating_duration_since(*at)),
                })
                .collect(),
            unexpected: self
                .arrived
                .keys()
                .filter(|t| !self.index.contains(t))
                .copied()
                .collect(),
        }
    }
}
