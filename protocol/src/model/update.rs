//! Frame updates: attributes and objects to merge into a frame elsewhere.

use super::attribute::Attribute;
use super::frame::VideoFrame;
use super::object::VideoObject;
use crate::error::ModelError;

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

fn merge_attribute(
    attrs: &mut Vec<Attribute>,
    incoming: &Attribute,
    policy: AttributeUpdatePolicy,
) -> Result<(), ModelError> {
    match attrs.iter_mut().find(|a| a.key() == incoming.key()) {
        None => attrs.push(incoming.clone()),
        Some(existing) => match policy {
            AttributeUpdatePolicy::ReplaceWithForeign => *existing = incoming.clone(),
            AttributeUpdatePolicy::KeepOwn => {}
            AttributeUpdatePolicy::Error => {
                return Err(ModelError::DuplicateAttribute {
                    namespace: incoming.namespace.clone(),
                    name: incoming.name.clone(),
                })
            }
        },
    }
    Ok(())
}

impl VideoFrame {
    /// Merges `update` into the frame following its policies. Incoming
    /// objects get fresh ids on this frame; their parent, if any, must be
    /// on it.
    ///
    /// ```
    /// use savant_sdk_protocol::model::*;
    /// let mut frame = VideoFrame::builder("cam").build();
    /// let update = VideoFrameUpdate {
    ///     frame_attributes: vec![Attribute::persistent("client", "note", vec![AttributeValue::string("hi")])],
    ///     objects: vec![(VideoObject::new(0, "det", "car", BoundingBox::ltwh(0.0, 0.0, 10.0, 10.0)), None)],
    ///     ..Default::default()
    /// };
    /// frame.apply_update(&update).unwrap();
    /// assert!(frame.attribute("client", "note").is_some());
    /// assert_eq!(frame.objects.len(), 1);
    /// ```
    pub fn apply_update(&mut self, update: &VideoFrameUpdate) -> Result<(), ModelError> {
        for a in &update.frame_attributes {
            merge_attribute(&mut self.attributes, a, update.frame_attribute_policy)?;
        }
        for (id, a) in &update.object_attributes {
            let o = self
                .objects
                .iter_mut()
                .find(|o| o.id == *id)
                .ok_or(ModelError::UnknownObject(*id))?;
            merge_attribute(&mut o.attributes, a, update.object_attribute_policy)?;
        }
        for (o, parent) in &update.objects {
            if let Some(p) = parent {
                if !self.objects.iter().any(|x| x.id == *p) {
                    return Err(ModelError::UnknownParent {
                        object: o.id,
                        parent: *p,
                    });
                }
            }
            let same = |x: &VideoObject| x.namespace == o.namespace && x.label == o.label;
            match update.object_policy {
                ObjectUpdatePolicy::AddForeignObjects => {}
                ObjectUpdatePolicy::ErrorIfLabelsCollide => {
                    if self.objects.iter().any(same) {
                        return Err(ModelError::LabelCollision {
                            namespace: o.namespace.clone(),
                            label: o.label.clone(),
                        });
                    }
                }
                ObjectUpdatePolicy::ReplaceSameLabelObjects => self.objects.retain(|x| !same(x)),
            }
            let id = self.objects.iter().map(|x| x.id + 1).max().unwrap_or(0);
            let mut o = o.clone();
            o.id = id;
            o.parent_id = *parent;
            self.objects.push(o);
        }
        Ok(())
    }
}
