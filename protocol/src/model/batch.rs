//! Batches of frames.

use std::collections::BTreeMap;

use super::frame::VideoFrame;

/// Several frames sent as one message, keyed by a caller-chosen slot id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VideoFrameBatch {
    /// Frames by slot id.
    pub frames: BTreeMap<i64, VideoFrame>,
}

impl VideoFrameBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a frame at `slot`.
    pub fn with_frame(mut self, slot: i64, frame: VideoFrame) -> Self {
        self.frames.insert(slot, frame);
        self
    }
}
