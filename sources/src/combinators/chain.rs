//! [`Chain`]: one source after another.

use async_trait::async_trait;
use savant_sdk_core::source::{Source, SourceItem};

use super::timeline::Timeline;

/// Everything of `A`, then everything of `B`, with each source id's
/// timestamps increasing throughout.
///
/// Where `B` sends a source id `A` sent too, its frames continue where
/// `A`'s ended: frames whose pts follow their frame rate from 0 (image
/// sources, files read from the start) get the pts of their index in the
/// whole stream, others are shifted to start at the end of `A`'s last
/// frame (a part that already starts later is left as it is). Source ids
/// of `B` alone are untouched.
///
/// ```
/// use savant_sdk_sources::{JpegSource, SourceExt};
/// # fn run(a: JpegSource, b: JpegSource) {
/// let both = a.chain(b);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Chain<A, B> {
    first: Option<A>,
    second: B,
    timeline: Timeline,
}

impl<A, B> Chain<A, B> {
    /// `first`, then `second`.
    pub fn new(first: A, second: B) -> Self {
        Self {
            first: Some(first),
            second,
            timeline: Timeline::default(),
        }
    }

    fn place(&mut self, item: &mut SourceItem) {
        match item {
            SourceItem::Frame(f) => self.timeline.place(&mut f.frame),
            SourceItem::Batch { batch, .. } => {
                for fr in batch.frames.values_mut() {
                    self.timeline.place(fr);
                }
            }
            _ => {}
        }
    }
}

#[async_trait]
impl<A: Source, B: Source> Source for Chain<A, B> {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        if let Some(first) = &mut self.first {
            if let Some(mut item) = first.next().await? {
                self.place(&mut item);
                return Ok(Some(item));
            }
            self.first = None;
            self.timeline.next_segment();
        }
        let mut item = self.second.next().await?;
        if let Some(item) = &mut item {
            self.place(item);
        }
        Ok(item)
    }

    fn name(&self) -> &str {
        "chain"
    }
}
