//! Test-only: the savant-rs 0.2.x/1.x schema (`proto/savant_rs.proto`)
//! compiled by prost, and a codec through the generated types. The
//! hand-written codec of `savant-sdk-protocol` is tested and fuzzed against
//! it; no library of the SDK depends on this crate (it needs `protoc`).

mod decode;
mod encode;

use bytes::Bytes;
use prost::Message as _;
use savant_sdk_protocol::codec::DecodeOptions;
use savant_sdk_protocol::model::Message;
use savant_sdk_protocol::protocol::{Generation, ProtocolVersion};
use savant_sdk_protocol::DecodeError;

/// Types generated from `proto/savant_rs.proto` (the wire schema).
#[allow(missing_docs, clippy::all)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/protocol.rs"));
}

/// The 0.2.x encoding through the prost-generated types (slower: it
/// builds the generated structs first). Kept as the reference the direct
/// encoder is tested against, for the 0.2.x/1.x layout (not 2.x).
pub fn encode_message_reference(message: &Message) -> Bytes {
    let mut buf = encode::message(message).encode_to_vec();
    if !message.system_id.is_empty() {
        // field 20, written last as savant-rs 1.15 writes it
        proto::SystemId {
            system_id: message.system_id.clone(),
        }
        .encode(&mut buf)
        .expect("a Vec grows");
    }
    Bytes::from(buf)
}

/// The same decoding of the 0.2.x layout through the prost-generated types
/// (slower). Kept as the reference the direct decoder is tested against.
pub fn decode_message_reference(
    buf: Bytes,
    options: &DecodeOptions,
) -> Result<Message, DecodeError> {
    if buf.len() > options.max_message_size {
        return Err(DecodeError::TooLarge {
            size: buf.len(),
            max: options.max_message_size,
        });
    }
    let raw =
        proto::Message::decode(buf.clone()).map_err(|e| DecodeError::Protobuf(e.to_string()))?;
    let generation = ProtocolVersion::generation_of(&raw.protocol_version);
    options.version.check(&raw.protocol_version, generation)?;
    // savant-rs before 1.15 has no field 20 and skips it unread; from 1.15
    // on it is a string, each occurrence checked
    let system_id = if generation.is_some_and(Generation::has_system_id) {
        proto::SystemId::decode(buf)
            .map_err(|e| DecodeError::Protobuf(e.to_string()))?
            .system_id
    } else {
        String::new()
    };
    let mut m = decode::message(raw)?;
    m.system_id = system_id;
    Ok(m)
}
