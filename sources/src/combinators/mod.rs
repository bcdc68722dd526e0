//! Sources made of sources: [`SourceExt`] adds `chain`, `take`, `map`,
//! `with_update`, `repeat`, `pace` and `lossy` to every [`Source`]; [`interleave`]
//! runs several at once. Each result is a `Source` itself, so they compose.
//!
//! ```
//! use savant_sdk_core::model::VideoFrame;
//! use savant_sdk_core::source::{IterSource, SourceFrame, SourceItem};
//! use savant_sdk_sources::SourceExt;
//!
//! fn frames(id: &'static str, n: i64) -> IterSource<impl Iterator<Item = SourceItem> + Send> {
//!     IterSource::new((0..n).map(move |i| SourceItem::Frame(SourceFrame::new(VideoFrame::builder(id).pts(i).build(), "x"))))
//! }
//! // a then b, the first 5 frames, each marked
//! let source = frames("a", 3).chain(frames("b", 3)).take(5).map(|mut item| {
//!     if let SourceItem::Frame(f) = &mut item { f.frame.codec = Some("jpeg".into()); }
//!     item
//! });
//! ```

mod chain;
mod interleave;
mod lossy;
mod map;
pub(crate) mod pace;
mod repeat;
mod take;
mod timeline;

pub use chain::Chain;
pub use interleave::{interleave, Interleave};
pub use lossy::{check_loss_rate, Loss, Lossy};
pub use map::{Map, WithUpdate};
pub use pace::Pace;
pub use repeat::Repeat;
pub use take::Take;

use savant_sdk_core::model::VideoFrameUpdate;
use savant_sdk_core::source::{Source, SourceItem};

/// Combinators for every [`Source`].
pub trait SourceExt: Source + Sized {
    /// This source, then `next`.
    fn chain<S: Source>(self, next: S) -> Chain<Self, S> {
        Chain::new(self, next)
    }

    /// The first `n` frames (EOS and other items pass through until then).
    fn take(self, n: u64) -> Take<Self> {
        Take::new(self, n)
    }

    /// Every item through `f`.
    fn map<F>(self, f: F) -> Map<Self, F>
    where
        F: FnMut(SourceItem) -> SourceItem + Send,
    {
        Map::new(self, f)
    }

    /// `update` merged into every frame.
    fn with_update(self, update: VideoFrameUpdate) -> WithUpdate<Self> {
        WithUpdate::new(self, update)
    }

    /// The source again and again: `times` rounds in all, or forever with
    /// `None`, each round from a clone. Timestamps continue across rounds
    /// instead of starting over. For a source that is not `Clone`, use
    /// [`Repeat::with_factory`].
    fn repeat(self, times: Option<u64>) -> Repeat<Self>
    where
        Self: Clone + Sync + 'static,
    {
        Repeat::new(self, times)
    }

    /// Frames dropped at random before they are sent, each with
    /// probability `rate` in [0, 1), the same frames for the same `seed`.
    fn lossy(self, rate: f64, seed: u64) -> Result<Lossy<Self>, crate::SourceError> {
        Lossy::new(self, rate, seed)
    }

    /// Frames released in real time by their pts (per source id).
    fn pace(self) -> Pace<Self> {
        Pace::by_pts(self)
    }
}

impl<S: Source + Sized> SourceExt for S {}
