//! Codec tests: round trips of every type in every protocol generation
//! (property-based), the byte layout savant-rs 0.3.0 writes, the layout
//! rules of each generation, and bad input.

use bytes::Bytes;
use proptest::prelude::*;
use savant_sdk_protocol::codec::{decode_message, encode_message, DecodeOptions, VersionPolicy};
use savant_sdk_protocol::model::*;
use savant_sdk_protocol::protocol::{Generation, ProtocolVersion};
use savant_sdk_protocol::{DecodeError, EncodeError};
use uuid::Uuid;

fn opts() -> DecodeOptions {
    DecodeOptions::default()
}

fn enc(m: &Message) -> Bytes {
    encode_message(m).expect("encodes")
}

fn roundtrip(m: &Message) -> Message {
    decode_message(enc(m), &opts()).expect("decodes")
}

/// A version of each generation, as their writers stamp them.
const VERSIONS: &[&str] = &["0.2.0", "0.2.2", "1.0.2", "1.13.0", "1.15.1", "2.1.1"];

// ------------------------------------------------------------ strategies

fn f32s() -> impl Strategy<Value = f32> {
    -1.0e6f32..1.0e6f32
}

fn bbox() -> impl Strategy<Value = BoundingBox> {
    (f32s(), f32s(), f32s(), f32s(), proptest::option::of(f32s())).prop_map(
        |(xc, yc, width, height, angle)| BoundingBox {
            xc,
            yc,
            width,
            height,
            angle,
        },
    )
}

fn point() -> impl Strategy<Value = Point> {
    (f32s(), f32s()).prop_map(|(x, y)| Point::new(x, y))
}

fn polygon() -> impl Strategy<Value = PolygonalArea> {
    (
        prop::collection::vec(point(), 0..5),
        proptest::option::of(prop::collection::vec(
            proptest::option::of("[a-z]{0,4}"),
            0..5,
        )),
    )
        .prop_map(|(points, tags)| PolygonalArea { points, tags })
}

fn value_kind() -> impl Strategy<Value = AttributeValueKind> {
    prop_oneof![
        (
            prop::collection::vec(any::<i64>(), 0..4),
            prop::collection::vec(any::<u8>(), 0..32)
        )
            .prop_map(|(dims, data)| AttributeValueKind::Bytes {
                dims,
                data: Bytes::from(data)
            }),
        ".{0,12}".prop_map(AttributeValueKind::String),
        prop::collection::vec(".{0,6}", 0..4).prop_map(AttributeValueKind::StringVector),
        any::<i64>().prop_map(AttributeValueKind::Integer),
        prop::collection::vec(any::<i64>(), 0..6).prop_map(AttributeValueKind::IntegerVector),
        (-1.0e12f64..1.0e12).prop_map(AttributeValueKind::Float),
        prop::collection::vec(-1.0e12f64..1.0e12, 0..6).prop_map(AttributeValueKind::FloatVector),
        any::<bool>().prop_map(AttributeValueKind::Boolean),
        prop::collection::vec(any::<bool>(), 0..6).prop_map(AttributeValueKind::BooleanVector),
        bbox().prop_map(AttributeValueKind::BoundingBox),
        prop::collection::vec(bbox(), 0..3).prop_map(AttributeValueKind::BoundingBoxVector),
        point().prop_map(AttributeValueKind::Point),
        prop::collection::vec(point(), 0..3).prop_map(AttributeValueKind::PointVector),
        polygon().prop_map(AttributeValueKind::Polygon),
        prop::collection::vec(polygon(), 0..3).prop_map(AttributeValueKind::PolygonVector),
        (
            0usize..5,
            prop::collection::vec((any::<u64>(), proptest::option::of("[a-z]{1,3}")), 0..3)
        )
            .prop_map(|(k, edges)| AttributeValueKind::Intersection(Intersection {
                kind: [
                    IntersectionKind::Enter,
                    IntersectionKind::Inside,
                    IntersectionKind::Leave,
                    IntersectionKind::Cross,
                    IntersectionKind::Outside
                ][k],
                edges: edges
                    .into_iter()
                    .map(|(id, tag)| IntersectionEdge { id, tag })
                    .collect(),
            })),
        Just(AttributeValueKind::None),
        Just(AttributeValueKind::Temporary),
    ]
}

fn value() -> impl Strategy<Value = AttributeValue> {
    (value_kind(), proptest::option::of(0.0f32..1.0))
        .prop_map(|(kind, confidence)| AttributeValue { kind, confidence })
}

/// Persistent attributes: temporary ones are not carried by frames.
fn attribute() -> impl Strategy<Value = Attribute> {
    (
        "[a-z]{1,6}",
        "[a-z]{1,6}",
        prop::collection::vec(value(), 0..3),
        proptest::option::of("[a-z]{0,5}"),
        any::<bool>(),
    )
        .prop_map(|(ns, name, values, hint, hidden)| {
            let mut a = Attribute::persistent(ns, name, values).hidden(hidden);
            a.hint = hint;
            a
        })
}

fn object(id: i64, parent: Option<i64>) -> impl Strategy<Value = VideoObject> {
    (
        "[a-z]{1,6}",
        "[a-z]{1,6}",
        proptest::option::of("[A-Z]{1,3}"),
        bbox(),
        prop::collection::vec(attribute(), 0..2),
        proptest::option::of(0.0f32..1.0),
        proptest::option::of((any::<i64>(), bbox())),
    )
        .prop_map(
            move |(ns, label, draw, det, attributes, confidence, track)| {
                let mut o = VideoObject::new(id, ns, label, det);
                o.parent_id = parent;
                o.draw_label = draw;
                o.attributes = attributes;
                o.confidence = confidence;
                if let Some((tid, tbox)) = track {
                    o = o.with_track(tid, tbox);
                }
                o
            },
        )
}

fn objects() -> impl Strategy<Value = Vec<VideoObject>> {
    (0usize..4).prop_flat_map(|n| {
        (0..n)
            .map(|i| {
                // each object may point at an earlier one
                let parent = if i > 0 && i % 2 == 1 {
                    Some(i as i64 - 1)
                } else {
                    None
                };
                object(i as i64, parent).boxed()
            })
            .collect::<Vec<_>>()
    })
}

fn content() -> impl Strategy<Value = FrameContent> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|v| FrameContent::Internal(Bytes::from(v))),
        ("[a-z]{0,8}", proptest::option::of("[a-z/]{0,8}"))
            .prop_map(|(method, location)| FrameContent::External { method, location }),
        Just(FrameContent::None),
    ]
}

fn transformation(v2: bool) -> BoxedStrategy<FrameTransformation> {
    if v2 {
        return prop_oneof![
            (any::<u64>(), any::<u64>())
                .prop_map(|(width, height)| FrameTransformation::InitialSize { width, height }),
            any::<[u64; 6]>().prop_map(|v| FrameTransformation::LetterBox {
                outer_width: v[0],
                outer_height: v[1],
                left: v[2],
                top: v[3],
                right: v[4],
                bottom: v[5],
            }),
            any::<[u64; 4]>().prop_map(|v| FrameTransformation::Padding {
                left: v[0],
                top: v[1],
                right: v[2],
                bottom: v[3],
            }),
            any::<[u64; 4]>().prop_map(|v| FrameTransformation::Crop {
                left: v[0],
                top: v[1],
                right: v[2],
                bottom: v[3],
            }),
        ]
        .boxed();
    }
    prop_oneof![
        (any::<u64>(), any::<u64>())
            .prop_map(|(width, height)| FrameTransformation::InitialSize { width, height }),
        (any::<u64>(), any::<u64>())
            .prop_map(|(width, height)| FrameTransformation::Scale { width, height }),
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
            |(left, top, right, bottom)| FrameTransformation::Padding {
                left,
                top,
                right,
                bottom
            }
        ),
        (any::<u64>(), any::<u64>())
            .prop_map(|(width, height)| FrameTransformation::ResultingSize { width, height }),
    ]
    .boxed()
}

fn misc_track() -> impl Strategy<Value = MiscTrack> {
    let frame = (
        any::<i64>(),
        [f32s(), f32s(), f32s(), f32s(), f32s(), f32s()],
        any::<i64>(),
        0usize..5,
    )
        .prop_map(|(frame_num, f, age, s)| MiscTrackFrame {
            frame_num,
            bbox_left: f[0],
            bbox_top: f[1],
            bbox_width: f[2],
            bbox_height: f[3],
            confidence: f[4],
            age,
            state: [
                TrackState::Empty,
                TrackState::Active,
                TrackState::Inactive,
                TrackState::Tentative,
                TrackState::Projected,
            ][s],
            visibility: f[5],
        });
    (
        any::<u64>(),
        any::<i64>(),
        proptest::option::of("[a-z]{0,5}"),
        "[a-z]{0,5}",
        0usize..3,
        prop::collection::vec(frame, 0..3),
    )
        .prop_map(
            |(object_id, class_id, label, source_id, c, frames)| MiscTrack {
                object_id,
                class_id,
                label,
                source_id,
                category: [
                    MiscTrackCategory::Shadow,
                    MiscTrackCategory::Terminated,
                    MiscTrackCategory::PastFrame,
                ][c],
                frames,
            },
        )
}

/// Codec names: free text up to 1.x, the `VideoCodec` enum's in 2.x.
fn codec(v2: bool) -> BoxedStrategy<Option<String>> {
    if v2 {
        proptest::option::of(proptest::sample::select(vec![
            "h264", "hevc", "jpeg", "swjpeg", "av1", "png", "vp8", "vp9", "raw-rgba", "raw-rgb",
            "raw-nv12",
        ]))
        .prop_map(|c| c.map(str::to_string))
        .boxed()
    } else {
        proptest::option::of("[a-z0-9-]{1,8}").boxed()
    }
}

/// Frame rates: free text up to 1.x, `N/D` (or none) in 2.x.
fn framerate(v2: bool) -> BoxedStrategy<String> {
    if v2 {
        prop_oneof![
            Just(String::new()),
            (any::<i32>(), any::<i32>()).prop_map(|(n, d)| format!("{n}/{d}")),
        ]
        .boxed()
    } else {
        "[0-9]{1,3}/[1-9]".boxed()
    }
}

prop_compose! {
    fn frame(v2: bool)(
        source in "[a-z0-9-]{0,10}",
        uuid in any::<u128>(),
        ts in any::<u128>(),
        fps in framerate(v2),
        w in any::<i64>(), h in any::<i64>(),
        encoded in any::<bool>(),
        codec in codec(v2),
        keyframe in proptest::option::of(any::<bool>()),
        tb in (any::<i32>(), any::<i32>()),
        pts in any::<i64>(), dts in proptest::option::of(any::<i64>()), duration in proptest::option::of(any::<i64>()),
        content in content(),
        transformations in prop::collection::vec(transformation(v2), 0..4),
        attributes in prop::collection::vec(attribute(), 0..4),
        objects in objects(),
        prev_seq in proptest::option::of(any::<i64>()),
        prev_key in proptest::option::of(any::<u128>()),
        misc_tracks in prop::collection::vec(misc_track(), 0..if v2 { 3 } else { 1 }),
    ) -> VideoFrame {
        VideoFrame {
            source_id: source,
            uuid: Uuid::from_u128(uuid),
            creation_timestamp_ns: ts,
            framerate: fps,
            width: w,
            height: h,
            transcoding_method: if encoded { TranscodingMethod::Encoded } else { TranscodingMethod::Copy },
            codec,
            keyframe,
            time_base: TimeBase::new(tb.0, tb.1),
            pts, dts, duration, content, transformations, attributes, objects,
            previous_frame_seq_id: prev_seq,
            previous_keyframe: prev_key.map(Uuid::from_u128),
            misc_tracks,
        }
    }
}

fn update() -> impl Strategy<Value = VideoFrameUpdate> {
    (
        prop::collection::vec(attribute(), 0..3),
        prop::collection::vec((any::<i64>(), attribute()), 0..3),
        prop::collection::vec((object(5, None), proptest::option::of(any::<i64>())), 0..3),
        0usize..3,
        0usize..3,
        0usize..3,
    )
        .prop_map(|(fa, oa, objs, p1, p2, p3)| {
            let ap = [
                AttributeUpdatePolicy::ReplaceWithForeign,
                AttributeUpdatePolicy::KeepOwn,
                AttributeUpdatePolicy::Error,
            ];
            VideoFrameUpdate {
                frame_attributes: fa,
                object_attributes: oa,
                objects: objs,
                frame_attribute_policy: ap[p1],
                object_attribute_policy: ap[p2],
                object_policy: [
                    ObjectUpdatePolicy::AddForeignObjects,
                    ObjectUpdatePolicy::ErrorIfLabelsCollide,
                    ObjectUpdatePolicy::ReplaceSameLabelObjects,
                ][p3],
            }
        })
}

fn payload(v2: bool) -> impl Strategy<Value = MessagePayload> {
    prop_oneof![
        frame(v2).prop_map(|f| MessagePayload::VideoFrame(Box::new(f))),
        prop::collection::btree_map(any::<i64>(), frame(v2), 0..3)
            .prop_map(|frames| MessagePayload::VideoFrameBatch(VideoFrameBatch { frames })),
        update().prop_map(|u| MessagePayload::VideoFrameUpdate(Box::new(u))),
        ("[a-z]{0,6}", prop::collection::vec(attribute(), 0..3))
            .prop_map(|(s, a)| MessagePayload::UserData(UserData::new(s, a))),
        "[a-z]{0,6}".prop_map(|s| MessagePayload::EndOfStream(EndOfStream::new(s))),
        ".{0,10}".prop_map(|s| MessagePayload::Unknown(Unknown { message: s })),
        ".{0,10}".prop_map(|s| MessagePayload::Shutdown(Shutdown::new(s))),
    ]
}

prop_compose! {
    /// A message of the generation of `version`.
    fn message_of(version: &'static str)(
        payload in payload(ProtocolVersion::generation_of(version).is_some_and(Generation::is_v2)),
        labels in prop::collection::vec("[a-z]{0,5}", 0..3),
        ctx in prop::collection::btree_map("[a-z-]{1,8}", "[a-z0-9-]{0,8}", 0..3),
        seq in any::<u64>(),
        system_id in "[a-f0-9-]{0,36}",
    ) -> Message {
        let mut m = Message::new(payload);
        m.protocol_version = version.to_string();
        m.routing_labels = labels;
        m.propagated_context = ctx;
        m.seq_id = seq;
        if ProtocolVersion::generation_of(version).is_some_and(Generation::has_system_id) {
            m.system_id = system_id;
        }
        m
    }
}

/// A 0.2.x/1.x message (the layout of the prost reference).
fn message() -> impl Strategy<Value = Message> {
    proptest::sample::select(&VERSIONS[..5]).prop_flat_map(message_of)
}

/// A message of any generation.
fn any_generation_message() -> impl Strategy<Value = Message> {
    proptest::sample::select(VERSIONS).prop_flat_map(message_of)
}

/// Whether a decode result is a 2.x message, which the 0.2.x prost
/// reference cannot judge (an edit can turn "0.2.0" into "2.2.0").
fn is_v2(r: &Result<Message, DecodeError>) -> bool {
    r.as_ref()
        .is_ok_and(|m| m.generation().is_some_and(Generation::is_v2))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn every_message_of_every_generation_round_trips(m in any_generation_message()) {
        let back = roundtrip(&m);
        prop_assert_eq!(back.generation(), m.generation());
        prop_assert_eq!(back, m);
    }

    #[test]
    fn direct_encoding_equals_prost(m in message()) {
        prop_assert_eq!(enc(&m), savant_sdk_protocol_reference::encode_message_reference(&m));
    }

    #[test]
    fn re_encoding_in_another_generation_keeps_every_value_both_carry(m in message()) {
        // a 0.2.x/1.x message without what 2.x lacks goes through 2.x unchanged
        let mut m = m;
        let strip = |f: &mut VideoFrame| {
            f.transformations.retain(|t| !matches!(t,
                FrameTransformation::Scale { .. } | FrameTransformation::ResultingSize { .. }));
            if f.codec.is_some() { f.codec = Some("h264".into()); }
            let (n, d) = f.framerate.split_once('/').unwrap();
            f.framerate = format!("{}/{}", n.parse::<i32>().unwrap(), d.parse::<i32>().unwrap());
        };
        match &mut m.payload {
            MessagePayload::VideoFrame(f) => strip(f),
            MessagePayload::VideoFrameBatch(b) => b.frames.values_mut().for_each(strip),
            _ => {}
        }
        let v2 = ProtocolVersion::parse("2.1.1").unwrap();
        let bytes = savant_sdk_protocol::codec::encode_message_as(&m, &v2, m.seq_id, &m.system_id).unwrap();
        let back = decode_message(bytes, &opts()).unwrap();
        let mut want = m.clone();
        want.protocol_version = "2.1.1".into();
        if !m.generation().is_some_and(Generation::has_system_id) { want.system_id = String::new(); }
        prop_assert_eq!(back, want);
    }

    #[test]
    fn direct_decoding_equals_prost_on_mutated_input(
        m in message(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let mut bytes = enc(&m).to_vec();
        for (at, byte, op) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.insert(i, byte); }
                _ => { bytes.truncate(i); }
            }
        }
        let any = DecodeOptions { version: VersionPolicy::Any, ..DecodeOptions::default() };
        let direct = decode_message(Bytes::from(bytes.clone()), &any);
        let reference = savant_sdk_protocol_reference::decode_message_reference(Bytes::from(bytes), &any);
        match (direct, reference) {
            (a, b) if is_v2(&a) || is_v2(&b) => {}
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "direct {:?} vs prost {:?}", a, b),
        }
    }

    #[test]
    fn direct_decoding_equals_prost_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..256)) {
        let any = DecodeOptions { version: VersionPolicy::Any, ..DecodeOptions::default() };
        let direct = decode_message(Bytes::from(data.clone()), &any);
        let reference = savant_sdk_protocol_reference::decode_message_reference(Bytes::from(data), &any);
        match (direct, reference) {
            (a, b) if is_v2(&a) || is_v2(&b) => {}
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "direct {:?} vs prost {:?}", a, b),
        }
    }

    #[test]
    fn truncated_messages_never_panic(m in any_generation_message(), cut in any::<prop::sample::Index>()) {
        let bytes = enc(&m);
        let at = cut.index(bytes.len().max(1));
        // Any prefix either decodes (a prefix can be a valid message) or
        // gives a typed error; it never panics.
        let _ = decode_message(bytes.slice(..at), &opts());
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_message(Bytes::from(data), &opts());
    }
}

// ----------------------------------------------------------- byte layout

#[test]
fn eos_bytes_match_savant_rs() {
    // spec §2: EOS for source "s", seq_id 1, as written by savant-rs 0.3.0
    let mut m = Message::end_of_stream(EndOfStream::new("s"));
    m.protocol_version = PROTOCOL_VERSION_0_2.into();
    m.seq_id = 1;
    assert_eq!(
        &enc(&m)[..],
        &[0x0a, 0x05, b'0', b'.', b'2', b'.', b'0', 0x20, 0x01, 0x4a, 0x03, 0x0a, 0x01, b's']
    );
}

#[test]
fn optional_zero_values_are_written_and_none_content_is_present() {
    let frame = VideoFrame::builder("")
        .keyframe(false)
        .uuid(Uuid::nil())
        .creation_timestamp_ns(0)
        .framerate("")
        .time_base(TimeBase::new(0, 0))
        .build();
    let bytes = enc(&Message::video_frame(frame));
    // field 5 (video_frame) holds: uuid (3), keyframe=false (11 -> 0x58 0x00),
    // content none (19 -> 0x9a 0x01 0x00)
    let needle_keyframe = [0x58u8, 0x00];
    let needle_none = [0x9au8, 0x01, 0x00];
    assert!(
        bytes.windows(2).any(|w| w == needle_keyframe),
        "{bytes:02x?}"
    );
    assert!(bytes.windows(3).any(|w| w == needle_none), "{bytes:02x?}");
}

#[test]
fn temporary_frame_attributes_are_not_sent() {
    let frame = VideoFrame::builder("a")
        .attribute(Attribute::persistent("n", "keep", vec![]))
        .attribute(Attribute::temporary("n", "drop", vec![]))
        .build();
    let back = roundtrip(&Message::video_frame(frame));
    let f = back.as_video_frame().unwrap();
    assert!(f.attribute("n", "keep").is_some());
    assert!(f.attribute("n", "drop").is_none());
}

#[test]
fn internal_content_is_not_copied_on_decode() {
    let payload = Bytes::from(vec![7u8; 4096]);
    let frame = VideoFrame::builder("a")
        .content(FrameContent::Internal(payload))
        .build();
    let bytes = enc(&Message::video_frame(frame));
    let range = bytes.as_ptr_range();
    let m = decode_message(bytes.clone(), &opts()).unwrap();
    let FrameContent::Internal(c) = &m.as_video_frame().unwrap().content else {
        panic!("content")
    };
    assert!(
        range.contains(&c.as_ptr()),
        "content points into the buffer"
    );
}

// ------------------------------------------------------------- bad input

fn err(bytes: &[u8]) -> DecodeError {
    decode_message(Bytes::copy_from_slice(bytes), &opts()).unwrap_err()
}

#[test]
fn garbage_is_a_protobuf_error() {
    assert!(matches!(err(&[0xff; 16]), DecodeError::Protobuf(_)));
}

#[test]
fn truncated_eos_is_a_protobuf_error() {
    let mut m = Message::end_of_stream(EndOfStream::new("source"));
    m.seq_id = 3;
    let b = enc(&m);
    assert!(matches!(err(&b[..b.len() - 2]), DecodeError::Protobuf(_)));
}

#[test]
fn a_length_claiming_4_gib_is_refused_without_allocating() {
    // field 5 (video_frame), length varint 0xFFFFFFFF, then 3 bytes
    let mut b = vec![0x0a, 0x05, b'0', b'.', b'2', b'.', b'0', 0x2a];
    b.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    b.extend_from_slice(b"abc");
    assert!(matches!(err(&b), DecodeError::Protobuf(_)));
}

#[test]
fn too_large_is_refused_before_decoding() {
    let o = DecodeOptions {
        max_message_size: 10,
        ..DecodeOptions::default()
    };
    let e = decode_message(Bytes::from(vec![0u8; 11]), &o).unwrap_err();
    assert_eq!(e, DecodeError::TooLarge { size: 11, max: 10 });
}

/// `m` with its version rewritten to `version`, whatever the generation.
fn stamped(m: &Message, version: &str) -> Vec<u8> {
    let mut b = enc(m).to_vec();
    let old = m.protocol_version.as_bytes();
    assert_eq!(&b[..2], &[0x0a, old.len() as u8]);
    b.splice(2..2 + old.len(), version.bytes());
    b[1] = version.len() as u8;
    b
}

#[test]
fn unknown_and_refused_versions_are_typed_errors() {
    let m = Message::end_of_stream(EndOfStream::new("s"));
    // a version of no known generation, and an empty one
    for v in ["9.0.0", "0.3.0", ""] {
        let e = err(&stamped(&m, v));
        assert_eq!(e, DecodeError::UnknownGeneration(v.into()), "{v:?}");
        assert_eq!(e.kind(), "unknown_generation");
    }
    // every known generation is accepted by default
    for v in VERSIONS {
        let d = decode_message(Bytes::from(stamped(&m, v)), &opts()).unwrap();
        assert_eq!(d.protocol_version, *v);
    }
    // Any accepts everything (unknown versions in the 1.x layout)
    let any = DecodeOptions {
        version: VersionPolicy::Any,
        ..DecodeOptions::default()
    };
    assert!(decode_message(Bytes::from(stamped(&m, "9")), &any).is_ok());
    // Exact and Generation refuse the rest as a mismatch
    let exact = DecodeOptions {
        version: VersionPolicy::Exact("1.15.1".into()),
        ..DecodeOptions::default()
    };
    let e = decode_message(Bytes::from(stamped(&m, "1.15.0")), &exact).unwrap_err();
    assert!(
        matches!(e, DecodeError::VersionMismatch { ref got, .. } if got == "1.15.0"),
        "{e}"
    );
    let gen2 = DecodeOptions {
        version: VersionPolicy::Generation(Generation::V2),
        ..DecodeOptions::default()
    };
    assert!(decode_message(Bytes::from(stamped(&m, "2.0.0")), &gen2).is_ok());
    assert!(matches!(
        decode_message(Bytes::from(stamped(&m, "1.15.1")), &gen2),
        Err(DecodeError::VersionMismatch { .. })
    ));
}

fn frame_with_everything_legacy() -> VideoFrame {
    VideoFrame::builder("cam")
        .codec("h264")
        .framerate("25/1")
        .time_base(TimeBase::new(1, 90000))
        .transformation(FrameTransformation::InitialSize {
            width: 10,
            height: 20,
        })
        .content(FrameContent::external_zeromq())
        .build()
}

#[test]
fn a_1x_frame_claiming_a_2x_version_and_the_reverse_are_typed_errors() {
    let legacy = Message::video_frame(frame_with_everything_legacy());
    // 1.x bytes claiming 2.x: creation_timestamp_ns (4) is a varint where
    // 2.x has a message
    let e = err(&stamped(&legacy, "2.1.1"));
    assert!(matches!(e, DecodeError::Protobuf(_)), "{e:?}");
    // 2.x bytes claiming 1.x
    let mut v2 = legacy.clone();
    v2.protocol_version = "2.1.1".into();
    let e = err(&stamped(&v2, "1.15.1"));
    assert!(matches!(e, DecodeError::Protobuf(_)), "{e:?}");
}

#[test]
fn values_a_layout_cannot_carry_are_encode_errors_naming_the_field() {
    let field_of = |m: &Message| match encode_message(m).unwrap_err() {
        EncodeError::Unrepresentable { field, .. } => field,
        e => panic!("{e}"),
    };
    let v2 = |f: VideoFrame| {
        let mut m = Message::video_frame(f);
        m.protocol_version = "2.1.1".into();
        m
    };
    let base = frame_with_everything_legacy;
    let mut f = base();
    f.codec = Some("h265".into());
    assert_eq!(field_of(&v2(f)), "VideoFrame.codec");
    let mut f = base();
    f.framerate = "30".into();
    assert_eq!(field_of(&v2(f)), "VideoFrame.framerate");
    let mut f = base();
    f.transformations.push(FrameTransformation::Scale {
        width: 1,
        height: 1,
    });
    assert_eq!(field_of(&v2(f)), "VideoFrame.transformations");
    // the other way: 2.x-only values in a 1.x message
    let mut f = base();
    f.transformations.push(FrameTransformation::Crop {
        left: 1,
        top: 1,
        right: 1,
        bottom: 1,
    });
    assert_eq!(
        field_of(&Message::video_frame(f)),
        "VideoFrame.transformations"
    );
    let mut f = base();
    f.misc_tracks.push(MiscTrack::default());
    assert_eq!(field_of(&Message::video_frame(f)), "VideoFrame.misc_tracks");
    let mut m = Message::video_frame(base());
    m.protocol_version = "1.13.0".into();
    m.system_id = "writer".into();
    assert_eq!(field_of(&m), "Message.system_id");
    // a version of no generation cannot be encoded at all
    m.protocol_version = "9.0.0".into();
    assert!(matches!(
        encode_message(&m),
        Err(EncodeError::UnknownVersion(_))
    ));
}

#[test]
fn a_truncated_system_id_is_a_protobuf_error_and_a_whole_one_decodes() {
    let mut m = Message::end_of_stream(EndOfStream::new("s"));
    m.protocol_version = "1.15.1".into();
    m.system_id = "4f0c9a8e-2b1d-4c3e-9f7a-0123456789ab".into();
    let b = enc(&m);
    assert_eq!(
        decode_message(b.clone(), &opts()).unwrap().system_id,
        m.system_id
    );
    // system_id (field 20) is written last: cut inside it
    for cut in 1..10 {
        let e = err(&b[..b.len() - cut]);
        assert!(matches!(e, DecodeError::Protobuf(_)), "cut {cut}: {e:?}");
    }
}

#[test]
fn unknown_oneof_variant_is_a_typed_error() {
    // version "0.2.0", then field 12 (not a known content variant), empty
    let b = [0x0a, 0x05, b'0', b'.', b'2', b'.', b'0', 0x62, 0x00];
    assert_eq!(err(&b), DecodeError::UnknownVariant("Message.content"));
    // no content at all
    let b = [0x0a, 0x05, b'0', b'.', b'2', b'.', b'0'];
    assert_eq!(err(&b), DecodeError::UnknownVariant("Message.content"));
}

#[test]
fn savant_rs_panics_become_errors() {
    use prost::Message as _;
    use savant_sdk_protocol_reference::proto as pb;
    let base = |content| pb::Message {
        protocol_version: "0.2.0".into(),
        content: Some(content),
        ..Default::default()
    };
    let frame = |f: pb::VideoFrame| base(pb::message::Content::VideoFrame(f));
    let uuid = Uuid::nil().to_string();
    // a frame without content
    let m = frame(pb::VideoFrame {
        uuid: uuid.clone(),
        ..Default::default()
    });
    assert_eq!(
        err(&m.encode_to_vec()),
        DecodeError::UnknownVariant("VideoFrame.content")
    );
    let with_content = |f: pb::VideoFrame| pb::VideoFrame {
        uuid: uuid.clone(),
        content: Some(pb::video_frame::Content::None(pb::NoneFrame {})),
        ..f
    };
    // an object without a detection box
    let m = frame(with_content(pb::VideoFrame {
        objects: vec![pb::VideoObject::default()],
        ..Default::default()
    }));
    assert_eq!(
        err(&m.encode_to_vec()),
        DecodeError::MissingField("VideoObject.detection_box")
    );
    // an orphan parent
    let m = frame(with_content(pb::VideoFrame {
        objects: vec![pb::VideoObject {
            id: 1,
            parent_id: Some(9),
            detection_box: Some(pb::BoundingBox::default()),
            ..Default::default()
        }],
        ..Default::default()
    }));
    assert!(matches!(err(&m.encode_to_vec()), DecodeError::Model(_)));
    // a bad uuid
    let m = frame(pb::VideoFrame {
        uuid: "not-a-uuid".into(),
        content: Some(pb::video_frame::Content::None(pb::NoneFrame {})),
        ..Default::default()
    });
    assert_eq!(
        err(&m.encode_to_vec()),
        DecodeError::InvalidUuid("not-a-uuid".into())
    );
    // a bad enum
    let m = frame(with_content(pb::VideoFrame {
        transcoding_method: 7,
        ..Default::default()
    }));
    assert!(matches!(
        err(&m.encode_to_vec()),
        DecodeError::InvalidEnum { value: 7, .. }
    ));
    // an attribute value without a variant
    let m = base(pb::message::Content::UserData(pb::UserData {
        source_id: "s".into(),
        attributes: vec![pb::Attribute {
            is_persistent: true,
            values: vec![pb::AttributeValue::default()],
            ..Default::default()
        }],
    }));
    assert_eq!(
        err(&m.encode_to_vec()),
        DecodeError::UnknownVariant("AttributeValue.value")
    );
    // an empty transformation
    let m = frame(with_content(pb::VideoFrame {
        transformations: vec![pb::VideoFrameTransformation::default()],
        ..Default::default()
    }));
    assert_eq!(
        err(&m.encode_to_vec()),
        DecodeError::UnknownVariant("VideoFrameTransformation")
    );
}

/// Inputs where the direct decoder once disagreed with prost (found by
/// the fuzzer).
#[test]
fn fuzz_regressions_agree_with_prost() {
    let cases = [
        // a content oneof set several times, a replaced occurrence holding malformed protobuf
        "52005200522052004a0052005200520052005200520078187b1a030052004a005200520052004a00520052004a00520052004a005200520052004a00520052004a004a00520052004a005200",
        // repeated occurrences that are malformed alone but valid concatenated
        "120212003a003a06120212003a0012003a06120212003a0012003a06120212003a00120212003a003a06120212003a0012003a061202120012003a003a06120212003a0012003a06120212003a0012003a061202120012003a0012003a06120212003a0012003a06120212003a0012003a06120212003a00120212003a003a06120212003a0012003a061202120012003a003a06120212003a0012003a06120212003a0012003a06120212003a06320212003a06120212003a00",
        // a malformed object attribute inside one of many update occurrences
        "3a00121212000000000000000700120000003a003a0012003a003a00120012003a003a0012003a003a00120012003a00120012003a0012003a7e120012003a001200600012003a00120012003a0012003a00120012003a0012003a003a00120012003a0012003a00120012003a001200120012003a0012003a00120012003a00124a030a015a181818181818181818181818181818181818181818181818181818181818181818181818181818181818181818184a030a015a003a003a0012003a003a00120012003a003a0012003a003a00120012003a00120012003a0012003a00120012003a001200600012003a00120012003a0012003a00120012003a0012003a003a00120012003a0012003a00120012003a001200120012003a0012003a00120012003a001200600012003a00120012003a0012003a00ea01001a037a01b512003a0012003a00120012003a0012003a003a00120012003a0012003a00120012003a001200120012003a0012003a00120012003a001200600012003a003a0012003a003a0012003a003a00120012003a003a0012003a003a00120012003a00120012003a0012003a00120012003a001200600012003a00120012003a00",
        // a 0.2.0 message with a field 20 that is no UTF-8: skipped unread, as
        // savant-rs before 1.15 skips it
        "0a05302e322e30a20101815200",
        // ... and one with a field 20 of another wire type (a varint)
        "0a05302e322e30a0011a3a00",
        // a 1.15.1 message with field 20 twice, the first no UTF-8: refused,
        // as savant-rs 1.15 checks every occurrence of a string
        "0a06312e31352e31a20101d65200a20101015200",
        // a temporary user-data attribute with a broken value (dropped unread by the reference)
        "423212281a261a006200320072007a00720042003a0042003200420052004200420052002a005a002a005a002a00420052002a004200",
    ];
    let any = DecodeOptions {
        version: VersionPolicy::Any,
        ..DecodeOptions::default()
    };
    for hex in cases {
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let direct = decode_message(Bytes::from(bytes.clone()), &any);
        let reference =
            savant_sdk_protocol_reference::decode_message_reference(Bytes::from(bytes), &any);
        assert_eq!(
            direct.is_ok(),
            reference.is_ok(),
            "{hex}: {direct:?} vs {reference:?}"
        );
    }
}

#[test]
fn temporary_object_attributes_are_dropped_on_arrival() {
    let obj = VideoObject::new(1, "d", "l", BoundingBox::default())
        .with_attribute(Attribute::temporary("t", "x", vec![]))
        .with_attribute(Attribute::persistent("p", "y", vec![]));
    let frame = VideoFrame::builder("a").object(obj).build();
    let back = roundtrip(&Message::video_frame(frame));
    let o = back.as_video_frame().unwrap().object(1).unwrap();
    assert!(o.attribute("t", "x").is_none());
    assert!(o.attribute("p", "y").is_some());
}

/// Field 20 (`system_id`) exists from savant-rs 1.15 on: in a message of an
/// older version it is skipped, as those readers skip it, so what decodes
/// always encodes again in its own version.
#[test]
fn system_id_is_read_only_in_versions_that_have_it() {
    let mut m = Message::end_of_stream(EndOfStream::new("s"));
    m.protocol_version = "1.15.1".into();
    m.system_id = "writer-1".into();
    for (version, kept) in [
        ("1.15.1", true),
        ("2.1.1", true),
        ("1.13.0", false),
        ("0.2.0", false),
    ] {
        let bytes = Bytes::from(stamped(&m, version));
        let d = decode_message(bytes, &opts()).unwrap();
        assert_eq!(d.system_id.is_empty(), !kept, "{version}");
        assert!(
            encode_message(&d).is_ok(),
            "{version}: decoded but cannot be encoded again"
        );
    }
}
