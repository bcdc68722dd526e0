//! [`Repeat`]: a source over and over, with timestamps that keep going.

use std::collections::HashMap;

use async_trait::async_trait;
use savant_sdk_core::source::{Source, SourceItem};

/// Per source id: where this round's timestamps start and end.
#[derive(Debug, Default, Clone, Copy)]
struct Span {
    first: i64,
    end: i64,
}

/// A (cloneable) source repeated: each round starts from a fresh clone of
/// the original, and its frames' pts and dts are shifted by the length of
/// the rounds before, so a module sees one continuous stream.
///
/// ```
/// use savant_sdk_sources::{JpegSource, SourceExt};
/// # fn run(picture: JpegSource) {
/// let ten_times = picture.clone().repeat(Some(10));
/// let forever = picture.repeat(None);
/// # }
/// ```
#[derive(Debug)]
pub struct Repeat<S> {
    template: S,
    current: S,
    rounds_left: Option<u64>,
    offset: HashMap<String, i64>,
    spans: HashMap<String, Span>,
}

impl<S: Clone> Repeat<S> {
    /// `times` rounds of `source` (`None`: forever).
    pub fn new(source: S, times: Option<u64>) -> Self {
        Self {
            current: source.clone(),
            template: source,
            rounds_left: times,
            offset: HashMap::new(),
            spans: HashMap::new(),
        }
    }

    fn shift(
        &mut self,
        source_id: &str,
        pts: &mut i64,
        dts: &mut Option<i64>,
        duration: Option<i64>,
    ) {
        // A source id is copied only the first time it is seen in a round.
        if !self.spans.contains_key(source_id) {
            self.spans.insert(
                source_id.to_string(),
                Span {
                    first: *pts,
                    end: *pts,
                },
            );
        }
        let span = self.spans.get_mut(source_id).expect("inserted above");
        span.first = span.first.min(*pts);
        span.end = span.end.max(*pts + duration.unwrap_or(1).max(1));
        let off = self.offset.get(source_id).copied().unwrap_or(0);
        *pts += off;
        if let Some(d) = dts {
            *d += off;
        }
    }

    fn next_round(&mut self) {
        for (id, span) in self.spans.drain() {
            *self.offset.entry(id).or_insert(0) += span.end - span.first;
        }
        self.current = self.template.clone();
    }
}

#[async_trait]
impl<S: Source + Clone> Source for Repeat<S> {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        loop {
            if self.rounds_left == Some(0) {
                return Ok(None);
            }
            match self.current.next().await? {
                Some(mut item) => {
                    match &mut item {
                        SourceItem::Frame(f) => {
                            let fr = &mut f.frame;
                            self.shift(&fr.source_id, &mut fr.pts, &mut fr.dts, fr.duration);
                        }
                        SourceItem::Batch { batch, .. } => {
                            for fr in batch.frames.values_mut() {
                                self.shift(&fr.source_id, &mut fr.pts, &mut fr.dts, fr.duration);
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
                    if self.spans.is_empty() && self.rounds_left.is_none() {
                        // an empty source repeated forever would spin
                        return Ok(None);
                    }
                    self.next_round();
                }
            }
        }
    }

    fn name(&self) -> &str {
        "repeat"
    }
}
