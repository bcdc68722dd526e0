//! Direct protobuf encoding of the model, without building the generated
//! types first: the writer's hot path, one allocation per message (the
//! output buffer, sized exactly). Field numbers and presence rules are the
//! ones of `proto/savant_rs.proto`; the property test `direct_encoding_
//! equals_prost` checks this against prost's encoding of the same values.

use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};

use crate::error::EncodeError;
use crate::model::*;
use crate::protocol::Generation;

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

/// A transformation in the layout of a generation.
struct Transformation<'a>(&'a FrameTransformation, bool);

impl Wire for Transformation<'_> {
    fn body_len(&self) -> usize {
        let (tag, n, body) = transformation_parts(self.0, self.1);
        msg_len(tag, uint_fields_len(&body[..n]))
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        let (tag, n, body) = transformation_parts(self.0, self.1);
        put_ld_header(tag, uint_fields_len(&body[..n]), buf);
        for (i, v) in body[..n].iter().enumerate() {
            put_var(i as u32 + 1, *v, buf);
        }
    }
}

fn uint_fields_len(values: &[u64]) -> usize {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| var_len(i as u32 + 1, *v))
        .sum()
}

/// (oneof tag, field count, fields) of a transformation. The kinds a
/// layout lacks never get here: [`check`] refuses them first.
pub(crate) fn transformation_parts(t: &FrameTransformation, v2: bool) -> (u32, usize, [u64; 6]) {
    match *t {
        FrameTransformation::InitialSize { width, height } => (1, 2, [width, height, 0, 0, 0, 0]),
        FrameTransformation::Scale { width, height } => (2, 2, [width, height, 0, 0, 0, 0]),
        FrameTransformation::Padding {
            left,
            top,
            right,
            bottom,
        } => (3, 4, [left, top, right, bottom, 0, 0]),
        FrameTransformation::ResultingSize { width, height } => (4, 2, [width, height, 0, 0, 0, 0]),
        FrameTransformation::LetterBox {
            outer_width,
            outer_height,
            left,
            top,
            right,
            bottom,
        } => (
            if v2 { 2 } else { 0 },
            6,
            [outer_width, outer_height, left, top, right, bottom],
        ),
        FrameTransformation::Crop {
            left,
            top,
            right,
            bottom,
        } => (5, 4, [left, top, right, bottom, 0, 0]),
    }
}

/// The codec names of the 2.x `VideoCodec` enum, by value: name `i` is
/// value `i + 1` (0, `VIDEO_CODEC_UNSPECIFIED`, is no codec). The one table
/// for both directions.
pub(crate) const V2_CODECS: [&str; 11] = [
    "h264", "hevc", "jpeg", "swjpeg", "av1", "png", "vp8", "vp9", "raw-rgba", "raw-rgb", "raw-nv12",
];

/// The 2.x `VideoCodec` enum value of a codec name (`None`: not in it).
pub(crate) fn video_codec_v2(name: Option<&str>) -> Option<u64> {
    match name {
        None => Some(0),
        Some(name) => V2_CODECS
            .iter()
            .position(|c| *c == name)
            .map(|i| i as u64 + 1),
    }
}

/// A framerate `"N/D"` as the 2.x `Rational32`.
pub(crate) fn rational(framerate: &str) -> Option<(i32, i32)> {
    let (n, d) = framerate.split_once('/')?;
    Some((n.parse().ok()?, d.parse().ok()?))
}

/// `Rational32 { 1: numerator, 2: denominator }` body length.
fn rational_body_len(n: i32, d: i32) -> usize {
    var_len(1, i64::from(n) as u64) + var_len(2, i64::from(d) as u64)
}
fn put_rational(tag: u32, n: i32, d: i32, buf: &mut Vec<u8>) {
    put_ld_header(tag, rational_body_len(n, d), buf);
    put_var(1, i64::from(n) as u64, buf);
    put_var(2, i64::from(d) as u64, buf);
}

fn misc_category(c: MiscTrackCategory) -> u64 {
    match c {
        MiscTrackCategory::Shadow => 0,
        MiscTrackCategory::Terminated => 1,
        MiscTrackCategory::PastFrame => 2,
    }
}

fn track_state(s: TrackState) -> u64 {
    match s {
        TrackState::Empty => 0,
        TrackState::Active => 1,
        TrackState::Inactive => 2,
        TrackState::Tentative => 3,
        TrackState::Projected => 4,
    }
}

impl Wire for MiscTrackFrame {
    fn body_len(&self) -> usize {
        var_len(1, self.frame_num as u64)
            + f32_len(2, self.bbox_left)
            + f32_len(3, self.bbox_top)
            + f32_len(4, self.bbox_width)
            + f32_len(5, self.bbox_height)
            + f32_len(6, self.confidence)
            + var_len(7, self.age as u64)
            + var_len(8, track_state(self.state))
            + f32_len(9, self.visibility)
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        put_var(1, self.frame_num as u64, buf);
        put_f32(2, self.bbox_left, buf);
        put_f32(3, self.bbox_top, buf);
        put_f32(4, self.bbox_width, buf);
        put_f32(5, self.bbox_height, buf);
        put_f32(6, self.confidence, buf);
        put_var(7, self.age as u64, buf);
        put_var(8, track_state(self.state), buf);
        put_f32(9, self.visibility, buf);
    }
}

impl Wire for MiscTrack {
    fn body_len(&self) -> usize {
        var_len(1, self.object_id)
            + var_len(2, self.class_id as u64)
            + opt_str_len(3, self.label.as_deref())
            + str_len(4, &self.source_id)
            + var_len(5, misc_category(self.category))
            + repeated_len(6, &self.frames)
    }
    fn put_body(&self, buf: &mut Vec<u8>) {
        put_var(1, self.object_id, buf);
        put_var(2, self.class_id as u64, buf);
        put_opt_str(3, self.label.as_deref(), buf);
        put_str(4, &self.source_id, buf);
        put_var(5, misc_category(self.category), buf);
        put_repeated(6, &self.frames, buf);
    }
}

const UUID_LEN: usize = 36;

/// A frame in the layout of a generation (`true`: 2.x).
#[derive(Clone, Copy)]
struct FrameAs<'a>(&'a VideoFrame, bool);

impl FrameAs<'_> {
    fn transformations_len(&self) -> usize {
        self.0
            .transformations
            .iter()
            .map(|t| Transformation(t, self.1).field_len(23))
            .sum()
    }
}

impl Wire for FrameAs<'_> {
    fn body_len(&self) -> usize {
        let (f, v2) = (self.0, self.1);
        let ts_high = (f.creation_timestamp_ns >> 64) as u64;
        let ts_low = f.creation_timestamp_ns as u64;
        let content = match &f.content {
            FrameContent::Internal(b) => ld_len(17, b.len()),
            FrameContent::External { method, location } => {
                msg_len(18, str_len(1, method) + opt_str_len(2, location.as_deref()))
            }
            FrameContent::None => msg_len(19, 0),
        };
        let layout_specific = if v2 {
            let fps =
                rational(&f.framerate).map_or(0, |(n, d)| msg_len(6, rational_body_len(n, d)));
            msg_len(4, var_len(1, ts_high) + var_len(2, ts_low))
                + fps
                + var_len(10, video_codec_v2(f.codec.as_deref()).unwrap_or(0))
                + msg_len(
                    12,
                    rational_body_len(f.time_base.numerator, f.time_base.denominator),
                )
                + repeated_len(27, &f.misc_tracks)
        } else {
            var_len(4, ts_high)
                + var_len(5, ts_low)
                + str_len(6, &f.framerate)
                + opt_str_len(10, f.codec.as_deref())
                + var_len(12, i64::from(f.time_base.numerator) as u64)
                + var_len(13, i64::from(f.time_base.denominator) as u64)
        };
        opt_var_len(1, f.previous_frame_seq_id.map(|v| v as u64))
            + str_len(2, &f.source_id)
            + ld_len(3, UUID_LEN)
            + layout_specific
            + var_len(7, f.width as u64)
            + var_len(8, f.height as u64)
            + var_len(9, transcoding(f.transcoding_method))
            + opt_var_len(11, f.keyframe.map(u64::from))
            + var_len(14, f.pts as u64)
            + opt_var_len(15, f.dts.map(|v| v as u64))
            + opt_var_len(16, f.duration.map(|v| v as u64))
            + content
            + self.transformations_len()
            + persistent_len(24, &f.attributes)
            + repeated_len(25, &f.objects)
            + f.previous_keyframe.map_or(0, |_| ld_len(26, UUID_LEN))
    }

    fn put_body(&self, buf: &mut Vec<u8>) {
        let (f, v2) = (self.0, self.1);
        let mut uuid = [0u8; UUID_LEN];
        let ts_high = (f.creation_timestamp_ns >> 64) as u64;
        let ts_low = f.creation_timestamp_ns as u64;
        put_opt_var(1, f.previous_frame_seq_id.map(|v| v as u64), buf);
        put_str(2, &f.source_id, buf);
        put_ld_header(3, UUID_LEN, buf);
        buf.extend_from_slice(f.uuid.hyphenated().encode_lower(&mut uuid).as_bytes());
        if v2 {
            put_ld_header(4, var_len(1, ts_high) + var_len(2, ts_low), buf);
            put_var(1, ts_high, buf);
            put_var(2, ts_low, buf);
            if let Some((n, d)) = rational(&f.framerate) {
                put_rational(6, n, d, buf);
            }
        } else {
            put_var(4, ts_high, buf);
            put_var(5, ts_low, buf);
            put_str(6, &f.framerate, buf);
        }
        put_var(7, f.width as u64, buf);
        put_var(8, f.height as u64, buf);
        put_var(9, transcoding(f.transcoding_method), buf);
        if v2 {
            put_var(10, video_codec_v2(f.codec.as_deref()).unwrap_or(0), buf);
        } else {
            put_opt_str(10, f.codec.as_deref(), buf);
        }
        put_opt_var(11, f.keyframe.map(u64::from), buf);
        if v2 {
            put_rational(12, f.time_base.numerator, f.time_base.denominator, buf);
        } else {
            put_var(12, i64::from(f.time_base.numerator) as u64, buf);
            put_var(13, i64::from(f.time_base.denominator) as u64, buf);
        }
        put_var(14, f.pts as u64, buf);
        put_opt_var(15, f.dts.map(|v| v as u64), buf);
        put_opt_var(16, f.duration.map(|v| v as u64), buf);
        match &f.content {
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
        for t in &f.transformations {
            Transformation(t, v2).put_field(23, buf);
        }
        put_persistent(24, &f.attributes, buf);
        put_repeated(25, &f.objects, buf);
        if let Some(k) = &f.previous_keyframe {
            put_ld_header(26, UUID_LEN, buf);
            buf.extend_from_slice(k.hyphenated().encode_lower(&mut uuid).as_bytes());
        }
        if v2 {
            put_repeated(27, &f.misc_tracks, buf);
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
struct BatchEntry<'a>(i64, FrameAs<'a>);
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
fn content_len(p: &MessagePayload, v2: bool) -> (u32, usize) {
    match p {
        MessagePayload::VideoFrame(f) => (5, FrameAs(f, v2).body_len()),
        MessagePayload::VideoFrameBatch(b) => (
            6,
            b.frames
                .iter()
                .map(|(k, f)| BatchEntry(*k, FrameAs(f, v2)).field_len(1))
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

fn put_content(p: &MessagePayload, v2: bool, buf: &mut Vec<u8>) {
    match p {
        MessagePayload::VideoFrame(f) => FrameAs(f, v2).put_body(buf),
        MessagePayload::VideoFrameBatch(b) => {
            for (k, f) in &b.frames {
                BatchEntry(*k, FrameAs(f, v2)).put_field(1, buf);
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

/// What the envelope of an encoded message says, which may differ from
/// the message's own fields (a writer stamps its version, system id and
/// sequence ids).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Envelope<'a> {
    /// `protocol_version` (field 1).
    pub version: &'a str,
    /// The layout of `version`.
    pub generation: Generation,
    /// `seq_id` (field 4).
    pub seq_id: u64,
    /// `system_id` (field 20), written by generations that have it.
    pub system_id: &'a str,
}

fn unrepresentable(
    field: &'static str,
    value: impl Into<String>,
    generation: Generation,
    reason: &'static str,
) -> EncodeError {
    EncodeError::Unrepresentable {
        field,
        value: value.into(),
        generation,
        reason,
    }
}

fn check_frame(f: &VideoFrame, g: Generation) -> Result<(), EncodeError> {
    if g.is_v2() {
        if video_codec_v2(f.codec.as_deref()).is_none() {
            return Err(unrepresentable(
                "VideoFrame.codec",
                f.codec.clone().unwrap_or_default(),
                g,
                "the 2.x VideoCodec enum has only h264, hevc, jpeg, swjpeg, av1, png, vp8, vp9, raw-rgba, raw-rgb, raw-nv12",
            ));
        }
        if !f.framerate.is_empty() && rational(&f.framerate).is_none() {
            return Err(unrepresentable(
                "VideoFrame.framerate",
                f.framerate.clone(),
                g,
                "2.x carries the frame rate as a rational: write it as \"N/D\" with 32-bit integers",
            ));
        }
        for t in &f.transformations {
            if let FrameTransformation::Scale { .. } | FrameTransformation::ResultingSize { .. } = t
            {
                return Err(unrepresentable(
                    "VideoFrame.transformations",
                    format!("{t:?}"),
                    g,
                    "2.x has no Scale or ResultingSize transformation",
                ));
            }
        }
    } else {
        for t in &f.transformations {
            if let FrameTransformation::LetterBox { .. } | FrameTransformation::Crop { .. } = t {
                return Err(unrepresentable(
                    "VideoFrame.transformations",
                    format!("{t:?}"),
                    g,
                    "LetterBox and Crop exist only in 2.x",
                ));
            }
        }
        if !f.misc_tracks.is_empty() {
            return Err(unrepresentable(
                "VideoFrame.misc_tracks",
                format!("{} tracks", f.misc_tracks.len()),
                g,
                "misc tracks exist only in 2.x",
            ));
        }
    }
    Ok(())
}

/// Refuses what the layout of `env` cannot carry, before any byte is
/// written.
pub(crate) fn check(m: &Message, env: &Envelope<'_>) -> Result<(), EncodeError> {
    let g = env.generation;
    if !env.system_id.is_empty() && !g.has_system_id() {
        return Err(unrepresentable(
            "Message.system_id",
            env.system_id,
            g,
            "system_id exists only from savant-rs 1.15 on",
        ));
    }
    match &m.payload {
        MessagePayload::VideoFrame(f) => check_frame(f, g),
        MessagePayload::VideoFrameBatch(b) => {
            b.frames.iter().try_for_each(|(_, f)| check_frame(f, g))
        }
        _ => Ok(()),
    }
}

/// Encodes `m` with the envelope `env` into a buffer of exactly the right
/// size. [`check`] must have passed.
pub(crate) fn encode(m: &Message, env: &Envelope<'_>) -> Vec<u8> {
    let v2 = env.generation.is_v2();
    let system_id = if env.generation.has_system_id() {
        env.system_id
    } else {
        ""
    };
    let (tag, body) = content_len(&m.payload, v2);
    let len = str_len(1, env.version)
        + m.routing_labels
            .iter()
            .map(|l| ld_len(2, l.len()))
            .sum::<usize>()
        + m.propagated_context
            .iter()
            .map(|(k, v)| ContextEntry(k, v).field_len(3))
            .sum::<usize>()
        + var_len(4, env.seq_id)
        + msg_len(tag, body)
        + str_len(20, system_id);
    let mut buf = Vec::with_capacity(len);
    put_str(1, env.version, &mut buf);
    for l in &m.routing_labels {
        put_ld_header(2, l.len(), &mut buf);
        buf.extend_from_slice(l.as_bytes());
    }
    for (k, v) in &m.propagated_context {
        ContextEntry(k, v).put_field(3, &mut buf);
    }
    put_var(4, env.seq_id, &mut buf);
    put_ld_header(tag, body, &mut buf);
    put_content(&m.payload, v2, &mut buf);
    put_str(20, system_id, &mut buf);
    debug_assert_eq!(buf.len(), len);
    buf
}
