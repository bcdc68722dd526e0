//! Frame updates: attributes and objects to merge into a frame elsewhere.

use super::attribute::Attribute;
use super::object::VideoObject;

/// What to do when an incoming attribute collides with an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttributeUpdatePolicy {
    /// Take the incoming one.
    #[default]
    ReplaceWithForeign,
    /// Keep the existing one.
    KeepOwn,
    /// Fail.
    Error,
}

/// What to do with incoming objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ObjectUpdatePolicy {
    /// Add them.
    #[default]
    AddForeignObjects,
    /// Fail when a label already exists.
    ErrorIfLabelsCollide,
    /// Replace existing objects with the same label.
    ReplaceSameLabelObjects,
}

/// An update to merge into a frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VideoFrameUpdate {
    /// Frame attributes to merge.
    pub frame_attributes: Vec<Attribute>,
    /// `(object id, attribute)` pairs to merge.
    pub object_attributes: Vec<(i64, Attribute)>,
    /// Objects to add, with an optional parent id in the target frame.
    pub objects: Vec<(VideoObject, Option<i64>)>,
    /// Policy for frame attributes.
    pub frame_attribute_policy: AttributeUpdatePolicy,
    /// Policy for object attributes.
    pub object_attribute_policy: AttributeUpdatePolicy,
    /// Policy for objects.
    pub object_policy: ObjectUpdatePolicy,
}
