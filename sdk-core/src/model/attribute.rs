//! Attributes: named, namespaced lists of typed values attached to frames,
//! objects and user data.

use bytes::Bytes;

use super::geometry::{BoundingBox, Intersection, Point, PolygonalArea};

/// The value kinds Savant knows (every variant of the wire `AttributeValue`).
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValueKind {
    /// A tensor-like byte blob with its dimensions.
    Bytes {
        /// Dimensions of the blob.
        dims: Vec<i64>,
        /// The bytes.
        data: Bytes,
    },
    /// Text.
    String(String),
    /// A list of strings.
    StringVector(Vec<String>),
    /// A 64-bit integer.
    Integer(i64),
    /// A list of integers.
    IntegerVector(Vec<i64>),
    /// A 64-bit float (note: geometry uses 32-bit floats).
    Float(f64),
    /// A list of floats.
    FloatVector(Vec<f64>),
    /// A boolean.
    Boolean(bool),
    /// A list of booleans.
    BooleanVector(Vec<bool>),
    /// A box.
    BoundingBox(BoundingBox),
    /// A list of boxes.
    BoundingBoxVector(Vec<BoundingBox>),
    /// A point.
    Point(Point),
    /// A list of points.
    PointVector(Vec<Point>),
    /// A polygon.
    Polygon(PolygonalArea),
    /// A list of polygons.
    PolygonVector(Vec<PolygonalArea>),
    /// A polygon intersection.
    Intersection(Intersection),
    /// An explicit "no value".
    None,
    /// A placeholder for an in-process value of the sender that has no wire form.
    Temporary,
}

/// One value of an attribute, with an optional confidence.
///
/// ```
/// use savant_sdk_core::model::AttributeValue;
/// let v = AttributeValue::integer(7).with_confidence(0.5);
/// assert_eq!(v.confidence, Some(0.5));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeValue {
    /// The value.
    pub kind: AttributeValueKind,
    /// The model's confidence in it, if any.
    pub confidence: Option<f32>,
}

impl AttributeValue {
    /// A value without confidence.
    pub fn new(kind: AttributeValueKind) -> Self {
        Self {
            kind,
            confidence: None,
        }
    }

    /// The same value with a confidence.
    pub fn with_confidence(mut self, confidence: f32) -> Self {
        self.confidence = Some(confidence);
        self
    }

    /// A byte blob with dimensions.
    pub fn bytes(dims: Vec<i64>, data: impl Into<Bytes>) -> Self {
        Self::new(AttributeValueKind::Bytes {
            dims,
            data: data.into(),
        })
    }
    /// A string.
    pub fn string(s: impl Into<String>) -> Self {
        Self::new(AttributeValueKind::String(s.into()))
    }
    /// A list of strings.
    pub fn string_vector<S: Into<String>>(v: impl IntoIterator<Item = S>) -> Self {
        Self::new(AttributeValueKind::StringVector(
            v.into_iter().map(Into::into).collect(),
        ))
    }
    /// An integer.
    pub fn integer(i: i64) -> Self {
        Self::new(AttributeValueKind::Integer(i))
    }
    /// A list of integers.
    pub fn integer_vector(v: Vec<i64>) -> Self {
        Self::new(AttributeValueKind::IntegerVector(v))
    }
    /// A float.
    pub fn float(f: f64) -> Self {
        Self::new(AttributeValueKind::Float(f))
    }
    /// A list of floats.
    pub fn float_vector(v: Vec<f64>) -> Self {
        Self::new(AttributeValueKind::FloatVector(v))
    }
    /// A boolean.
    pub fn boolean(b: bool) -> Self {
        Self::new(AttributeValueKind::Boolean(b))
    }
    /// A list of booleans.
    pub fn boolean_vector(v: Vec<bool>) -> Self {
        Self::new(AttributeValueKind::BooleanVector(v))
    }
    /// A box.
    pub fn bounding_box(b: BoundingBox) -> Self {
        Self::new(AttributeValueKind::BoundingBox(b))
    }
    /// A list of boxes.
    pub fn bounding_box_vector(v: Vec<BoundingBox>) -> Self {
        Self::new(AttributeValueKind::BoundingBoxVector(v))
    }
    /// A point.
    pub fn point(p: Point) -> Self {
        Self::new(AttributeValueKind::Point(p))
    }
    /// A list of points.
    pub fn point_vector(v: Vec<Point>) -> Self {
        Self::new(AttributeValueKind::PointVector(v))
    }
    /// A polygon.
    pub fn polygon(p: PolygonalArea) -> Self {
        Self::new(AttributeValueKind::Polygon(p))
    }
    /// A list of polygons.
    pub fn polygon_vector(v: Vec<PolygonalArea>) -> Self {
        Self::new(AttributeValueKind::PolygonVector(v))
    }
    /// An intersection.
    pub fn intersection(i: Intersection) -> Self {
        Self::new(AttributeValueKind::Intersection(i))
    }
    /// An explicit "no value".
    pub fn none() -> Self {
        Self::new(AttributeValueKind::None)
    }
}

/// A named, namespaced list of values.
///
/// Only persistent attributes travel on frames (savant-rs drops temporary
/// frame attributes when it serializes); use [`Attribute::persistent`] for
/// anything the module should see.
///
/// ```
/// use savant_sdk_core::model::{Attribute, AttributeValue};
/// let a = Attribute::persistent("client", "location", vec![AttributeValue::string("/tmp/a.jpeg")])
///     .with_hint("path");
/// assert!(a.is_persistent);
/// assert_eq!(a.key(), ("client", "location"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// Namespace (Savant's "creator": usually the model or component name).
    pub namespace: String,
    /// Name within the namespace.
    pub name: String,
    /// The values.
    pub values: Vec<AttributeValue>,
    /// Free-form hint for consumers.
    pub hint: Option<String>,
    /// Persistent attributes travel on the wire; temporary ones stay local.
    pub is_persistent: bool,
    /// Hidden attributes are not meant for display.
    pub is_hidden: bool,
}

impl Attribute {
    /// A persistent, visible attribute.
    pub fn persistent(
        namespace: impl Into<String>,
        name: impl Into<String>,
        values: Vec<AttributeValue>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            values,
            hint: None,
            is_persistent: true,
            is_hidden: false,
        }
    }

    /// A temporary (not serialized on frames) attribute.
    pub fn temporary(
        namespace: impl Into<String>,
        name: impl Into<String>,
        values: Vec<AttributeValue>,
    ) -> Self {
        Self {
            is_persistent: false,
            ..Self::persistent(namespace, name, values)
        }
    }

    /// The same attribute with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The same attribute, hidden or not.
    pub fn hidden(mut self, hidden: bool) -> Self {
        self.is_hidden = hidden;
        self
    }

    /// `(namespace, name)`.
    pub fn key(&self) -> (&str, &str) {
        (&self.namespace, &self.name)
    }
}

/// Finds an attribute by namespace and name.
pub(crate) fn find<'a>(
    attrs: &'a [Attribute],
    namespace: &str,
    name: &str,
) -> Option<&'a Attribute> {
    attrs
        .iter()
        .find(|a| a.namespace == namespace && a.name == name)
}
