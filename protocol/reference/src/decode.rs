//! Protobuf to model. Every rule that panics or fails in savant-rs 0.3.x
//! (missing content oneof, missing detection box, empty attribute value,
//! bad uuid, bad enum, orphan parent) is a typed [`DecodeError`] here.
//! Temporary object and user-data attributes are dropped on arrival, as the
//! 0.3.x reader does.

use uuid::Uuid;

use crate::proto as pb;
use savant_sdk_protocol::model::*;
use savant_sdk_protocol::DecodeError;

type R<T> = Result<T, DecodeError>;

pub(crate) fn message(m: pb::Message) -> R<Message> {
    use pb::message::Content;
    let payload = match m
        .content
        .ok_or(DecodeError::UnknownVariant("Message.content"))?
    {
        Content::VideoFrame(f) => MessagePayload::VideoFrame(Box::new(video_frame(f)?)),
        Content::VideoFrameBatch(b) => MessagePayload::VideoFrameBatch(VideoFrameBatch {
            frames: b
                .batch
                .into_iter()
                .map(|(k, f)| Ok((k, video_frame(f)?)))
                .collect::<R<_>>()?,
        }),
        Content::VideoFrameUpdate(u) => MessagePayload::VideoFrameUpdate(Box::new(update(u)?)),
        Content::UserData(u) => MessagePayload::UserData(UserData {
            source_id: u.source_id,
            attributes: persistent(u.attributes)?,
        }),
        Content::EndOfStream(e) => MessagePayload::EndOfStream(EndOfStream {
            source_id: e.source_id,
        }),
        Content::Unknown(u) => MessagePayload::Unknown(Unknown { message: u.message }),
        Content::Shutdown(s) => MessagePayload::Shutdown(Shutdown { auth: s.auth }),
    };
    Ok(Message {
        protocol_version: m.protocol_version,
        system_id: String::new(),
        routing_labels: m.routing_labels,
        propagated_context: m.propagated_context,
        seq_id: m.seq_id,
        payload,
    })
}

fn parse_uuid(s: &str) -> R<Uuid> {
    Uuid::parse_str(s).map_err(|_| DecodeError::InvalidUuid(s.to_string()))
}

pub(crate) fn video_frame(f: pb::VideoFrame) -> R<VideoFrame> {
    use pb::video_frame::Content;
    let content = match f
        .content
        .ok_or(DecodeError::UnknownVariant("VideoFrame.content"))?
    {
        Content::Internal(b) => FrameContent::Internal(b),
        Content::External(e) => FrameContent::External {
            method: e.method,
            location: e.location,
        },
        Content::None(_) => FrameContent::None,
    };
    let transcoding_method = match pb::VideoFrameTranscodingMethod::try_from(f.transcoding_method) {
        Ok(pb::VideoFrameTranscodingMethod::Copy) => TranscodingMethod::Copy,
        Ok(pb::VideoFrameTranscodingMethod::Encoded) => TranscodingMethod::Encoded,
        Err(_) => {
            return Err(DecodeError::InvalidEnum {
                field: "VideoFrame.transcoding_method",
                value: f.transcoding_method,
            })
        }
    };
    let frame = VideoFrame {
        uuid: parse_uuid(&f.uuid)?,
        previous_keyframe: f.previous_keyframe.as_deref().map(parse_uuid).transpose()?,
        source_id: f.source_id,
        creation_timestamp_ns: ((f.creation_timestamp_ns_high as u128) << 64)
            | f.creation_timestamp_ns_low as u128,
        framerate: f.framerate,
        width: f.width,
        height: f.height,
        transcoding_method,
        codec: f.codec,
        keyframe: f.keyframe,
        time_base: TimeBase::new(f.time_base_numerator, f.time_base_denominator),
        pts: f.pts,
        dts: f.dts,
        duration: f.duration,
        content,
        transformations: f
            .transformations
            .into_iter()
            .map(transformation)
            .collect::<R<_>>()?,
        attributes: f.attributes.into_iter().map(attribute).collect::<R<_>>()?,
        objects: f.objects.into_iter().map(object).collect::<R<_>>()?,
        previous_frame_seq_id: f.previous_frame_seq_id,
        misc_tracks: Vec::new(),
    };
    frame.validate()?;
    Ok(frame)
}

fn transformation(t: pb::VideoFrameTransformation) -> R<FrameTransformation> {
    use pb::video_frame_transformation::Transformation as T;
    Ok(
        match t
            .transformation
            .ok_or(DecodeError::UnknownVariant("VideoFrameTransformation"))?
        {
            T::InitialSize(s) => FrameTransformation::InitialSize {
                width: s.width,
                height: s.height,
            },
            T::Scale(s) => FrameTransformation::Scale {
                width: s.width,
                height: s.height,
            },
            T::Padding(p) => FrameTransformation::Padding {
                left: p.padding_left,
                top: p.padding_top,
                right: p.padding_right,
                bottom: p.padding_bottom,
            },
            T::ResultingSize(s) => FrameTransformation::ResultingSize {
                width: s.width,
                height: s.height,
            },
        },
    )
}

fn update(u: pb::VideoFrameUpdate) -> R<VideoFrameUpdate> {
    Ok(VideoFrameUpdate {
        frame_attributes: u
            .frame_attributes
            .into_iter()
            .map(attribute)
            .collect::<R<_>>()?,
        object_attributes: u
            .object_attributes
            .into_iter()
            .map(|oa| {
                let a = oa
                    .attribute
                    .ok_or(DecodeError::MissingField("ObjectAttribute.attribute"))?;
                Ok((oa.object_id, attribute(a)?))
            })
            .collect::<R<_>>()?,
        objects: u
            .objects
            .into_iter()
            .map(|o| {
                let obj = o.object.ok_or(DecodeError::MissingField(
                    "VideoObjectWithForeignParent.object",
                ))?;
                Ok((object(obj)?, o.parent_id))
            })
            .collect::<R<_>>()?,
        frame_attribute_policy: attribute_policy(
            u.frame_attribute_policy,
            "VideoFrameUpdate.frame_attribute_policy",
        )?,
        object_attribute_policy: attribute_policy(
            u.object_attribute_policy,
            "VideoFrameUpdate.object_attribute_policy",
        )?,
        object_policy: match pb::ObjectUpdatePolicy::try_from(u.object_policy) {
            Ok(pb::ObjectUpdatePolicy::AddForeignObjects) => ObjectUpdatePolicy::AddForeignObjects,
            Ok(pb::ObjectUpdatePolicy::ErrorIfLabelsCollide) => {
                ObjectUpdatePolicy::ErrorIfLabelsCollide
            }
            Ok(pb::ObjectUpdatePolicy::ReplaceSameLabelObjects) => {
                ObjectUpdatePolicy::ReplaceSameLabelObjects
            }
            Err(_) => {
                return Err(DecodeError::InvalidEnum {
                    field: "VideoFrameUpdate.object_policy",
                    value: u.object_policy,
                })
            }
        },
    })
}

fn attribute_policy(v: i32, field: &'static str) -> R<AttributeUpdatePolicy> {
    match pb::AttributeUpdatePolicy::try_from(v) {
        Ok(pb::AttributeUpdatePolicy::ReplaceWithForeign) => {
            Ok(AttributeUpdatePolicy::ReplaceWithForeign)
        }
        Ok(pb::AttributeUpdatePolicy::KeepOwn) => Ok(AttributeUpdatePolicy::KeepOwn),
        Ok(pb::AttributeUpdatePolicy::Error) => Ok(AttributeUpdatePolicy::Error),
        Err(_) => Err(DecodeError::InvalidEnum { field, value: v }),
    }
}

fn object(o: pb::VideoObject) -> R<VideoObject> {
    Ok(VideoObject {
        id: o.id,
        parent_id: o.parent_id,
        namespace: o.namespace,
        label: o.label,
        draw_label: o.draw_label,
        detection_box: bbox(
            o.detection_box
                .ok_or(DecodeError::MissingField("VideoObject.detection_box"))?,
        ),
        attributes: persistent(o.attributes)?,
        confidence: o.confidence,
        track_box: o.track_box.map(bbox),
        track_id: o.track_id,
    })
}

/// Decodes attributes, dropping temporary ones (as the 0.3.x reader does for
/// object and user-data attributes).
fn persistent(attrs: Vec<pb::Attribute>) -> R<Vec<Attribute>> {
    attrs
        .into_iter()
        .filter(|a| a.is_persistent)
        .map(attribute)
        .collect()
}

fn attribute(a: pb::Attribute) -> R<Attribute> {
    Ok(Attribute {
        namespace: a.namespace,
        name: a.name,
        values: a.values.into_iter().map(value).collect::<R<_>>()?,
        hint: a.hint,
        is_persistent: a.is_persistent,
        is_hidden: a.is_hidden,
    })
}

fn value(v: pb::AttributeValue) -> R<AttributeValue> {
    use pb::attribute_value::Value as V;
    let kind = match v
        .value
        .ok_or(DecodeError::UnknownVariant("AttributeValue.value"))?
    {
        V::Bytes(b) => AttributeValueKind::Bytes {
            dims: b.dims,
            data: b.data,
        },
        V::String(s) => AttributeValueKind::String(s.data),
        V::StringVector(s) => AttributeValueKind::StringVector(s.data),
        V::Integer(i) => AttributeValueKind::Integer(i.data),
        V::IntegerVector(i) => AttributeValueKind::IntegerVector(i.data),
        V::Float(f) => AttributeValueKind::Float(f.data),
        V::FloatVector(f) => AttributeValueKind::FloatVector(f.data),
        V::Boolean(b) => AttributeValueKind::Boolean(b.data),
        V::BooleanVector(b) => AttributeValueKind::BooleanVector(b.data),
        V::BoundingBox(b) => AttributeValueKind::BoundingBox(bbox(b.data.ok_or(
            DecodeError::MissingField("BoundingBoxAttributeValueVariant.data"),
        )?)),
        V::BoundingBoxVector(b) => {
            AttributeValueKind::BoundingBoxVector(b.data.into_iter().map(bbox).collect())
        }
        V::Point(p) => AttributeValueKind::Point(point(
            p.data
                .ok_or(DecodeError::MissingField("PointAttributeValueVariant.data"))?,
        )),
        V::PointVector(p) => {
            AttributeValueKind::PointVector(p.data.into_iter().map(point).collect())
        }
        V::Polygon(p) => AttributeValueKind::Polygon(polygon(p.data.ok_or(
            DecodeError::MissingField("PolygonAttributeValueVariant.data"),
        )?)),
        V::PolygonVector(p) => {
            AttributeValueKind::PolygonVector(p.data.into_iter().map(polygon).collect())
        }
        V::Intersection(i) => {
            let i = i.data.ok_or(DecodeError::MissingField(
                "IntersectionAttributeValueVariant.data",
            ))?;
            let kind = match pb::IntersectionKind::try_from(i.kind) {
                Ok(pb::IntersectionKind::Enter) => IntersectionKind::Enter,
                Ok(pb::IntersectionKind::Inside) => IntersectionKind::Inside,
                Ok(pb::IntersectionKind::Leave) => IntersectionKind::Leave,
                Ok(pb::IntersectionKind::Cross) => IntersectionKind::Cross,
                Ok(pb::IntersectionKind::Outside) => IntersectionKind::Outside,
                Err(_) => {
                    return Err(DecodeError::InvalidEnum {
                        field: "Intersection.kind",
                        value: i.kind,
                    })
                }
            };
            AttributeValueKind::Intersection(Intersection {
                kind,
                edges: i
                    .edges
                    .into_iter()
                    .map(|e| IntersectionEdge {
                        id: e.id,
                        tag: e.tag,
                    })
                    .collect(),
            })
        }
        V::None(_) => AttributeValueKind::None,
        V::Temporary(_) => AttributeValueKind::Temporary,
    };
    Ok(AttributeValue {
        kind,
        confidence: v.confidence,
    })
}

fn bbox(b: pb::BoundingBox) -> BoundingBox {
    BoundingBox {
        xc: b.xc,
        yc: b.yc,
        width: b.width,
        height: b.height,
        angle: b.angle,
    }
}

fn point(p: pb::Point) -> Point {
    Point { x: p.x, y: p.y }
}

fn polygon(p: pb::PolygonalArea) -> PolygonalArea {
    PolygonalArea {
        points: p.points.into_iter().map(point).collect(),
        tags: p.tags.map(|t| t.tags.into_iter().map(|t| t.tag).collect()),
    }
}
