//! [`Map`] and [`WithUpdate`]: changing items on the way.

use async_trait::async_trait;
use savant_sdk_core::model::VideoFrameUpdate;
use savant_sdk_core::source::{Source, SourceItem};
use savant_sdk_core::Error;

/// Every item of a source through a function.
///
/// ```
/// use savant_sdk_core::source::SourceItem;
/// use savant_sdk_sources::{JpegSource, SourceExt};
/// # fn run(camera: JpegSource) {
/// let renamed = camera.map(|mut item| {
///     if let SourceItem::Frame(f) = &mut item {
///         f.frame.source_id = "entrance".into();
///     }
///     item
/// });
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Map<S, F> {
    inner: S,
    f: F,
}

impl<S, F> Map<S, F> {
    /// `inner` with `f` applied to each item.
    pub fn new(inner: S, f: F) -> Self {
        Self { inner, f }
    }
}

#[async_trait]
impl<S, F> Source for Map<S, F>
where
    S: Source,
    F: FnMut(SourceItem) -> SourceItem + Send,
{
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        Ok(self.inner.next().await?.map(&mut self.f))
    }

    fn name(&self) -> &str {
        "map"
    }
}

/// A frame update merged into every frame of a source (and every frame of
/// its batches).
///
/// ```
/// use savant_sdk_core::model::{Attribute, AttributeValue, VideoFrameUpdate};
/// use savant_sdk_sources::{JpegSource, SourceExt};
/// # fn run(camera: JpegSource) {
/// let tagged = camera.with_update(VideoFrameUpdate {
///     frame_attributes: vec![Attribute::persistent("client", "site", vec![AttributeValue::string("north")])],
///     ..Default::default()
/// });
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct WithUpdate<S> {
    inner: S,
    update: VideoFrameUpdate,
}

impl<S> WithUpdate<S> {
    /// `inner` with `update` merged into its frames.
    pub fn new(inner: S, update: VideoFrameUpdate) -> Self {
        Self { inner, update }
    }
}

#[async_trait]
impl<S: Source> Source for WithUpdate<S> {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        let mut item = self.inner.next().await?;
        let err = |e| Error::source("with_update", e);
        match &mut item {
            Some(SourceItem::Frame(f)) => f.frame.apply_update(&self.update).map_err(err)?,
            Some(SourceItem::Batch { batch, .. }) => {
                for f in batch.frames.values_mut() {
                    f.apply_update(&self.update).map_err(err)?;
                }
            }
            _ => {}
        }
        Ok(item)
    }

    fn name(&self) -> &str {
        "with_update"
    }
}
