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
/// use savant_sdk_protocol::model::AttributeValue;
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

macro_rules! getters {
    ($($(#[$doc:meta])* $name:ident -> $t:ty, $variant:ident($v:ident) => $e:expr;)*) => {
        impl AttributeValue {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> Option<$t> {
                    match &self.kind {
                        AttributeValueKind::$variant($v) => Some($e),
                        _ => None,
                    }
                }
            )*
        }
    };
}

getters! {
    /// The integer, if this is one.
    as_i64 -> i64, Integer(v) => *v;
    /// The float, if this is one.
    as_f64 -> f64, Float(v) => *v;
    /// The boolean, if this is one.
    as_bool -> bool, Boolean(v) => *v;
    /// The text, if this is a string.
    as_str -> &str, String(v) => v.as_str();
    /// The strings, if this is a string vector.
    as_strings -> &[String], StringVector(v) => v.as_slice();
    /// The integers, if this is an integer vector.
    as_i64s -> &[i64], IntegerVector(v) => v.as_slice();
    /// The floats, if this is a float vector.
    as_f64s -> &[f64], FloatVector(v) => v.as_slice();
    /// The booleans, if this is a boolean vector.
    as_bools -> &[bool], BooleanVector(v) => v.as_slice();
    /// The box, if this is one.
    as_bbox -> &BoundingBox, BoundingBox(v) => v;
    /// The boxes, if this is a box vector.
    as_bboxes -> &[BoundingBox], BoundingBoxVector(v) => v.as_slice();
    /// The point, if this is one.
    as_point -> &Point, Point(v) => v;
    /// The points, if this is a point vector.
    as_points -> &[Point], PointVector(v) => v.as_slice();
    /// The polygon, if this is one.
    as_polygon -> &PolygonalArea, Polygon(v) => v;
    /// The polygons, if this is a polygon vector.
    as_polygons -> &[PolygonalArea], PolygonVector(v) => v.as_slice();
    /// The intersection, if this is one.
    as_intersection -> &Intersection, Intersection(v) => v;
}

impl AttributeValue {
    /// The blob and its dimensions, if this is a byte value.
    pub fn as_bytes(&self) -> Option<(&[i64], &Bytes)> {
        match &self.kind {
            AttributeValueKind::Bytes { dims, data } => Some((dims, data)),
            _ => None,
        }
    }

    /// Whether this is the explicit "no value".
    pub fn is_none(&self) -> bool {
        matches!(self.kind, AttributeValueKind::None)
    }
}

/// A named, namespaced list of values.
///
/// Only persistent attributes travel on frames (savant-rs drops temporary
/// frame attributes when it serializes); use [`Attribute::persistent`] for
/// anything the module should see.
///
/// ```
/// use savant_sdk_protocol::model::{Attribute, AttributeValue};
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

    /// The first value, if any.
    ///
    /// ```
    /// use savant_sdk_protocol::model::{Attribute, AttributeValue, BoundingBox};
    /// let a = Attribute::persistent("det", "count", vec![AttributeValue::integer(3)]);
    /// assert_eq!(a.value().and_then(AttributeValue::as_i64), Some(3));
    /// assert_eq!(a.value().and_then(AttributeValue::as_str), None);
    /// let b = Attribute::persistent("det", "roi", vec![AttributeValue::bounding_box(BoundingBox::new(1.0, 2.0, 3.0, 4.0))]);
    /// assert_eq!(b.value().and_then(AttributeValue::as_bbox).map(|b| b.width), Some(3.0));
    /// ```
    pub fn value(&self) -> Option<&AttributeValue> {
        self.values.first()
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
