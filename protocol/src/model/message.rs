//! The message envelope and the small message kinds (EOS, shutdown, user
//! data, unknown).

use std::collections::BTreeMap;

use super::attribute::Attribute;
use super::batch::VideoFrameBatch;
use super::frame::VideoFrame;
use super::update::VideoFrameUpdate;

/// The protocol version savant-rs 0.3.x (and 0.4.0 to 0.4.7) write and expect.
pub const PROTOCOL_VERSION_0_2: &str = "0.2.0";

/// The protocol version messages made here carry until a writer stamps its
/// own: what Savant 0.6.1 accepts (see [`crate::protocol`]).
pub const DEFAULT_PROTOCOL_VERSION: &str = "1.15.0";

/// End of one source's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndOfStream {
    /// The source that ended.
    pub source_id: String,
}

impl EndOfStream {
    /// EOS for `source_id`.
    pub fn new(source_id: impl Into<String>) -> Self {
        Self {
            source_id: source_id.into(),
        }
    }
}

/// Asks a module to shut down; it obeys only when `auth` equals its
/// configured `shutdown_auth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shutdown {
    /// The shared secret.
    pub auth: String,
}

impl Shutdown {
    /// Shutdown with `auth`.
    pub fn new(auth: impl Into<String>) -> Self {
        Self { auth: auth.into() }
    }
}

/// Attributes for a source that are not tied to a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct UserData {
    /// The source they belong to.
    pub source_id: String,
    /// The attributes (only persistent ones travel).
    pub attributes: Vec<Attribute>,
}

impl UserData {
    /// User data for `source_id`.
    pub fn new(source_id: impl Into<String>, attributes: Vec<Attribute>) -> Self {
        Self {
            source_id: source_id.into(),
            attributes,
        }
    }
}

/// A message of no known kind, with a free-text description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// The text.
    pub message: String,
}

/// What a message carries.
#[derive(Debug, Clone, PartialEq)]
pub enum MessagePayload {
    /// A frame.
    VideoFrame(Box<VideoFrame>),
    /// Several frames.
    VideoFrameBatch(VideoFrameBatch),
    /// An update for a frame.
    VideoFrameUpdate(Box<VideoFrameUpdate>),
    /// Source-level attributes.
    UserData(UserData),
    /// End of a source's stream.
    EndOfStream(EndOfStream),
    /// Free text.
    Unknown(Unknown),
    /// Shutdown request.
    Shutdown(Shutdown),
}

/// The OpenTelemetry text-map carrier that travels with a message
/// (`traceparent`/`tracestate` or `uber-trace-id`).
pub type PropagatedContext = BTreeMap<String, String>;

/// The envelope of everything that travels over the wire.
///
/// ```
/// use savant_sdk_protocol::model::{EndOfStream, Message, MessagePayload};
/// let m = Message::end_of_stream(EndOfStream::new("cam-1"));
/// assert_eq!(m.protocol_version, "1.15.0");
/// assert!(matches!(m.payload, MessagePayload::EndOfStream(_)));
/// assert_eq!(m.source_id(), Some("cam-1"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Wire protocol version; [`DEFAULT_PROTOCOL_VERSION`] for messages
    /// made here (a writer stamps its configured one).
    pub protocol_version: String,
    /// The sending writer's id (savant-rs 1.15 and 2.x, a UUIDv4 per
    /// writer; empty for older generations).
    pub system_id: String,
    /// Opaque labels carried end to end.
    pub routing_labels: Vec<String>,
    /// OpenTelemetry context of the sender.
    pub propagated_context: PropagatedContext,
    /// Per-source sequence number (0 for batches, updates, shutdown, unknown).
    pub seq_id: u64,
    /// What it carries.
    pub payload: MessagePayload,
}

impl Message {
    /// A message around `payload` with [`DEFAULT_PROTOCOL_VERSION`], no
    /// labels, no context, no system id and seq id 0 (writers number
    /// frames, user data and EOS).
    pub fn new(payload: MessagePayload) -> Self {
        Self {
            protocol_version: DEFAULT_PROTOCOL_VERSION.to_string(),
            system_id: String::new(),
            routing_labels: Vec::new(),
            propagated_context: PropagatedContext::new(),
            seq_id: 0,
            payload,
        }
    }

    /// A frame message.
    pub fn video_frame(frame: VideoFrame) -> Self {
        Self::new(MessagePayload::VideoFrame(Box::new(frame)))
    }
    /// A batch message.
    pub fn video_frame_batch(batch: VideoFrameBatch) -> Self {
        Self::new(MessagePayload::VideoFrameBatch(batch))
    }
    /// An update message.
    pub fn video_frame_update(update: VideoFrameUpdate) -> Self {
        Self::new(MessagePayload::VideoFrameUpdate(Box::new(update)))
    }
    /// A user data message.
    pub fn user_data(data: UserData) -> Self {
        Self::new(MessagePayload::UserData(data))
    }
    /// An EOS message.
    pub fn end_of_stream(eos: EndOfStream) -> Self {
        Self::new(MessagePayload::EndOfStream(eos))
    }
    /// A shutdown message.
    pub fn shutdown(shutdown: Shutdown) -> Self {
        Self::new(MessagePayload::Shutdown(shutdown))
    }
    /// An unknown message with free text.
    pub fn unknown(text: impl Into<String>) -> Self {
        Self::new(MessagePayload::Unknown(Unknown {
            message: text.into(),
        }))
    }

    /// The generation of its `protocol_version`, if known.
    pub fn generation(&self) -> Option<crate::protocol::Generation> {
        crate::protocol::ProtocolVersion::generation_of(&self.protocol_version)
    }

    /// The same message stamped with `version`.
    pub fn with_protocol_version(mut self, version: &crate::protocol::ProtocolVersion) -> Self {
        self.protocol_version = version.as_str().to_string();
        self
    }

    /// The same message with routing labels.
    pub fn with_routing_labels(mut self, labels: Vec<String>) -> Self {
        self.routing_labels = labels;
        self
    }

    /// The source id of frames, user data and EOS; `None` for other kinds.
    pub fn source_id(&self) -> Option<&str> {
        match &self.payload {
            MessagePayload::VideoFrame(f) => Some(&f.source_id),
            MessagePayload::UserData(u) => Some(&u.source_id),
            MessagePayload::EndOfStream(e) => Some(&e.source_id),
            _ => None,
        }
    }

    /// True for EOS.
    pub fn is_end_of_stream(&self) -> bool {
        matches!(self.payload, MessagePayload::EndOfStream(_))
    }

    /// The frame, if this is a frame message.
    pub fn as_video_frame(&self) -> Option<&VideoFrame> {
        match &self.payload {
            MessagePayload::VideoFrame(f) => Some(f),
            _ => None,
        }
    }

    /// A short name of the kind: `frame`, `batch`, `update`, `user_data`,
    /// `eos`, `unknown`, `shutdown`.
    pub fn kind(&self) -> &'static str {
        match self.payload {
            MessagePayload::VideoFrame(_) => "frame",
            MessagePayload::VideoFrameBatch(_) => "batch",
            MessagePayload::VideoFrameUpdate(_) => "update",
            MessagePayload::UserData(_) => "user_data",
            MessagePayload::EndOfStream(_) => "eos",
            MessagePayload::Unknown(_) => "unknown",
            MessagePayload::Shutdown(_) => "shutdown",
        }
    }
}
