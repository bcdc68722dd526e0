//! The protobuf codec, byte-compatible with savant-rs 0.3.x.
//!
//! [`encode_message`] writes what savant-rs's `save_message_to_bytes` writes
//! (fields in ascending order, proto3 presence rules, persistent frame
//! attributes only). [`decode_message`] never panics: truncated, malformed,
//! oversized, unknown-variant and wrong-version input gives a
//! [`DecodeError`].
//!
//! ```
//! use savant_sdk_core::codec::{decode_message, encode_message, DecodeOptions};
//! use savant_sdk_core::model::{EndOfStream, Message};
//!
//! let mut eos = Message::end_of_stream(EndOfStream::new("s"));
//! eos.seq_id = 1;
//! let bytes = encode_message(&eos);
//! // The 14 bytes savant-rs 0.3.0 writes for the same EOS.
//! assert_eq!(&bytes[..], b"\x0a\x050.2.0\x20\x01\x4a\x03\x0a\x01s");
//! assert_eq!(decode_message(bytes, &DecodeOptions::default()).unwrap(), eos);
//! ```

mod decode;
mod encode;
mod wire;
mod wire_decode;

use bytes::Bytes;
use prost::Message as _;

use crate::error::DecodeError;
use crate::model::{Message, PROTOCOL_VERSION};
use crate::proto;

/// Protocol versions with the 0.3.x wire layout: "0.2.0" (savant-rs 0.2.21
/// to 0.4.7) and "0.2.2" (0.4.8 to 0.4.12, same layout).
pub const COMPATIBLE_PROTOCOL_VERSIONS: &[&str] = &[PROTOCOL_VERSION, "0.2.2"];

/// Default maximum size of one encoded message (128 MiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 128 * 1024 * 1024;

/// Which `protocol_version` values a decoder accepts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VersionPolicy {
    /// Any of [`COMPATIBLE_PROTOCOL_VERSIONS`] (the default).
    #[default]
    Compatible,
    /// Exactly this version (what savant-rs's `load_message` does).
    Exact(String),
    /// No check (what the 0.3.x ZeroMQ reader does).
    Any,
}

impl VersionPolicy {
    fn check(&self, got: &str) -> Result<(), DecodeError> {
        let ok = match self {
            VersionPolicy::Compatible => COMPATIBLE_PROTOCOL_VERSIONS.contains(&got),
            VersionPolicy::Exact(v) => v == got,
            VersionPolicy::Any => true,
        };
        if ok {
            Ok(())
        } else {
            Err(DecodeError::VersionMismatch {
                got: got.to_string(),
                expected: match self {
                    VersionPolicy::Compatible => COMPATIBLE_PROTOCOL_VERSIONS.join(" or "),
                    VersionPolicy::Exact(v) => v.clone(),
                    VersionPolicy::Any => String::new(),
                },
            })
        }
    }
}

/// Limits and checks applied when decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Larger messages are refused before any decoding or allocation.
    pub max_message_size: usize,
    /// Accepted protocol versions.
    pub version: VersionPolicy,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            version: VersionPolicy::Compatible,
        }
    }
}

/// Encodes a message as savant-rs 0.3.x does.
pub fn encode_message(message: &Message) -> Bytes {
    Bytes::from(wire::encode(message, message.seq_id))
}

/// The same encoding through the prost-generated types (slower: it builds
/// the generated structs first). Kept as the reference the direct encoder
/// is tested against.
#[doc(hidden)]
pub fn encode_message_reference(message: &Message) -> Bytes {
    Bytes::from(encode::message(message).encode_to_vec())
}

/// Encodes a message with `seq_id` in place of `message.seq_id` (writers
/// number messages without touching the caller's value).
pub(crate) fn encode_message_with_seq_id(message: &Message, seq_id: u64) -> Bytes {
    Bytes::from(wire::encode(message, seq_id))
}

/// Decodes a message. `buf` is taken as [`Bytes`] so that frame content and
/// byte attributes are slices of it, not copies.
pub fn decode_message(buf: Bytes, options: &DecodeOptions) -> Result<Message, DecodeError> {
    if buf.len() > options.max_message_size {
        return Err(DecodeError::TooLarge {
            size: buf.len(),
            max: options.max_message_size,
        });
    }
    wire_decode::decode(buf, |v| options.version.check(v))
}

/// The same decoding through the prost-generated types (slower). Kept as
/// the reference the direct decoder is tested against.
#[doc(hidden)]
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
    let raw = proto::Message::decode(buf).map_err(|e| DecodeError::Protobuf(e.to_string()))?;
    options.version.check(&raw.protocol_version)?;
    decode::message(raw)
}
