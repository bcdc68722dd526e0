//! Fuzzes the message decoder in every protocol generation.
//!
//! The first input byte picks the version written as the message's first
//! `protocol_version` field: one per generation (`0.2.0`, `1.13.0`,
//! `1.15.1`, `2.1.1`) and one of no known generation (`9.9.9`); the rest
//! is the remainder of the message (it may carry another version field,
//! which then wins, as in protobuf). For every input:
//! - decoding never panics;
//! - a version of no known generation is refused under the default
//!   policy, and read with the 0.2.x/1.x layout under `VersionPolicy::Any`;
//! - the 0.2.x/1.x layout agrees with the prost-generated reference
//!   decoder of `protocol/reference/proto/savant_rs.proto`;
//! - the 2.x layout agrees with the savant-rs 2.x schema (`savant-protobuf`
//!   2.1.1 decodes the same bytes, and `tests/tests/golden_v2/convert.rs`
//!   says what our decoder must make of that, or that it must refuse it);
//! - what decodes re-encodes in its own generation (or gives a typed
//!   `EncodeError`), and the re-encoding decodes to the same value.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use savant_protobuf::generated as pb;
use savant_sdk_protocol::codec::{
    decode_message, encode_message, encode_message_as, DecodeOptions, VersionPolicy,
};
use savant_sdk_protocol_reference::decode_message_reference;
use savant_sdk_protocol::error::DecodeError;
use savant_sdk_protocol::model::{Message, MessagePayload, VideoFrame};
use savant_sdk_protocol::protocol::{Generation, ProtocolVersion};

#[path = "../../tests/tests/golden_v2/convert.rs"]
mod convert;

const VERSIONS: [&str; 5] = ["0.2.0", "1.13.0", "1.15.1", "2.1.1", "9.9.9"];

/// The last `protocol_version` of a message, found without a schema;
/// `None` when the envelope is not well-formed protobuf.
fn last_version(buf: &Bytes) -> Option<String> {
    use prost::encoding::{decode_key, decode_varint, skip_field, DecodeContext, WireType};
    let mut buf = buf.clone();
    let mut version = None;
    while !buf.is_empty() {
        let (tag, wt) = decode_key(&mut buf).ok()?;
        if tag == 1 && wt == WireType::LengthDelimited {
            let len = usize::try_from(decode_varint(&mut buf).ok()?).ok()?;
            if len > buf.len() {
                return None;
            }
            version = Some(String::from_utf8(buf.split_to(len).to_vec()).ok()?);
        } else {
            skip_field(wt, tag, &mut buf, DecodeContext::default()).ok()?;
        }
    }
    version
}

/// Whether a map field (`Message.propagated_context`,
/// `VideoFrameBatch.batch`) comes with a wire type other than
/// length-delimited. prost 0.13, which savant-rs 2.1.1 uses, does not
/// check the wire type of map fields (prost 0.14 does) and reads such an
/// entry anyway; we refuse it as malformed protobuf, as the spec says
/// (`golden_v2::prost_0_13_reads_map_fields_of_any_wire_type`).
fn map_with_wrong_wire_type(buf: &Bytes) -> bool {
    use prost::encoding::{decode_key, decode_varint, skip_field, DecodeContext, WireType};
    fn walk(mut buf: Bytes, map_tag: u32, nested: Option<u32>) -> bool {
        while !buf.is_empty() {
            let Ok((tag, wt)) = decode_key(&mut buf) else {
                return false;
            };
            if tag == map_tag && wt != WireType::LengthDelimited {
                return true;
            }
            if Some(tag) == nested && wt == WireType::LengthDelimited {
                let Some(len) = decode_varint(&mut buf)
                    .ok()
                    .and_then(|l| usize::try_from(l).ok())
                else {
                    return false;
                };
                if len > buf.len() {
                    return false;
                }
                if walk(buf.split_to(len), 1, None) {
                    return true;
                }
            } else if skip_field(wt, tag, &mut buf, DecodeContext::default()).is_err() {
                return false;
            }
        }
        false
    }
    walk(buf.clone(), 3, Some(6))
}

/// What a decoded message reads back as once re-encoded: writers send
/// only the persistent attributes of frames, user data and updates
/// (savant-rs does the same), so temporary ones read here are not
/// written again.
fn written_part(mut m: Message) -> Message {
    fn frame(f: &mut VideoFrame) {
        f.attributes.retain(|a| a.is_persistent);
    }
    match &mut m.payload {
        MessagePayload::VideoFrame(f) => frame(f),
        MessagePayload::VideoFrameBatch(b) => b.frames.values_mut().for_each(frame),
        MessagePayload::VideoFrameUpdate(u) => {
            u.frame_attributes.retain(|a| a.is_persistent);
            u.object_attributes.retain(|(_, a)| a.is_persistent);
        }
        MessagePayload::UserData(u) => u.attributes.retain(|a| a.is_persistent),
        _ => {}
    }
    m
}

/// NaN-tolerant equality of two decoded values.
fn same(a: &Message, b: &Message) -> bool {
    // NaN makes `==` false, so values are also compared as text; and
    // proto3 omits a float equal to 0.0, so a -0.0 that was written comes
    // back as 0.0 (as with prost and savant-rs): the sign of a zero is
    // not compared
    fn text(m: &Message) -> String {
        let mut t = format!("{m:?}");
        for end in [",", " ", ")", "]", "}"] {
            t = t.replace(&format!("-0.0{end}"), &format!("0.0{end}"));
        }
        t
    }
    a == b || text(a) == text(b)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let version = VERSIONS[usize::from(selector) % VERSIONS.len()];
    let mut input = Vec::with_capacity(rest.len() + 2 + version.len());
    input.push(0x0a);
    input.push(version.len() as u8);
    input.extend_from_slice(version.as_bytes());
    input.extend_from_slice(rest);
    let input = Bytes::from(input);

    let any = DecodeOptions {
        max_message_size: 1 << 20,
        version: VersionPolicy::Any,
    };
    let known = DecodeOptions {
        max_message_size: 1 << 20,
        version: VersionPolicy::Known,
    };
    let direct = decode_message(input.clone(), &any);
    let strict = decode_message(input.clone(), &known);

    match &direct {
        Ok(m) => match m.generation() {
            None => assert!(
                matches!(strict, Err(DecodeError::UnknownGeneration(_))),
                "{strict:?}"
            ),
            Some(_) => assert!(
                matches!(&strict, Ok(s) if same(s, m)),
                "{strict:?} vs {m:?}"
            ),
        },
        Err(_) => assert!(strict.is_err(), "{strict:?}"),
    }

    let generation = last_version(&input).and_then(|v| ProtocolVersion::generation_of(&v));
    if generation.is_some_and(Generation::is_v2) {
        // the savant-rs 2.x schema is the reference
        match pb::Message::decode(input.clone()) {
            Err(e) => assert!(direct.is_err(), "prost refused ({e}), we gave {direct:?}"),
            Ok(p) => match (convert::from_pb(&p), &direct) {
                (Ok(e), Ok(m)) => assert!(same(&e, m), "expected {e:?}, got {m:?}"),
                (Err(_), Err(_)) => {}
                (Ok(_), Err(DecodeError::Protobuf(_))) if map_with_wrong_wire_type(&input) => {}
                (e, m) => panic!("expected {e:?}, got {m:?}"),
            },
        }
    } else {
        let reference = decode_message_reference(input.clone(), &any);
        match (&direct, &reference) {
            (Ok(a), Ok(b)) => assert!(same(a, b), "{a:?} vs {b:?}"),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("direct {a:?} vs reference {b:?}"),
        }
    }

    let Ok(m) = direct else {
        return;
    };
    let (bytes, expected) = if m.generation().is_some() {
        match encode_message(&m) {
            Ok(b) => (b, written_part(m)),
            // field 20 is skipped before 1.15, so nothing decoded is
            // beyond its own generation
            Err(e) => panic!("decoded {m:?} but cannot re-encode it: {e}"),
        }
    } else {
        // read with the 1.x layout: write it with that layout
        let v1 = ProtocolVersion::parse("1.13.0").expect("known");
        let b = encode_message_as(&m, &v1, m.seq_id, "").expect("1.x carries what 1.x read");
        let mut e = written_part(m);
        e.protocol_version = v1.as_str().to_string();
        e.system_id.clear();
        (b, e)
    };
    let again = decode_message(bytes.clone(), &known).expect("a re-encoded message decodes");
    assert!(same(&again, &expected), "{again:?} vs {expected:?}");
    assert_eq!(encode_message(&again).expect("encodes again"), bytes);
});
