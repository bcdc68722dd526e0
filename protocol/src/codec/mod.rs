//! The protobuf codec, byte-compatible with every savant-rs protocol
//! generation in use (see [`crate::protocol`]).
//!
//! One data model, with the wire layout chosen by the protocol version:
//! the 0.2.x/1.x layout (with `system_id` from 1.15 on) and the 2.x
//! layout. [`encode_message`] writes what savant-rs's
//! `save_message_to_bytes` writes for the message's own version (fields in
//! ascending order, proto3 presence rules, persistent frame attributes
//! only); a value the layout cannot carry is an [`EncodeError`] naming the
//! field. [`decode_message`] picks the layout from the version string and
//! never panics: truncated, malformed, oversized, unknown-variant and
//! unknown-version input gives a [`DecodeError`].
//!
//! ```
//! use savant_sdk_protocol::codec::{decode_message, encode_message, DecodeOptions};
//! use savant_sdk_protocol::model::{EndOfStream, Message, PROTOCOL_VERSION_0_2};
//! use savant_sdk_protocol::protocol::Generation;
//!
//! let mut eos = Message::end_of_stream(EndOfStream::new("s"));
//! eos.protocol_version = PROTOCOL_VERSION_0_2.into();
//! eos.seq_id = 1;
//! let bytes = encode_message(&eos)?;
//! // The 14 bytes savant-rs 0.3.0 writes for the same EOS.
//! assert_eq!(&bytes[..], b"\x0a\x050.2.0\x20\x01\x4a\x03\x0a\x01s");
//! let back = decode_message(bytes, &DecodeOptions::default())?;
//! assert_eq!(back, eos);
//! assert_eq!(back.generation(), Some(Generation::V0_2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cursor;
mod wire;
mod wire_decode;

use bytes::Bytes;

use crate::error::{DecodeError, EncodeError};
use crate::model::Message;
use crate::protocol::{Generation, ProtocolError, ProtocolVersion};

pub(crate) use wire::Envelope;

/// Default maximum size of one encoded message (128 MiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 128 * 1024 * 1024;

/// Which `protocol_version` values a decoder accepts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VersionPolicy {
    /// Any version of a known [`Generation`] (the default): savant-rs
    /// 0.3.x, 1.x and 2.x writers are all read.
    #[default]
    Known,
    /// Only versions of this generation.
    Generation(Generation),
    /// Exactly this version (what savant-rs 1.x readers do).
    Exact(String),
    /// No check; a version of no known generation is read with the
    /// 0.2.x/1.x layout (what the 0.3.x ZeroMQ reader does).
    Any,
}

impl std::str::FromStr for VersionPolicy {
    type Err = ProtocolError;

    /// `known`, `any`, a generation's name (`0.2.x`, `1.x`, `1.15+`,
    /// `2.x`) or an exact version (`1.15.1`): what `--accept-version` and
    /// a pipeline file's `accept_version` take.
    ///
    /// ```
    /// use savant_sdk_protocol::codec::VersionPolicy;
    /// use savant_sdk_protocol::protocol::Generation;
    /// assert_eq!("1.15+".parse::<VersionPolicy>().unwrap(), VersionPolicy::Generation(Generation::V1_15));
    /// assert_eq!("1.15.1".parse::<VersionPolicy>().unwrap(), VersionPolicy::Exact("1.15.1".into()));
    /// assert!("9.9.9".parse::<VersionPolicy>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "known" => return Ok(VersionPolicy::Known),
            "any" => return Ok(VersionPolicy::Any),
            _ => {}
        }
        if let Some(g) = Generation::ALL.into_iter().find(|g| g.name() == s) {
            return Ok(VersionPolicy::Generation(g));
        }
        match ProtocolVersion::parse(s) {
            Ok(v) => Ok(VersionPolicy::Exact(v.as_str().to_string())),
            Err(_) => Err(ProtocolError::UnknownPolicy(s.to_string())),
        }
    }
}

impl VersionPolicy {
    /// Checks `got`, whose generation is `generation` (`None`: unknown).
    pub fn check(&self, got: &str, generation: Option<Generation>) -> Result<(), DecodeError> {
        let mismatch = |expected: String| DecodeError::VersionMismatch {
            got: got.to_string(),
            expected,
        };
        match self {
            VersionPolicy::Any => Ok(()),
            VersionPolicy::Known => match generation {
                Some(_) => Ok(()),
                None => Err(DecodeError::UnknownGeneration(got.to_string())),
            },
            VersionPolicy::Generation(g) => match generation {
                Some(h) if h == *g => Ok(()),
                _ => Err(mismatch(format!("a {} version", g.name()))),
            },
            VersionPolicy::Exact(v) if v == got => Ok(()),
            VersionPolicy::Exact(v) => Err(mismatch(format!("{v:?}"))),
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
            version: VersionPolicy::Known,
        }
    }
}

/// Encodes a message in the layout of its own `protocol_version`, with
/// its own `seq_id` and `system_id`, as savant-rs of that version does. A
/// `system_id` on a message of a generation before 1.15 is an error.
pub fn encode_message(message: &Message) -> Result<Bytes, EncodeError> {
    // no ProtocolVersion made: that would copy the version string per message
    let generation =
        ProtocolVersion::generation_of(&message.protocol_version).ok_or_else(|| {
            EncodeError::UnknownVersion(ProtocolError::UnknownVersion(
                message.protocol_version.clone(),
            ))
        })?;
    let env = Envelope {
        version: &message.protocol_version,
        generation,
        seq_id: message.seq_id,
        system_id: &message.system_id,
    };
    wire::check(message, &env)?;
    Ok(Bytes::from(wire::encode(message, &env)))
}

/// Encodes a message stamped with `version` (which picks the layout),
/// `seq_id` and `system_id` in place of the message's own: what a writer
/// does. `system_id` is dropped for generations before 1.15.
pub fn encode_message_as(
    message: &Message,
    version: &ProtocolVersion,
    seq_id: u64,
    system_id: &str,
) -> Result<Bytes, EncodeError> {
    let generation = version.generation();
    let env = Envelope {
        version: version.as_str(),
        generation,
        seq_id,
        system_id: if generation.has_system_id() {
            system_id
        } else {
            ""
        },
    };
    wire::check(message, &env)?;
    Ok(Bytes::from(wire::encode(message, &env)))
}

/// Decodes a message, in the layout its `protocol_version` names. `buf`
/// is taken as [`Bytes`] so that frame content and byte attributes are
/// slices of it, not copies.
pub fn decode_message(buf: Bytes, options: &DecodeOptions) -> Result<Message, DecodeError> {
    if buf.len() > options.max_message_size {
        return Err(DecodeError::TooLarge {
            size: buf.len(),
            max: options.max_message_size,
        });
    }
    wire_decode::decode(buf, |v, g| options.version.check(v, g))
}
