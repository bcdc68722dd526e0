//! [`Repeat`]: a source over and over, with timestamps that keep going.

use std::sync::Arc;

use async_trait::async_trait;
use savant_sdk_core::source::{Source, SourceItem};

use super::timeline::Timeline;

/// A source repeated: each round starts from a fresh source (a clone of
/// the original, or what a factory makes), and each source id's pts and
/// dts continue from where the round before ended (see [`super::Chain`]
/// for the rule), so a module sees one continuous stream.
///
/// ```
/// use savant_sdk_core::source::Source;
/// use savant_sdk_sources::{interleave, JpegSource, Repeat, SourceExt};
/// # fn run(picture: JpegSource, other: JpegSource) {
/// let ten_times = picture.clone().repeat(Some(10));
/// let forever = picture.clone().take(3).repeat(None);
/// // any source, Clone or not, from a factory
/// let rounds = Repeat::with_factory(Some(2), move || {
///     interleave(vec![Box::new(picture.clone()) as Box<dyn Source>, Box::new(other.clone())])
/// });
/// # }
/// ```
pub struct Repeat<S> {
    make: Arc<dyn Fn() -> S + Send + Sync>,
    current: S,
    rounds_left: Option<u64>,
    /// Whether the current round gave anything (an empty source repeated
    /// forever would spin).
    round_gave: bool,
    timeline: Timeline,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Repeat<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repeat")
            .field("current", &self.current)
            .field("rounds_left", &self.rounds_left)
            .finish()
    }
}

impl<S: Clone> Clone for Repeat<S> {
    fn clone(&self) -> Self {
        Self {
            make: self.make.clone(),
            current: self.current.clone(),
            rounds_left: self.rounds_left,
            round_gave: self.round_gave,
            timeline: self.timeline.clone(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Repeat<S> {
    /// `times` rounds of `source` (`None`: forever), each from a clone.
    pub fn new(source: S, times: Option<u64>) -> Self {
        Self::with_factory(times, move || source.clone())
    }
}

impl<S> Repeat<S> {
    /// `times` rounds (`None`: forever), each of a source `make` returns:
    /// works for any source, `Box<dyn Source>` and combinators included.
    pub fn with_factory(times: Option<u64>, make: impl Fn() -> S + Send + Sync + 'static) -> Self {
        Self {
            current: make(),
            make: Arc::new(make),
            rounds_left: times,
            round_gave: false,
            timeline: Timeline::default(),
        }
    }
}

#[async_trait]
impl<S: Source> Source for Repeat<S> {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        loop {
            if self.rounds_left == Some(0) {
                return Ok(None);
            }
            match self.current.next().await? {
                Some(mut item) => {
                    self.round_gave = true;
                    match &mut item {
                        SourceItem::Frame(f) => self.timeline.place(&mut f.frame),
                        SourceItem::Batch { batch, .. } => {
                            for fr in batch.frames.values_mut() {
                                self.timeline.place(fr);
                            }
                        }
                        _ => {}
                    }
                    return Ok(Some(item));
                }
                None => {
                    if let Some(n) = &mut self.rounds_left {
                        *n -= 1;
                    }
                    if !self.round_gave && self.rounds_left.is_none() {
                        return Ok(None);
                    }
                    if self.rounds_left == Some(0) {
                        return Ok(None);
                    }
                    self.round_gave = false;
                    self.current = (self.make)();
                    self.timeline.next_segment();
                }
            }
        }
    }

    fn name(&self) -> &str {
        "repeat"
    }
}
