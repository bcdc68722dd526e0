//! Model to protobuf, following savant-rs 0.3.x's serializer
//! (`savant_core/src/protobuf/serialize/*.rs@0.3.0`): frame, user-data and
//! update attributes are written only when persistent; object attributes
//! are all written.

use crate::proto as pb;
use savant_sdk_protocol::model::*;

pub(crate) fn message(m: &Message) -> pb::Message {
    use pb::message::Content;
    let content = match &m.payload {
        MessagePayload::VideoFrame(f) => Content::VideoFrame(video_frame(f)),
        MessagePayload::VideoFrameBatch(b) => Content::VideoFrameBatch(pb::VideoFrameBatch {
            batch: b.frames.iter().map(|(k, f)| (*k, video_frame(f))).collect(),
        }),
        MessagePayload::VideoFrameUpdate(u) => Content::VideoFrameUpdate(update(u)),
        MessagePayload::UserData(u) => Content::UserData(pb::UserData {
            source_id: u.source_id.clone(),
            attributes: persistent(&u.attributes),
        }),
        MessagePayload::EndOfStream(e) => Content::EndOfStream(pb::EndOfStream {
            source_id: e.source_id.clone(),
        }),
        MessagePayload::Unknown(u) => Content::Unknown(pb::Unknown {
            message: u.message.clone(),
        }),
        MessagePayload::Shutdown(s) => Content::Shutdown(pb::Shutdown {
            auth: s.auth.clone(),
        }),
    };
    pb::Message {
        protocol_version: m.protocol_version.clone(),
        routing_labels: m.routing_labels.clone(),
        propagated_context: m.propagated_context.clone(),
        seq_id: m.seq_id,
        content: Some(content),
    }
}

pub(crate) fn video_frame(f: &VideoFrame) -> pb::VideoFrame {
    use pb::video_frame::Content;
    let content = match &f.content {
        FrameContent::Internal(b) => Content::Internal(b.clone()),
        FrameContent::External { method, location } => Content::External(pb::ExternalFrame {
            method: method.clone(),
            location: location.clone(),
        }),
        FrameContent::None => Content::None(pb::NoneFrame {}),
    };
    pb::VideoFrame {
        previous_frame_seq_id: f.previous_frame_seq_id,
        source_id: f.source_id.clone(),
        uuid: f.uuid.hyphenated().to_string(),
        creation_timestamp_ns_high: (f.creation_timestamp_ns >> 64) as u64,
        creation_timestamp_ns_low: f.creation_timestamp_ns as u64,
        framerate: f.framerate.clone(),
        width: f.width,
        height: f.height,
        transcoding_method: match f.transcoding_method {
            TranscodingMethod::Copy => pb::VideoFrameTranscodingMethod::Copy,
            TranscodingMethod::Encoded => pb::VideoFrameTranscodingMethod::Encoded,
        } as i32,
        codec: f.codec.clone(),
        keyframe: f.keyframe,
        time_base_numerator: f.time_base.numerator,
        time_base_denominator: f.time_base.denominator,
        pts: f.pts,
        dts: f.dts,
        duration: f.duration,
        content: Some(content),
        transformations: f.transformations.iter().map(transformation).collect(),
        attributes: persistent(&f.attributes),
        objects: f.objects.iter().map(object).collect(),
        previous_keyframe: f.previous_keyframe.map(|u| u.hyphenated().to_string()),
    }
}

fn transformation(t: &FrameTransformation) -> pb::VideoFrameTransformation {
    use pb::video_frame_transformation::Transformation as T;
    let t = match *t {
        FrameTransformation::InitialSize { width, height } => {
            T::InitialSize(pb::InitialSize { width, height })
        }
        FrameTransformation::Scale { width, height } => T::Scale(pb::Scale { width, height }),
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
        // 2.x kinds have no place in this schema: the reference drops them
        FrameTransformation::LetterBox { .. } | FrameTransformation::Crop { .. } => {
            return pb::VideoFrameTransformation {
                transformation: None,
            }
        }
        FrameTransformation::ResultingSize { width, height } => {
            T::ResultingSize(pb::ResultingSize { width, height })
        }
    };
    pb::VideoFrameTransformation {
        transformation: Some(t),
    }
}

fn update(u: &VideoFrameUpdate) -> pb::VideoFrameUpdate {
    pb::VideoFrameUpdate {
        frame_attributes: persistent(&u.frame_attributes),
        object_attributes: u
            .object_attributes
            .iter()
            .filter(|(_, a)| a.is_persistent)
            .map(|(id, a)| pb::ObjectAttribute {
                object_id: *id,
                attribute: Some(attribute(a)),
            })
            .collect(),
        objects: u
            .objects
            .iter()
            .map(|(o, parent)| pb::VideoObjectWithForeignParent {
                object: Some(object(o)),
                parent_id: *parent,
            })
            .collect(),
        frame_attribute_policy: attribute_policy(u.frame_attribute_policy) as i32,
        object_attribute_policy: attribute_policy(u.object_attribute_policy) as i32,
        object_policy: match u.object_policy {
            ObjectUpdatePolicy::AddForeignObjects => pb::ObjectUpdatePolicy::AddForeignObjects,
            ObjectUpdatePolicy::ErrorIfLabelsCollide => {
                pb::ObjectUpdatePolicy::ErrorIfLabelsCollide
            }
            ObjectUpdatePolicy::ReplaceSameLabelObjects => {
                pb::ObjectUpdatePolicy::ReplaceSameLabelObjects
            }
        } as i32,
    }
}

fn attribute_policy(p: AttributeUpdatePolicy) -> pb::AttributeUpdatePolicy {
    match p {
        AttributeUpdatePolicy::ReplaceWithForeign => pb::AttributeUpdatePolicy::ReplaceWithForeign,
        AttributeUpdatePolicy::KeepOwn => pb::AttributeUpdatePolicy::KeepOwn,
        AttributeUpdatePolicy::Error => pb::AttributeUpdatePolicy::Error,
    }
}

fn object(o: &VideoObject) -> pb::VideoObject {
    pb::VideoObject {
        id: o.id,
        parent_id: o.parent_id,
        namespace: o.namespace.clone(),
        label: o.label.clone(),
        draw_label: o.draw_label.clone(),
        detection_box: Some(bbox(&o.detection_box)),
        attributes: o.attributes.iter().map(attribute).collect(),
        confidence: o.confidence,
        track_box: o.track_box.as_ref().map(bbox),
        track_id: o.track_id,
    }
}

fn persistent(attrs: &[Attribute]) -> Vec<pb::Attribute> {
    attrs
        .iter()
        .filter(|a| a.is_persistent)
        .map(attribute)
        .collect()
}

fn attribute(a: &Attribute) -> pb::Attribute {
    pb::Attribute {
        namespace: a.namespace.clone(),
        name: a.name.clone(),
        values: a.values.iter().map(value).collect(),
        hint: a.hint.clone(),
        is_persistent: a.is_persistent,
        is_hidden: a.is_hidden,
    }
}

fn value(v: &AttributeValue) -> pb::AttributeValue {
    use pb::attribute_value::Value as V;
    let value = match &v.kind {
        AttributeValueKind::Bytes { dims, data } => V::Bytes(pb::BytesAttributeValueVariant {
            dims: dims.clone(),
            data: data.clone(),
        }),
        AttributeValueKind::String(s) => {
            V::String(pb::StringAttributeValueVariant { data: s.clone() })
        }
        AttributeValueKind::StringVector(s) => {
            V::StringVector(pb::StringVectorAttributeValueVariant { data: s.clone() })
        }
        AttributeValueKind::Integer(i) => V::Integer(pb::IntegerAttributeValueVariant { data: *i }),
        AttributeValueKind::IntegerVector(i) => {
            V::IntegerVector(pb::IntegerVectorAttributeValueVariant { data: i.clone() })
        }
        AttributeValueKind::Float(f) => V::Float(pb::FloatAttributeValueVariant { data: *f }),
        AttributeValueKind::FloatVector(f) => {
            V::FloatVector(pb::FloatVectorAttributeValueVariant { data: f.clone() })
        }
        AttributeValueKind::Boolean(b) => V::Boolean(pb::BooleanAttributeValueVariant { data: *b }),
        AttributeValueKind::BooleanVector(b) => {
            V::BooleanVector(pb::BooleanVectorAttributeValueVariant { data: b.clone() })
        }
        AttributeValueKind::BoundingBox(b) => {
            V::BoundingBox(pb::BoundingBoxAttributeValueVariant {
                data: Some(bbox(b)),
            })
        }
        AttributeValueKind::BoundingBoxVector(b) => {
            V::BoundingBoxVector(pb::BoundingBoxVectorAttributeValueVariant {
                data: b.iter().map(bbox).collect(),
            })
        }
        AttributeValueKind::Point(p) => V::Point(pb::PointAttributeValueVariant {
            data: Some(point(p)),
        }),
        AttributeValueKind::PointVector(p) => {
            V::PointVector(pb::PointVectorAttributeValueVariant {
                data: p.iter().map(point).collect(),
            })
        }
        AttributeValueKind::Polygon(p) => V::Polygon(pb::PolygonAttributeValueVariant {
            data: Some(polygon(p)),
        }),
        AttributeValueKind::PolygonVector(p) => {
            V::PolygonVector(pb::PolygonVectorAttributeValueVariant {
                data: p.iter().map(polygon).collect(),
            })
        }
        AttributeValueKind::Intersection(i) => {
            V::Intersection(pb::IntersectionAttributeValueVariant {
                data: Some(pb::Intersection {
                    kind: match i.kind {
                        IntersectionKind::Enter => pb::IntersectionKind::Enter,
                        IntersectionKind::Inside => pb::IntersectionKind::Inside,
                        IntersectionKind::Leave => pb::IntersectionKind::Leave,
                        IntersectionKind::Cross => pb::IntersectionKind::Cross,
                        IntersectionKind::Outside => pb::IntersectionKind::Outside,
                    } as i32,
                    edges: i
                        .edges
                        .iter()
                        .map(|e| pb::IntersectionEdge {
                            id: e.id,
                            tag: e.tag.clone(),
                        })
                        .collect(),
                }),
            })
        }
        AttributeValueKind::None => V::None(pb::NoneAttributeValueVariant {}),
        AttributeValueKind::Temporary => V::Temporary(pb::TemporaryValueVariant {}),
    };
    pb::AttributeValue {
        confidence: v.confidence,
        value: Some(value),
    }
}

fn bbox(b: &BoundingBox) -> pb::BoundingBox {
    pb::BoundingBox {
        xc: b.xc,
        yc: b.yc,
        width: b.width,
        height: b.height,
        angle: b.angle,
    }
}

fn point(p: &Point) -> pb::Point {
    pb::Point { x: p.x, y: p.y }
}

fn polygon(p: &PolygonalArea) -> pb::PolygonalArea {
    pb::PolygonalArea {
        points: p.points.iter().map(point).collect(),
        tags: p.tags.as_ref().map(|tags| pb::PolygonalAreaTags {
            tags: tags
                .iter()
                .map(|t| pb::PolygonalAreaTag { tag: t.clone() })
                .collect(),
        }),
    }
}
