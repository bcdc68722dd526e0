//! [`Lossy`] and [`Loss`]: frames dropped at random, reproducibly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use savant_sdk_core::source::{Source, SourceItem};

use crate::error::SourceError;

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator, enough
/// to decide drops reproducibly (not for cryptography).
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Checks a loss rate: a probability in [0, 1).
pub fn check_loss_rate(rate: f64) -> Result<f64, SourceError> {
    if rate.is_finite() && (0.0..1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(SourceError::InvalidSetting(format!(
            "loss rate {rate} is not a probability in [0, 1)"
        )))
    }
}

/// A seeded drop decision per frame: each frame is dropped with
/// probability `rate`, the same frames for the same seed. Counts what it
/// dropped (shared with [`Loss::dropped_counter`]) and logs the count when
/// it is dropped itself (at the source's end).
#[derive(Debug)]
pub struct Loss {
    rate: f64,
    seed: u64,
    rng: SplitMix64,
    seen: u64,
    dropped: Arc<AtomicU64>,
}

impl Loss {
    /// Drops with probability `rate` (in [0, 1); anything else, NaN
    /// included, is [`SourceError::InvalidSetting`]) from `seed`.
    pub fn new(rate: f64, seed: u64) -> Result<Self, SourceError> {
        Ok(Self {
            rate: check_loss_rate(rate)?,
            seed,
            rng: SplitMix64(seed),
            seen: 0,
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Whether to drop the next frame (one draw per frame).
    pub fn drop_next(&mut self) -> bool {
        self.seen += 1;
        let drop = self.rng.next_f64() < self.rate;
        if drop {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        drop
    }

    /// Frames dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Frames decided so far (sent and dropped).
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The count of dropped frames, readable after the source is boxed.
    pub fn dropped_counter(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl Drop for Loss {
    fn drop(&mut self) {
        if self.rate > 0.0 {
            tracing::info!(
                dropped = self.dropped(),
                frames = self.seen,
                loss_rate = self.rate,
                seed = self.seed,
                "lossy source: frames dropped before sending"
            );
        }
    }
}

/// A source whose frames are dropped at random before they are sent,
/// each with probability `rate`, reproducibly for a seed (a tiny
/// SplitMix64, one draw per frame). EOS and other items always pass.
///
/// ```
/// use savant_sdk_sources::{JpegSource, SourceExt};
/// # fn run(picture: JpegSource) -> Result<(), savant_sdk_sources::SourceError> {
/// let lossy = picture.repeat(None).lossy(0.05, 42)?; // 5 % of the frames dropped
/// let dropped = lossy.dropped_counter(); // read it while or after it runs
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Lossy<S> {
    inner: S,
    loss: Loss,
}

impl<S> Lossy<S> {
    /// `inner` with its frames dropped with probability `rate` from `seed`.
    pub fn new(inner: S, rate: f64, seed: u64) -> Result<Self, SourceError> {
        Ok(Self {
            inner,
            loss: Loss::new(rate, seed)?,
        })
    }

    /// Frames dropped so far.
    pub fn dropped_frames(&self) -> u64 {
        self.loss.dropped()
    }

    /// The count of dropped frames, shared (for after the source is boxed).
    pub fn dropped_counter(&self) -> Arc<AtomicU64> {
        self.loss.dropped_counter()
    }
}

#[async_trait]
impl<S: Source> Source for Lossy<S> {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        loop {
            match self.inner.next().await? {
                Some(SourceItem::Frame(_)) if self.loss.drop_next() => continue,
                item => return Ok(item),
            }
        }
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

#[cfg(test)]
mod tests {
    use savant_sdk_core::model::VideoFrame;
    use savant_sdk_core::source::{IterSource, SourceFrame};

    use super::*;

    fn frames(n: i64) -> impl Source {
        IterSource::new(
            (0..n)
                .map(|i| {
                    SourceItem::Frame(SourceFrame::new(
                        VideoFrame::builder("a").pts(i).build(),
                        "x",
                    ))
                })
                .chain(std::iter::once(SourceItem::EndOfStream("a".into()))),
        )
    }

    async fn sent(rate: f64, seed: u64) -> (Vec<i64>, u64, bool) {
        let mut s = Lossy::new(frames(1000), rate, seed).unwrap();
        let mut pts = Vec::new();
        let mut eos = false;
        while let Some(item) = s.next().await.unwrap() {
            match item {
                SourceItem::Frame(f) => pts.push(f.frame.pts),
                SourceItem::EndOfStream(_) => eos = true,
                _ => {}
            }
        }
        (pts, s.dropped_frames(), eos)
    }

    #[tokio::test]
    async fn the_same_seed_drops_the_same_frames() {
        let (a, dropped_a, eos) = sent(0.3, 7).await;
        let (b, dropped_b, _) = sent(0.3, 7).await;
        assert_eq!(a, b);
        assert_eq!(dropped_a, dropped_b);
        assert!(eos, "EOS always passes");
        assert_eq!(a.len() as u64 + dropped_a, 1000);
        assert!((240..=360).contains(&dropped_a), "{dropped_a}");
        let (c, _, _) = sent(0.3, 8).await;
        assert_ne!(a, c, "another seed, other frames");
        assert_eq!(sent(0.0, 1).await.1, 0);
    }

    #[test]
    fn rates_outside_zero_to_one_are_refused() {
        for rate in [-0.1, 1.0, 1.5, f64::NAN, f64::INFINITY] {
            let e = Loss::new(rate, 1).unwrap_err().to_string();
            assert!(e.contains("not a probability in [0, 1)"), "{rate}: {e}");
        }
    }
}
