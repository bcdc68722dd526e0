//! The metadata JSON-lines schema: one [`Record`] per frame or EOS.
//!
//! These types are the schema: [`crate::MetadataJsonSink`] writes them and
//! they read back with unknown fields refused, so the README's description
//! and the code cannot drift apart.

use savant_sdk_core::model::{
    Attribute, AttributeValue, AttributeValueKind, BoundingBox, IntersectionKind, VideoObject,
};
use savant_sdk_core::sink::SinkResult;
use serde::{Deserialize, Serialize};

/// One line of the metadata output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum Record {
    /// A frame.
    Frame(FrameRecord),
    /// The end of a source's stream.
    Eos {
        /// The source.
        source_id: String,
    },
}

/// A frame's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameRecord {
    /// Source id.
    pub source_id: String,
    /// Frame uuid.
    pub uuid: String,
    /// Presentation timestamp, in `time_base` units.
    pub pts: i64,
    /// Decoding timestamp.
    pub dts: Option<i64>,
    /// Duration.
    pub duration: Option<i64>,
    /// `[numerator, denominator]`.
    pub time_base: [i32; 2],
    /// Codec name.
    pub codec: Option<String>,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
    /// Keyframe flag.
    pub keyframe: Option<bool>,
    /// Trace id (32 hex digits) from the propagated context.
    pub trace_id: Option<String>,
    /// Payload size in bytes.
    pub content_bytes: usize,
    /// Frame attributes.
    pub attributes: Vec<AttributeRecord>,
    /// Objects.
    pub objects: Vec<ObjectRecord>,
}

/// An attribute with its values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeRecord {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Hint.
    pub hint: Option<String>,
    /// Hidden flag.
    pub is_hidden: bool,
    /// Values.
    pub values: Vec<ValueRecord>,
}

/// One attribute value: its kind, the value as JSON and the confidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueRecord {
    /// `bytes`, `string`, `string_vector`, `integer`, `integer_vector`,
    /// `float`, `float_vector`, `boolean`, `boolean_vector`, `bbox`,
    /// `bbox_vector`, `point`, `point_vector`, `polygon`, `polygon_vector`,
    /// `intersection`, `none` or `temporary`.
    pub kind: String,
    /// The value: a number, string, boolean, list, box
    /// (`{xc, yc, width, height, angle}`), point (`{x, y}`), polygon
    /// (`{points, tags}`), intersection (`{kind, edges}`), bytes
    /// (`{dims, hex}`) or null.
    pub value: serde_json::Value,
    /// Confidence.
    pub confidence: Option<f32>,
}

/// A box.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoxRecord {
    /// Centre x.
    pub xc: f32,
    /// Centre y.
    pub yc: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
    /// Rotation in degrees.
    pub angle: Option<f32>,
}

/// An object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectRecord {
    /// Id.
    pub id: i64,
    /// Parent object id.
    pub parent_id: Option<i64>,
    /// Namespace.
    pub namespace: String,
    /// Label.
    pub label: String,
    /// Label to draw.
    pub draw_label: Option<String>,
    /// Confidence.
    pub confidence: Option<f32>,
    /// Detection box.
    pub detection_box: BoxRecord,
    /// Tracker box.
    pub track_box: Option<BoxRecord>,
    /// Track id.
    pub track_id: Option<i64>,
    /// Object attributes.
    pub attributes: Vec<AttributeRecord>,
}

impl From<&BoundingBox> for BoxRecord {
    fn from(b: &BoundingBox) -> Self {
        Self {
            xc: b.xc,
            yc: b.yc,
            width: b.width,
            height: b.height,
            angle: b.angle,
        }
    }
}

fn value_json(v: &AttributeValueKind) -> (&'static str, serde_json::Value) {
    use serde_json::json;
    use AttributeValueKind as K;
    let bbox = |b: &BoundingBox| serde_json::to_value(BoxRecord::from(b)).unwrap_or_default();
    let point = |p: &savant_sdk_core::model::Point| json!({"x": p.x, "y": p.y});
    let polygon = |p: &savant_sdk_core::model::PolygonalArea| json!({"points": p.points.iter().map(point).collect::<Vec<_>>(), "tags": p.tags});
    match v {
        K::Bytes { dims, data } => (
            "bytes",
            json!({"dims": dims, "hex": data.iter().map(|b| format!("{b:02x}")).collect::<String>()}),
        ),
        K::String(s) => ("string", json!(s)),
        K::StringVector(s) => ("string_vector", json!(s)),
        K::Integer(i) => ("integer", json!(i)),
        K::IntegerVector(i) => ("integer_vector", json!(i)),
        K::Float(f) => ("float", json!(f)),
        K::FloatVector(f) => ("float_vector", json!(f)),
        K::Boolean(b) => ("boolean", json!(b)),
        K::BooleanVector(b) => ("boolean_vector", json!(b)),
        K::BoundingBox(b) => ("bbox", bbox(b)),
        K::BoundingBoxVector(b) => ("bbox_vector", b.iter().map(bbox).collect()),
        K::Point(p) => ("point", point(p)),
        K::PointVector(p) => ("point_vector", p.iter().map(point).collect()),
        K::Polygon(p) => ("polygon", polygon(p)),
        K::PolygonVector(p) => ("polygon_vector", p.iter().map(polygon).collect()),
        K::Intersection(i) => (
            "intersection",
            json!({
                "kind": match i.kind {
                    IntersectionKind::Enter => "enter",
                    IntersectionKind::Inside => "inside",
                    IntersectionKind::Leave => "leave",
                    IntersectionKind::Cross => "cross",
                    IntersectionKind::Outside => "outside",
                },
                "edges": i.edges.iter().map(|e| json!({"id": e.id, "tag": e.tag})).collect::<Vec<_>>(),
            }),
        ),
        K::None => ("none", serde_json::Value::Null),
        K::Temporary => ("temporary", serde_json::Value::Null),
    }
}

impl From<&AttributeValue> for ValueRecord {
    fn from(v: &AttributeValue) -> Self {
        let (kind, value) = value_json(&v.kind);
        Self {
            kind: kind.to_string(),
            value,
            confidence: v.confidence,
        }
    }
}

impl From<&Attribute> for AttributeRecord {
    fn from(a: &Attribute) -> Self {
        Self {
            namespace: a.namespace.clone(),
            name: a.name.clone(),
            hint: a.hint.clone(),
            is_hidden: a.is_hidden,
            values: a.values.iter().map(ValueRecord::from).collect(),
        }
    }
}

impl From<&VideoObject> for ObjectRecord {
    fn from(o: &VideoObject) -> Self {
        Self {
            id: o.id,
            parent_id: o.parent_id,
            namespace: o.namespace.clone(),
            label: o.label.clone(),
            draw_label: o.draw_label.clone(),
            confidence: o.confidence,
            detection_box: (&o.detection_box).into(),
            track_box: o.track_box.as_ref().map(BoxRecord::from),
            track_id: o.track_id,
            attributes: o.attributes.iter().map(AttributeRecord::from).collect(),
        }
    }
}

impl Record {
    /// The record for a received frame or EOS; `None` for other kinds.
    pub fn from_result(r: &SinkResult) -> Option<Record> {
        if r.is_end_of_stream() {
            return Some(Record::Eos {
                source_id: r.source_id().to_string(),
            });
        }
        let f = r.frame()?;
        Some(Record::Frame(FrameRecord {
            source_id: f.source_id.clone(),
            uuid: f.uuid.to_string(),
            pts: f.pts,
            dts: f.dts,
            duration: f.duration,
            time_base: [f.time_base.numerator, f.time_base.denominator],
            codec: f.codec.clone(),
            width: f.width,
            height: f.height,
            keyframe: f.keyframe,
            trace_id: r.trace_id.map(|t| t.to_string()),
            content_bytes: r.content.as_ref().map_or(0, |c| c.len()),
            attributes: f.attributes.iter().map(AttributeRecord::from).collect(),
            objects: f.objects.iter().map(ObjectRecord::from).collect(),
        }))
    }
}
