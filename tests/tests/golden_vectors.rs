//! Golden vectors against the real savant-rs wheels, 0.3.0 and 1.15.1
//! (`savant_rs_0_3::NAME`, `savant_rs_1_15::NAME`), generated in the test
//! run by `python/savant_peer.py vectors gen` (no committed blobs): bytes
//! written by savant-rs decode here to the expected values, and our
//! encoding of the same values decodes in savant-rs to equal values
//! (`vectors verify`). Where a message has at most one hash-ordered
//! element, the bytes must be identical too.
//!
//! Under 1.15.1 every case is first sent through a savant-rs writer (its
//! seq ids and `system_id` come from the writer, not from the message
//! constructors), so the bytes and the sidecar carry that writer's
//! `system_id` and its numbering per source, with EOS resetting a source
//! and updates, batches, shutdown and unknown on one auxiliary counter.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use savant_sdk_core::codec::{decode_message, encode_message, DecodeOptions};
use savant_sdk_core::model::*;
use savant_sdk_core::protocol::ProtocolVersion;
use savant_sdk_tests::{peer_tests, SavantRs};
use serde_json::Value;
use uuid::Uuid;

peer_tests!(savant_rs_bytes_decode_here_and_our_bytes_decode_in_savant_rs);

/// The seq id savant-rs 1.15's writer gives each case, sent in the order
/// `vectors gen` sends them (one writer): per source id (cam-1's EOS
/// resets cam-1), and one auxiliary counter for the kinds without a
/// source.
const SEQ_IDS_1_15: &[(&str, u64)] = &[
    ("frame_full", 1),     // cam-1
    ("frame_minimal", 1),  // cam-2
    ("frame_external", 1), // cam-3
    ("eos", 2),            // cam-1, then reset
    ("shutdown", 1),       // auxiliary
    ("user_data", 1),      // cam-1 after its EOS
    ("batch", 2),          // auxiliary
    ("update", 3),         // auxiliary
    ("unknown", 4),        // auxiliary
    ("labels_context", 1), // cam-4
];

fn sidecar(dir: &Path, name: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ids(v: &Value) -> (Uuid, u128) {
    let uuid = Uuid::parse_str(v["uuid"].as_str().expect("uuid")).unwrap();
    let ts = v["creation_timestamp_ns"]
        .as_u64()
        .map(u128::from)
        .or_else(|| {
            v["creation_timestamp_ns"]
                .as_str()
                .and_then(|s| s.parse().ok())
        })
        .or_else(|| v["creation_timestamp_ns"].as_f64().map(|f| f as u128))
        .expect("creation_timestamp_ns");
    (uuid, ts)
}

fn p(name: &str, values: Vec<AttributeValue>) -> Attribute {
    Attribute::persistent("kinds", name, values)
}

fn frame_full(uuid: Uuid, ts: u128) -> VideoFrame {
    let tags = |v: &[Option<&str>]| v.iter().map(|t| t.map(String::from)).collect();
    VideoFrame::builder("cam-1")
        .uuid(uuid)
        .creation_timestamp_ns(ts)
        .framerate("30/1")
        .size(1280, 720)
        .content(FrameContent::Internal(Bytes::from_static(
            b"\xff\xd8\xff\xe0jpegdata",
        )))
        .transcoding_method(TranscodingMethod::Copy)
        .codec("jpeg")
        .keyframe(true)
        .time_base(TimeBase::new(1, 1_000_000_000))
        .pts(1_000_000)
        .dts(999_000)
        .duration(33_333_333)
        .transformation(FrameTransformation::InitialSize {
            width: 1920,
            height: 1080,
        })
        .transformation(FrameTransformation::Scale {
            width: 1280,
            height: 720,
        })
        .transformation(FrameTransformation::Padding {
            left: 1,
            top: 2,
            right: 3,
            bottom: 4,
        })
        .transformation(FrameTransformation::ResultingSize {
            width: 1282,
            height: 726,
        })
        .attribute(p(
            "bytes",
            vec![
                AttributeValue::bytes(vec![2, 3], &b"\x01\x02\x03\x04\x05\x06"[..])
                    .with_confidence(0.5),
            ],
        ))
        .attribute(p("string", vec![AttributeValue::string("hello")]))
        .attribute(p(
            "string_vector",
            vec![AttributeValue::string_vector(["a", "b"])],
        ))
        .attribute(p(
            "integer",
            vec![AttributeValue::integer(-7).with_confidence(0.25)],
        ))
        .attribute(p(
            "integer_vector",
            vec![AttributeValue::integer_vector(vec![1, -2, 3])],
        ))
        .attribute(p("float", vec![AttributeValue::float(3.5)]))
        .attribute(p(
            "float_vector",
            vec![AttributeValue::float_vector(vec![1.5, -2.25])],
        ))
        .attribute(p("boolean", vec![AttributeValue::boolean(true)]))
        .attribute(p(
            "boolean_vector",
            vec![AttributeValue::boolean_vector(vec![true, false, true])],
        ))
        .attribute(p(
            "bbox",
            vec![AttributeValue::bounding_box(
                BoundingBox::new(10.0, 20.0, 30.0, 40.0).with_angle(45.0),
            )],
        ))
        .attribute(p(
            "bbox_vector",
            vec![AttributeValue::bounding_box_vector(vec![
                BoundingBox::new(1.0, 2.0, 3.0, 4.0),
                BoundingBox::new(5.0, 6.0, 7.0, 8.0).with_angle(0.0),
            ])],
        ))
        .attribute(p(
            "point",
            vec![AttributeValue::point(Point::new(1.5, 2.5))],
        ))
        .attribute(p(
            "point_vector",
            vec![AttributeValue::point_vector(vec![
                Point::new(0.0, 0.0),
                Point::new(1.0, 1.0),
            ])],
        ))
        .attribute(p(
            "polygon",
            vec![AttributeValue::polygon(PolygonalArea::with_tags(
                vec![
                    Point::new(0.0, 0.0),
                    Point::new(10.0, 0.0),
                    Point::new(10.0, 10.0),
                ],
                tags(&[Some("a"), None, Some("c")]),
            ))],
        ))
        .attribute(p(
            "polygon_vector",
            vec![AttributeValue::polygon_vector(vec![PolygonalArea::new(
                vec![
                    Point::new(0.0, 0.0),
                    Point::new(1.0, 0.0),
                    Point::new(0.0, 1.0),
                ],
            )])],
        ))
        .attribute(p(
            "intersection",
            vec![AttributeValue::intersection(Intersection {
                kind: IntersectionKind::Cross,
                edges: vec![
                    IntersectionEdge {
                        id: 0,
                        tag: Some("a".into()),
                    },
                    IntersectionEdge { id: 2, tag: None },
                ],
            })],
        ))
        .attribute(p("none", vec![AttributeValue::none()]))
        .attribute(
            Attribute::persistent(
                "meta",
                "multi",
                vec![AttributeValue::string("x"), AttributeValue::integer(1)],
            )
            .with_hint("h1")
            .hidden(true),
        )
        .object(
            VideoObject::new(
                1,
                "detector",
                "person",
                BoundingBox::new(100.0, 200.0, 50.0, 80.0).with_angle(15.0),
            )
            .with_draw_label("P")
            .with_confidence(0.875)
            .with_track(7, BoundingBox::new(101.0, 201.0, 51.0, 81.0))
            .with_attribute(Attribute::persistent(
                "obj",
                "color",
                vec![AttributeValue::string("red")],
            )),
        )
        .object(
            VideoObject::new(
                2,
                "detector",
                "face",
                BoundingBox::new(110.0, 180.0, 20.0, 20.0),
            )
            .with_parent(1),
        )
        .build()
}

fn frame_minimal(source: &str, pts: i64, uuid: Uuid, ts: u128) -> VideoFrame {
    VideoFrame::builder(source)
        .uuid(uuid)
        .creation_timestamp_ns(ts)
        .framerate("25/1")
        .size(640, 480)
        .content(FrameContent::None)
        .transcoding_method(TranscodingMethod::Encoded)
        .codec("h264")
        .keyframe(false)
        .time_base(TimeBase::new(1, 90000))
        .pts(pts)
        .build()
}

fn frame_external(source: &str, pts: i64, uuid: Uuid, ts: u128) -> VideoFrame {
    VideoFrame::builder(source)
        .uuid(uuid)
        .creation_timestamp_ns(ts)
        .framerate("30/1")
        .size(320, 240)
        .content(FrameContent::external_zeromq())
        .codec("jpeg")
        .keyframe(true)
        .time_base(TimeBase::new(1, 1_000_000_000))
        .pts(pts)
        .build()
}

/// The expected message for a case, with the values savant-rs generated
/// (uuid, timestamps, seq id) taken from its sidecar.
fn expected(name: &str, meta: &Value) -> Option<Message> {
    let mut m = match name {
        "frame_full" => {
            let (u, t) = ids(meta);
            Message::video_frame(frame_full(u, t))
        }
        "frame_minimal" => {
            let (u, t) = ids(meta);
            Message::video_frame(frame_minimal("cam-2", 0, u, t))
        }
        "frame_external" => {
            let (u, t) = ids(meta);
            Message::video_frame(frame_external("cam-3", 42, u, t))
        }
        "labels_context" => {
            let (u, t) = ids(meta);
            let mut m = Message::video_frame(frame_minimal("cam-4", 0, u, t))
                .with_routing_labels(vec!["l1".into(), "l2".into()]);
            m.propagated_context = BTreeMap::from([
                (
                    "traceparent".to_string(),
                    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_string(),
                ),
                ("tracestate".to_string(), String::new()),
            ]);
            m
        }
        "eos" => Message::end_of_stream(EndOfStream::new("cam-1")),
        "shutdown" => Message::shutdown(Shutdown::new("secret")),
        "unknown" => Message::unknown("something odd"),
        "user_data" => Message::user_data(UserData::new(
            "cam-1",
            vec![
                Attribute::persistent("ud", "note", vec![AttributeValue::string("hello")]),
                Attribute::persistent(
                    "ud",
                    "ids",
                    vec![AttributeValue::integer_vector(vec![1, 2, 3])],
                ),
            ],
        )),
        "batch" => {
            let f = &meta["frames"];
            let (u1, t1) = ids(&f["1"]);
            let (u2, t2) = ids(&f["2"]);
            Message::video_frame_batch(
                VideoFrameBatch::new()
                    .with_frame(1, frame_minimal("cam-1", 1, u1, t1))
                    .with_frame(2, frame_external("cam-2", 2, u2, t2)),
            )
        }
        "update" => Message::video_frame_update(VideoFrameUpdate {
            frame_attributes: vec![Attribute::persistent(
                "upd",
                "frame_attr",
                vec![AttributeValue::string("v")],
            )],
            object_attributes: vec![(
                1,
                Attribute::persistent("upd", "obj_attr", vec![AttributeValue::integer(5)]),
            )],
            objects: vec![(
                VideoObject::new(3, "tracker", "car", BoundingBox::new(1.0, 2.0, 3.0, 4.0))
                    .with_confidence(0.5),
                Some(1),
            )],
            frame_attribute_policy: AttributeUpdatePolicy::KeepOwn,
            object_attribute_policy: AttributeUpdatePolicy::Error,
            object_policy: ObjectUpdatePolicy::ReplaceSameLabelObjects,
        }),
        _ => return None,
    };
    m.seq_id = meta["seq_id"].as_u64().unwrap_or(0);
    if let Some(v) = meta["protocol_version"].as_str() {
        m.protocol_version = v.to_string();
    }
    if let Some(v) = meta["system_id"].as_str() {
        m.system_id = v.to_string();
    }
    Some(m)
}

/// Puts hash-ordered collections (frame attributes, objects, user-data
/// attributes) in a fixed order so that values compare regardless of the
/// order savant-rs wrote them in.
fn normalize(mut m: Message) -> Message {
    fn frame(f: &mut VideoFrame) {
        f.attributes
            .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        f.objects.sort_by_key(|o| o.id);
        for o in &mut f.objects {
            o.attributes
                .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        }
    }
    match &mut m.payload {
        MessagePayload::VideoFrame(f) => frame(f),
        MessagePayload::VideoFrameBatch(b) => b.frames.values_mut().for_each(frame),
        MessagePayload::UserData(u) => u
            .attributes
            .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name))),
        _ => {}
    }
    m
}

/// Cases whose encoding has no hash-ordered element with more than one
/// entry, so savant-rs's bytes and ours must be identical. (`labels_context`
/// has two context entries, `frame_full` two objects, `batch` two frames,
/// `user_data` two attributes: savant-rs writes those in hash order.)
const BYTE_IDENTICAL: &[&str] = &[
    "frame_minimal",
    "frame_external",
    "eos",
    "shutdown",
    "unknown",
    "update",
];

fn savant_rs_bytes_decode_here_and_our_bytes_decode_in_savant_rs(savant: SavantRs) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (status, lines) = savant
        .run_peer(&["vectors", "gen", d], Duration::from_secs(60))
        .unwrap();
    assert!(status.success(), "{savant}: vectors gen failed: {lines:?}");
    let cases: Vec<String> = lines
        .iter()
        .filter_map(|l| l["case"].as_str().map(String::from))
        .collect();
    for required in [
        "frame_full",
        "frame_minimal",
        "frame_external",
        "eos",
        "shutdown",
        "user_data",
        "batch",
        "update",
        "unknown",
    ] {
        assert!(
            cases.iter().any(|c| c == required),
            "{savant}: case {required} not generated"
        );
    }
    let version = savant.protocol_version();
    let opts = DecodeOptions::default();
    let mut system_ids = std::collections::BTreeSet::new();
    for name in &cases {
        let theirs = Bytes::from(std::fs::read(dir.path().join(format!("{name}.bin"))).unwrap());
        let meta = sidecar(dir.path(), name);
        assert_eq!(
            meta["protocol_version"],
            version.as_str(),
            "{savant} {name}: version stamped"
        );
        if version.generation().has_system_id() {
            let id = meta["system_id"]
                .as_str()
                .unwrap_or_else(|| panic!("{savant} {name}: the sidecar has no system_id: {meta}"));
            assert!(Uuid::parse_str(id).is_ok(), "{savant} {name}: {id:?}");
            system_ids.insert(id.to_string());
            let (_, seq) = SEQ_IDS_1_15
                .iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("no 1.15 seq id for {name}"));
            assert_eq!(meta["seq_id"], *seq, "{savant} {name}: the writer's seq id");
        } else {
            assert!(meta.get("system_id").is_none(), "{savant} {name}: {meta}");
        }
        let want =
            expected(name, &meta).unwrap_or_else(|| panic!("{savant}: no expectation for {name}"));
        let got = decode_message(theirs.clone(), &opts)
            .unwrap_or_else(|e| panic!("{savant} {name}: its bytes do not decode: {e}"));
        assert_eq!(
            got.generation(),
            Some(version.generation()),
            "{savant} {name}: generation"
        );
        assert_eq!(
            normalize(got),
            normalize(want.clone()),
            "{savant} {name}: decoded values"
        );
        let ours = encode_message(&want)
            .unwrap_or_else(|e| panic!("{savant} {name}: cannot encode the expected value: {e}"));
        if BYTE_IDENTICAL.contains(&name.as_str()) {
            assert_eq!(ours, theirs, "{savant} {name}: bytes differ from savant-rs");
        }
        std::fs::write(dir.path().join(format!("{name}.ours.bin")), &ours).unwrap();
    }
    if version.generation().has_system_id() {
        assert_eq!(system_ids.len(), 1, "{savant}: one writer, one system id");
    }
    let (status, lines) = savant
        .run_peer(&["vectors", "verify", d], Duration::from_secs(60))
        .unwrap();
    for l in &lines {
        assert_eq!(l["ok"], true, "{savant} rejects our bytes: {l}");
    }
    assert_eq!(lines.len(), cases.len(), "{savant}: {lines:?}");
    assert!(status.success(), "{savant}: vectors verify failed");
}

/// Bytes we encode stamped with a version the 1.15.1 loader does not
/// accept decode there as `Message.unknown("... version mismatch ...")`:
/// `vectors verify` is able to fail on the version alone.
#[test]
fn savant_rs_1_15_refuses_our_bytes_of_another_version() {
    let savant = SavantRs::V1_15;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (status, lines) = savant
        .run_peer(&["vectors", "gen", d], Duration::from_secs(60))
        .unwrap();
    assert!(status.success(), "{savant}: vectors gen failed: {lines:?}");
    let meta = sidecar(dir.path(), "eos");
    let mut m = expected("eos", &meta).unwrap();
    let other = ProtocolVersion::parse("1.15.0").unwrap();
    m.protocol_version = other.as_str().to_string();
    std::fs::write(
        dir.path().join("eos.other.bin"),
        encode_message(&m).unwrap(),
    )
    .unwrap();
    let (status, lines) = savant
        .run_peer(
            &["vectors", "verify", d, "--suffix", ".other.bin"],
            Duration::from_secs(60),
        )
        .unwrap();
    assert!(!status.success(), "{lines:?}");
    let eos = lines.iter().find(|l| l["case"] == "eos").unwrap();
    assert_eq!(eos["ok"], false, "{eos}");
    let error = eos["error"].as_str().unwrap();
    assert!(
        error.contains("version mismatch") && error.contains("1.15.0"),
        "{error}"
    );
}
