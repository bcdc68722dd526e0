//! Video frames: metadata, content and the builder that makes them.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use uuid::Uuid;

use super::attribute::{self, Attribute};
use super::misc_track::MiscTrack;
use super::object::VideoObject;
use crate::error::ModelError;

/// Where a frame's payload is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FrameContent {
    /// The payload travels inside the protobuf message.
    Internal(Bytes),
    /// The payload is elsewhere; with method `"zeromq"` (see
    /// [`FrameContent::ZEROMQ`]) it travels in the extra parts of the same
    /// ZeroMQ multipart message.
    External {
        /// How to fetch it.
        method: String,
        /// Where, for methods that need it.
        location: Option<String>,
    },
    /// No payload.
    #[default]
    None,
}

impl FrameContent {
    /// The external method Savant uses for "payload in the next ZeroMQ parts".
    pub const ZEROMQ: &'static str = "zeromq";

    /// External content carried in the ZeroMQ extra parts.
    pub fn external_zeromq() -> Self {
        FrameContent::External {
            method: Self::ZEROMQ.to_string(),
            location: None,
        }
    }
}

/// Whether the frame's payload is the original or was re-encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TranscodingMethod {
    /// Passed through unchanged.
    #[default]
    Copy,
    /// Re-encoded by the module.
    Encoded,
}

/// A rational time base: one tick is `numerator / denominator` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBase {
    /// Numerator.
    pub numerator: i32,
    /// Denominator.
    pub denominator: i32,
}

impl TimeBase {
    /// Savant's native time base, nanoseconds.
    pub const NANOSECONDS: TimeBase = TimeBase::new(1, 1_000_000_000);

    /// A time base of `numerator / denominator` seconds.
    pub const fn new(numerator: i32, denominator: i32) -> Self {
        Self {
            numerator,
            denominator,
        }
    }
}

impl Default for TimeBase {
    fn default() -> Self {
        Self::NANOSECONDS
    }
}

/// A geometric step applied to a frame on its way (Savant keeps the list so
/// that coordinates can be mapped back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameTransformation {
    /// The size the frame had at the source.
    InitialSize {
        /// Width.
        width: u64,
        /// Height.
        height: u64,
    },
    /// Scaled to this size (0.2.x and 1.x only).
    Scale {
        /// Width.
        width: u64,
        /// Height.
        height: u64,
    },
    /// Padded by these amounts.
    Padding {
        /// Left.
        left: u64,
        /// Top.
        top: u64,
        /// Right.
        right: u64,
        /// Bottom.
        bottom: u64,
    },
    /// The size after all steps (0.2.x and 1.x only).
    ResultingSize {
        /// Width.
        width: u64,
        /// Height.
        height: u64,
    },
    /// Scaled into an outer size with padding (2.x only).
    LetterBox {
        /// Outer width.
        outer_width: u64,
        /// Outer height.
        outer_height: u64,
        /// Left padding.
        left: u64,
        /// Top padding.
        top: u64,
        /// Right padding.
        right: u64,
        /// Bottom padding.
        bottom: u64,
    },
    /// Cropped by these amounts (2.x only).
    Crop {
        /// Left.
        left: u64,
        /// Top.
        top: u64,
        /// Right.
        right: u64,
        /// Bottom.
        bottom: u64,
    },
}

/// A video frame with its metadata, objects and content.
///
/// Build one with [`VideoFrame::builder`]:
///
/// ```
/// use bytes::Bytes;
/// use savant_sdk_protocol::model::{FrameContent, VideoFrame};
/// let frame = VideoFrame::builder("cam-1")
///     .size(1280, 720)
///     .codec("jpeg")
///     .keyframe(true)
///     .pts(0)
///     .content(FrameContent::Internal(Bytes::from_static(b"\xff\xd8...")))
///     .build();
/// assert_eq!(frame.source_id, "cam-1");
/// assert_eq!(frame.framerate, "30/1");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFrame {
    /// Stream identifier; also the ZeroMQ topic.
    pub source_id: String,
    /// Frame id (UUIDv7 when generated here).
    pub uuid: Uuid,
    /// Creation time, nanoseconds since the UNIX epoch.
    pub creation_timestamp_ns: u128,
    /// Frame rate as text, e.g. `"30/1"`.
    pub framerate: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
    /// Whether the payload was re-encoded.
    pub transcoding_method: TranscodingMethod,
    /// Savant codec name: `h264`, `hevc`, `vp8`, `vp9`, `jpeg`, `png`, `raw-rgba`, ...
    pub codec: Option<String>,
    /// Keyframe flag.
    pub keyframe: Option<bool>,
    /// Unit of `pts`, `dts` and `duration`.
    pub time_base: TimeBase,
    /// Presentation timestamp.
    pub pts: i64,
    /// Decoding timestamp.
    pub dts: Option<i64>,
    /// Duration.
    pub duration: Option<i64>,
    /// The payload.
    pub content: FrameContent,
    /// Geometric steps applied so far.
    pub transformations: Vec<FrameTransformation>,
    /// Frame attributes.
    pub attributes: Vec<Attribute>,
    /// Objects on the frame.
    pub objects: Vec<VideoObject>,
    /// Set only by savant-rs pipelines.
    pub previous_frame_seq_id: Option<i64>,
    /// Set only by savant-rs pipelines: uuid of the last keyframe.
    pub previous_keyframe: Option<Uuid>,
    /// Tracker misc tracks (carried by the 2.x layout only).
    pub misc_tracks: Vec<MiscTrack>,
}

impl VideoFrame {
    /// Starts building a frame for `source_id`.
    pub fn builder(source_id: impl Into<String>) -> VideoFrameBuilder {
        VideoFrameBuilder::new(source_id)
    }

    /// Finds a frame attribute by namespace and name.
    pub fn attribute(&self, namespace: &str, name: &str) -> Option<&Attribute> {
        attribute::find(&self.attributes, namespace, name)
    }

    /// Finds an object by id.
    pub fn object(&self, id: i64) -> Option<&VideoObject> {
        self.objects.iter().find(|o| o.id == id)
    }

    /// Checks what savant-rs would refuse: every parent id names an object
    /// of this frame.
    pub fn validate(&self) -> Result<(), ModelError> {
        for o in &self.objects {
            if let Some(p) = o.parent_id {
                if !self.objects.iter().any(|x| x.id == p) {
                    return Err(ModelError::UnknownParent {
                        object: o.id,
                        parent: p,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Builder for [`VideoFrame`]; the defaults are Savant's: 30/1 fps,
/// nanosecond time base, no content, `Copy` transcoding, a fresh UUIDv7 and
/// the current time.
#[derive(Debug, Clone)]
pub struct VideoFrameBuilder {
    frame: VideoFrame,
    uuid_set: bool,
    timestamp_set: bool,
}

impl VideoFrameBuilder {
    fn new(source_id: impl Into<String>) -> Self {
        Self {
            frame: VideoFrame {
                source_id: source_id.into(),
                uuid: Uuid::nil(),
                creation_timestamp_ns: 0,
                framerate: "30/1".to_string(),
                width: 0,
                height: 0,
                transcoding_method: TranscodingMethod::Copy,
                codec: None,
                keyframe: None,
                time_base: TimeBase::NANOSECONDS,
                pts: 0,
                dts: None,
                duration: None,
                content: FrameContent::None,
                transformations: Vec::new(),
                attributes: Vec::new(),
                objects: Vec::new(),
                previous_frame_seq_id: None,
                previous_keyframe: None,
                misc_tracks: Vec::new(),
            },
            uuid_set: false,
            timestamp_set: false,
        }
    }

    /// Frame rate as Savant writes it, e.g. `"30/1"`.
    pub fn framerate(mut self, framerate: impl Into<String>) -> Self {
        self.frame.framerate = framerate.into();
        self
    }
    /// Width and height in pixels.
    pub fn size(mut self, width: i64, height: i64) -> Self {
        self.frame.width = width;
        self.frame.height = height;
        self
    }
    /// Codec name.
    pub fn codec(mut self, codec: impl Into<String>) -> Self {
        self.frame.codec = Some(codec.into());
        self
    }
    /// Keyframe flag.
    pub fn keyframe(mut self, keyframe: bool) -> Self {
        self.frame.keyframe = Some(keyframe);
        self
    }
    /// Time base of the timestamps.
    pub fn time_base(mut self, time_base: TimeBase) -> Self {
        self.frame.time_base = time_base;
        self
    }
    /// Presentation timestamp.
    pub fn pts(mut self, pts: i64) -> Self {
        self.frame.pts = pts;
        self
    }
    /// Decoding timestamp.
    pub fn dts(mut self, dts: i64) -> Self {
        self.frame.dts = Some(dts);
        self
    }
    /// Duration.
    pub fn duration(mut self, duration: i64) -> Self {
        self.frame.duration = Some(duration);
        self
    }
    /// Transcoding method.
    pub fn transcoding_method(mut self, method: TranscodingMethod) -> Self {
        self.frame.transcoding_method = method;
        self
    }
    /// Payload.
    pub fn content(mut self, content: FrameContent) -> Self {
        self.frame.content = content;
        self
    }
    /// Frame id (otherwise a fresh UUIDv7).
    pub fn uuid(mut self, uuid: Uuid) -> Self {
        self.frame.uuid = uuid;
        self.uuid_set = true;
        self
    }
    /// Creation time in ns since the epoch (otherwise now).
    pub fn creation_timestamp_ns(mut self, ns: u128) -> Self {
        self.frame.creation_timestamp_ns = ns;
        self.timestamp_set = true;
        self
    }
    /// Appends a transformation.
    pub fn transformation(mut self, t: FrameTransformation) -> Self {
        self.frame.transformations.push(t);
        self
    }
    /// Appends an attribute.
    pub fn attribute(mut self, a: Attribute) -> Self {
        self.frame.attributes.push(a);
        self
    }
    /// Appends an object.
    pub fn object(mut self, o: VideoObject) -> Self {
        self.frame.objects.push(o);
        self
    }

    /// The frame.
    pub fn build(mut self) -> VideoFrame {
        if !self.uuid_set {
            self.frame.uuid = Uuid::now_v7();
        }
        if !self.timestamp_set {
            self.frame.creation_timestamp_ns = now_ns();
        }
        self.frame
    }
}

/// Nanoseconds since the UNIX epoch.
fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
