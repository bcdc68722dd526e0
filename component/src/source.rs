//! The [`Source`] trait: what users implement to feed frames to a module.

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::Result;
use crate::model::{UserData, VideoFrame, VideoFrameBatch};
use crate::BoxFuture;

/// A frame and its payload (the encoded image or video access unit).
///
/// The payload travels in the ZeroMQ part after the message, as Savant's
/// sources send it; an empty payload sends the frame without content.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFrame {
    /// The frame's metadata.
    pub frame: VideoFrame,
    /// The payload.
    pub content: Bytes,
}

impl SourceFrame {
    /// A frame with its payload.
    pub fn new(frame: VideoFrame, content: impl Into<Bytes>) -> Self {
        Self {
            frame,
            content: content.into(),
        }
    }
}

/// One thing a source produces.
// Frames are the common case: boxing them would cost an allocation per frame.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum SourceItem {
    /// A frame with its payload.
    Frame(SourceFrame),
    /// A batch of frames (their content inside the frames), sent on `topic`.
    Batch {
        /// The ZeroMQ topic.
        topic: String,
        /// The frames.
        batch: VideoFrameBatch,
    },
    /// Attributes for a source.
    UserData(UserData),
    /// The end of one source id's stream.
    EndOfStream(String),
}

impl From<SourceFrame> for SourceItem {
    fn from(f: SourceFrame) -> Self {
        SourceItem::Frame(f)
    }
}

/// An async producer of frames.
///
/// `next` returns `Ok(None)` when the source is exhausted: after one item
/// for a single image, after the last file of a folder, never for a camera.
/// The runner that sends a source adds an EOS for every source id that did
/// not end with an explicit [`SourceItem::EndOfStream`].
///
/// Implementing one takes a few lines:
///
/// ```
/// use async_trait::async_trait;
/// use savant_sdk_component::model::VideoFrame;
/// use savant_sdk_component::source::{Source, SourceFrame, SourceItem};
///
/// /// Ten frames of a counter, with the count as payload.
/// struct Counter { n: i64 }
///
/// #[async_trait]
/// impl Source for Counter {
///     async fn next(&mut self) -> savant_sdk_component::Result<Option<SourceItem>> {
///         if self.n == 10 {
///             return Ok(None);
///         }
///         self.n += 1;
///         let frame = VideoFrame::builder("counter").pts(self.n).build();
///         Ok(Some(SourceFrame::new(frame, self.n.to_string()).into()))
///     }
/// }
/// # let mut c = Counter { n: 0 };
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # let mut count = 0;
/// # while rt.block_on(c.next()).unwrap().is_some() { count += 1; }
/// # assert_eq!(count, 10);
/// ```
#[async_trait]
pub trait Source: Send {
    /// The next item, or `None` at the end.
    async fn next(&mut self) -> Result<Option<SourceItem>>;

    /// A short name for logs and errors.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }
}

/// The boxed source's own futures are handed on as they are: `#[async_trait]`
/// here would box a second future around each (an allocation an item).
impl<S: Source + ?Sized> Source for Box<S> {
    fn next<'life0, 'async_trait>(
        &'life0 mut self,
    ) -> BoxFuture<'async_trait, Result<Option<SourceItem>>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        (**self).next()
    }
    fn name(&self) -> &str {
        (**self).name()
    }
}

/// A source over an iterator of items (handy in tests and for frames
/// already in memory).
///
/// ```
/// use savant_sdk_component::model::VideoFrame;
/// use savant_sdk_component::source::{IterSource, SourceFrame, SourceItem};
/// let frames = (0..3).map(|i| SourceItem::Frame(SourceFrame::new(VideoFrame::builder("a").pts(i).build(), "x")));
/// let source = IterSource::new(frames);
/// ```
#[derive(Debug, Clone)]
pub struct IterSource<I> {
    items: I,
}

impl<I> IterSource<I> {
    /// Wraps `items`.
    pub fn new(items: I) -> Self {
        Self { items }
    }
}

#[async_trait]
impl<I> Source for IterSource<I>
where
    I: Iterator<Item = SourceItem> + Send,
{
    async fn next(&mut self) -> Result<Option<SourceItem>> {
        Ok(self.items.next())
    }
    fn name(&self) -> &str {
        "iter"
    }
}
