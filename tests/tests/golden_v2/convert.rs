//! Conversions between our model and the prost types of `savant-protobuf`
//! 2.1.1 (the savant-rs 2.x schema), written from that crate's
//! `savant_rs.proto` and not from our codec: the golden tests and the fuzz
//! target (`fuzz/fuzz_targets/decode_message.rs` includes this file) hold
//! our 2.x encoder and decoder to them.
//!
//! [`to_pb`] is what our encoder must write for a message (only persistent
//! frame, user-data and update attributes travel; the fields our model
//! always has, `creation_timestamp_ns`, `time_base` and the content, are
//! always present). [`from_pb`] is what our decoder must give for a prost
//! message, with the checks it makes and savant-rs's prost types do not:
//! a oneof that must be set (message content, frame content,
//! transformation, attribute value, the data of box/point/polygon/
//! intersection values), known enum values (prost keeps unknown ones as
//! integers), parseable uuids, parents that are objects of the frame, the
//! detection box of an object; and it drops temporary attributes of
//! objects and user data on arrival as our decoder does.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use savant_protobuf::generated as pb;
use savant_sdk_protocol::model::*;
use uuid::Uuid;

type R<T> = Result<T, String>;

// ------------------------------------------------------------- codec enum

/// The `VideoCodec` value of one of our codec names, from the enum's own
/// names (`RAW_RGBA` is `raw-rgba`); `None` for a name it has not.
pub fn codec_to_pb(name: Option<&str>) -> Option<i32> {
    match name {
        None => Some(pb::VideoCodec::Unspecified as i32),
        Some(n) => (1..=11).find(|v| codec_name_of(*v) == Some(n.to_string())),
    }
}

fn codec_name_of(v: i32) -> Option<String> {
    let c = pb::VideoCodec::try_from(v).ok()?;
    if c == pb::VideoCodec::Unspecified {
        return None;
    }
    Some(c.as_str_name().to_lowercase().replace('_', "-"))
}

fn codec_from_pb(v: i32) -> R<Option<String>> {
    if v == 0 {
        return Ok(None);
    }
    codec_name_of(v)
        .map(Some)
        .ok_or_else(|| format!("unknown VideoCodec {v}"))
}

// ---------------------------------------------------------------- to prost

fn bbox_to_pb(b: &BoundingBox) -> pb::BoundingBox {
    pb::BoundingBox {
        xc: b.xc,
        yc: b.yc,
        width: b.width,
        height: b.height,
        angle: b.angle,
    }
}

fn point_to_pb(p: &Point) -> pb::Point {
    pb::Point { x: p.x, y: p.y }
}

fn polygon_to_pb(p: &PolygonalArea) -> pb::PolygonalArea {
    pb::PolygonalArea {
        points: p.points.iter().map(point_to_pb).collect(),
        tags: p.tags.as_ref().map(|t| pb::PolygonalAreaTags {
            tags: t
                .iter()
                .map(|t| pb::PolygonalAreaTag { tag: t.clone() })
                .collect(),
        }),
    }
}

fn intersection_kind_to_pb(k: IntersectionKind) -> i32 {
    (match k {
        IntersectionKind::Enter => pb::IntersectionKind::Enter,
        IntersectionKind::Inside => pb::IntersectionKind::Inside,
        IntersectionKind::Leave => pb::IntersectionKind::Leave,
        IntersectionKind::Cross => pb::IntersectionKind::Cross,
        IntersectionKind::Outside => pb::IntersectionKind::Outside,
    }) as i32
}

fn intersection_to_pb(i: &Intersection) -> pb::Intersection {
    pb::Intersection {
        kind: intersection_kind_to_pb(i.kind),
        edges: i
            .edges
            .iter()
            .map(|e| pb::IntersectionEdge {
                id: e.id,
                tag: e.tag.clone(),
            })
            .collect(),
    }
}

fn value_to_pb(v: &AttributeValue) -> pb::AttributeValue {
    use pb::attribute_value::Value as V;
    use AttributeValueKind as K;
    let value = match &v.kind {
        K::Bytes { dims, data } => V::Bytes(pb::BytesAttributeValueVariant {
            dims: dims.clone(),
            data: data.to_vec(),
        }),
        K::String(s) => V::String(pb::StringAttributeValueVariant { data: s.clone() }),
        K::StringVector(s) => {
            V::StringVector(pb::StringVectorAttributeValueVariant { data: s.clone() })
        }
        K::Integer(i) => V::Integer(pb::IntegerAttributeValueVariant { data: *i }),
        K::IntegerVector(i) => {
            V::IntegerVector(pb::IntegerVectorAttributeValueVariant { data: i.clone() })
        }
        K::Float(f) => V::Float(pb::FloatAttributeValueVariant { data: *f }),
        K::FloatVector(f) => {
            V::FloatVector(pb::FloatVectorAttributeValueVariant { data: f.clone() })
        }
        K::Boolean(b) => V::Boolean(pb::BooleanAttributeValueVariant { data: *b }),
        K::BooleanVector(b) => {
            V::BooleanVector(pb::BooleanVectorAttributeValueVariant { data: b.clone() })
        }
        K::BoundingBox(b) => V::BoundingBox(pb::BoundingBoxAttributeValueVariant {
            data: Some(bbox_to_pb(b)),
        }),
        K::BoundingBoxVector(b) => {
            V::BoundingBoxVector(pb::BoundingBoxVectorAttributeValueVariant {
                data: b.iter().map(bbox_to_pb).collect(),
            })
        }
        K::Point(p) => V::Point(pb::PointAttributeValueVariant {
            data: Some(point_to_pb(p)),
        }),
        K::PointVector(p) => V::PointVector(pb::PointVectorAttributeValueVariant {
            data: p.iter().map(point_to_pb).collect(),
        }),
        K::Polygon(p) => V::Polygon(pb::PolygonAttributeValueVariant {
            data: Some(polygon_to_pb(p)),
        }),
        K::PolygonVector(p) => V::PolygonVector(pb::PolygonVectorAttributeValueVariant {
            data: p.iter().map(polygon_to_pb).collect(),
        }),
        K::Intersection(i) => V::Intersection(pb::IntersectionAttributeValueVariant {
            data: Some(intersection_to_pb(i)),
        }),
        K::None => V::None(pb::NoneAttributeValueVariant {}),
        K::Temporary => V::Temporary(pb::TemporaryValueVariant {}),
    };
    pb::AttributeValue {
        confidence: v.confidence,
        value: Some(value),
    }
}

pub fn attribute_to_pb(a: &Attribute) -> pb::Attribute {
    pb::Attribute {
        namespace: a.namespace.clone(),
        name: a.name.clone(),
        values: a.values.iter().map(value_to_pb).collect(),
        hint: a.hint.clone(),
        is_persistent: a.is_persistent,
        is_hidden: a.is_hidden,
    }
}

fn persistent_to_pb(attrs: &[Attribute]) -> Vec<pb::Attribute> {
    attrs
        .iter()
        .filter(|a| a.is_persistent)
        .map(attribute_to_pb)
        .collect()
}

fn object_to_pb(o: &VideoObject) -> pb::VideoObject {
    pb::VideoObject {
        id: o.id,
        parent_id: o.parent_id,
        namespace: o.namespace.clone(),
        label: o.label.clone(),
        draw_label: o.draw_label.clone(),
        detection_box: Some(bbox_to_pb(&o.detection_box)),
        // savant-rs writes every attribute of an object; we do too
        attributes: o.attributes.iter().map(attribute_to_pb).collect(),
        confidence: o.confidence,
        track_box: o.track_box.as_ref().map(bbox_to_pb),
        track_id: o.track_id,
    }
}

fn transformation_to_pb(t: &FrameTransformation) -> pb::VideoFrameTransformation {
    use pb::video_frame_transformation::Transformation as T;
    let t = match *t {
        FrameTransformation::InitialSize { width, height } => {
            T::InitialSize(pb::InitialSize { width, height })
        }
        FrameTransformation::LetterBox {
            outer_width,
            outer_height,
            left,
            top,
            right,
            bottom,
        } => T::LetterBox(pb::LetterBox {
            outer_width,
            outer_height,
            padding_left: left,
            padding_top: top,
            padding_right: right,
            padding_bottom: bottom,
        }),
        FrameTransformation::Padding {
            left,
            top,
            right,
            bottom,
        } => T::Padding(pb::Padding {
            padding_left: left,
            padding_top: top,
            padding_right: right,
            padding_bottom: bottom,
        }),
        FrameTransformation::Crop {
            left,
            top,
            right,
            bottom,
        } => T::Crop(pb::Crop {
            left,
            top,
            right,
            bottom,
        }),
        FrameTransformation::Scale { .. } | FrameTransformation::ResultingSize { .. } => {
            panic!("{t:?} has no 2.x form")
        }
    };
    pb::VideoFrameTransformation {
        transformation: Some(t),
    }
}

/// `"N/D"` as a `Rational32`; `None` for an empty frame rate.
pub fn fps_to_pb(framerate: &str) -> Option<pb::Rational32> {
    if framerate.is_empty() {
        return None;
    }
    let (n, d) = framerate.split_once('/').expect("N/D");
    Some(pb::Rational32 {
        numerator: n.parse().expect("32-bit numerator"),
        denominator: d.parse().expect("32-bit denominator"),
    })
}

fn misc_track_to_pb(t: &MiscTrack) -> pb::MiscTrackData {
    pb::MiscTrackData {
        object_id: t.object_id,
        class_id: t.class_id,
        label: t.label.clone(),
        source_id: t.source_id.clone(),
        category: (match t.category {
            MiscTrackCategory::Shadow => pb::MiscTrackCategory::MiscTrackShadow,
            MiscTrackCategory::Terminated => pb::MiscTrackCategory::MiscTrackTerminated,
            MiscTrackCategory::PastFrame => pb::MiscTrackCategory::MiscTrackPastFrame,
        }) as i32,
        frames: t
            .frames
            .iter()
            .map(|f| pb::MiscTrackFrame {
                frame_num: f.frame_num,
                bbox_left: f.bbox_left,
                bbox_top: f.bbox_top,
                bbox_width: f.bbox_width,
                bbox_height: f.bbox_height,
                confidence: f.confidence,
                age: f.age,
                state: (match f.state {
                    TrackState::Empty => pb::TrackState::Empty,
                    TrackState::Active => pb::TrackState::Active,
                    TrackState::Inactive => pb::TrackState::Inactive,
                    TrackState::Tentative => pb::TrackState::Tentative,
                    TrackState::Projected => pb::TrackState::Projected,
                }) as i32,
                visibility: f.visibility,
            })
            .collect(),
    }
}

pub fn frame_to_pb(f: &VideoFrame) -> pb::VideoFrame {
    use pb::video_frame::Content as C;
    pb::VideoFrame {
        previous_frame_seq_id: f.previous_frame_seq_id,
        source_id: f.source_id.clone(),
        uuid: f.uuid.hyphenated().to_string(),
        creation_timestamp_ns: Some(pb::NanosecondsU128 {
            high: (f.creation_timestamp_ns >> 64) as u64,
            low: f.creation_timestamp_ns as u64,
        }),
        fps: fps_to_pb(&f.framerate),
        width: f.width,
        height: f.height,
        transcoding_method: (match f.transcoding_method {
            TranscodingMethod::Copy => pb::VideoFrameTranscodingMethod::Copy,
            TranscodingMethod::Encoded => pb::VideoFrameTranscodingMethod::Encoded,
        }) as i32,
        video_codec: codec_to_pb(f.codec.as_deref()).expect("a 2.x codec"),
        keyframe: f.keyframe,
        time_base: Some(pb::Rational32 {
            numerator: f.time_base.numerator,
            denominator: f.time_base.denominator,
        }),
        pts: f.pts,
        dts: f.dts,
        duration: f.duration,
        transformations: f.transformations.iter().map(transformation_to_pb).collect(),
        attributes: persistent_to_pb(&f.attributes),
        objects: f.objects.iter().map(object_to_pb).collect(),
        previous_keyframe: f.previous_keyframe.map(|k| k.hyphenated().to_string()),
        misc_tracks: f.misc_tracks.iter().map(misc_track_to_pb).collect(),
        content: Some(match &f.content {
            FrameContent::Internal(b) => C::Internal(b.to_vec()),
            FrameContent::External { method, location } => C::External(pb::ExternalFrame {
                method: method.clone(),
                location: location.clone(),
            }),
            FrameContent::None => C::None(pb::NoneFrame {}),
        }),
    }
}

fn attribute_policy_to_pb(p: AttributeUpdatePolicy) -> i32 {
    (match p {
        AttributeUpdatePolicy::ReplaceWithForeign => pb::AttributeUpdatePolicy::ReplaceWithForeign,
        AttributeUpdatePolicy::KeepOwn => pb::AttributeUpdatePolicy::KeepOwn,
        AttributeUpdatePolicy::Error => pb::AttributeUpdatePolicy::Error,
    }) as i32
}

fn update_to_pb(u: &VideoFrameUpdate) -> pb::VideoFrameUpdate {
    pb::VideoFrameUpdate {
        frame_attributes: persistent_to_pb(&u.frame_attributes),
        object_attributes: u
            .object_attributes
            .iter()
            .filter(|(_, a)| a.is_persistent)
            .map(|(id, a)| pb::ObjectAttribute {
                object_id: *id,
                attribute: Some(attribute_to_pb(a)),
            })
            .collect(),
        objects: u
            .objects
            .iter()
            .map(|(o, p)| pb::VideoObjectWithForeignParent {
                object: Some(object_to_pb(o)),
                parent_id: *p,
            })
            .collect(),
        frame_attribute_policy: attribute_policy_to_pb(u.frame_attribute_policy),
        object_attribute_policy: attribute_policy_to_pb(u.object_attribute_policy),
        object_policy: (match u.object_policy {
            ObjectUpdatePolicy::AddForeignObjects => pb::ObjectUpdatePolicy::AddForeignObjects,
            ObjectUpdatePolicy::ErrorIfLabelsCollide => {
                pb::ObjectUpdatePolicy::ErrorIfLabelsCollide
            }
            ObjectUpdatePolicy::ReplaceSameLabelObjects => {
                pb::ObjectUpdatePolicy::ReplaceSameLabelObjects
            }
        }) as i32,
    }
}

/// What our encoder must write for `m` in the 2.x layout, as prost values.
pub fn to_pb(m: &Message) -> pb::Message {
    use pb::message::Content as C;
    let content = match &m.payload {
        MessagePayload::VideoFrame(f) => C::VideoFrame(frame_to_pb(f)),
        MessagePayload::VideoFrameBatch(b) => C::VideoFrameBatch(pb::VideoFrameBatch {
            batch: b.frames.iter().map(|(k, f)| (*k, frame_to_pb(f))).collect(),
        }),
        MessagePayload::VideoFrameUpdate(u) => C::VideoFrameUpdate(update_to_pb(u)),
        MessagePayload::UserData(u) => C::UserData(pb::UserData {
            source_id: u.source_id.clone(),
            attributes: persistent_to_pb(&u.attributes),
        }),
        MessagePayload::EndOfStream(e) => C::EndOfStream(pb::EndOfStream {
            source_id: e.source_id.clone(),
        }),
        MessagePayload::Unknown(u) => C::Unknown(pb::Unknown {
            message: u.message.clone(),
        }),
        MessagePayload::Shutdown(s) => C::Shutdown(pb::Shutdown {
            auth: s.auth.clone(),
        }),
    };
    pb::Message {
        protocol_version: m.protocol_version.clone(),
        routing_labels: m.routing_labels.clone(),
        propagated_context: m
            .propagated_context
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<HashMap<_, _>>(),
        seq_id: m.seq_id,
        system_id: m.system_id.clone(),
        content: Some(content),
    }
}

// -------------------------------------------------------------- from prost

fn bbox_from_pb(b: &pb::BoundingBox) -> BoundingBox {
    BoundingBox {
        xc: b.xc,
        yc: b.yc,
        width: b.width,
        height: b.height,
        angle: b.angle,
    }
}

fn point_from_pb(p: &pb::Point) -> Point {
    Point::new(p.x, p.y)
}

fn polygon_from_pb(p: &pb::PolygonalArea) -> PolygonalArea {
    PolygonalArea {
        points: p.points.iter().map(point_from_pb).collect(),
        tags: p
            .tags
            .as_ref()
            .map(|t| t.tags.iter().map(|t| t.tag.clone()).collect()),
    }
}

fn intersection_from_pb(i: &pb::Intersection) -> R<Intersection> {
    let kind = match pb::IntersectionKind::try_from(i.kind) {
        Ok(pb::IntersectionKind::Enter) => IntersectionKind::Enter,
        Ok(pb::IntersectionKind::Inside) => IntersectionKind::Inside,
        Ok(pb::IntersectionKind::Leave) => IntersectionKind::Leave,
        Ok(pb::IntersectionKind::Cross) => IntersectionKind::Cross,
        Ok(pb::IntersectionKind::Outside) => IntersectionKind::Outside,
        Err(_) => return Err(format!("unknown IntersectionKind {}", i.kind)),
    };
    Ok(Intersection {
        kind,
        edges: i
            .edges
            .iter()
            .map(|e| IntersectionEdge {
                id: e.id,
                tag: e.tag.clone(),
            })
            .collect(),
    })
}

fn value_from_pb(v: &pb::AttributeValue) -> R<AttributeValue> {
    use pb::attribute_value::Value as V;
    use AttributeValueKind as K;
    let missing = |what: &str| format!("{what} without data");
    let kind = match v.value.as_ref().ok_or("AttributeValue without value")? {
        V::Bytes(b) => K::Bytes {
            dims: b.dims.clone(),
            data: Bytes::from(b.data.clone()),
        },
        V::String(s) => K::String(s.data.clone()),
        V::StringVector(s) => K::StringVector(s.data.clone()),
        V::Integer(i) => K::Integer(i.data),
        V::IntegerVector(i) => K::IntegerVector(i.data.clone()),
        V::Float(f) => K::Float(f.data),
        V::FloatVector(f) => K::FloatVector(f.data.clone()),
        V::Boolean(b) => K::Boolean(b.data),
        V::BooleanVector(b) => K::BooleanVector(b.data.clone()),
        V::BoundingBox(b) => K::BoundingBox(bbox_from_pb(
            b.data.as_ref().ok_or_else(|| missing("bounding box"))?,
        )),
        V::BoundingBoxVector(b) => K::BoundingBoxVector(b.data.iter().map(bbox_from_pb).collect()),
        V::Point(p) => K::Point(point_from_pb(
            p.data.as_ref().ok_or_else(|| missing("point"))?,
        )),
        V::PointVector(p) => K::PointVector(p.data.iter().map(point_from_pb).collect()),
        V::Polygon(p) => K::Polygon(polygon_from_pb(
            p.data.as_ref().ok_or_else(|| missing("polygon"))?,
        )),
        V::PolygonVector(p) => K::PolygonVector(p.data.iter().map(polygon_from_pb).collect()),
        V::Intersection(i) => K::Intersection(intersection_from_pb(
            i.data.as_ref().ok_or_else(|| missing("intersection"))?,
        )?),
        V::None(_) => K::None,
        V::Temporary(_) => K::Temporary,
    };
    Ok(AttributeValue {
        kind,
        confidence: v.confidence,
    })
}

pub fn attribute_from_pb(a: &pb::Attribute) -> R<Attribute> {
    Ok(Attribute {
        namespace: a.namespace.clone(),
        name: a.name.clone(),
        values: a.values.iter().map(value_from_pb).collect::<R<_>>()?,
        hint: a.hint.clone(),
        is_persistent: a.is_persistent,
        is_hidden: a.is_hidden,
    })
}

/// Attributes of objects and user data: temporary ones are dropped on
/// arrival, with whatever is wrong in them.
fn persistent_from_pb(attrs: &[pb::Attribute]) -> R<Vec<Attribute>> {
    attrs
        .iter()
        .filter(|a| a.is_persistent)
        .map(attribute_from_pb)
        .collect()
}

fn object_from_pb(o: &pb::VideoObject) -> R<VideoObject> {
    Ok(VideoObject {
        id: o.id,
        parent_id: o.parent_id,
        namespace: o.namespace.clone(),
        label: o.label.clone(),
        draw_label: o.draw_label.clone(),
        detection_box: bbox_from_pb(
            o.detection_box
                .as_ref()
                .ok_or("VideoObject without detection_box")?,
        ),
        attributes: persistent_from_pb(&o.attributes)?,
        confidence: o.confidence,
        track_box: o.track_box.as_ref().map(bbox_from_pb),
        track_id: o.track_id,
    })
}

fn transformation_from_pb(t: &pb::VideoFrameTransformation) -> R<FrameTransformation> {
    use pb::video_frame_transformation::Transformation as T;
    Ok(
        match t
            .transformation
            .as_ref()
            .ok_or("VideoFrameTransformation without transformation")?
        {
            T::InitialSize(s) => FrameTransformation::InitialSize {
                width: s.width,
                height: s.height,
            },
            T::LetterBox(l) => FrameTransformation::LetterBox {
                outer_width: l.outer_width,
                outer_height: l.outer_height,
                left: l.padding_left,
                top: l.padding_top,
                right: l.padding_right,
                bottom: l.padding_bottom,
            },
            T::Padding(p) => FrameTransformation::Padding {
                left: p.padding_left,
                top: p.padding_top,
                right: p.padding_right,
                bottom: p.padding_bottom,
            },
            T::Crop(c) => FrameTransformation::Crop {
                left: c.left,
                top: c.top,
                right: c.right,
                bottom: c.bottom,
            },
        },
    )
}

fn misc_track_from_pb(t: &pb::MiscTrackData) -> R<MiscTrack> {
    let category = match pb::MiscTrackCategory::try_from(t.category) {
        Ok(pb::MiscTrackCategory::MiscTrackShadow) => MiscTrackCategory::Shadow,
        Ok(pb::MiscTrackCategory::MiscTrackTerminated) => MiscTrackCategory::Terminated,
        Ok(pb::MiscTrackCategory::MiscTrackPastFrame) => MiscTrackCategory::PastFrame,
        Err(_) => return Err(format!("unknown MiscTrackCategory {}", t.category)),
    };
    let frames = t
        .frames
        .iter()
        .map(|f| {
            let state = match pb::TrackState::try_from(f.state) {
                Ok(pb::TrackState::Empty) => TrackState::Empty,
                Ok(pb::TrackState::Active) => TrackState::Active,
                Ok(pb::TrackState::Inactive) => TrackState::Inactive,
                Ok(pb::TrackState::Tentative) => TrackState::Tentative,
                Ok(pb::TrackState::Projected) => TrackState::Projected,
                Err(_) => return Err(format!("unknown TrackState {}", f.state)),
            };
            Ok(MiscTrackFrame {
                frame_num: f.frame_num,
                bbox_left: f.bbox_left,
                bbox_top: f.bbox_top,
                bbox_width: f.bbox_width,
                bbox_height: f.bbox_height,
                confidence: f.confidence,
                age: f.age,
                state,
                visibility: f.visibility,
            })
        })
        .collect::<R<_>>()?;
    Ok(MiscTrack {
        object_id: t.object_id,
        class_id: t.class_id,
        label: t.label.clone(),
        source_id: t.source_id.clone(),
        category,
        frames,
    })
}

fn uuid_from_pb(s: &str) -> R<Uuid> {
    // what savant-rs accepts: any form the uuid crate parses
    Uuid::try_parse(s).map_err(|e| format!("uuid {s:?}: {e}"))
}

pub fn frame_from_pb(f: &pb::VideoFrame) -> R<VideoFrame> {
    use pb::video_frame::Content as C;
    let content = match f.content.as_ref().ok_or("VideoFrame without content")? {
        C::Internal(b) => FrameContent::Internal(Bytes::from(b.clone())),
        C::External(e) => FrameContent::External {
            method: e.method.clone(),
            location: e.location.clone(),
        },
        C::None(_) => FrameContent::None,
    };
    let transcoding_method = match pb::VideoFrameTranscodingMethod::try_from(f.transcoding_method) {
        Ok(pb::VideoFrameTranscodingMethod::Copy) => TranscodingMethod::Copy,
        Ok(pb::VideoFrameTranscodingMethod::Encoded) => TranscodingMethod::Encoded,
        Err(_) => return Err(format!("unknown transcoding {}", f.transcoding_method)),
    };
    let ts = f
        .creation_timestamp_ns
        .as_ref()
        .map_or(0, |t| (u128::from(t.high) << 64) | u128::from(t.low));
    let time_base = f.time_base.as_ref().map_or(TimeBase::new(0, 0), |t| {
        TimeBase::new(t.numerator, t.denominator)
    });
    let objects = f
        .objects
        .iter()
        .map(object_from_pb)
        .collect::<R<Vec<_>>>()?;
    for o in &objects {
        if let Some(p) = o.parent_id {
            if !objects.iter().any(|x| x.id == p) {
                return Err(format!("object {} has parent {p} not on the frame", o.id));
            }
        }
    }
    Ok(VideoFrame {
        source_id: f.source_id.clone(),
        uuid: uuid_from_pb(&f.uuid)?,
        creation_timestamp_ns: ts,
        framerate: f.fps.as_ref().map_or_else(String::new, |r| {
            format!("{}/{}", r.numerator, r.denominator)
        }),
        width: f.width,
        height: f.height,
        transcoding_method,
        codec: codec_from_pb(f.video_codec)?,
        keyframe: f.keyframe,
        time_base,
        pts: f.pts,
        dts: f.dts,
        duration: f.duration,
        content,
        transformations: f
            .transformations
            .iter()
            .map(transformation_from_pb)
            .collect::<R<_>>()?,
        // frame attributes are kept as they come, temporary or not
        attributes: f
            .attributes
            .iter()
            .map(attribute_from_pb)
            .collect::<R<_>>()?,
        objects,
        previous_frame_seq_id: f.previous_frame_seq_id,
        previous_keyframe: f
            .previous_keyframe
            .as_deref()
            .map(uuid_from_pb)
            .transpose()?,
        misc_tracks: f
            .misc_tracks
            .iter()
            .map(misc_track_from_pb)
            .collect::<R<_>>()?,
    })
}

fn attribute_policy_from_pb(v: i32) -> R<AttributeUpdatePolicy> {
    match pb::AttributeUpdatePolicy::try_from(v) {
        Ok(pb::AttributeUpdatePolicy::ReplaceWithForeign) => {
            Ok(AttributeUpdatePolicy::ReplaceWithForeign)
        }
        Ok(pb::AttributeUpdatePolicy::KeepOwn) => Ok(AttributeUpdatePolicy::KeepOwn),
        Ok(pb::AttributeUpdatePolicy::Error) => Ok(AttributeUpdatePolicy::Error),
        Err(_) => Err(format!("unknown AttributeUpdatePolicy {v}")),
    }
}

fn update_from_pb(u: &pb::VideoFrameUpdate) -> R<VideoFrameUpdate> {
    Ok(VideoFrameUpdate {
        frame_attributes: u
            .frame_attributes
            .iter()
            .map(attribute_from_pb)
            .collect::<R<_>>()?,
        object_attributes: u
            .object_attributes
            .iter()
            .map(|oa| {
                let a = oa
                    .attribute
                    .as_ref()
                    .ok_or("ObjectAttribute without attribute")?;
                Ok((oa.object_id, attribute_from_pb(a)?))
            })
            .collect::<R<_>>()?,
        objects: u
            .objects
            .iter()
            .map(|o| {
                let obj = o
                    .object
                    .as_ref()
                    .ok_or("VideoObjectWithForeignParent without object")?;
                Ok((object_from_pb(obj)?, o.parent_id))
            })
            .collect::<R<_>>()?,
        frame_attribute_policy: attribute_policy_from_pb(u.frame_attribute_policy)?,
        object_attribute_policy: attribute_policy_from_pb(u.object_attribute_policy)?,
        object_policy: match pb::ObjectUpdatePolicy::try_from(u.object_policy) {
            Ok(pb::ObjectUpdatePolicy::AddForeignObjects) => ObjectUpdatePolicy::AddForeignObjects,
            Ok(pb::ObjectUpdatePolicy::ErrorIfLabelsCollide) => {
                ObjectUpdatePolicy::ErrorIfLabelsCollide
            }
            Ok(pb::ObjectUpdatePolicy::ReplaceSameLabelObjects) => {
                ObjectUpdatePolicy::ReplaceSameLabelObjects
            }
            Err(_) => return Err(format!("unknown ObjectUpdatePolicy {}", u.object_policy)),
        },
    })
}

/// What our decoder must give for the prost message `p` (of a 2.x
/// version), or why it must refuse it.
pub fn from_pb(p: &pb::Message) -> R<Message> {
    use pb::message::Content as C;
    let payload = match p.content.as_ref().ok_or("Message without content")? {
        C::VideoFrame(f) => MessagePayload::VideoFrame(Box::new(frame_from_pb(f)?)),
        C::VideoFrameBatch(b) => MessagePayload::VideoFrameBatch(VideoFrameBatch {
            frames: b
                .batch
                .iter()
                .map(|(k, f)| Ok((*k, frame_from_pb(f)?)))
                .collect::<R<BTreeMap<_, _>>>()?,
        }),
        C::VideoFrameUpdate(u) => MessagePayload::VideoFrameUpdate(Box::new(update_from_pb(u)?)),
        C::UserData(u) => MessagePayload::UserData(UserData {
            source_id: u.source_id.clone(),
            attributes: persistent_from_pb(&u.attributes)?,
        }),
        C::EndOfStream(e) => MessagePayload::EndOfStream(EndOfStream::new(e.source_id.clone())),
        C::Unknown(u) => MessagePayload::Unknown(Unknown {
            message: u.message.clone(),
        }),
        C::Shutdown(s) => MessagePayload::Shutdown(Shutdown::new(s.auth.clone())),
    };
    Ok(Message {
        protocol_version: p.protocol_version.clone(),
        system_id: p.system_id.clone(),
        routing_labels: p.routing_labels.clone(),
        propagated_context: p
            .propagated_context
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        seq_id: p.seq_id,
        payload,
    })
}

/// Whether the encoding of `p` has a hash-ordered map with more than one
/// entry (prost then writes the entries in an order of its own).
pub fn has_unordered_map(p: &pb::Message) -> bool {
    p.propagated_context.len() > 1
        || matches!(&p.content, Some(pb::message::Content::VideoFrameBatch(b)) if b.batch.len() > 1)
}
