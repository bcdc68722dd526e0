//! Tracker misc tracks (shadow, terminated and past-frame tracks), which
//! frames carry from savant-rs 2.x on.

/// Which kind of misc track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MiscTrackCategory {
    /// A shadow track.
    #[default]
    Shadow,
    /// A track that has ended.
    Terminated,
    /// Past-frame data of a track.
    PastFrame,
}

/// A tracker's state for one frame of a misc track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrackState {
    /// No state.
    #[default]
    Empty,
    /// Active.
    Active,
    /// Inactive.
    Inactive,
    /// Tentative.
    Tentative,
    /// Projected.
    Projected,
}

/// One frame of a misc track.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MiscTrackFrame {
    /// Frame number.
    pub frame_num: i64,
    /// Box left edge.
    pub bbox_left: f32,
    /// Box top edge.
    pub bbox_top: f32,
    /// Box width.
    pub bbox_width: f32,
    /// Box height.
    pub bbox_height: f32,
    /// Confidence.
    pub confidence: f32,
    /// Age in frames.
    pub age: i64,
    /// Tracker state.
    pub state: TrackState,
    /// Visibility.
    pub visibility: f32,
}

/// A track the tracker keeps beside the frame's objects.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MiscTrack {
    /// The tracked object's id.
    pub object_id: u64,
    /// Class id.
    pub class_id: i64,
    /// Label.
    pub label: Option<String>,
    /// Source id.
    pub source_id: String,
    /// Kind of track.
    pub category: MiscTrackCategory,
    /// Its frames.
    pub frames: Vec<MiscTrackFrame>,
}
