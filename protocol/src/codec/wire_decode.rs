//! Direct protobuf decoding into the model, without the generated types
//! as an intermediate: the reader's hot path. It follows prost's rules
//! (last value wins for scalars, repeated occurrences of a message field
//! are merged, packed and unpacked repeated scalars both accepted, unknown
//! fields skipped) and the checks of [`super::decode`]; the property tests
//! `direct_decoding_equals_prost*` hold the two to the same results.

use std::collections::BTreeMap;

use bytes::{Buf, Bytes};
use prost::encoding::{decode_varint, skip_field, DecodeContext, WireType};
use uuid::Uuid;

use super::cursor::Cur;
use crate::error::DecodeError;
use crate::model::*;
use crate::protocol::{Generation, ProtocolVersion};

type R<T> = Result<T, DecodeError>;

fn pe(e: prost::DecodeError) -> DecodeError {
    DecodeError::Protobuf(e.to_string())
}

fn err(msg: &str) -> DecodeError {
    DecodeError::Protobuf(msg.to_string())
}

/// A field's key. Keys of tags 1-15 are one byte: read here; anything
/// else (and every malformed key) goes to prost, with its errors.
#[inline]
fn key(buf: &mut Cur<'_>) -> R<(u32, WireType)> {
    if let Some(&b) = buf.first() {
        if b < 0x80 && b >> 3 != 0 {
            if let Ok(wt) = WireType::try_from(u64::from(b & 7)) {
                buf.advance(1);
                return Ok((u32::from(b >> 3), wt));
            }
        }
    }
    prost::encoding::decode_key(buf).map_err(pe)
}

/// A varint: one byte (below 128) read here, longer ones by prost.
#[inline]
fn varint(buf: &mut Cur<'_>) -> R<u64> {
    if let Some(&b) = buf.first() {
        if b < 0x80 {
            buf.advance(1);
            return Ok(u64::from(b));
        }
    }
    decode_varint(buf).map_err(pe)
}

fn ld<'a>(buf: &mut Cur<'a>) -> R<Cur<'a>> {
    let len = varint(buf)?;
    if len > buf.remaining() as u64 {
        return Err(err("buffer underflow"));
    }
    Ok(buf.split_to(len as usize))
}

/// `b` as text, with prost's error where it is not UTF-8.
fn utf8(b: &[u8]) -> R<&str> {
    std::str::from_utf8(b).map_err(|_| err("invalid string value: data is not UTF-8 encoded"))
}

fn string(buf: &mut Cur<'_>) -> R<String> {
    utf8(&ld(buf)?).map(str::to_owned)
}

fn f32v(buf: &mut Cur<'_>) -> R<f32> {
    if buf.remaining() < 4 {
        return Err(err("buffer underflow"));
    }
    Ok(buf.get_f32_le())
}

fn f64v(buf: &mut Cur<'_>) -> R<f64> {
    if buf.remaining() < 8 {
        return Err(err("buffer underflow"));
    }
    Ok(buf.get_f64_le())
}

fn expect(actual: WireType, expected: WireType) -> R<()> {
    prost::encoding::check_wire_type(expected, actual).map_err(pe)
}

fn skip(wt: WireType, tag: u32, buf: &mut Cur<'_>) -> R<()> {
    skip_field(wt, tag, buf, DecodeContext::default()).map_err(pe)
}

/// Reads the fields of one message body, calling `f` for each known tag
/// (it returns false for tags it does not know, which are skipped).
fn fields<'a>(
    mut body: Cur<'a>,
    mut f: impl FnMut(u32, WireType, &mut Cur<'a>) -> R<bool>,
) -> R<()> {
    while body.has_remaining() {
        let (tag, wt) = key(&mut body)?;
        if !f(tag, wt, &mut body)? {
            skip(wt, tag, &mut body)?;
        }
    }
    Ok(())
}

/// A length-delimited sub-message body.
fn sub<'a>(wt: WireType, buf: &mut Cur<'a>) -> R<Cur<'a>> {
    expect(wt, WireType::LengthDelimited)?;
    ld(buf)
}

fn var_field(wt: WireType, buf: &mut Cur<'_>) -> R<u64> {
    expect(wt, WireType::Varint)?;
    varint(buf)
}

fn str_field(wt: WireType, buf: &mut Cur<'_>) -> R<String> {
    expect(wt, WireType::LengthDelimited)?;
    string(buf)
}

fn f32_field(wt: WireType, buf: &mut Cur<'_>) -> R<f32> {
    expect(wt, WireType::ThirtyTwoBit)?;
    f32v(buf)
}

/// Repeated varints, packed or not.
fn packed_varints(wt: WireType, buf: &mut Cur<'_>, mut push: impl FnMut(u64)) -> R<()> {
    if wt == WireType::LengthDelimited {
        let mut b = ld(buf)?;
        while b.has_remaining() {
            push(varint(&mut b)?);
        }
        Ok(())
    } else {
        push(var_field(wt, buf)?);
        Ok(())
    }
}

// -------------------------------------------------------------- geometry

fn merge_bbox(b: &mut BoundingBox, body: Cur<'_>) -> R<()> {
    fields(body, |tag, wt, buf| {
        match tag {
            1 => b.xc = f32_field(wt, buf)?,
            2 => b.yc = f32_field(wt, buf)?,
            3 => b.width = f32_field(wt, buf)?,
            4 => b.height = f32_field(wt, buf)?,
            5 => b.angle = Some(f32_field(wt, buf)?),
            _ => return Ok(false),
        }
        Ok(true)
    })
}

fn merge_point(p: &mut Point, body: Cur<'_>) -> R<()> {
    fields(body, |tag, wt, buf| {
        match tag {
            1 => p.x = f32_field(wt, buf)?,
            2 => p.y = f32_field(wt, buf)?,
            _ => return Ok(false),
        }
        Ok(true)
    })
}

fn point(body: Cur<'_>) -> R<Point> {
    let mut p = Point::default();
    merge_point(&mut p, body)?;
    Ok(p)
}

fn bbox(body: Cur<'_>) -> R<BoundingBox> {
    let mut b = BoundingBox::default();
    merge_bbox(&mut b, body)?;
    Ok(b)
}

fn merge_polygon(p: &mut PolygonalArea, body: Cur<'_>) -> R<()> {
    fields(body, |tag, wt, buf| {
        match tag {
            1 => p.points.push(point(sub(wt, buf)?)?),
            2 => {
                let tags = p.tags.get_or_insert_with(Vec::new);
                fields(sub(wt, buf)?, |tag, wt, buf| {
                    if tag != 1 {
                        return Ok(false);
                    }
                    let mut t = None;
                    fields(sub(wt, buf)?, |tag, wt, buf| {
                        if tag != 1 {
                            return Ok(false);
                        }
                        t = Some(str_field(wt, buf)?);
                        Ok(true)
                    })?;
                    tags.push(t);
                    Ok(true)
                })?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    })
}

fn polygon(body: Cur<'_>) -> R<PolygonalArea> {
    let mut p = PolygonalArea::default();
    merge_polygon(&mut p, body)?;
    Ok(p)
}

/// An intersection as read, with its kind not yet checked.
#[derive(Default)]
struct RawIntersection {
    kind: i32,
    edges: Vec<IntersectionEdge>,
}

fn merge_intersection(i: &mut RawIntersection, body: Cur<'_>) -> R<()> {
    fields(body, |tag, wt, buf| {
        match tag {
            1 => i.kind = var_field(wt, buf)? as i32,
            2 => {
                let mut e = IntersectionEdge::default();
                fields(sub(wt, buf)?, |tag, wt, buf| {
                    match tag {
                        1 => e.id = var_field(wt, buf)?,
                        2 => e.tag = Some(str_field(wt, buf)?),
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
                i.edges.push(e);
            }
            _ => return Ok(false),
        }
        Ok(true)
    })
}

fn finish_intersection(i: RawIntersection) -> R<Intersection> {
    let kind = match i.kind {
        0 => IntersectionKind::Enter,
        1 => IntersectionKind::Inside,
        2 => IntersectionKind::Leave,
        3 => IntersectionKind::Cross,
        4 => IntersectionKind::Outside,
        v => {
            return Err(DecodeError::InvalidEnum {
                field: "Intersection.kind",
                value: v,
            })
        }
    };
    Ok(Intersection {
        kind,
        edges: i.edges,
    })
}

// ------------------------------------------------------------ attributes

/// An attribute value as read: the variant's payload may still lack a
/// required field.
enum RawValue {
    Bytes(Vec<i64>, Bytes),
    String(String),
    StringVector(Vec<String>),
    Integer(i64),
    IntegerVector(Vec<i64>),
    Float(f64),
    FloatVector(Vec<f64>),
    Boolean(bool),
    BooleanVector(Vec<bool>),
    BoundingBox(Option<BoundingBox>),
    BoundingBoxVector(Vec<BoundingBox>),
    Point(Option<Point>),
    PointVector(Vec<Point>),
    Polygon(Option<PolygonalArea>),
    PolygonVector(Vec<PolygonalArea>),
    Intersection(Option<RawIntersection>),
    None,
    Temporary,
}

fn empty_variant(tag: u32) -> RawValue {
    match tag {
        2 => RawValue::Bytes(Vec::new(), Bytes::new()),
        3 => RawValue::String(String::new()),
        4 => RawValue::StringVector(Vec::new()),
        5 => RawValue::Integer(0),
        6 => RawValue::IntegerVector(Vec::new()),
        7 => RawValue::Float(0.0),
        8 => RawValue::FloatVector(Vec::new()),
        9 => RawValue::Boolean(false),
        10 => RawValue::BooleanVector(Vec::new()),
        11 => RawValue::BoundingBox(None),
        12 => RawValue::BoundingBoxVector(Vec::new()),
        13 => RawValue::Point(None),
        14 => RawValue::PointVector(Vec::new()),
        15 => RawValue::Polygon(None),
        16 => RawValue::PolygonVector(Vec::new()),
        17 => RawValue::Intersection(None),
        18 => RawValue::None,
        _ => RawValue::Temporary,
    }
}

fn variant_tag(v: &RawValue) -> u32 {
    match v {
        RawValue::Bytes(..) => 2,
        RawValue::String(_) => 3,
        RawValue::StringVector(_) => 4,
        RawValue::Integer(_) => 5,
        RawValue::IntegerVector(_) => 6,
        RawValue::Float(_) => 7,
        RawValue::FloatVector(_) => 8,
        RawValue::Boolean(_) => 9,
        RawValue::BooleanVector(_) => 10,
        RawValue::BoundingBox(_) => 11,
        RawValue::BoundingBoxVector(_) => 12,
        RawValue::Point(_) => 13,
        RawValue::PointVector(_) => 14,
        RawValue::Polygon(_) => 15,
        RawValue::PolygonVector(_) => 16,
        RawValue::Intersection(_) => 17,
        RawValue::None => 18,
        RawValue::Temporary => 19,
    }
}

/// Merges one variant payload message (`{1: data}`, bytes: `{1: dims, 2: data}`).
fn merge_variant(v: &mut RawValue, body: Cur<'_>) -> R<()> {
    fields(body, |tag, wt, buf| {
        match (v as &mut RawValue, tag) {
            (RawValue::Bytes(dims, _), 1) => packed_varints(wt, buf, |x| dims.push(x as i64))?,
            (RawValue::Bytes(_, data), 2) => *data = sub(wt, buf)?.to_bytes(),
            (RawValue::String(s), 1) => *s = str_field(wt, buf)?,
            (RawValue::StringVector(s), 1) => s.push(str_field(wt, buf)?),
            (RawValue::Integer(i), 1) => *i = var_field(wt, buf)? as i64,
            (RawValue::IntegerVector(v), 1) => packed_varints(wt, buf, |x| v.push(x as i64))?,
            (RawValue::Float(f), 1) => {
                expect(wt, WireType::SixtyFourBit)?;
                *f = f64v(buf)?;
            }
            (RawValue::FloatVector(v), 1) => {
                if wt == WireType::LengthDelimited {
                    let mut b = ld(buf)?;
                    while b.has_remaining() {
                        v.push(f64v(&mut b)?);
                    }
                } else {
                    expect(wt, WireType::SixtyFourBit)?;
                    v.push(f64v(buf)?);
                }
            }
            (RawValue::Boolean(b), 1) => *b = var_field(wt, buf)? != 0,
            (RawValue::BooleanVector(v), 1) => packed_varints(wt, buf, |x| v.push(x != 0))?,
            (RawValue::BoundingBox(b), 1) => {
                merge_bbox(b.get_or_insert_with(Default::default), sub(wt, buf)?)?
            }
            (RawValue::BoundingBoxVector(v), 1) => v.push(bbox(sub(wt, buf)?)?),
            (RawValue::Point(p), 1) => {
                merge_point(p.get_or_insert_with(Default::default), sub(wt, buf)?)?
            }
            (RawValue::PointVector(v), 1) => v.push(point(sub(wt, buf)?)?),
            (RawValue::Polygon(p), 1) => {
                merge_polygon(p.get_or_insert_with(Default::default), sub(wt, buf)?)?
            }
            (RawValue::PolygonVector(v), 1) => v.push(polygon(sub(wt, buf)?)?),
            (RawValue::Intersection(i), 1) => {
                merge_intersection(i.get_or_insert_with(Default::default), sub(wt, buf)?)?
            }
            _ => return Ok(false),
        }
        Ok(true)
    })
}

fn finish_value(v: RawValue) -> R<AttributeValueKind> {
    use AttributeValueKind as K;
    Ok(match v {
        RawValue::Bytes(dims, data) => K::Bytes { dims, data },
        RawValue::String(s) => K::String(s),
        RawValue::StringVector(s) => K::StringVector(s),
        RawValue::Integer(i) => K::Integer(i),
        RawValue::IntegerVector(i) => K::IntegerVector(i),
        RawValue::Float(f) => K::Float(f),
        RawValue::FloatVector(f) => K::FloatVector(f),
        RawValue::Boolean(b) => K::Boolean(b),
        RawValue::BooleanVector(b) => K::BooleanVector(b),
        RawValue::BoundingBox(b) => K::BoundingBox(b.ok_or(DecodeError::MissingField(
            "BoundingBoxAttributeValueVariant.data",
        ))?),
        RawValue::BoundingBoxVector(b) => K::BoundingBoxVector(b),
        RawValue::Point(p) => {
            K::Point(p.ok_or(DecodeError::MissingField("PointAttributeValueVariant.data"))?)
        }
        RawValue::PointVector(p) => K::PointVector(p),
        RawValue::Polygon(p) => K::Polygon(p.ok_or(DecodeError::MissingField(
            "PolygonAttributeValueVariant.data",
        ))?),
        RawValue::PolygonVector(p) => K::PolygonVector(p),
        RawValue::Intersection(i) => K::Intersection(finish_intersection(i.ok_or(
            DecodeError::MissingField("IntersectionAttributeValueVariant.data"),
        )?)?),
        RawValue::None => K::None,
        RawValue::Temporary => K::Temporary,
    })
}

/// A semantic error (anything but malformed protobuf) found while reading
/// part of a message: kept until the end, as prost only checks the final
/// values, so that a part later replaced does not fail the message.
type Pending = Option<DecodeError>;

fn defer<T>(r: R<T>, pending: &mut Pending, placeholder: impl FnOnce() -> T) -> R<T> {
    match r {
        Ok(v) => Ok(v),
        Err(e @ DecodeError::Protobuf(_)) => Err(e),
        Err(e) => {
            pending.get_or_insert(e);
            Ok(placeholder())
        }
    }
}

fn value(body: Cur<'_>, pending: &mut Pending) -> R<AttributeValue> {
    let v = value_strict(body);
    defer(v, pending, AttributeValue::none)
}

fn value_strict(body: Cur<'_>) -> R<AttributeValue> {
    let mut confidence = None;
    let mut raw: Option<RawValue> = None;
    fields(body, |tag, wt, buf| {
        match tag {
            1 => confidence = Some(f32_field(wt, buf)?),
            2..=19 => {
                let payload = sub(wt, buf)?;
                let same = raw.as_ref().is_some_and(|r| variant_tag(r) == tag);
                if !same {
                    raw = Some(empty_variant(tag));
                }
                merge_variant(raw.as_mut().expect("set above"), payload)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let raw = raw.ok_or(DecodeError::UnknownVariant("AttributeValue.value"))?;
    Ok(AttributeValue {
        kind: finish_value(raw)?,
        confidence,
    })
}

fn merge_attribute(a: &mut Attribute, body: Cur<'_>, pending: &mut Pending) -> R<()> {
    fields(body, |tag, wt, buf| {
        match tag {
            1 => a.namespace = str_field(wt, buf)?,
            2 => a.name = str_field(wt, buf)?,
            3 => a.values.push(value(sub(wt, buf)?, pending)?),
            4 => a.hint = Some(str_field(wt, buf)?),
            5 => a.is_persistent = var_field(wt, buf)? != 0,
            6 => a.is_hidden = var_field(wt, buf)? != 0,
            _ => return Ok(false),
        }
        Ok(true)
    })
}

/// An attribute of an object or of user data: temporary ones are dropped
/// on arrival (as the 0.3.x reader does), problems in their values with
/// them.
fn persistent_attribute(body: Cur<'_>, pending: &mut Pending) -> R<Option<Attribute>> {
    let mut own = None;
    let a = attribute(body, &mut own)?;
    if !a.is_persistent {
        return Ok(None);
    }
    if let Some(e) = own {
        pending.get_or_insert(e);
    }
    Ok(Some(a))
}

fn attribute(body: Cur<'_>, pending: &mut Pending) -> R<Attribute> {
    let mut a = Attribute {
        namespace: String::new(),
        name: String::new(),
        values: Vec::new(),
        hint: None,
        is_persistent: false,
        is_hidden: false,
    };
    merge_attribute(&mut a, body, pending)?;
    Ok(a)
}

// --------------------------------------------------------------- objects

/// An object as read: the detection box may be missing.
struct RawObject {
    object: VideoObject,
    has_box: bool,
}

fn merge_object(o: &mut RawObject, body: Cur<'_>, pending: &mut Pending) -> R<()> {
    fields(body, |tag, wt, buf| {
        let obj = &mut o.object;
        match tag {
            1 => obj.id = var_field(wt, buf)? as i64,
            2 => obj.parent_id = Some(var_field(wt, buf)? as i64),
            3 => obj.namespace = str_field(wt, buf)?,
            4 => obj.label = str_field(wt, buf)?,
            5 => obj.draw_label = Some(str_field(wt, buf)?),
            6 => {
                merge_bbox(&mut obj.detection_box, sub(wt, buf)?)?;
                o.has_box = true;
            }
            7 => {
                if let Some(a) = persistent_attribute(sub(wt, buf)?, pending)? {
                    obj.attributes.push(a);
                }
            }
            8 => obj.confidence = Some(f32_field(wt, buf)?),
            9 => merge_bbox(
                obj.track_box.get_or_insert_with(Default::default),
                sub(wt, buf)?,
            )?,
            10 => obj.track_id = Some(var_field(wt, buf)? as i64),
            _ => return Ok(false),
        }
        Ok(true)
    })
}

fn new_raw_object() -> RawObject {
    RawObject {
        object: VideoObject::new(0, "", "", BoundingBox::default()),
        has_box: false,
    }
}

fn finish_object(mut o: RawObject) -> R<VideoObject> {
    if !o.has_box {
        return Err(DecodeError::MissingField("VideoObject.detection_box"));
    }
    o.object.attributes.retain(|a| a.is_persistent);
    Ok(o.object)
}

fn object(body: Cur<'_>, pending: &mut Pending) -> R<VideoObject> {
    let mut o = new_raw_object();
    merge_object(&mut o, body, pending)?;
    defer(finish_object(o), pending, || {
        VideoObject::new(0, "", "", BoundingBox::default())
    })
}

// ----------------------------------------------------------------- frame

enum RawContent {
    Internal(Bytes),
    External(String, Option<String>),
    None,
}

/// A frame as read, before its uuids, enum and content are checked.
struct RawFrame {
    frame: VideoFrame,
    /// The uuids as parsed (`None`: absent), their errors reported where
    /// the prost path reports them.
    uuid: Option<R<Uuid>>,
    previous_keyframe: Option<R<Uuid>>,
    transcoding: i32,
    content: Option<RawContent>,
    transformations: Vec<Option<FrameTransformation>>,
    pending: Pending,
    /// 2.x layout.
    v2: bool,
    /// 2.x `fps`, when present.
    fps: Option<(i32, i32)>,
    /// 2.x `video_codec`.
    video_codec: i32,
    /// 2.x misc tracks.
    misc_tracks: Vec<RawMiscTrack>,
}

fn new_raw_frame(v2: bool) -> RawFrame {
    RawFrame {
        frame: VideoFrame {
            source_id: String::new(),
            uuid: Uuid::nil(),
            creation_timestamp_ns: 0,
            framerate: String::new(),
            width: 0,
            height: 0,
            transcoding_method: TranscodingMethod::Copy,
            codec: None,
            keyframe: None,
            time_base: TimeBase::new(0, 0),
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
        uuid: None,
        previous_keyframe: None,
        transcoding: 0,
        content: None,
        transformations: Vec::new(),
        pending: None,
        v2,
        fps: None,
        video_codec: 0,
        misc_tracks: Vec::new(),
    }
}

/// (field count) of a transformation variant, or `None` for a tag the
/// layout does not have.
fn transformation_fields(tag: u32, v2: bool) -> Option<usize> {
    match (tag, v2) {
        (1, _) => Some(2),
        (2, false) => Some(2),
        (2, true) => Some(6),
        (3, _) => Some(4),
        (4, false) => Some(2),
        (5, true) => Some(4),
        _ => None,
    }
}

fn merge_transformation(t: &mut Option<FrameTransformation>, body: Cur<'_>, v2: bool) -> R<()> {
    fields(body, |tag, wt, buf| {
        let Some(n) = transformation_fields(tag, v2) else {
            return Ok(false);
        };
        let payload = sub(wt, buf)?;
        // the current values if the same variant is merged again
        let mut v = match t.as_ref().map(|t| super::wire::transformation_parts(t, v2)) {
            Some((cur, _, v)) if cur == tag => v,
            _ => [0; 6],
        };
        fields(payload, |f, wt, buf| {
            if f == 0 || f as usize > n {
                return Ok(false);
            }
            v[f as usize - 1] = var_field(wt, buf)?;
            Ok(true)
        })?;
        *t = Some(match (tag, v2) {
            (1, _) => FrameTransformation::InitialSize {
                width: v[0],
                height: v[1],
            },
            (2, false) => FrameTransformation::Scale {
                width: v[0],
                height: v[1],
            },
            (2, true) => FrameTransformation::LetterBox {
                outer_width: v[0],
                outer_height: v[1],
                left: v[2],
                top: v[3],
                right: v[4],
                bottom: v[5],
            },
            (3, _) => FrameTransformation::Padding {
                left: v[0],
                top: v[1],
                right: v[2],
                bottom: v[3],
            },
            (4, _) => FrameTransformation::ResultingSize {
                width: v[0],
                height: v[1],
            },
            _ => FrameTransformation::Crop {
                left: v[0],
                top: v[1],
                right: v[2],
                bottom: v[3],
            },
        });
        Ok(true)
    })
}

/// Merges a 2.x `Rational32` into (numerator, denominator).
fn merge_rational(r: &mut (i32, i32), body: Cur<'_>) -> R<()> {
    fields(body, |tag, wt, buf| {
        match tag {
            1 => r.0 = var_field(wt, buf)? as i32,
            2 => r.1 = var_field(wt, buf)? as i32,
            _ => return Ok(false),
        }
        Ok(true)
    })
}

/// A misc track as read, with its enums not yet checked.
struct RawMiscTrack {
    track: MiscTrack,
    category: i32,
    states: Vec<i32>,
}

fn misc_track_frame(body: Cur<'_>) -> R<(MiscTrackFrame, i32)> {
    let mut f = MiscTrackFrame::default();
    let mut state = 0i32;
    fields(body, |tag, wt, buf| {
        match tag {
            1 => f.frame_num = var_field(wt, buf)? as i64,
            2 => f.bbox_left = f32_field(wt, buf)?,
            3 => f.bbox_top = f32_field(wt, buf)?,
            4 => f.bbox_width = f32_field(wt, buf)?,
            5 => f.bbox_height = f32_field(wt, buf)?,
            6 => f.confidence = f32_field(wt, buf)?,
            7 => f.age = var_field(wt, buf)? as i64,
            8 => state = var_field(wt, buf)? as i32,
            9 => f.visibility = f32_field(wt, buf)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok((f, state))
}

fn misc_track(body: Cur<'_>) -> R<RawMiscTrack> {
    let mut t = RawMiscTrack {
        track: MiscTrack::default(),
        category: 0,
        states: Vec::new(),
    };
    fields(body, |tag, wt, buf| {
        match tag {
            1 => t.track.object_id = var_field(wt, buf)?,
            2 => t.track.class_id = var_field(wt, buf)? as i64,
            3 => t.track.label = Some(str_field(wt, buf)?),
            4 => t.track.source_id = str_field(wt, buf)?,
            5 => t.category = var_field(wt, buf)? as i32,
            6 => {
                let (f, state) = misc_track_frame(sub(wt, buf)?)?;
                t.track.frames.push(f);
                t.states.push(state);
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(t)
}

fn finish_misc_track(mut t: RawMiscTrack) -> R<MiscTrack> {
    t.track.category = match t.category {
        0 => MiscTrackCategory::Shadow,
        1 => MiscTrackCategory::Terminated,
        2 => MiscTrackCategory::PastFrame,
        value => {
            return Err(DecodeError::InvalidEnum {
                field: "MiscTrackData.category",
                value,
            })
        }
    };
    for (f, s) in t.track.frames.iter_mut().zip(t.states) {
        f.state = match s {
            0 => TrackState::Empty,
            1 => TrackState::Active,
            2 => TrackState::Inactive,
            3 => TrackState::Tentative,
            4 => TrackState::Projected,
            value => {
                return Err(DecodeError::InvalidEnum {
                    field: "MiscTrackFrame.state",
                    value,
                })
            }
        };
    }
    Ok(t.track)
}

/// The codec name of a 2.x `VideoCodec` value.
fn video_codec_name(v: i32) -> R<Option<&'static str>> {
    match usize::try_from(v) {
        Ok(0) => Ok(None),
        Ok(i) if i <= super::wire::V2_CODECS.len() => Ok(Some(super::wire::V2_CODECS[i - 1])),
        _ => Err(DecodeError::InvalidEnum {
            field: "VideoFrame.video_codec",
            value: v,
        }),
    }
}

fn merge_frame(r: &mut RawFrame, body: Cur<'_>) -> R<()> {
    let mut ts_high = (r.frame.creation_timestamp_ns >> 64) as u64;
    let mut ts_low = r.frame.creation_timestamp_ns as u64;
    fields(body, |tag, wt, buf| {
        let f = &mut r.frame;
        let pending = &mut r.pending;
        match tag {
            1 => f.previous_frame_seq_id = Some(var_field(wt, buf)? as i64),
            2 => f.source_id = str_field(wt, buf)?,
            3 => {
                let b = sub(wt, buf)?;
                r.uuid = Some(parse_uuid(utf8(&b)?.as_bytes()));
            }
            4 if r.v2 => {
                fields(sub(wt, buf)?, |tag, wt, buf| {
                    match tag {
                        1 => ts_high = var_field(wt, buf)?,
                        2 => ts_low = var_field(wt, buf)?,
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
            }
            6 if r.v2 => {
                merge_rational(r.fps.get_or_insert((0, 0)), sub(wt, buf)?)?;
            }
            10 if r.v2 => r.video_codec = var_field(wt, buf)? as i32,
            12 if r.v2 => {
                let mut tb = (f.time_base.numerator, f.time_base.denominator);
                merge_rational(&mut tb, sub(wt, buf)?)?;
                f.time_base = TimeBase::new(tb.0, tb.1);
            }
            27 if r.v2 => r.misc_tracks.push(misc_track(sub(wt, buf)?)?),
            5 | 13 if r.v2 => return Ok(false),
            4 => ts_high = var_field(wt, buf)?,
            5 => ts_low = var_field(wt, buf)?,
            6 => f.framerate = str_field(wt, buf)?,
            7 => f.width = var_field(wt, buf)? as i64,
            8 => f.height = var_field(wt, buf)? as i64,
            9 => r.transcoding = var_field(wt, buf)? as i32,
            10 => f.codec = Some(str_field(wt, buf)?),
            11 => f.keyframe = Some(var_field(wt, buf)? != 0),
            12 => f.time_base.numerator = var_field(wt, buf)? as i32,
            13 => f.time_base.denominator = var_field(wt, buf)? as i32,
            14 => f.pts = var_field(wt, buf)? as i64,
            15 => f.dts = Some(var_field(wt, buf)? as i64),
            16 => f.duration = Some(var_field(wt, buf)? as i64),
            17 => r.content = Some(RawContent::Internal(sub(wt, buf)?.to_bytes())),
            18 => {
                let body = sub(wt, buf)?;
                let (mut method, mut location) = match r.content.take() {
                    Some(RawContent::External(m, l)) => (m, l),
                    _ => (String::new(), None),
                };
                fields(body, |tag, wt, buf| {
                    match tag {
                        1 => method = str_field(wt, buf)?,
                        2 => location = Some(str_field(wt, buf)?),
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
                r.content = Some(RawContent::External(method, location));
            }
            19 => {
                fields(sub(wt, buf)?, |_, _, _| Ok(false))?;
                r.content = Some(RawContent::None);
            }
            23 => {
                let mut t = None;
                merge_transformation(&mut t, sub(wt, buf)?, r.v2)?;
                r.transformations.push(t);
            }
            24 => f.attributes.push(attribute(sub(wt, buf)?, pending)?),
            25 => f.objects.push(object(sub(wt, buf)?, pending)?),
            26 => {
                let b = sub(wt, buf)?;
                r.previous_keyframe = Some(parse_uuid(utf8(&b)?.as_bytes()));
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    r.frame.creation_timestamp_ns = (u128::from(ts_high) << 64) | u128::from(ts_low);
    Ok(())
}

fn parse_uuid(b: &[u8]) -> R<Uuid> {
    Uuid::try_parse_ascii(b)
        .map_err(|_| DecodeError::InvalidUuid(String::from_utf8_lossy(b).into_owned()))
}

fn finish_frame(r: RawFrame) -> R<VideoFrame> {
    if let Some(e) = r.pending {
        return Err(e);
    }
    let mut f = r.frame;
    // the same order of checks as the prost path
    f.content = match r
        .content
        .ok_or(DecodeError::UnknownVariant("VideoFrame.content"))?
    {
        RawContent::Internal(b) => FrameContent::Internal(b),
        RawContent::External(method, location) => FrameContent::External { method, location },
        RawContent::None => FrameContent::None,
    };
    f.transcoding_method = match r.transcoding {
        0 => TranscodingMethod::Copy,
        1 => TranscodingMethod::Encoded,
        v => {
            return Err(DecodeError::InvalidEnum {
                field: "VideoFrame.transcoding_method",
                value: v,
            })
        }
    };
    // an absent uuid is an empty one
    f.uuid = r.uuid.unwrap_or_else(|| parse_uuid(b""))?;
    f.previous_keyframe = r.previous_keyframe.transpose()?;
    f.transformations = r
        .transformations
        .into_iter()
        .map(|t| t.ok_or(DecodeError::UnknownVariant("VideoFrameTransformation")))
        .collect::<R<_>>()?;
    if r.v2 {
        f.framerate = r.fps.map_or_else(String::new, |(n, d)| format!("{n}/{d}"));
        f.codec = video_codec_name(r.video_codec)?.map(str::to_string);
        f.misc_tracks = r
            .misc_tracks
            .into_iter()
            .map(finish_misc_track)
            .collect::<R<_>>()?;
    }
    f.validate()?;
    Ok(f)
}

// ---------------------------------------------------------------- update

fn attribute_policy(v: i32, field: &'static str) -> R<AttributeUpdatePolicy> {
    match v {
        0 => Ok(AttributeUpdatePolicy::ReplaceWithForeign),
        1 => Ok(AttributeUpdatePolicy::KeepOwn),
        2 => Ok(AttributeUpdatePolicy::Error),
        value => Err(DecodeError::InvalidEnum { field, value }),
    }
}

fn update(body: Cur<'_>) -> R<VideoFrameUpdate> {
    let mut pending = None;
    let u = update_inner(body, &mut pending)?;
    pending.map_or(Ok(u), Err)
}

fn update_inner(body: Cur<'_>, pending: &mut Pending) -> R<VideoFrameUpdate> {
    let mut u = VideoFrameUpdate::default();
    let (mut fap, mut oap, mut op) = (0i32, 0i32, 0i32);
    fields(body, |tag, wt, buf| {
        match tag {
            1 => u.frame_attributes.push(attribute(sub(wt, buf)?, pending)?),
            2 => {
                let (mut id, mut attr) = (0i64, None::<Attribute>);
                fields(sub(wt, buf)?, |tag, wt, buf| {
                    match tag {
                        1 => id = var_field(wt, buf)? as i64,
                        2 => {
                            let body = sub(wt, buf)?;
                            match attr.as_mut() {
                                Some(a) => merge_attribute(a, body, pending)?,
                                None => attr = Some(attribute(body, pending)?),
                            }
                        }
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
                // a semantic problem waits until the structure is read
                match attr {
                    Some(attr) => u.object_attributes.push((id, attr)),
                    None => {
                        pending
                            .get_or_insert(DecodeError::MissingField("ObjectAttribute.attribute"));
                    }
                }
            }
            3 => {
                let (mut obj, mut parent) = (None::<RawObject>, None);
                fields(sub(wt, buf)?, |tag, wt, buf| {
                    match tag {
                        1 => {
                            let o = obj.get_or_insert_with(new_raw_object);
                            merge_object(o, sub(wt, buf)?, pending)?;
                        }
                        2 => parent = Some(var_field(wt, buf)? as i64),
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
                match obj {
                    Some(obj) => {
                        let obj = defer(finish_object(obj), pending, || {
                            VideoObject::new(0, "", "", BoundingBox::default())
                        })?;
                        u.objects.push((obj, parent));
                    }
                    None => {
                        pending.get_or_insert(DecodeError::MissingField(
                            "VideoObjectWithForeignParent.object",
                        ));
                    }
                }
            }
            4 => fap = var_field(wt, buf)? as i32,
            5 => oap = var_field(wt, buf)? as i32,
            6 => op = var_field(wt, buf)? as i32,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    u.frame_attribute_policy = attribute_policy(fap, "VideoFrameUpdate.frame_attribute_policy")?;
    u.object_attribute_policy = attribute_policy(oap, "VideoFrameUpdate.object_attribute_policy")?;
    u.object_policy = match op {
        0 => ObjectUpdatePolicy::AddForeignObjects,
        1 => ObjectUpdatePolicy::ErrorIfLabelsCollide,
        2 => ObjectUpdatePolicy::ReplaceSameLabelObjects,
        value => {
            return Err(DecodeError::InvalidEnum {
                field: "VideoFrameUpdate.object_policy",
                value,
            })
        }
    };
    Ok(u)
}

// -------------------------------------------------------------- envelope

// One payload per message, on the stack: boxing the frame would cost an
// allocation a message.
#[allow(clippy::large_enum_variant)]
enum RawPayload<'a> {
    Frame(RawFrame),
    Batch(BTreeMap<i64, RawFrame>),
    /// Updates, user data and the small messages are decoded whole on each
    /// occurrence, but merged as prost merges: kept as bodies until the end.
    Bodies(u32, Vec<Cur<'a>>),
}

fn user_data(body: Cur<'_>) -> R<UserData> {
    let mut source_id = String::new();
    let mut attributes = Vec::new();
    let mut pending = None;
    fields(body, |tag, wt, buf| {
        match tag {
            1 => source_id = str_field(wt, buf)?,
            2 => {
                if let Some(a) = persistent_attribute(sub(wt, buf)?, &mut pending)? {
                    attributes.push(a);
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    if let Some(e) = pending {
        return Err(e);
    }
    attributes.retain(|a: &Attribute| a.is_persistent);
    Ok(UserData {
        source_id,
        attributes,
    })
}

/// Checks the protobuf structure of each occurrence of a payload on its
/// own, as prost decodes each occurrence before merging (a concatenation
/// can be valid where its parts are not). Semantic problems do not count
/// here: prost only checks those on the final value.
fn check_structure(tag: u32, bodies: &[Cur<'_>]) -> R<()> {
    for body in bodies {
        let r = match tag {
            7 => update(*body).map(drop),
            8 => user_data(*body).map(drop),
            _ => string_body(vec![*body]).map(drop),
        };
        if let Err(e @ DecodeError::Protobuf(_)) = r {
            return Err(e);
        }
    }
    Ok(())
}

/// A payload that a later one replaced: only its structure is checked.
fn check_replaced(tag: u32, bodies: Vec<Cur<'_>>) -> R<()> {
    check_structure(tag, &bodies)
}

fn string_body(bodies: Vec<Cur<'_>>) -> R<String> {
    let mut s = String::new();
    for b in bodies {
        fields(b, |tag, wt, buf| {
            if tag != 1 {
                return Ok(false);
            }
            s = str_field(wt, buf)?;
            Ok(true)
        })?;
    }
    Ok(s)
}

/// `decode` applied to the bodies of a repeated message field, which
/// merges like their concatenation: the one body itself, or a copy of all.
fn concatenated<T>(bodies: Vec<Cur<'_>>, decode: impl FnOnce(Cur<'_>) -> R<T>) -> R<T> {
    if let [one] = bodies[..] {
        return decode(one);
    }
    let mut all = Vec::with_capacity(bodies.iter().map(|b| b.len()).sum());
    for b in &bodies {
        all.extend_from_slice(b);
    }
    let all = Bytes::from(all);
    decode(Cur::new(&all))
}

/// The last `protocol_version` (field 1) of an envelope, found without
/// decoding anything else; `None` where the envelope is malformed (the
/// full decode then reports it).
fn peek_version(mut buf: Cur<'_>) -> Option<Cur<'_>> {
    let mut version = None;
    while buf.has_remaining() {
        let (tag, wt) = key(&mut buf).ok()?;
        if tag == 1 && wt == WireType::LengthDelimited {
            version = Some(ld(&mut buf).ok()?);
        } else {
            skip(wt, tag, &mut buf).ok()?;
        }
    }
    version
}

/// Decodes a whole message in the layout its version names (0.2.x/1.x
/// for versions of no known generation). The version and its generation
/// go to `check_version` before the payload's own checks run, in the order
/// the prost path uses.
pub(crate) fn decode(
    message: Bytes,
    check_version: impl FnOnce(&str, Option<Generation>) -> R<()>,
) -> R<Message> {
    let body = Cur::new(&message);
    let generation = peek_version(body).and_then(|v| {
        std::str::from_utf8(&v)
            .ok()
            .and_then(ProtocolVersion::generation_of)
    });
    let v2 = generation.is_some_and(Generation::is_v2);
    let mut system_id = String::new();
    let mut version = String::new();
    let mut labels = Vec::new();
    let mut context = BTreeMap::new();
    let mut seq_id = 0u64;
    let mut payload: Option<RawPayload> = None;
    fields(body, |tag, wt, buf| {
        match tag {
            1 => version = str_field(wt, buf)?,
            2 => labels.push(str_field(wt, buf)?),
            3 => {
                let (mut k, mut v) = (String::new(), String::new());
                fields(sub(wt, buf)?, |tag, wt, buf| {
                    match tag {
                        1 => k = str_field(wt, buf)?,
                        2 => v = str_field(wt, buf)?,
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
                context.insert(k, v);
            }
            4 => seq_id = var_field(wt, buf)?,
            // savant-rs before 1.15 has no field 20 and skips it
            20 if generation.is_some_and(Generation::has_system_id) => {
                system_id = str_field(wt, buf)?
            }
            5 => {
                let body = sub(wt, buf)?;
                match payload.as_mut() {
                    Some(RawPayload::Frame(f)) => merge_frame(f, body)?,
                    _ => {
                        let mut f = new_raw_frame(v2);
                        merge_frame(&mut f, body)?;
                        if let Some(RawPayload::Bodies(t, bodies)) =
                            payload.replace(RawPayload::Frame(f))
                        {
                            check_replaced(t, bodies)?;
                        }
                    }
                }
            }
            6 => {
                let body = sub(wt, buf)?;
                if !matches!(payload, Some(RawPayload::Batch(_))) {
                    if let Some(RawPayload::Bodies(t, bodies)) =
                        payload.replace(RawPayload::Batch(BTreeMap::new()))
                    {
                        check_replaced(t, bodies)?;
                    }
                }
                let Some(RawPayload::Batch(batch)) = payload.as_mut() else {
                    unreachable!("set above")
                };
                fields(body, |tag, wt, buf| {
                    if tag != 1 {
                        return Ok(false);
                    }
                    let (mut k, mut f) = (0i64, None::<RawFrame>);
                    fields(sub(wt, buf)?, |tag, wt, buf| {
                        match tag {
                            1 => k = var_field(wt, buf)? as i64,
                            2 => merge_frame(
                                f.get_or_insert_with(|| new_raw_frame(v2)),
                                sub(wt, buf)?,
                            )?,
                            _ => return Ok(false),
                        }
                        Ok(true)
                    })?;
                    // a map entry without a value holds the default frame
                    batch.insert(k, f.unwrap_or_else(|| new_raw_frame(v2)));
                    Ok(true)
                })?;
            }
            7..=11 => {
                let body = sub(wt, buf)?;
                match payload.as_mut() {
                    Some(RawPayload::Bodies(t, bodies)) if *t == tag => bodies.push(body),
                    _ => {
                        if let Some(RawPayload::Bodies(t, bodies)) =
                            payload.replace(RawPayload::Bodies(tag, vec![body]))
                        {
                            check_replaced(t, bodies)?;
                        }
                    }
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    if let Some(RawPayload::Bodies(t, bodies)) = &payload {
        if bodies.len() > 1 {
            check_structure(*t, bodies)?;
        }
    }
    check_version(&version, generation)?;
    let payload = match payload.ok_or(DecodeError::UnknownVariant("Message.content"))? {
        RawPayload::Frame(f) => MessagePayload::VideoFrame(Box::new(finish_frame(f)?)),
        RawPayload::Batch(b) => MessagePayload::VideoFrameBatch(VideoFrameBatch {
            frames: b
                .into_iter()
                .map(|(k, f)| Ok((k, finish_frame(f)?)))
                .collect::<R<_>>()?,
        }),
        RawPayload::Bodies(7, bodies) => {
            MessagePayload::VideoFrameUpdate(Box::new(concatenated(bodies, update)?))
        }
        RawPayload::Bodies(8, bodies) => MessagePayload::UserData(concatenated(bodies, user_data)?),
        RawPayload::Bodies(9, bodies) => MessagePayload::EndOfStream(EndOfStream {
            source_id: string_body(bodies)?,
        }),
        RawPayload::Bodies(10, bodies) => MessagePayload::Unknown(Unknown {
            message: string_body(bodies)?,
        }),
        RawPayload::Bodies(_, bodies) => MessagePayload::Shutdown(Shutdown {
            auth: string_body(bodies)?,
        }),
    };
    Ok(Message {
        protocol_version: version,
        system_id,
        routing_labels: labels,
        propagated_context: context,
        seq_id,
        payload,
    })
}
