//! Golden tests of our 2.x layout against the savant-rs 2.x schema: the
//! prost types of `savant-protobuf` 2.1.1 (the reference, never our codec).
//!
//! - our encoding of a rich set of 2.x messages decodes with its types to
//!   the values [`convert::to_pb`] gives, field by field, and prost
//!   re-encodes them to the same bytes;
//! - its encodings, built with its types, decode here to the same model
//!   values ([`convert::from_pb`]);
//! - property tests: random 2.x model values round-trip ours -> prost ->
//!   prost's encoding -> ours, and random prost values (including
//!   malformed ones: unset oneofs, unknown enum values, bad uuids) decode
//!   here without panics to what `from_pb` says, or fail where it fails.
//!   Bytes must match wherever no hash-ordered map has more than one entry.
//!
//! Differences from the prost types, by design (each has a test below):
//! - unknown enum values (codec, transcoding, track state and category,
//!   intersection kind, update policies) are kept as integers by prost; we
//!   refuse them with `DecodeError::InvalidEnum`, as for the 1.x layout;
//! - our model has no "absent" `creation_timestamp_ns` or `time_base`: an
//!   absent one reads as 0 (0/0) and is written back present, so such a
//!   message does not re-encode to the same bytes;
//! - an absent `fps` reads as the empty frame rate `""` and is written back
//!   absent; a frame rate is written from its text, so `"030/1"` reads
//!   back as `"30/1"`;
//! - uuids are read in any form the uuid crate parses and written
//!   lowercase and hyphenated;
//! - temporary attributes of frames, user data and updates are not
//!   written; those of objects are written (as savant-rs does) but dropped
//!   on reading.

#[path = "golden_v2/convert.rs"]
mod convert;

use std::collections::HashMap;

use bytes::Bytes;
use convert::{from_pb, has_unordered_map, to_pb};
use proptest::prelude::*;
use prost013::Message as _;
use savant_protobuf::generated as pb;
use savant_sdk_core::codec::{decode_message, encode_message, DecodeOptions};
use savant_sdk_core::error::{DecodeError, EncodeError};
use savant_sdk_core::model::*;
use uuid::Uuid;

const V2: &str = "2.1.1";

fn decode(bytes: impl Into<Bytes>) -> Result<Message, DecodeError> {
    decode_message(bytes.into(), &DecodeOptions::default())
}

fn stamp(mut m: Message) -> Message {
    m.protocol_version = V2.to_string();
    m
}

// ------------------------------------------------------------ the values

fn p(name: &str, values: Vec<AttributeValue>) -> Attribute {
    Attribute::persistent("kinds", name, values)
}

fn every_value_kind() -> Vec<Attribute> {
    let tags = |v: &[Option<&str>]| v.iter().map(|t| t.map(String::from)).collect();
    let poly = PolygonalArea::with_tags(
        vec![
            Point::new(0.0, 0.0),
            Point::new(10.0, 0.0),
            Point::new(5.0, 8.5),
        ],
        tags(&[Some("a"), None, Some("c")]),
    );
    vec![
        p(
            "bytes",
            vec![AttributeValue::bytes(vec![2, -3, 4], &b"\x00\x01\xff"[..])],
        ),
        p(
            "bytes_empty",
            vec![AttributeValue::bytes(vec![], Bytes::new())],
        ),
        p(
            "string",
            vec![AttributeValue::string("héllo"), AttributeValue::string("")],
        ),
        p(
            "strings",
            vec![AttributeValue::string_vector(["a", "", "c"])],
        ),
        p(
            "integer",
            vec![
                AttributeValue::integer(i64::MIN),
                AttributeValue::integer(-1),
                AttributeValue::integer(0),
                AttributeValue::integer(i64::MAX),
            ],
        ),
        p(
            "integers",
            vec![AttributeValue::integer_vector(vec![-1, 0, 1 << 40])],
        ),
        p(
            "float",
            vec![
                AttributeValue::float(0.1).with_confidence(0.25),
                AttributeValue::float(f64::MIN_POSITIVE),
                AttributeValue::float(f64::NEG_INFINITY),
            ],
        ),
        p(
            "floats",
            vec![AttributeValue::float_vector(vec![1.5, -0.0, 1e300])],
        ),
        p(
            "boolean",
            vec![
                AttributeValue::boolean(true),
                AttributeValue::boolean(false),
            ],
        ),
        p(
            "booleans",
            vec![AttributeValue::boolean_vector(vec![true, false, true])],
        ),
        p(
            "bbox",
            vec![AttributeValue::bounding_box(
                BoundingBox::new(1.0, 2.0, 3.0, 4.0).with_angle(-45.0),
            )],
        ),
        p(
            "bboxes",
            vec![AttributeValue::bounding_box_vector(vec![
                BoundingBox::new(1.0, 2.0, 3.0, 4.0),
                BoundingBox::new(0.0, 0.0, 0.0, 0.0).with_angle(0.0),
            ])],
        ),
        p("point", vec![AttributeValue::point(Point::new(-1.5, 2.25))]),
        p(
            "points",
            vec![AttributeValue::point_vector(vec![
                Point::new(0.0, 0.0),
                Point::new(1.0, -1.0),
            ])],
        ),
        p("polygon", vec![AttributeValue::polygon(poly.clone())]),
        p(
            "polygons",
            vec![AttributeValue::polygon_vector(vec![
                poly,
                PolygonalArea::new(vec![Point::new(1.0, 1.0)]),
                PolygonalArea::with_tags(vec![], vec![]),
            ])],
        ),
        p(
            "intersection",
            vec![AttributeValue::intersection(Intersection {
                kind: IntersectionKind::Cross,
                edges: vec![
                    IntersectionEdge {
                        id: 0,
                        tag: Some("in".into()),
                    },
                    IntersectionEdge { id: 7, tag: None },
                ],
            })],
        ),
        p(
            "intersection_outside",
            vec![AttributeValue::intersection(Intersection {
                kind: IntersectionKind::Outside,
                edges: vec![],
            })],
        ),
        p("none", vec![AttributeValue::none().with_confidence(0.0)]),
        p(
            "temporary_value",
            vec![AttributeValue::new(AttributeValueKind::Temporary)],
        ),
        p("no_values", vec![]).with_hint("a hint").hidden(true),
    ]
}

fn objects() -> Vec<VideoObject> {
    vec![
        VideoObject::new(
            1,
            "detector",
            "person",
            BoundingBox::ltwh(10.0, 10.0, 50.0, 100.0),
        )
        .with_confidence(0.9)
        .with_draw_label("Person")
        .with_track(
            7,
            BoundingBox::ltwh(11.0, 10.0, 50.0, 100.0).with_angle(5.0),
        )
        .with_attribute(p("age", vec![AttributeValue::integer(30)])),
        VideoObject::new(2, "detector", "face", BoundingBox::new(0.0, 0.0, 5.0, 5.0))
            .with_parent(1),
        VideoObject::new(-3, "", "", BoundingBox::default()),
    ]
}

fn misc_tracks() -> Vec<MiscTrack> {
    vec![
        MiscTrack {
            object_id: u64::MAX,
            class_id: -2,
            label: Some("car".into()),
            source_id: "cam-1".into(),
            category: MiscTrackCategory::PastFrame,
            frames: vec![
                MiscTrackFrame {
                    frame_num: 41,
                    bbox_left: 1.0,
                    bbox_top: 2.0,
                    bbox_width: 3.0,
                    bbox_height: 4.0,
                    confidence: 0.5,
                    age: 3,
                    state: TrackState::Active,
                    visibility: 0.75,
                },
                MiscTrackFrame {
                    state: TrackState::Projected,
                    ..MiscTrackFrame::default()
                },
                MiscTrackFrame {
                    state: TrackState::Inactive,
                    frame_num: -1,
                    ..MiscTrackFrame::default()
                },
                MiscTrackFrame {
                    state: TrackState::Tentative,
                    ..MiscTrackFrame::default()
                },
            ],
        },
        MiscTrack {
            category: MiscTrackCategory::Terminated,
            label: Some(String::new()),
            ..MiscTrack::default()
        },
        MiscTrack::default(),
    ]
}

const UUID: &str = "0190b3a1-5c2e-7d4f-8a9b-0123456789ab";
const KEYFRAME: &str = "0190b3a1-0000-7000-8000-000000000001";

/// A frame with every field set, every 2.x transformation and misc tracks.
fn frame_full() -> VideoFrame {
    let mut f = VideoFrame::builder("cam-1")
        .uuid(Uuid::parse_str(UUID).unwrap())
        .creation_timestamp_ns((7u128 << 64) | 0x0123_4567_89ab_cdef)
        .framerate("30000/1001")
        .size(1920, 1080)
        .transcoding_method(TranscodingMethod::Encoded)
        .codec("hevc")
        .keyframe(false)
        .time_base(TimeBase::new(1, 90_000))
        .pts(-5)
        .dts(i64::MIN)
        .duration(i64::MAX)
        .content(FrameContent::Internal(Bytes::from_static(
            b"\x00\x00\x01\x40nal",
        )))
        .transformation(FrameTransformation::InitialSize {
            width: 3840,
            height: 2160,
        })
        .transformation(FrameTransformation::LetterBox {
            outer_width: 1920,
            outer_height: 1080,
            left: 1,
            top: 2,
            right: 3,
            bottom: u64::MAX,
        })
        .transformation(FrameTransformation::Padding {
            left: 4,
            top: 0,
            right: 6,
            bottom: 7,
        })
        .transformation(FrameTransformation::Crop {
            left: 8,
            top: 9,
            right: 10,
            bottom: 0,
        })
        .transformation(FrameTransformation::InitialSize {
            width: 0,
            height: 0,
        })
        .build();
    f.attributes = every_value_kind();
    f.objects = objects();
    f.previous_frame_seq_id = Some(-9);
    f.previous_keyframe = Some(Uuid::parse_str(KEYFRAME).unwrap());
    f.misc_tracks = misc_tracks();
    f
}

/// A frame with as little set as the model allows.
fn frame_minimal(source: &str) -> VideoFrame {
    VideoFrame::builder(source)
        .uuid(Uuid::nil())
        .creation_timestamp_ns(0)
        .framerate("")
        .time_base(TimeBase::new(0, 0))
        .build()
}

fn update() -> VideoFrameUpdate {
    VideoFrameUpdate {
        frame_attributes: vec![p("note", vec![AttributeValue::string("hi")])],
        object_attributes: vec![
            (1, p("color", vec![AttributeValue::string("red")])),
            (-4, p("empty", vec![])),
        ],
        objects: vec![(objects().remove(0), Some(3)), (objects().remove(2), None)],
        frame_attribute_policy: AttributeUpdatePolicy::KeepOwn,
        object_attribute_policy: AttributeUpdatePolicy::Error,
        object_policy: ObjectUpdatePolicy::ReplaceSameLabelObjects,
    }
}

fn envelope(m: Message, seq_id: u64) -> Message {
    let mut m = stamp(m);
    m.seq_id = seq_id;
    m.system_id = "6f1c2c7e-2a55-4b7e-9a43-b1d2d3e4f5a6".into();
    m.routing_labels = vec!["route-a".into(), String::new(), "ünï".into()];
    m.propagated_context.insert(
        "traceparent".into(),
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
    );
    m
}

/// Every payload kind, with and without the envelope fields.
fn rich_set() -> Vec<(&'static str, Message)> {
    let mut codecs = vec![];
    for (i, c) in [
        None,
        Some("h264"),
        Some("hevc"),
        Some("jpeg"),
        Some("swjpeg"),
        Some("av1"),
        Some("png"),
        Some("vp8"),
        Some("vp9"),
        Some("raw-rgba"),
        Some("raw-rgb"),
        Some("raw-nv12"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut f = frame_minimal("codecs");
        f.codec = c.map(String::from);
        f.content = FrameContent::External {
            method: "zeromq".into(),
            location: (i % 2 == 0).then(|| format!("loc-{i}")),
        };
        codecs.push(stamp(Message::video_frame(f)));
    }
    let mut context2 = envelope(Message::end_of_stream(EndOfStream::new("cam-1")), 3);
    context2
        .propagated_context
        .insert("tracestate".into(), "k=v".into());
    let mut out = vec![
        (
            "frame_full",
            envelope(Message::video_frame(frame_full()), 42),
        ),
        ("frame_full_bare", stamp(Message::video_frame(frame_full()))),
        (
            "frame_minimal",
            stamp(Message::video_frame(frame_minimal(""))),
        ),
        (
            "frame_external_no_location",
            stamp(Message::video_frame(
                VideoFrame::builder("x")
                    .uuid(Uuid::max())
                    .creation_timestamp_ns(u128::MAX)
                    .framerate("-1/-2147483648")
                    .time_base(TimeBase::new(i32::MIN, i32::MAX))
                    .content(FrameContent::external_zeromq())
                    .build(),
            )),
        ),
        (
            "batch_one",
            envelope(
                Message::video_frame_batch(VideoFrameBatch::new().with_frame(7, frame_full())),
                0,
            ),
        ),
        (
            "batch_many",
            stamp(Message::video_frame_batch(
                VideoFrameBatch::new()
                    .with_frame(-1, frame_minimal("a"))
                    .with_frame(0, frame_full())
                    .with_frame(i64::MAX, frame_minimal("c")),
            )),
        ),
        (
            "batch_empty",
            stamp(Message::video_frame_batch(VideoFrameBatch::new())),
        ),
        ("update", envelope(Message::video_frame_update(update()), 5)),
        (
            "update_empty",
            stamp(Message::video_frame_update(VideoFrameUpdate::default())),
        ),
        (
            "user_data",
            envelope(
                Message::user_data(UserData::new("cam-1", every_value_kind())),
                u64::MAX,
            ),
        ),
        (
            "user_data_empty",
            stamp(Message::user_data(UserData::new("", vec![]))),
        ),
        (
            "eos",
            envelope(Message::end_of_stream(EndOfStream::new("cam-1")), 9),
        ),
        ("eos_two_context_entries", context2),
        (
            "eos_empty",
            stamp(Message::end_of_stream(EndOfStream::new(""))),
        ),
        (
            "shutdown",
            envelope(Message::shutdown(Shutdown::new("secret")), 1),
        ),
        (
            "shutdown_empty",
            stamp(Message::shutdown(Shutdown::new(""))),
        ),
        ("unknown", envelope(Message::unknown("what is this"), 2)),
        ("unknown_empty", stamp(Message::unknown(""))),
    ];
    for (i, m) in codecs.into_iter().enumerate() {
        out.push((["codec"; 12][i], m));
    }
    out
}

// ----------------------------------------------- (a) ours -> savant-protobuf

/// Field-by-field comparison of two prost frames, naming the first field
/// that differs.
fn assert_frames_eq(name: &str, got: &pb::VideoFrame, want: &pb::VideoFrame) {
    macro_rules! fields {
        ($($f:ident),*) => {$(
            assert_eq!(got.$f, want.$f, "{name}: VideoFrame.{}", stringify!($f));
        )*};
    }
    fields!(
        previous_frame_seq_id,
        source_id,
        uuid,
        creation_timestamp_ns,
        fps,
        width,
        height,
        transcoding_method,
        video_codec,
        keyframe,
        time_base,
        pts,
        dts,
        duration,
        content,
        transformations,
        previous_keyframe,
        misc_tracks
    );
    assert_eq!(got.attributes.len(), want.attributes.len(), "{name}");
    for (g, w) in got.attributes.iter().zip(&want.attributes) {
        assert_eq!(g, w, "{name}: attribute {}", w.name);
    }
    assert_eq!(got.objects.len(), want.objects.len(), "{name}");
    for (g, w) in got.objects.iter().zip(&want.objects) {
        assert_eq!(g, w, "{name}: object {}", w.id);
    }
    assert_eq!(got, want, "{name}");
}

fn assert_messages_eq(name: &str, got: &pb::Message, want: &pb::Message) {
    assert_eq!(got.protocol_version, want.protocol_version, "{name}");
    assert_eq!(got.routing_labels, want.routing_labels, "{name}");
    assert_eq!(got.propagated_context, want.propagated_context, "{name}");
    assert_eq!(got.seq_id, want.seq_id, "{name}");
    assert_eq!(got.system_id, want.system_id, "{name}");
    use pb::message::Content as C;
    match (&got.content, &want.content) {
        (Some(C::VideoFrame(g)), Some(C::VideoFrame(w))) => assert_frames_eq(name, g, w),
        (Some(C::VideoFrameBatch(g)), Some(C::VideoFrameBatch(w))) => {
            assert_eq!(
                g.batch.keys().collect::<std::collections::BTreeSet<_>>(),
                w.batch.keys().collect(),
                "{name}"
            );
            for (k, wf) in &w.batch {
                assert_frames_eq(&format!("{name}[{k}]"), &g.batch[k], wf);
            }
        }
        (g, w) => assert_eq!(g, w, "{name}"),
    }
    assert_eq!(got, want, "{name}");
}

#[test]
fn our_2x_encoding_decodes_with_savant_protobuf_to_the_same_values() {
    for (name, m) in rich_set() {
        let bytes = encode_message(&m).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = pb::Message::decode(bytes.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_messages_eq(name, &got, &to_pb(&m));
        if !has_unordered_map(&got) {
            assert_eq!(
                got.encode_to_vec(),
                bytes,
                "{name}: prost re-encodes our bytes"
            );
        }
        // and back here
        assert_eq!(decode(bytes).unwrap(), m, "{name}");
    }
}

#[test]
fn the_2x_fields_carry_what_savant_rs_expects() {
    let m = envelope(Message::video_frame(frame_full()), 42);
    let bytes = encode_message(&m).unwrap();
    let got = pb::Message::decode(bytes.clone()).unwrap();
    assert_eq!(got.protocol_version, "2.1.1");
    assert_eq!(got.seq_id, 42);
    assert_eq!(got.system_id, "6f1c2c7e-2a55-4b7e-9a43-b1d2d3e4f5a6");
    // system_id is field 20 (key 0xa2 0x01), written last
    let tail = 2 + 1 + 36;
    assert_eq!(&bytes[bytes.len() - tail..][..3], b"\xa2\x01\x24");
    let Some(pb::message::Content::VideoFrame(f)) = got.content else {
        panic!("not a frame")
    };
    assert_eq!(
        f.creation_timestamp_ns,
        Some(pb::NanosecondsU128 {
            high: 7,
            low: 0x0123_4567_89ab_cdef
        })
    );
    assert_eq!(
        f.fps,
        Some(pb::Rational32 {
            numerator: 30000,
            denominator: 1001
        })
    );
    assert_eq!(
        f.time_base,
        Some(pb::Rational32 {
            numerator: 1,
            denominator: 90_000
        })
    );
    assert_eq!(f.video_codec, pb::VideoCodec::Hevc as i32);
    assert_eq!(
        f.transcoding_method,
        pb::VideoFrameTranscodingMethod::Encoded as i32
    );
    assert_eq!(f.uuid, UUID);
    assert_eq!(f.previous_keyframe.as_deref(), Some(KEYFRAME));
    use pb::video_frame_transformation::Transformation as T;
    let t: Vec<_> = f
        .transformations
        .iter()
        .map(|t| t.transformation.unwrap())
        .collect();
    assert_eq!(
        t[1],
        T::LetterBox(pb::LetterBox {
            outer_width: 1920,
            outer_height: 1080,
            padding_left: 1,
            padding_top: 2,
            padding_right: 3,
            padding_bottom: u64::MAX
        })
    );
    assert_eq!(
        t[2],
        T::Padding(pb::Padding {
            padding_left: 4,
            padding_top: 0,
            padding_right: 6,
            padding_bottom: 7
        })
    );
    assert_eq!(
        t[3],
        T::Crop(pb::Crop {
            left: 8,
            top: 9,
            right: 10,
            bottom: 0
        })
    );
    assert_eq!(f.misc_tracks.len(), 3);
    let mt = &f.misc_tracks[0];
    assert_eq!(
        (
            mt.object_id,
            mt.class_id,
            mt.label.as_deref(),
            mt.source_id.as_str()
        ),
        (u64::MAX, -2, Some("car"), "cam-1")
    );
    assert_eq!(
        mt.category,
        pb::MiscTrackCategory::MiscTrackPastFrame as i32
    );
    assert_eq!(mt.frames[0].state, pb::TrackState::Active as i32);
    assert_eq!(mt.frames[0].visibility, 0.75);
    assert_eq!(mt.frames[1].state, pb::TrackState::Projected as i32);
    assert_eq!(f.attributes.len(), every_value_kind().len());
    assert_eq!(f.objects[1].parent_id, Some(1));
}

#[test]
fn each_codec_name_is_its_video_codec_value() {
    let table = [
        (None, pb::VideoCodec::Unspecified),
        (Some("h264"), pb::VideoCodec::H264),
        (Some("hevc"), pb::VideoCodec::Hevc),
        (Some("jpeg"), pb::VideoCodec::Jpeg),
        (Some("swjpeg"), pb::VideoCodec::Swjpeg),
        (Some("av1"), pb::VideoCodec::Av1),
        (Some("png"), pb::VideoCodec::Png),
        (Some("vp8"), pb::VideoCodec::Vp8),
        (Some("vp9"), pb::VideoCodec::Vp9),
        (Some("raw-rgba"), pb::VideoCodec::RawRgba),
        (Some("raw-rgb"), pb::VideoCodec::RawRgb),
        (Some("raw-nv12"), pb::VideoCodec::RawNv12),
    ];
    for (name, value) in table {
        let mut f = frame_minimal("c");
        f.codec = name.map(String::from);
        let bytes = encode_message(&stamp(Message::video_frame(f.clone()))).unwrap();
        let Some(pb::message::Content::VideoFrame(got)) =
            pb::Message::decode(bytes).unwrap().content
        else {
            panic!()
        };
        assert_eq!(got.video_codec, value as i32, "{name:?}");
        // and the other way
        let mut theirs = convert::frame_to_pb(&f);
        theirs.video_codec = value as i32;
        let m = pb::Message {
            protocol_version: V2.into(),
            content: Some(pb::message::Content::VideoFrame(theirs)),
            ..Default::default()
        };
        let back = decode(m.encode_to_vec()).unwrap();
        assert_eq!(back.as_video_frame().unwrap().codec.as_deref(), name);
    }
    // names the enum has not are refused, before anything is written
    for bad in ["mjpeg", "H264", "", "raw-rgba64"] {
        let mut f = frame_minimal("c");
        f.codec = Some(bad.into());
        let e = encode_message(&stamp(Message::video_frame(f))).unwrap_err();
        assert!(
            matches!(
                e,
                EncodeError::Unrepresentable {
                    field: "VideoFrame.codec",
                    ..
                }
            ),
            "{bad}: {e}"
        );
    }
}

// ----------------------------------------------- (b) savant-protobuf -> ours

/// The full frame, written out with the prost types by hand.
fn pb_frame_full() -> pb::VideoFrame {
    use pb::video_frame_transformation::Transformation as T;
    let t = |t| pb::VideoFrameTransformation {
        transformation: Some(t),
    };
    let bbox = |xc, yc, width, height, angle| pb::BoundingBox {
        xc,
        yc,
        width,
        height,
        angle,
    };
    pb::VideoFrame {
        previous_frame_seq_id: Some(-9),
        source_id: "cam-1".into(),
        uuid: UUID.into(),
        creation_timestamp_ns: Some(pb::NanosecondsU128 {
            high: 7,
            low: 0x0123_4567_89ab_cdef,
        }),
        fps: Some(pb::Rational32 {
            numerator: 30000,
            denominator: 1001,
        }),
        width: 1920,
        height: 1080,
        transcoding_method: pb::VideoFrameTranscodingMethod::Encoded as i32,
        video_codec: pb::VideoCodec::Hevc as i32,
        keyframe: Some(false),
        time_base: Some(pb::Rational32 {
            numerator: 1,
            denominator: 90_000,
        }),
        pts: -5,
        dts: Some(i64::MIN),
        duration: Some(i64::MAX),
        content: Some(pb::video_frame::Content::Internal(
            b"\x00\x00\x01\x40nal".to_vec(),
        )),
        transformations: vec![
            t(T::InitialSize(pb::InitialSize {
                width: 3840,
                height: 2160,
            })),
            t(T::LetterBox(pb::LetterBox {
                outer_width: 1920,
                outer_height: 1080,
                padding_left: 1,
                padding_top: 2,
                padding_right: 3,
                padding_bottom: u64::MAX,
            })),
            t(T::Padding(pb::Padding {
                padding_left: 4,
                padding_top: 0,
                padding_right: 6,
                padding_bottom: 7,
            })),
            t(T::Crop(pb::Crop {
                left: 8,
                top: 9,
                right: 10,
                bottom: 0,
            })),
            t(T::InitialSize(pb::InitialSize {
                width: 0,
                height: 0,
            })),
        ],
        // the attributes are checked value by value in
        // `every_attribute_value_kind_from_savant_protobuf`
        attributes: every_value_kind()
            .iter()
            .map(convert::attribute_to_pb)
            .collect(),
        objects: vec![
            pb::VideoObject {
                id: 1,
                parent_id: None,
                namespace: "detector".into(),
                label: "person".into(),
                draw_label: Some("Person".into()),
                detection_box: Some(bbox(35.0, 60.0, 50.0, 100.0, None)),
                attributes: vec![pb::Attribute {
                    namespace: "kinds".into(),
                    name: "age".into(),
                    values: vec![pb::AttributeValue {
                        confidence: None,
                        value: Some(pb::attribute_value::Value::Integer(
                            pb::IntegerAttributeValueVariant { data: 30 },
                        )),
                    }],
                    hint: None,
                    is_persistent: true,
                    is_hidden: false,
                }],
                confidence: Some(0.9),
                track_box: Some(bbox(36.0, 60.0, 50.0, 100.0, Some(5.0))),
                track_id: Some(7),
            },
            pb::VideoObject {
                id: 2,
                parent_id: Some(1),
                namespace: "detector".into(),
                label: "face".into(),
                detection_box: Some(bbox(0.0, 0.0, 5.0, 5.0, None)),
                ..Default::default()
            },
            pb::VideoObject {
                id: -3,
                detection_box: Some(bbox(0.0, 0.0, 0.0, 0.0, None)),
                ..Default::default()
            },
        ],
        previous_keyframe: Some(KEYFRAME.into()),
        misc_tracks: vec![
            pb::MiscTrackData {
                object_id: u64::MAX,
                class_id: -2,
                label: Some("car".into()),
                source_id: "cam-1".into(),
                category: pb::MiscTrackCategory::MiscTrackPastFrame as i32,
                frames: vec![
                    pb::MiscTrackFrame {
                        frame_num: 41,
                        bbox_left: 1.0,
                        bbox_top: 2.0,
                        bbox_width: 3.0,
                        bbox_height: 4.0,
                        confidence: 0.5,
                        age: 3,
                        state: pb::TrackState::Active as i32,
                        visibility: 0.75,
                    },
                    pb::MiscTrackFrame {
                        state: pb::TrackState::Projected as i32,
                        ..Default::default()
                    },
                    pb::MiscTrackFrame {
                        frame_num: -1,
                        state: pb::TrackState::Inactive as i32,
                        ..Default::default()
                    },
                    pb::MiscTrackFrame {
                        state: pb::TrackState::Tentative as i32,
                        ..Default::default()
                    },
                ],
            },
            pb::MiscTrackData {
                category: pb::MiscTrackCategory::MiscTrackTerminated as i32,
                label: Some(String::new()),
                ..Default::default()
            },
            pb::MiscTrackData::default(),
        ],
    }
}

#[test]
fn savant_protobuf_encodings_decode_here_to_the_same_values() {
    // the rich frame written by hand with its types
    let theirs = pb::Message {
        protocol_version: V2.into(),
        routing_labels: vec!["route-a".into(), String::new(), "ünï".into()],
        propagated_context: HashMap::from([(
            "traceparent".to_string(),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_string(),
        )]),
        seq_id: 42,
        system_id: "6f1c2c7e-2a55-4b7e-9a43-b1d2d3e4f5a6".into(),
        content: Some(pb::message::Content::VideoFrame(pb_frame_full())),
    };
    let bytes = theirs.encode_to_vec();
    let ours = decode(bytes.clone()).unwrap();
    let want = envelope(Message::video_frame(frame_full()), 42);
    let (g, w) = (
        ours.as_video_frame().unwrap(),
        want.as_video_frame().unwrap(),
    );
    macro_rules! fields {
        ($($f:ident),*) => {$( assert_eq!(g.$f, w.$f, "VideoFrame.{}", stringify!($f)); )*};
    }
    fields!(
        source_id,
        uuid,
        creation_timestamp_ns,
        framerate,
        width,
        height,
        transcoding_method,
        codec,
        keyframe,
        time_base,
        pts,
        dts,
        duration,
        content,
        transformations,
        attributes,
        objects,
        previous_frame_seq_id,
        previous_keyframe,
        misc_tracks
    );
    assert_eq!(ours, want);
    // ours writes the same bytes
    assert_eq!(&encode_message(&ours).unwrap()[..], &bytes[..]);

    // every other kind, through its encoder
    for (name, m) in rich_set() {
        let bytes = to_pb(&m).encode_to_vec();
        assert_eq!(decode(bytes).unwrap(), m, "{name}");
    }
}

#[test]
fn every_attribute_value_kind_from_savant_protobuf() {
    use pb::attribute_value::Value as V;
    let value = |v| pb::AttributeValue {
        confidence: Some(0.5),
        value: Some(v),
    };
    let cases: Vec<(V, AttributeValueKind)> = vec![
        (
            V::Bytes(pb::BytesAttributeValueVariant {
                dims: vec![1, -2],
                data: vec![9, 8],
            }),
            AttributeValueKind::Bytes {
                dims: vec![1, -2],
                data: Bytes::from_static(&[9, 8]),
            },
        ),
        (
            V::String(pb::StringAttributeValueVariant { data: "s".into() }),
            AttributeValueKind::String("s".into()),
        ),
        (
            V::StringVector(pb::StringVectorAttributeValueVariant {
                data: vec!["a".into(), String::new()],
            }),
            AttributeValueKind::StringVector(vec!["a".into(), String::new()]),
        ),
        (
            V::Integer(pb::IntegerAttributeValueVariant { data: -7 }),
            AttributeValueKind::Integer(-7),
        ),
        (
            V::IntegerVector(pb::IntegerVectorAttributeValueVariant {
                data: vec![i64::MIN, 3],
            }),
            AttributeValueKind::IntegerVector(vec![i64::MIN, 3]),
        ),
        (
            V::Float(pb::FloatAttributeValueVariant { data: 2.5 }),
            AttributeValueKind::Float(2.5),
        ),
        (
            V::FloatVector(pb::FloatVectorAttributeValueVariant {
                data: vec![1.0, -1.0],
            }),
            AttributeValueKind::FloatVector(vec![1.0, -1.0]),
        ),
        (
            V::Boolean(pb::BooleanAttributeValueVariant { data: true }),
            AttributeValueKind::Boolean(true),
        ),
        (
            V::BooleanVector(pb::BooleanVectorAttributeValueVariant {
                data: vec![false, true],
            }),
            AttributeValueKind::BooleanVector(vec![false, true]),
        ),
        (
            V::BoundingBox(pb::BoundingBoxAttributeValueVariant {
                data: Some(pb::BoundingBox {
                    xc: 1.0,
                    yc: 2.0,
                    width: 3.0,
                    height: 4.0,
                    angle: Some(90.0),
                }),
            }),
            AttributeValueKind::BoundingBox(BoundingBox::new(1.0, 2.0, 3.0, 4.0).with_angle(90.0)),
        ),
        (
            V::BoundingBoxVector(pb::BoundingBoxVectorAttributeValueVariant {
                data: vec![pb::BoundingBox::default()],
            }),
            AttributeValueKind::BoundingBoxVector(vec![BoundingBox::default()]),
        ),
        (
            V::Point(pb::PointAttributeValueVariant {
                data: Some(pb::Point { x: 1.0, y: -1.0 }),
            }),
            AttributeValueKind::Point(Point::new(1.0, -1.0)),
        ),
        (
            V::PointVector(pb::PointVectorAttributeValueVariant {
                data: vec![pb::Point { x: 0.5, y: 0.0 }],
            }),
            AttributeValueKind::PointVector(vec![Point::new(0.5, 0.0)]),
        ),
        (
            V::Polygon(pb::PolygonAttributeValueVariant {
                data: Some(pb::PolygonalArea {
                    points: vec![pb::Point { x: 1.0, y: 1.0 }],
                    tags: Some(pb::PolygonalAreaTags {
                        tags: vec![pb::PolygonalAreaTag { tag: None }],
                    }),
                }),
            }),
            AttributeValueKind::Polygon(PolygonalArea::with_tags(
                vec![Point::new(1.0, 1.0)],
                vec![None],
            )),
        ),
        (
            V::PolygonVector(pb::PolygonVectorAttributeValueVariant {
                data: vec![pb::PolygonalArea::default()],
            }),
            AttributeValueKind::PolygonVector(vec![PolygonalArea::new(vec![])]),
        ),
        (
            V::Intersection(pb::IntersectionAttributeValueVariant {
                data: Some(pb::Intersection {
                    kind: pb::IntersectionKind::Leave as i32,
                    edges: vec![pb::IntersectionEdge {
                        id: 3,
                        tag: Some("t".into()),
                    }],
                }),
            }),
            AttributeValueKind::Intersection(Intersection {
                kind: IntersectionKind::Leave,
                edges: vec![IntersectionEdge {
                    id: 3,
                    tag: Some("t".into()),
                }],
            }),
        ),
        (
            V::None(pb::NoneAttributeValueVariant {}),
            AttributeValueKind::None,
        ),
        (
            V::Temporary(pb::TemporaryValueVariant {}),
            AttributeValueKind::Temporary,
        ),
    ];
    for (theirs, want) in cases {
        let m = pb::Message {
            protocol_version: V2.into(),
            content: Some(pb::message::Content::UserData(pb::UserData {
                source_id: "u".into(),
                attributes: vec![pb::Attribute {
                    namespace: "n".into(),
                    name: "a".into(),
                    values: vec![value(theirs.clone())],
                    hint: None,
                    is_persistent: true,
                    is_hidden: false,
                }],
            })),
            ..Default::default()
        };
        let bytes = m.encode_to_vec();
        let got = decode(bytes.clone()).unwrap();
        let MessagePayload::UserData(u) = &got.payload else {
            panic!()
        };
        assert_eq!(u.attributes[0].values[0].kind, want, "{theirs:?}");
        assert_eq!(u.attributes[0].values[0].confidence, Some(0.5));
        assert_eq!(&encode_message(&got).unwrap()[..], &bytes[..], "{theirs:?}");
    }
}

/// A one-frame 2.x message around a prost frame.
fn pb_frame_message(f: pb::VideoFrame) -> pb::Message {
    pb::Message {
        protocol_version: V2.into(),
        content: Some(pb::message::Content::VideoFrame(f)),
        ..Default::default()
    }
}

#[test]
fn documented_differences_from_the_prost_types() {
    let base = pb_frame_full();

    // unknown enum values: prost keeps them, we refuse them
    let mut cases: Vec<(&str, pb::VideoFrame)> = vec![];
    let mut f = base.clone();
    f.video_codec = 12;
    cases.push(("VideoFrame.video_codec", f));
    let mut f = base.clone();
    f.transcoding_method = 2;
    cases.push(("VideoFrame.transcoding_method", f));
    let mut f = base.clone();
    f.misc_tracks[0].category = 3;
    cases.push(("MiscTrackData.category", f));
    let mut f = base.clone();
    f.misc_tracks[0].frames[1].state = -1;
    cases.push(("MiscTrackFrame.state", f));
    for (field, f) in cases {
        let bytes = pb_frame_message(f.clone()).encode_to_vec();
        // prost reads it
        assert_eq!(
            pb::Message::decode(&bytes[..]).unwrap(),
            pb_frame_message(f),
            "{field}"
        );
        match decode(bytes) {
            Err(DecodeError::InvalidEnum { field: got, .. }) => assert_eq!(got, field),
            other => panic!("{field}: {other:?}"),
        }
    }

    // absent timestamp and time base read as 0 and 0/0 and are written
    // back present; an absent fps is the empty frame rate and stays absent
    let mut f = base.clone();
    f.creation_timestamp_ns = None;
    f.time_base = None;
    f.fps = None;
    let got = decode(pb_frame_message(f.clone()).encode_to_vec()).unwrap();
    let gf = got.as_video_frame().unwrap();
    assert_eq!(gf.creation_timestamp_ns, 0);
    assert_eq!(gf.time_base, TimeBase::new(0, 0));
    assert_eq!(gf.framerate, "");
    let again = pb::Message::decode(encode_message(&got).unwrap()).unwrap();
    let Some(pb::message::Content::VideoFrame(af)) = again.content else {
        panic!()
    };
    assert_eq!(
        af.creation_timestamp_ns,
        Some(pb::NanosecondsU128::default())
    );
    assert_eq!(af.time_base, Some(pb::Rational32::default()));
    assert_eq!(af.fps, None);

    // a frame rate is written from its text: "030/1" reads back as "30/1"
    let mut m = stamp(Message::video_frame(frame_minimal("f")));
    if let MessagePayload::VideoFrame(f) = &mut m.payload {
        f.framerate = "030/+1".into();
    }
    let back = decode(encode_message(&m).unwrap()).unwrap();
    assert_eq!(back.as_video_frame().unwrap().framerate, "30/1");
    // and one that is not N/D with 32-bit integers is refused
    for bad in ["30", "30/1/1", "x/1", "4294967296/1", "30 /1"] {
        if let MessagePayload::VideoFrame(f) = &mut m.payload {
            f.framerate = bad.into();
        }
        let e = encode_message(&m).unwrap_err();
        assert!(
            matches!(
                e,
                EncodeError::Unrepresentable {
                    field: "VideoFrame.framerate",
                    ..
                }
            ),
            "{bad}: {e}"
        );
    }

    // uuids in other forms are read and written hyphenated lowercase
    let mut f = base.clone();
    f.uuid = UUID.to_uppercase();
    f.previous_keyframe = Some(KEYFRAME.replace('-', ""));
    let got = decode(pb_frame_message(f).encode_to_vec()).unwrap();
    assert_eq!(
        got.as_video_frame().unwrap().uuid,
        Uuid::parse_str(UUID).unwrap()
    );
    let again = pb::Message::decode(encode_message(&got).unwrap()).unwrap();
    let Some(pb::message::Content::VideoFrame(af)) = again.content else {
        panic!()
    };
    assert_eq!(
        (af.uuid.as_str(), af.previous_keyframe.as_deref()),
        (UUID, Some(KEYFRAME))
    );

    // what our decoder refuses and prost does not
    let mut refused: Vec<(&str, pb::VideoFrame)> = vec![];
    let mut f = base.clone();
    f.content = None;
    refused.push(("no content", f));
    let mut f = base.clone();
    f.uuid = "not a uuid".into();
    refused.push(("bad uuid", f));
    let mut f = base.clone();
    f.transformations
        .push(pb::VideoFrameTransformation::default());
    refused.push(("empty transformation", f));
    let mut f = base.clone();
    f.objects[1].parent_id = Some(99);
    refused.push(("parent not on the frame", f));
    let mut f = base.clone();
    f.objects[0].detection_box = None;
    refused.push(("no detection box", f));
    let mut f = base.clone();
    f.attributes[0].values[0].value = None;
    refused.push(("attribute value without a kind", f));
    for (what, f) in refused {
        let theirs = pb_frame_message(f);
        assert!(from_pb(&theirs).is_err(), "{what}");
        let bytes = theirs.encode_to_vec();
        assert!(pb::Message::decode(&bytes[..]).is_ok(), "{what}");
        assert!(decode(bytes).is_err(), "{what}");
    }

    // temporary attributes: not written on frames, user data and updates;
    // written on objects, dropped when read
    let mut f = frame_minimal("t");
    f.attributes
        .push(Attribute::temporary("n", "frame_tmp", vec![]));
    f.objects.push(
        VideoObject::new(1, "d", "l", BoundingBox::default()).with_attribute(Attribute::temporary(
            "n",
            "object_tmp",
            vec![],
        )),
    );
    let m = stamp(Message::video_frame(f));
    let bytes = encode_message(&m).unwrap();
    let Some(pb::message::Content::VideoFrame(theirs)) =
        pb::Message::decode(bytes.clone()).unwrap().content
    else {
        panic!()
    };
    assert!(theirs.attributes.is_empty());
    assert_eq!(theirs.objects[0].attributes[0].name, "object_tmp");
    let back = decode(bytes).unwrap();
    let bf = back.as_video_frame().unwrap();
    assert!(bf.attributes.is_empty() && bf.objects[0].attributes.is_empty());

    // (fuzz input `EjoCCgA=`) an update whose frame attribute is temporary
    // (`is_persistent` unset): read and kept, but not written again
    let bytes: &[u8] = b"\x0a\x052.1.1\x3a\x02\x0a\x00";
    let got = decode(bytes.to_vec()).unwrap();
    let MessagePayload::VideoFrameUpdate(u) = &got.payload else {
        panic!("{got:?}")
    };
    assert_eq!(u.frame_attributes.len(), 1);
    assert!(!u.frame_attributes[0].is_persistent);
    let again = decode(encode_message(&got).unwrap()).unwrap();
    assert_eq!(
        again.payload,
        MessagePayload::VideoFrameUpdate(Box::default())
    );

    // a temporary attribute sent by prost: kept on frames, dropped on user data
    let mut f = base.clone();
    f.attributes[0].is_persistent = false;
    let got = decode(pb_frame_message(f).encode_to_vec()).unwrap();
    assert!(!got.as_video_frame().unwrap().attributes[0].is_persistent);
    let ud = pb::Message {
        protocol_version: V2.into(),
        content: Some(pb::message::Content::UserData(pb::UserData {
            source_id: "u".into(),
            attributes: vec![pb::Attribute {
                name: "tmp".into(),
                is_persistent: false,
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    let got = decode(ud.encode_to_vec()).unwrap();
    assert_eq!(
        got.payload,
        MessagePayload::UserData(UserData::new("u", vec![]))
    );

    // the transformations 2.x does not have are refused, before any byte
    for t in [
        FrameTransformation::Scale {
            width: 1,
            height: 1,
        },
        FrameTransformation::ResultingSize {
            width: 1,
            height: 1,
        },
    ] {
        let mut f = frame_minimal("t");
        f.transformations.push(t);
        let e = encode_message(&stamp(Message::video_frame(f))).unwrap_err();
        assert!(
            matches!(
                e,
                EncodeError::Unrepresentable {
                    field: "VideoFrame.transformations",
                    ..
                }
            ),
            "{e}"
        );
    }
}

/// Found by the fuzz target: prost 0.13 (which savant-rs 2.1.1 uses) does
/// not check the wire type of a map field and reads a varint-typed
/// `propagated_context` (field 3) as a length-delimited entry; prost 0.14
/// checks it. Protobuf says a field of the wrong wire type is malformed,
/// so we refuse it, as our 1.x layout (against prost 0.14) does. savant-rs
/// writers never send it.
#[test]
fn prost_0_13_reads_map_fields_of_any_wire_type() {
    // protocol_version "2.1.1", field 3 as varint 0, EOS ""
    let bytes: &[u8] = b"\x0a\x052.1.1\x18\x00\x4a\x00";
    let theirs = pb::Message::decode(bytes).unwrap();
    assert_eq!(
        theirs.propagated_context,
        HashMap::from([(String::new(), String::new())])
    );
    assert!(
        matches!(decode(bytes.to_vec()), Err(DecodeError::Protobuf(_))),
        "{:?}",
        decode(bytes.to_vec())
    );
    // the same inside a batch: VideoFrameBatch.batch (field 1) as varint
    let bytes: &[u8] = b"\x0a\x052.1.1\x32\x02\x08\x00";
    let theirs = pb::Message::decode(bytes).unwrap();
    let Some(pb::message::Content::VideoFrameBatch(b)) = theirs.content else {
        panic!()
    };
    assert_eq!(b.batch.len(), 1);
    assert!(matches!(
        decode(bytes.to_vec()),
        Err(DecodeError::Protobuf(_))
    ));
    // well-formed, both read it
    let bytes: &[u8] = b"\x0a\x052.1.1\x1a\x00\x4a\x00";
    assert_eq!(
        decode(bytes.to_vec()).unwrap(),
        from_pb(&pb::Message::decode(bytes).unwrap()).unwrap()
    );
}

// ---------------------------------------------------------- (c) properties

mod arb {
    //! Strategies for prost values of the 2.x schema. `canonical` ones
    //! are what our model holds without loss (from_pb then to_pb gives
    //! them back); the others may be anything prost can write, including
    //! values our decoder must refuse.

    use super::*;
    use proptest::collection::{hash_map, vec};
    use proptest::option;

    fn text() -> BoxedStrategy<String> {
        prop_oneof![Just(String::new()), "[a-zA-Z0-9 é/._-]{1,8}"].boxed()
    }

    fn f32s() -> BoxedStrategy<f32> {
        prop_oneof![
            Just(0.0f32),
            Just(-0.0f32),
            -1e6f32..1e6f32,
            any::<f32>().prop_filter("not NaN", |f| !f.is_nan()),
        ]
        .boxed()
    }

    fn f64s() -> BoxedStrategy<f64> {
        prop_oneof![
            Just(0.0f64),
            -1e9f64..1e9f64,
            any::<f64>().prop_filter("not NaN", |f| !f.is_nan()),
        ]
        .boxed()
    }

    fn enum_value(n: i32, canonical: bool) -> BoxedStrategy<i32> {
        if canonical {
            (0..n).boxed()
        } else {
            prop_oneof![8 => 0..n, 1 => -2..n + 3].boxed()
        }
    }

    /// `Some` always when canonical; otherwise sometimes `None`.
    fn req<T: std::fmt::Debug + Clone + 'static>(
        s: BoxedStrategy<T>,
        canonical: bool,
    ) -> BoxedStrategy<Option<T>> {
        if canonical {
            s.prop_map(Some).boxed()
        } else {
            prop_oneof![12 => s.prop_map(Some), 1 => Just(None)].boxed()
        }
    }

    fn uuid(canonical: bool) -> BoxedStrategy<String> {
        let hyphenated = any::<u128>().prop_map(|u| Uuid::from_u128(u).hyphenated().to_string());
        if canonical {
            hyphenated.boxed()
        } else {
            prop_oneof![
                8 => hyphenated,
                1 => any::<u128>().prop_map(|u| Uuid::from_u128(u).simple().to_string().to_uppercase()),
                1 => text(),
            ]
            .boxed()
        }
    }

    pub fn bbox() -> BoxedStrategy<pb::BoundingBox> {
        (f32s(), f32s(), f32s(), f32s(), option::of(f32s()))
            .prop_map(|(xc, yc, width, height, angle)| pb::BoundingBox {
                xc,
                yc,
                width,
                height,
                angle,
            })
            .boxed()
    }

    fn point() -> BoxedStrategy<pb::Point> {
        (f32s(), f32s())
            .prop_map(|(x, y)| pb::Point { x, y })
            .boxed()
    }

    fn polygon() -> BoxedStrategy<pb::PolygonalArea> {
        (
            vec(point(), 0..4),
            option::of(vec(option::of(text()), 0..4)),
        )
            .prop_map(|(points, tags)| pb::PolygonalArea {
                points,
                tags: tags.map(|t| pb::PolygonalAreaTags {
                    tags: t
                        .into_iter()
                        .map(|tag| pb::PolygonalAreaTag { tag })
                        .collect(),
                }),
            })
            .boxed()
    }

    fn intersection(canonical: bool) -> BoxedStrategy<pb::Intersection> {
        (
            enum_value(5, canonical),
            vec((any::<u64>(), option::of(text())), 0..3),
        )
            .prop_map(|(kind, edges)| pb::Intersection {
                kind,
                edges: edges
                    .into_iter()
                    .map(|(id, tag)| pb::IntersectionEdge { id, tag })
                    .collect(),
            })
            .boxed()
    }

    fn value(canonical: bool) -> BoxedStrategy<pb::AttributeValue> {
        use pb::attribute_value::Value as V;
        let c = canonical;
        let kind = prop_oneof![
            (vec(any::<i64>(), 0..3), vec(any::<u8>(), 0..5))
                .prop_map(|(dims, data)| V::Bytes(pb::BytesAttributeValueVariant { dims, data }))
                .boxed(),
            text()
                .prop_map(|data| V::String(pb::StringAttributeValueVariant { data }))
                .boxed(),
            vec(text(), 0..3)
                .prop_map(|data| V::StringVector(pb::StringVectorAttributeValueVariant { data }))
                .boxed(),
            any::<i64>()
                .prop_map(|data| V::Integer(pb::IntegerAttributeValueVariant { data }))
                .boxed(),
            vec(any::<i64>(), 0..4)
                .prop_map(|data| V::IntegerVector(pb::IntegerVectorAttributeValueVariant { data }))
                .boxed(),
            f64s()
                .prop_map(|data| V::Float(pb::FloatAttributeValueVariant { data }))
                .boxed(),
            vec(f64s(), 0..3)
                .prop_map(|data| V::FloatVector(pb::FloatVectorAttributeValueVariant { data }))
                .boxed(),
            any::<bool>()
                .prop_map(|data| V::Boolean(pb::BooleanAttributeValueVariant { data }))
                .boxed(),
            vec(any::<bool>(), 0..4)
                .prop_map(|data| V::BooleanVector(pb::BooleanVectorAttributeValueVariant { data }))
                .boxed(),
            req(bbox(), c)
                .prop_map(|data| V::BoundingBox(pb::BoundingBoxAttributeValueVariant { data }))
                .boxed(),
            vec(bbox(), 0..3)
                .prop_map(
                    |data| V::BoundingBoxVector(pb::BoundingBoxVectorAttributeValueVariant {
                        data
                    })
                )
                .boxed(),
            req(point(), c)
                .prop_map(|data| V::Point(pb::PointAttributeValueVariant { data }))
                .boxed(),
            vec(point(), 0..3)
                .prop_map(|data| V::PointVector(pb::PointVectorAttributeValueVariant { data }))
                .boxed(),
            req(polygon(), c)
                .prop_map(|data| V::Polygon(pb::PolygonAttributeValueVariant { data }))
                .boxed(),
            vec(polygon(), 0..3)
                .prop_map(|data| V::PolygonVector(pb::PolygonVectorAttributeValueVariant { data }))
                .boxed(),
            req(intersection(c), c)
                .prop_map(|data| V::Intersection(pb::IntersectionAttributeValueVariant { data }))
                .boxed(),
            Just(V::None(pb::NoneAttributeValueVariant {})).boxed(),
            Just(V::Temporary(pb::TemporaryValueVariant {})).boxed(),
        ];
        (option::of(f32s()), req(kind.boxed(), c))
            .prop_map(|(confidence, value)| pb::AttributeValue { confidence, value })
            .boxed()
    }

    pub fn attribute(canonical: bool) -> BoxedStrategy<pb::Attribute> {
        let persistent = if canonical {
            Just(true).boxed()
        } else {
            prop_oneof![3 => Just(true), 1 => Just(false)].boxed()
        };
        (
            text(),
            text(),
            vec(value(canonical), 0..3),
            option::of(text()),
            persistent,
            any::<bool>(),
        )
            .prop_map(
                |(namespace, name, values, hint, is_persistent, is_hidden)| pb::Attribute {
                    namespace,
                    name,
                    values,
                    hint,
                    is_persistent,
                    is_hidden,
                },
            )
            .boxed()
    }

    fn object(canonical: bool) -> BoxedStrategy<pb::VideoObject> {
        (
            (
                -2i64..4,
                option::of(-2i64..5),
                text(),
                text(),
                option::of(text()),
            ),
            (
                req(bbox(), canonical),
                vec(attribute(canonical), 0..2),
                option::of(f32s()),
                option::of(bbox()),
                option::of(any::<i64>()),
            ),
        )
            .prop_map(
                |(
                    (id, parent_id, namespace, label, draw_label),
                    (detection_box, attributes, confidence, track_box, track_id),
                )| pb::VideoObject {
                    id,
                    parent_id,
                    namespace,
                    label,
                    draw_label,
                    detection_box,
                    attributes,
                    confidence,
                    track_box,
                    track_id,
                },
            )
            .boxed()
    }

    fn transformation(canonical: bool) -> BoxedStrategy<pb::VideoFrameTransformation> {
        use pb::video_frame_transformation::Transformation as T;
        let u = || prop_oneof![Just(0u64), any::<u64>(), 0u64..5000];
        let t = prop_oneof![
            (u(), u())
                .prop_map(|(width, height)| T::InitialSize(pb::InitialSize { width, height })),
            (u(), u(), u(), u(), u(), u()).prop_map(|(a, b, c, d, e, f)| T::LetterBox(
                pb::LetterBox {
                    outer_width: a,
                    outer_height: b,
                    padding_left: c,
                    padding_top: d,
                    padding_right: e,
                    padding_bottom: f,
                }
            )),
            (u(), u(), u(), u()).prop_map(|(a, b, c, d)| T::Padding(pb::Padding {
                padding_left: a,
                padding_top: b,
                padding_right: c,
                padding_bottom: d,
            })),
            (u(), u(), u(), u()).prop_map(|(left, top, right, bottom)| T::Crop(pb::Crop {
                left,
                top,
                right,
                bottom,
            })),
        ];
        req(t.boxed(), canonical)
            .prop_map(|transformation| pb::VideoFrameTransformation { transformation })
            .boxed()
    }

    fn misc_track(canonical: bool) -> BoxedStrategy<pb::MiscTrackData> {
        let frame = (
            (any::<i64>(), f32s(), f32s(), f32s(), f32s()),
            (f32s(), any::<i64>(), enum_value(5, canonical), f32s()),
        )
            .prop_map(
                |((frame_num, l, t, w, h), (confidence, age, state, visibility))| {
                    pb::MiscTrackFrame {
                        frame_num,
                        bbox_left: l,
                        bbox_top: t,
                        bbox_width: w,
                        bbox_height: h,
                        confidence,
                        age,
                        state,
                        visibility,
                    }
                },
            );
        (
            any::<u64>(),
            any::<i64>(),
            option::of(text()),
            text(),
            enum_value(3, canonical),
            vec(frame, 0..3),
        )
            .prop_map(
                |(object_id, class_id, label, source_id, category, frames)| pb::MiscTrackData {
                    object_id,
                    class_id,
                    label,
                    source_id,
                    category,
                    frames,
                },
            )
            .boxed()
    }

    fn rational() -> BoxedStrategy<pb::Rational32> {
        let i = || prop_oneof![any::<i32>(), 0i32..100_000];
        (i(), i())
            .prop_map(|(numerator, denominator)| pb::Rational32 {
                numerator,
                denominator,
            })
            .boxed()
    }

    fn content(canonical: bool) -> BoxedStrategy<Option<pb::video_frame::Content>> {
        use pb::video_frame::Content as C;
        let c = prop_oneof![
            vec(any::<u8>(), 0..8).prop_map(C::Internal),
            (text(), option::of(text()))
                .prop_map(|(method, location)| C::External(pb::ExternalFrame { method, location })),
            Just(C::None(pb::NoneFrame {})),
        ];
        req(c.boxed(), canonical)
    }

    /// Always `Some` when canonical (our model has no "absent" for it).
    fn optional<T: std::fmt::Debug + Clone + 'static>(
        s: BoxedStrategy<T>,
        canonical: bool,
    ) -> BoxedStrategy<Option<T>> {
        if canonical {
            s.prop_map(Some).boxed()
        } else {
            option::of(s).boxed()
        }
    }

    pub fn frame(canonical: bool) -> BoxedStrategy<pb::VideoFrame> {
        let c = canonical;
        let ts =
            (any::<u64>(), any::<u64>()).prop_map(|(high, low)| pb::NanosecondsU128 { high, low });
        let codec = if c {
            (0i32..12).boxed()
        } else {
            prop_oneof![10 => 0i32..12, 1 => -1i32..20].boxed()
        };
        (
            (
                option::of(any::<i64>()),
                text(),
                uuid(c),
                optional(ts.boxed(), c),
                option::of(rational()),
                any::<i64>(),
                any::<i64>(),
                enum_value(2, c),
                codec,
                option::of(any::<bool>()),
            ),
            (
                optional(rational(), c),
                any::<i64>(),
                option::of(any::<i64>()),
                option::of(any::<i64>()),
                content(c),
                vec(transformation(c), 0..4),
                vec(attribute(c), 0..3),
                vec(object(c), 0..4),
                option::of(uuid(c)),
                vec(misc_track(c), 0..3),
            ),
        )
            .prop_map(
                move |(
                    (
                        previous_frame_seq_id,
                        source_id,
                        uuid,
                        creation_timestamp_ns,
                        fps,
                        width,
                        height,
                        transcoding_method,
                        video_codec,
                        keyframe,
                    ),
                    (
                        time_base,
                        pts,
                        dts,
                        duration,
                        content,
                        transformations,
                        attributes,
                        mut objects,
                        previous_keyframe,
                        misc_tracks,
                    ),
                )| {
                    if c {
                        // parents must be objects of the frame
                        let ids: Vec<i64> = objects.iter().map(|o| o.id).collect();
                        for o in &mut objects {
                            o.parent_id = o.parent_id.filter(|p| ids.contains(p));
                        }
                    }
                    pb::VideoFrame {
                        previous_frame_seq_id,
                        source_id,
                        uuid,
                        creation_timestamp_ns,
                        fps,
                        width,
                        height,
                        transcoding_method,
                        video_codec,
                        keyframe,
                        time_base,
                        pts,
                        dts,
                        duration,
                        transformations,
                        attributes,
                        objects,
                        previous_keyframe,
                        misc_tracks,
                        content,
                    }
                },
            )
            .boxed()
    }

    fn update(canonical: bool) -> BoxedStrategy<pb::VideoFrameUpdate> {
        let c = canonical;
        (
            vec(attribute(c), 0..3),
            vec((any::<i64>(), req(attribute(c), c)), 0..3),
            vec((req(object(c), c), option::of(any::<i64>())), 0..3),
            enum_value(3, c),
            enum_value(3, c),
            enum_value(3, c),
        )
            .prop_map(|(fa, oa, objects, fap, oap, op)| pb::VideoFrameUpdate {
                frame_attributes: fa,
                object_attributes: oa
                    .into_iter()
                    .map(|(object_id, attribute)| pb::ObjectAttribute {
                        object_id,
                        attribute,
                    })
                    .collect(),
                objects: objects
                    .into_iter()
                    .map(|(object, parent_id)| pb::VideoObjectWithForeignParent {
                        object,
                        parent_id,
                    })
                    .collect(),
                frame_attribute_policy: fap,
                object_attribute_policy: oap,
                object_policy: op,
            })
            .boxed()
    }

    pub fn message(canonical: bool) -> BoxedStrategy<pb::Message> {
        use pb::message::Content as C;
        let c = canonical;
        let content = prop_oneof![
            3 => frame(c).prop_map(C::VideoFrame).boxed(),
            1 => hash_map(-3i64..3, frame(c), 0..3)
                .prop_map(|batch| C::VideoFrameBatch(pb::VideoFrameBatch { batch }))
                .boxed(),
            1 => update(c).prop_map(C::VideoFrameUpdate).boxed(),
            1 => (text(), vec(attribute(c), 0..3))
                .prop_map(|(source_id, attributes)| C::UserData(pb::UserData {
                    source_id,
                    attributes
                }))
                .boxed(),
            1 => text()
                .prop_map(|source_id| C::EndOfStream(pb::EndOfStream { source_id }))
                .boxed(),
            1 => text()
                .prop_map(|message| C::Unknown(pb::Unknown { message }))
                .boxed(),
            1 => text()
                .prop_map(|auth| C::Shutdown(pb::Shutdown { auth }))
                .boxed(),
        ];
        (
            prop_oneof![Just("2.1.1"), Just("2.0.0"), Just("2.17.3")],
            vec(text(), 0..3),
            hash_map(text(), text(), 0..3),
            any::<u64>(),
            text(),
            req(content.boxed(), c),
        )
            .prop_map(
                |(version, routing_labels, propagated_context, seq_id, system_id, content)| {
                    pb::Message {
                        protocol_version: version.to_string(),
                        routing_labels,
                        propagated_context,
                        seq_id,
                        system_id,
                        content,
                    }
                },
            )
            .boxed()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// ours -> prost -> prost's encoding -> ours gives the original, and
    /// the bytes agree wherever no map has two entries.
    #[test]
    fn our_2x_messages_round_trip_through_savant_protobuf(theirs in arb::message(true)) {
        let m = from_pb(&theirs).expect("canonical values are valid");
        let bytes = encode_message(&m).expect("2.x carries what 2.x gave");
        let decoded = pb::Message::decode(bytes.clone()).expect("prost reads our bytes");
        prop_assert_eq!(&decoded, &to_pb(&m));
        prop_assert_eq!(&decoded, &theirs);
        let again = decoded.encode_to_vec();
        if !has_unordered_map(&decoded) {
            prop_assert_eq!(&again[..], &bytes[..]);
        }
        prop_assert_eq!(decode(again).expect("we read prost's bytes"), m);
    }

    /// Any prost message of the 2.x schema decodes here without a panic to
    /// what `from_pb` says, or is refused where `from_pb` refuses it; what
    /// decodes re-encodes to what prost reads as the same values.
    #[test]
    fn savant_protobuf_messages_decode_here_and_agree(theirs in arb::message(false)) {
        let bytes = theirs.encode_to_vec();
        let ours = decode(bytes.clone());
        match (from_pb(&theirs), ours) {
            (Ok(want), Ok(got)) => {
                prop_assert_eq!(&got, &want);
                let re = encode_message(&got).expect("2.x carries what 2.x gave");
                let reread = pb::Message::decode(re.clone()).expect("prost reads our bytes");
                let canonical = to_pb(&want);
                prop_assert_eq!(&reread, &canonical);
                if canonical == theirs && !has_unordered_map(&theirs) {
                    prop_assert_eq!(&re[..], &bytes[..]);
                }
            }
            (Err(_), Err(_)) => {}
            (want, got) => prop_assert!(false, "expected {:?}, got {:?}", want, got),
        }
    }
}
