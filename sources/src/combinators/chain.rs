//! [`Chain`]: one source after another.

use async_trait::async_trait;
use savant_sdk_core::source::{Source, SourceItem};

/// Everything of `A`, then everything of `B`.
///
/// ```
/// use savant_sdk_sources::{JpegSource, SourceExt};
/// # fn run(a: JpegSource, b: JpegSource) {
/// let both = a.chain(b);
/// # }
/// ```
#[derive(Debug)]
pub struct Chain<A, B> {
    first: Option<A>,
    second: B,
}

impl<A, B> Chain<A, B> {
    /// `first`, then `second`.
    pub fn new(first: A, second: B) -> Self {
        Self {
            first: Some(first),
            second,
        }
    }
}

#[async_trait]
impl<A: Source, B: Source> Source for Chain<A, B> {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        if let Some(first) = &mut self.first {
            if let Some(item) = first.next().await? {
                return Ok(Some(item));
            }
            self.first = None;
        }
        self.second.next().await
    }

    fn name(&self) -> &str {
        "chain"
    }
}
