//! [`Pace`]: frames released in real time.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use savant_sdk_core::model::TimeBase;
use savant_sdk_core::source::{Source, SourceItem};
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// By each frame's pts, per source id.
    Pts,
    /// A fixed interval between frames.
    Interval(Duration),
}

/// Releases frames no faster than real time: by pts (a frame at pts `p` is
/// released `p - p0` after the first frame of its source, converted with
/// its time base), or at a fixed frame rate. A source that falls behind is
/// not made to wait.
///
/// ```
/// use savant_sdk_sources::{JpegSource, Pace, SourceExt};
/// # fn run(a: JpegSource, b: JpegSource) {
/// let by_pts = a.repeat(None).pace();
/// let at_25_fps = Pace::fps(b.repeat(None), 25, 1);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Pace<S> {
    inner: S,
    mode: Mode,
    starts: HashMap<String, (i64, Instant)>,
    next_at: Option<Instant>,
}

pub(crate) fn to_duration(ticks: i64, tb: TimeBase) -> Duration {
    if ticks <= 0 || tb.denominator <= 0 || tb.numerator <= 0 {
        return Duration::ZERO;
    }
    let nanos = ticks as i128 * tb.numerator as i128 * 1_000_000_000 / tb.denominator as i128;
    Duration::from_nanos(nanos.min(u64::MAX as i128) as u64)
}

impl<S> Pace<S> {
    /// Paced by pts.
    pub fn by_pts(inner: S) -> Self {
        Self {
            inner,
            mode: Mode::Pts,
            starts: HashMap::new(),
            next_at: None,
        }
    }

    /// Paced at `numerator/denominator` frames per second.
    pub fn fps(inner: S, numerator: u32, denominator: u32) -> Self {
        let interval =
            Duration::from_secs_f64(f64::from(denominator.max(1)) / f64::from(numerator.max(1)));
        Self {
            inner,
            mode: Mode::Interval(interval),
            starts: HashMap::new(),
            next_at: None,
        }
    }

    fn due(&mut self, item: &SourceItem) -> Option<Instant> {
        let SourceItem::Frame(f) = item else {
            return None;
        };
        let now = Instant::now();
        match self.mode {
            Mode::Pts => {
                let f = &f.frame;
                let (p0, t0) = match self.starts.get(&f.source_id) {
                    Some(start) => *start,
                    None => *self
                        .starts
                        .entry(f.source_id.clone())
                        .or_insert((f.pts, now)),
                };
                Some(t0 + to_duration(f.pts - p0, f.time_base))
            }
            Mode::Interval(d) => {
                let at = self.next_at.unwrap_or(now);
                self.next_at = Some(at.max(now - d) + d);
                Some(at)
            }
        }
    }
}

#[async_trait]
impl<S: Source> Source for Pace<S> {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        let Some(item) = self.inner.next().await? else {
            return Ok(None);
        };
        if let Some(at) = self.due(&item) {
            tokio::time::sleep_until(at).await;
        }
        Ok(Some(item))
    }

    fn name(&self) -> &str {
        "pace"
    }
}
