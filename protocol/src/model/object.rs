//! Detected objects on a frame.

use super::attribute::{self, Attribute};
use super::geometry::BoundingBox;

/// An object found on a frame: a detection with optional tracking data.
///
/// ```
/// use savant_sdk_protocol::model::{BoundingBox, VideoObject};
/// let person = VideoObject::new(1, "detector", "person", BoundingBox::ltwh(10.0, 10.0, 50.0, 100.0))
///     .with_confidence(0.9)
///     .with_track(7, BoundingBox::ltwh(11.0, 10.0, 50.0, 100.0));
/// assert_eq!(person.track_id, Some(7));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct VideoObject {
    /// Id, unique within the frame.
    pub id: i64,
    /// Id of the parent object on the same frame.
    pub parent_id: Option<i64>,
    /// Namespace (the model that produced it).
    pub namespace: String,
    /// Class label.
    pub label: String,
    /// Label to draw instead of `label`.
    pub draw_label: Option<String>,
    /// Where it was detected.
    pub detection_box: BoundingBox,
    /// Attributes of the object.
    pub attributes: Vec<Attribute>,
    /// Detection confidence.
    pub confidence: Option<f32>,
    /// Box from the tracker.
    pub track_box: Option<BoundingBox>,
    /// Track id from the tracker.
    pub track_id: Option<i64>,
}

impl VideoObject {
    /// An object with the required fields.
    pub fn new(
        id: i64,
        namespace: impl Into<String>,
        label: impl Into<String>,
        detection_box: BoundingBox,
    ) -> Self {
        Self {
            id,
            parent_id: None,
            namespace: namespace.into(),
            label: label.into(),
            draw_label: None,
            detection_box,
            attributes: Vec::new(),
            confidence: None,
            track_box: None,
            track_id: None,
        }
    }

    /// Sets the parent object's id.
    pub fn with_parent(mut self, parent_id: i64) -> Self {
        self.parent_id = Some(parent_id);
        self
    }

    /// Sets the draw label.
    pub fn with_draw_label(mut self, draw_label: impl Into<String>) -> Self {
        self.draw_label = Some(draw_label.into());
        self
    }

    /// Sets the confidence.
    pub fn with_confidence(mut self, confidence: f32) -> Self {
        self.confidence = Some(confidence);
        self
    }

    /// Sets the track id and box.
    pub fn with_track(mut self, track_id: i64, track_box: BoundingBox) -> Self {
        self.track_id = Some(track_id);
        self.track_box = Some(track_box);
        self
    }

    /// Adds an attribute.
    pub fn with_attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Finds an attribute by namespace and name.
    pub fn attribute(&self, namespace: &str, name: &str) -> Option<&Attribute> {
        attribute::find(&self.attributes, namespace, name)
    }
}
