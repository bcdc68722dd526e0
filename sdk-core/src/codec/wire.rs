//! Direct protobuf encoding of the model, without building the generated
//! types first: the writer's hot path, one allocation per message (the
//! output buffer, sized exactly). Field numbers and presence rules are the
//! ones of `proto/savant_rs.proto`; the property test `direct_encoding_
//! equals_prost` checks this against prost's encoding of the same values.

use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};

use crate::model::*;

// ------------------------------------------------------------ primitives

#[inline]
fn ld_len(tag: u32, body: usize) -> usize {
    key_len(tag) + encoded_len_varint(body as u64) + body
}

#[inline]
fn put_ld_header(tag: u32, body: usize, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(body as u64, buf);
}

/// proto3 `string`: omitted when empty.
#[inline]
fn str_len(tag: u32, s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        ld_len(tag, s.len())
    }
}
#[inline]
fn put_str(tag: u32, s: &str, buf: &mut Vec<u8>) {
    if !s.is_empty() {
        put_ld_header(tag, s.len(), buf);
        buf.extend_from_slice(s.as_bytes());
    }
}
/// `optional string` / repeated element: always written when present.
#[inline]
fn opt_str_len(tag: u32, s: Option<&str>) -> usize {
    s.map_or(0, |s| ld_len(tag, s.len()))
}
#[inline]
fn put_opt_str(tag: u32, s: Option<&str>, buf: &mut Vec<u8>) {
    if let Some(s) = s {
        put_ld_header(tag, s.len(), buf);
        buf.extend_from_slice(s.as_bytes());
    }
}

/// Varint scalars (int64/uint64/int32 sign-extended/bool/enum).
#[inline]
fn var_len(tag: u32, v: u64) -> usize {
    if v == 0 {
        0
    } else {
        key_len(tag) + encoded_len_varint(v)
    }
}
#[inline]
fn put_var(tag: u32, v: u64, buf: &mut Vec<u8>) {
    if v != 0 {
        encode_key(tag, WireType::Varint, buf);
        encode_varint(v, buf);
    }
}
#[inline]
fn opt_var_len(tag: u32, v: Option<u64>) -> usize {
    v.map_or(0, |v| key_len(tag) + encoded_len_varint(v))
}
#[inline]
fn put_opt_var(tag: u32, v: Option<u64>, buf: &mut Vec<u8>) {
    if let Some(v) = v {
        encode_key(tag, WireType::Varint, buf);
        encode_varint(v, buf);
    }
}

#[inline]
fn f32_len(tag: u32, v: f32) -> usize {
    // prost omits a float equal to 0.0 (so -0.0 too)
    if v == 0.0 {
        0
    } else {
        key_len(tag) + 4
    }
}
#[inline]
fn put_f32(tag: u32, v: f32, buf: &mut Vec<u8>) {
    if v != 0.0 {
        encode_key(tag, WireType::ThirtyTwoBit, buf);
        buf.extend_from_slice(&v.to_le_bytes());
    }
}
#[inline]
fn opt_f32_len(tag: u32, v: Option<f32>) -> usize {
    v.map_or(0, |_| key_len(tag) + 4)
}
#[inline]
fn put_opt_f32(tag: u32, v: Option<f32>, buf: &mut Vec<u8>) {
    if let Some(v) = v {
        encode_key(tag, WireType::ThirtyTwoBit, buf);
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

/// A nested message field: always written when present (even empty).
#[inline]
fn msg_len(tag: u32, body: usize) -> usize {
    ld_len(tag, body)
}

// ---------------------------------------------------------------- types

trait Wire {
    fn body_len(&self) -> usize;
    fn put_body(&self, buf: &mut Vec<u8>);

    fn field_len(&self, tag: u32) -> usize {
        msg_len(tag, self.body_len())
    }
    fn put_field(&self, tag: u32, buf: &mut Vec<u8>) {
        put_ld_header(tag, self.body_len(), buf);
        self.put_body(buf);
    }
}

fn repeated_len<T: Wire>(tag: u32, items: &[T]) -> usize {
    items.iter().map(|i| i.field_len(tag)).sum()
}
fn put_repeated<T: Wire>(tag: u32, items: &[T], buf: &mut Vec<u8>) {
    for i in items {
        i.put_field(tag, buf);
    }
}

impl Wire for BoundingBox {
    fn body_len(&self) -> usize {
        f32_len(1, self.xc)
            + f32_len(2, self.yc)
            + f32_len(3, self.width)
            + f32_len(4, self.height)
            + opt_f32_len(5, self.angle)
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        put_f32(1, self.xc, buf);
        put_f32(2, self.yc, buf);
        put_f32(3, self.width, buf);
        put_f32(4, self.height, buf);
        put_opt_f32(5, self.angle, buf);
    }
}

impl Wire for Point {
    fn body_len(&self) -> usize {
        f32_len(1, self.x) + f32_len(2, self.y)
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        put_f32(1, self.x, buf);
        put_f32(2, self.y, buf);
    }
}

/// `PolygonalAreaTag { optional string tag = 1 }`.
struct Tag<'a>(Option<&'a str>);
impl Wire for Tag<'_> {
    fn body_len(&self) -> usize {
        opt_str_len(1, self.0)
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        put_opt_str(1, self.0, buf);
    }
}

fn tags_body_len(tags: &[Option<String>]) -> usize {
    tags.iter().map(|t| Tag(t.as_deref()).field_len(1)).sum()
}

impl Wire for PolygonalArea {
    fn body_len(&self) -> usize {
        repeated_len(1, &self.points)
            + self
                .tags
                .as_ref()
                .map_or(0, |t| msg_len(2, tags_body_len(t)))
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        put_repeated(1, &self.points, buf);
        if let Some(tags) = &self.tags {
            put_ld_header(2, tags_body_len(tags), buf);
            for t in tags {
                Tag(t.as_deref()).put_field(1, buf);
            }
        }
    }
}

impl Wire for IntersectionEdge {
    fn body_len(&self) -> usize {
        var_len(1, self.id) + opt_str_len(2, self.tag.as_deref())
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        put_var(1, self.id, buf);
        put_opt_str(2, self.tag.as_deref(), buf);
    }
}

fn intersection_kind(k: IntersectionKind) -> u64 {
    match k {
        IntersectionKind::Enter => 0,
        IntersectionKind::Inside => 1,
        IntersectionKind::Leave => 2,
        IntersectionKind::Cross => 3,
        IntersectionKind::Outside => 4,
    }
}

impl Wire for Intersection {
    fn body_len(&self) -> usize {
        var_len(1, intersection_kind(self.kind)) + repeated_len(2, &self.edges)
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        put_var(1, intersection_kind(self.kind), buf);
        put_repeated(2, &self.edges, buf);
    }
}

/// The payload message of an attribute value variant: `{ 1: data }`, or
/// for bytes `{ 1: dims (packed), 2: data }`.
fn value_body_len(kind: &AttributeValueKind) -> usize {
    use AttributeValueKind as K;
    match kind {
        K::Bytes { dims, data } => {
            let dims_body: usize = dims.iter().map(|d| encoded_len_varint(*d as u64)).sum();
            (if dims.is_empty() {
                0
            } else {
                ld_len(1, dims_body)
            }) + if data.is_empty() {
                0
            } else {
                ld_len(2, data.len())
            }
        }
        K::String(s) => str_len(1, s),
        K::StringVector(v) => v.iter().map(|s| ld_len(1, s.len())).sum(),
        K::Integer(i) => var_len(1, *i as u64),
        K::IntegerVector(v) => {
            let body: usize = v.iter().map(|i| encoded_len_varint(*i as u64)).sum();
            if v.is_empty() {
                0
            } else {
                ld_len(1, body)
            }
        }
        K::Float(f) => {
            if *f == 0.0 {
                0
            } else {
                key_len(1) + 8
            }
        }
        K::FloatVector(v) => {
            if v.is_empty() {
                0
            } else {
                ld_len(1, 8 * v.len())
            }
        }
        K::Boolean(b) => var_len(1, u64::from(*b)),
        K::BooleanVector(v) => {
            if v.is_empty() {
                0
            } else {
                ld_len(1, v.len())
            }
        }
        K::BoundingBox(b) => b.field_len(1),
        K::BoundingBoxVector(v) => repeated_len(1, v),
        K::Point(p) => p.field_len(1),
        K::PointVector(v) => repeated_len(1, v),
        K::Polygon(p) => p.field_len(1),
        K::PolygonVector(v) => repeated_len(1, v),
        K::Intersection(i) => i.field_len(1),
        K::None | K::Temporary => 0,
    }
}

fn put_value_body(kind: &AttributeValueKind, buf: &mut Vec<u8>) {
    use AttributeValueKind as K;
    match kind {
        K::Bytes { dims, data } => {
            if !dims.is_empty() {
                let body: usize = dims.iter().map(|d| encoded_len_varint(*d as u64)).sum();
                put_ld_header(1, body, buf);
                for d in dims {
                    encode_varint(*d as u64, buf);
                }
            }
            if !data.is_empty() {
                put_ld_header(2, data.len(), buf);
                buf.extend_from_slice(data);
            }
        }
        K::String(s) => put_str(1, s, buf),
        K::StringVector(v) => {
            for s in v {
                put_ld_header(1, s.len(), buf);
                buf.extend_from_slice(s.as_bytes());
            }
        }
        K::Integer(i) => put_var(1, *i as u64, buf),
        K::IntegerVector(v) => {
            if !v.is_empty() {
                let body: usize = v.iter().map(|i| encoded_len_varint(*i as u64)).sum();
                put_ld_header(1, body, buf);
                for i in v {
                    encode_varint(*i as u64, buf);
                }
            }
        }
        K::Float(f) => {
            if *f != 0.0 {
                encode_key(1, WireType::SixtyFourBit, buf);
                buf.extend_from_slice(&f.to_le_bytes());
            }
        }
        K::FloatVector(v) => {
            if !v.is_empty() {
                put_ld_header(1, 8 * v.len(), buf);
                for f in v {
                    buf.extend_from_slice(&f.to_le_bytes());
                }
            }
        }
        K::Boolean(b) => put_var(1, u64::from(*b), buf),
        K::BooleanVector(v) => {
            if !v.is_empty() {
                put_ld_header(1, v.len(), buf);
                buf.extend(v.iter().map(|b| u8::from(*b)));
            }
        }
        K::BoundingBox(b) => b.put_field(1, buf),
        K::BoundingBoxVector(v) => put_repeated(1, v, buf),
        K::Point(p) => p.put_field(1, buf),
        K::PointVector(v) => put_repeated(1, v, buf),
        K::Polygon(p) => p.put_field(1, buf),
        K::PolygonVector(v) => put_repeated(1, v, buf),
        K::Intersection(i) => i.put_field(1, buf),
        K::None | K::Temporary => {}
    }
}

fn value_tag(kind: &AttributeValueKind) -> u32 {
    use AttributeValueKind as K;
    match kind {
        K::Bytes { .. } => 2,
        K::String(_) => 3,
        K::StringVector(_) => 4,
        K::Integer(_) => 5,
        K::IntegerVector(_) => 6,
        K::Float(_) => 7,
        K::FloatVector(_) => 8,
        K::Boolean(_) => 9,
        K::BooleanVector(_) => 10,
        K::BoundingBox(_) => 11,
        K::BoundingBoxVector(_) => 12,
        K::Point(_) => 13,
        K::PointVector(_) => 14,
        K::Polygon(_) => 15,
        K::PolygonVector(_) => 16,
        K::Intersection(_) => 17,
        K::None => 18,
        K::Temporary => 19,
    }
}

impl Wire for AttributeValue {
    fn body_len(&self) -> usize {
        opt_f32_len(1, self.confidence) + msg_len(value_tag(&self.kind), value_body_len(&self.kind))
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        put_opt_f32(1, self.confidence, buf);
        put_ld_header(value_tag(&self.kind), value_body_len(&self.kind), buf);
        put_value_body(&self.kind, buf);
    }
}

impl Wire for Attribute {
    fn body_len(&self) -> usize {
        str_len(1, &self.namespace)
            + str_len(2, &self.name)
            + repeated_len(3, &self.values)
            + opt_str_len(4, self.hint.as_deref())
            + var_len(5, u64::from(self.is_persistent))
            + var_len(6, u64::from(self.is_hidden))
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        put_str(1, &self.namespace, buf);
        put_str(2, &self.name, buf);
        put_repeated(3, &self.values, buf);
        put_opt_str(4, self.hint.as_deref(), buf);
        put_var(5, u64::from(self.is_persistent), buf);
        put_var(6, u64::from(self.is_hidden), buf);
    }
}

/// Attributes filtered by persistence (savant-rs writes only persistent
/// frame, user-data and update attributes).
fn persistent_len(tag: u32, attrs: &[Attribute]) -> usize {
    attrs
        .iter()
        .filter(|a| a.is_persistent)
        .map(|a| a.field_len(tag))
        .sum()
}
fn put_persistent(tag: u32, attrs: &[Attribute], buf: &mut Vec<u8>) {
    for a in attrs.iter().filter(|a| a.is_persistent) {
        a.put_field(tag, buf);
    }
}

impl Wire for VideoObject {
    fn body_len(&self) -> usize {
        var_len(1, self.id as u64)
            + opt_var_len(2, self.parent_id.map(|v| v as u64))
            + str_len(3, &self.namespace)
            + str_len(4, &self.label)
            + opt_str_len(5, self.draw_label.as_deref())
            + self.detection_box.field_len(6)
            + repeated_len(7, &self.attributes)
            + opt_f32_len(8, self.confidence)
            + self.track_box.as_ref().map_or(0, |b| b.field_len(9))
            + opt_var_len(10, self.track_id.map(|v| v as u64))
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        put_var(1, self.id as u64, buf);
        put_opt_var(2, self.parent_id.map(|v| v as u64), buf);
        put_str(3, &self.namespace, buf);
        put_str(4, &self.label, buf);
        put_opt_str(5, self.draw_label.as_deref(), buf);
        self.detection_box.put_field(6, buf);
        put_repeated(7, &self.attributes, buf);
        put_opt_f32(8, self.confidence, buf);
        if let Some(b) = &self.track_box {
            b.put_field(9, buf);
        }
        put_opt_var(10, self.track_id.map(|v| v as u64), buf);
    }
}

impl Wire for FrameTransformation {
    fn body_len(&self) -> usize {
        let (tag, body) = transformation_parts(self);
        msg_len(
            tag,
            body.iter()
                .enumerate()
                .map(|(i, v)| var_len(i as u32 + 1, *v))
                .sum(),
        )
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        let (tag, body) = transformation_parts(self);
        let len = body
            .iter()
            .enumerate()
            .map(|(i, v)| var_len(i as u32 + 1, *v))
            .sum();
        put_ld_header(tag, len, buf);
        for (i, v) in body.iter().enumerate() {
            put_var(i as u32 + 1, *v, buf);
        }
    }
}

fn transformation_parts(t: &FrameTransformation) -> (u32, [u64; 4]) {
    match *t {
        FrameTransformation::InitialSize { width, height } => (1, [width, height, 0, 0]),
        FrameTransformation::Scale { width, height } => (2, [width, height, 0, 0]),
        FrameTransformation::Padding {
            left,
            top,
            right,
            bottom,
        } => (3, [left, top, right, bottom]),
        FrameTransformation::ResultingSize { width, height } => (4, [width, height, 0, 0]),
    }
}

const UUID_LEN: usize = 36;

impl Wire for VideoFrame {
    fn body_len(&self) -> usize {
        let ts_high = (self.creation_timestamp_ns >> 64) as u64;
        let ts_low = self.creation_timestamp_ns as u64;
        let content = match &self.content {
            FrameContent::Internal(b) => ld_len(17, b.len()),
            FrameContent::External { method, location } => {
                msg_len(18, str_len(1, method) + opt_str_len(2, location.as_deref()))
            }
            FrameContent::None => msg_len(19, 0),
        };
        opt_var_len(1, self.previous_frame_seq_id.map(|v| v as u64))
            + str_len(2, &self.source_id)
            + ld_len(3, UUID_LEN)
            + var_len(4, ts_high)
            + var_len(5, ts_low)
            + str_len(6, &self.framerate)
            + var_len(7, self.width as u64)
            + var_len(8, self.height as u64)
            + var_len(9, transcoding(self.transcoding_method))
            + opt_str_len(10, self.codec.as_deref())
            + opt_var_len(11, self.keyframe.map(u64::from))
            + var_len(12, i64::from(self.time_base.numerator) as u64)
            + var_len(13, i64::from(self.time_base.denominator) as u64)
            + var_len(14, self.pts as u64)
            + opt_var_len(15, self.dts.map(|v| v as u64))
            + opt_var_len(16, self.duration.map(|v| v as u64))
            + content
            + repeated_len(23, &self.transformations)
            + persistent_len(24, &self.attributes)
            + repeated_len(25, &self.objects)
            + self.previous_keyframe.map_or(0, |_| ld_len(26, UUID_LEN))
    }

    fn put_body(&self, buf: &mut Vec<u8>) {
        let mut uuid = [0u8; UUID_LEN];
        put_opt_var(1, self.previous_frame_seq_id.map(|v| v as u64), buf);
        put_str(2, &self.source_id, buf);
        put_ld_header(3, UUID_LEN, buf);
        buf.extend_from_slice(self.uuid.hyphenated().encode_lower(&mut uuid).as_bytes());
        put_var(4, (self.creation_timestamp_ns >> 64) as u64, buf);
        put_var(5, self.creation_timestamp_ns as u64, buf);
        put_str(6, &self.framerate, buf);
        put_var(7, self.width as u64, buf);
        put_var(8, self.height as u64, buf);
        put_var(9, transcoding(self.transcoding_method), buf);
        put_opt_str(10, self.codec.as_deref(), buf);
        put_opt_var(11, self.keyframe.map(u64::from), buf);
        put_var(12, i64::from(self.time_base.numerator) as u64, buf);
        put_var(13, i64::from(self.time_base.denominator) as u64, buf);
        put_var(14, self.pts as u64, buf);
        put_opt_var(15, self.dts.map(|v| v as u64), buf);
        put_opt_var(16, self.duration.map(|v| v as u64), buf);
        match &self.content {
            FrameContent::Internal(b) => {
                put_ld_header(17, b.len(), buf);
                buf.extend_from_slice(b);
            }
            FrameContent::External { method, location } => {
                put_ld_header(
                    18,
                    str_len(1, method) + opt_str_len(2, location.as_deref()),
                    buf,
                );
                put_str(1, method, buf);
                put_opt_str(2, location.as_deref(), buf);
            }
            FrameContent::None => put_ld_header(19, 0, buf),
        }
        put_repeated(23, &self.transformations, buf);
        put_persistent(24, &self.attributes, buf);
        put_repeated(25, &self.objects, buf);
        if let Some(k) = &self.previous_keyframe {
            put_ld_header(26, UUID_LEN, buf);
            buf.extend_from_slice(k.hyphenated().encode_lower(&mut uuid).as_bytes());
        }
    }
}

fn transcoding(t: TranscodingMethod) -> u64 {
    match t {
        TranscodingMethod::Copy => 0,
        TranscodingMethod::Encoded => 1,
    }
}

/// One `map<int64, VideoFrame>` entry.
struct BatchEntry<'a>(i64, &'a VideoFrame);
impl Wire for BatchEntry<'_> {
    fn body_len(&self) -> usize {
        var_len(1, self.0 as u64) + self.1.field_len(2)
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        put_var(1, self.0 as u64, buf);
        self.1.put_field(2, buf);
    }
}

/// One `map<string, string>` entry.
struct ContextEntry<'a>(&'a str, &'a str);
impl Wire for ContextEntry<'_> {
    fn body_len(&self) -> usize {
        str_len(1, self.0) + str_len(2, self.1)
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        put_str(1, self.0, buf);
        put_str(2, self.1, buf);
    }
}

fn attribute_policy(p: AttributeUpdatePolicy) -> u64 {
    match p {
        AttributeUpdatePolicy::ReplaceWithForeign => 0,
        AttributeUpdatePolicy::KeepOwn => 1,
        AttributeUpdatePolicy::Error => 2,
    }
}

fn object_policy(p: ObjectUpdatePolicy) -> u64 {
    match p {
        ObjectUpdatePolicy::AddForeignObjects => 0,
        ObjectUpdatePolicy::ErrorIfLabelsCollide => 1,
        ObjectUpdatePolicy::ReplaceSameLabelObjects => 2,
    }
}

/// `ObjectAttribute { 1: object_id, 2: attribute }`.
struct ObjectAttribute<'a>(i64, &'a Attribute);
impl Wire for ObjectAttribute<'_> {
    fn body_len(&self) -> usize {
        var_len(1, self.0 as u64) + self.1.field_len(2)
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        put_var(1, self.0 as u64, buf);
        self.1.put_field(2, buf);
    }
}

/// `VideoObjectWithForeignParent { 1: object, 2: optional parent_id }`.
struct ForeignObject<'a>(&'a VideoObject, Option<i64>);
impl Wire for ForeignObject<'_> {
    fn body_len(&self) -> usize {
        self.0.field_len(1) + opt_var_len(2, self.1.map(|v| v as u64))
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        self.0.put_field(1, buf);
        put_opt_var(2, self.1.map(|v| v as u64), buf);
    }
}

impl Wire for VideoFrameUpdate {
    fn body_len(&self) -> usize {
        persistent_len(1, &self.frame_attributes)
            + self
                .object_attributes
                .iter()
                .filter(|(_, a)| a.is_persistent)
                .map(|(id, a)| ObjectAttribute(*id, a).field_len(2))
                .sum::<usize>()
            + self
                .objects
                .iter()
                .map(|(o, p)| ForeignObject(o, *p).field_len(3))
                .sum::<usize>()
            + var_len(4, attribute_policy(self.frame_attribute_policy))
            + var_len(5, attribute_policy(self.object_attribute_policy))
            + var_len(6, object_policy(self.object_policy))
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        put_persistent(1, &self.frame_attributes, buf);
        for (id, a) in self
            .object_attributes
            .iter()
            .filter(|(_, a)| a.is_persistent)
        {
            ObjectAttribute(*id, a).put_field(2, buf);
        }
        for (o, p) in &self.objects {
            ForeignObject(o, *p).put_field(3, buf);
        }
        put_var(4, attribute_policy(self.frame_attribute_policy), buf);
        put_var(5, attribute_policy(self.object_attribute_policy), buf);
        put_var(6, object_policy(self.object_policy), buf);
    }
}

/// (tag, body length) of the envelope's content oneof.
fn content_len(p: &MessagePayload) -> (u32, usize) {
    match p {
        MessagePayload::VideoFrame(f) => (5, f.body_len()),
        MessagePayload::VideoFrameBatch(b) => (
            6,
            b.frames
                .iter()
                .map(|(k, f)| BatchEntry(*k, f).field_len(1))
                .sum(),
        ),
        MessagePayload::VideoFrameUpdate(u) => (7, u.body_len()),
        MessagePayload::UserData(u) => (
            8,
            str_len(1, &u.source_id) + persistent_len(2, &u.attributes),
        ),
        MessagePayload::EndOfStream(e) => (9, str_len(1, &e.source_id)),
        MessagePayload::Unknown(u) => (10, str_len(1, &u.message)),
        MessagePayload::Shutdown(s) => (11, str_len(1, &s.auth)),
    }
}

fn put_content(p: &MessagePayload, buf: &mut Vec<u8>) {
    match p {
        MessagePayload::VideoFrame(f) => f.put_body(buf),
        MessagePayload::VideoFrameBatch(b) => {
            for (k, f) in &b.frames {
                BatchEntry(*k, f).put_field(1, buf);
            }
        }
        MessagePayload::VideoFrameUpdate(u) => u.put_body(buf),
        MessagePayload::UserData(u) => {
            put_str(1, &u.source_id, buf);
            put_persistent(2, &u.attributes, buf);
        }
        MessagePayload::EndOfStream(e) => put_str(1, &e.source_id, buf),
        MessagePayload::Unknown(u) => put_str(1, &u.message, buf),
        MessagePayload::Shutdown(s) => put_str(1, &s.auth, buf),
    }
}

/// Encodes `m` with `seq_id` into a buffer of exactly the right size.
pub(crate) fn encode(m: &Message, seq_id: u64) -> Vec<u8> {
    let (tag, body) = content_len(&m.payload);
    let len = str_len(1, &m.protocol_version)
        + m.routing_labels
            .iter()
            .map(|l| ld_len(2, l.len()))
            .sum::<usize>()
        + m.propagated_context
            .iter()
            .map(|(k, v)| ContextEntry(k, v).field_len(3))
            .sum::<usize>()
        + var_len(4, seq_id)
        + msg_len(tag, body);
    let mut buf = Vec::with_capacity(len);
    put_str(1, &m.protocol_version, &mut buf);
    for l in &m.routing_labels {
        put_ld_header(2, l.len(), &mut buf);
        buf.extend_from_slice(l.as_bytes());
    }
    for (k, v) in &m.propagated_context {
        ContextEntry(k, v).put_field(3, &mut buf);
    }
    put_var(4, seq_id, &mut buf);
    put_ld_header(tag, body, &mut buf);
    put_content(&m.payload, &mut buf);
    debug_assert_eq!(buf.len(), len);
    buf
}
