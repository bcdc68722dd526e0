//! The Savant data model: frames, objects, attributes, batches, updates,
//! EOS, shutdown, user data and the message envelope.
//!
//! These are plain Rust values; [`crate::codec`] turns them into the bytes
//! savant-rs 0.3.x reads and back.

mod attribute;
mod batch;
mod frame;
mod geometry;
mod message;
mod misc_track;
mod object;
mod update;

pub use attribute::{Attribute, AttributeValue, AttributeValueKind};
pub use batch::VideoFrameBatch;
pub use frame::{
    FrameContent, FrameTransformation, TimeBase, TranscodingMethod, VideoFrame, VideoFrameBuilder,
};
pub use geometry::{
    BoundingBox, Intersection, IntersectionEdge, IntersectionKind, Point, PolygonalArea,
};
pub use message::{
    EndOfStream, Message, MessagePayload, PropagatedContext, Shutdown, Unknown, UserData,
    DEFAULT_PROTOCOL_VERSION, PROTOCOL_VERSION_0_2,
};
pub use misc_track::{MiscTrack, MiscTrackCategory, MiscTrackFrame, TrackState};
pub use object::VideoObject;
pub use update::{AttributeUpdatePolicy, ObjectUpdatePolicy, VideoFrameUpdate};
