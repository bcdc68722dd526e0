//! [`Take`]: the first n frames.

use async_trait::async_trait;
use savant_sdk_core::source::{Source, SourceItem};

/// The first `n` frames of a source (batches count their frames).
///
/// ```
/// use savant_sdk_sources::{JpegSource, SourceExt};
/// # fn run(camera: JpegSource) {
/// let first_hundred = camera.repeat(None).take(100);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Take<S> {
    inner: S,
    left: u64,
}

impl<S> Take<S> {
    /// At most `n` frames of `inner`.
    pub fn new(inner: S, n: u64) -> Self {
        Self { inner, left: n }
    }
}

#[async_trait]
impl<S: Source> Source for Take<S> {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        if self.left == 0 {
            return Ok(None);
        }
        let item = self.inner.next().await?;
        match &item {
            Some(SourceItem::Frame(_)) => self.left -= 1,
            Some(SourceItem::Batch { batch, .. }) => {
                self.left = self.left.saturating_sub(batch.frames.len() as u64)
            }
            _ => {}
        }
        Ok(item)
    }

    fn name(&self) -> &str {
        "take"
    }
}
