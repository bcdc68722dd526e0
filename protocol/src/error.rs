//! Errors of the protocol layer: [`EncodeError`], [`DecodeError`] and
//! [`ModelError`] (and [`ProtocolError`](crate::protocol::ProtocolError)
//! beside the version table).

/// Why a message could not be encoded in the layout asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A value the layout has no place for; nothing was written.
    #[error("{field} = {value:?} cannot be written in the {generation} layout: {reason}")]
    Unrepresentable {
        /// The field, as `Message.field` or `VideoFrame.field`.
        field: &'static str,
        /// The value, as text.
        value: String,
        /// The layout asked for.
        generation: crate::protocol::Generation,
        /// What the layout can carry instead.
        reason: &'static str,
    },
    /// The message's `protocol_version` is of no known generation.
    #[error(transparent)]
    UnknownVersion(#[from] crate::protocol::ProtocolError),
}

/// Why bytes could not be decoded into a [`crate::model::Message`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// Larger than the configured maximum; refused before decoding.
    #[error("message of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not valid protobuf for the schema (truncated, garbage, bad wire type, ...).
    #[error("malformed protobuf: {0}")]
    Protobuf(String),
    /// A protocol version of no generation this SDK knows.
    #[error("protocol version {0:?} is of no known generation (known: 0.2.x, 1.x, 1.15+, 2.x)")]
    UnknownGeneration(String),
    /// A protocol version this reader does not accept.
    #[error("protocol version {got:?} is not accepted (expected {expected})")]
    VersionMismatch {
        /// What the message says.
        got: String,
        /// What is accepted.
        expected: String,
    },
    /// A oneof with no known variant (absent, or a variant this schema does not know).
    #[error("{0} has no known variant")]
    UnknownVariant(&'static str),
    /// A required sub-message is absent.
    #[error("required field {0} is missing")]
    MissingField(&'static str),
    /// An enum value out of range.
    #[error("invalid value {value} for {field}")]
    InvalidEnum {
        /// The field.
        field: &'static str,
        /// The value found.
        value: i32,
    },
    /// A uuid that does not parse.
    #[error("invalid uuid {0:?}")]
    InvalidUuid(String),
    /// An object whose parent is not on the frame.
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl DecodeError {
    /// A short stable name for counting and logging.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::Protobuf(_) => "protobuf",
            DecodeError::VersionMismatch { .. } => "version_mismatch",
            DecodeError::UnknownGeneration(_) => "unknown_generation",
            DecodeError::UnknownVariant(_) => "unknown_variant",
            DecodeError::MissingField(_) => "missing_field",
            DecodeError::InvalidEnum { .. } => "invalid_enum",
            DecodeError::InvalidUuid(_) => "invalid_uuid",
            DecodeError::Model(_) => "invalid_model",
        }
    }
}

/// A value that breaks a rule of the Savant model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// `parent_id` names no object of the frame.
    #[error("object {object} names parent {parent}, which is not on the frame")]
    UnknownParent {
        /// The child.
        object: i64,
        /// The missing parent.
        parent: i64,
    },
    /// An update names an object that is not on the frame.
    #[error("update names object {0}, which is not on the frame")]
    UnknownObject(i64),
    /// An update brings an attribute the frame has, under the `Error` policy.
    #[error("attribute {namespace}/{name} already exists")]
    DuplicateAttribute {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// An update brings an object whose label the frame has, under the
    /// `ErrorIfLabelsCollide` policy.
    #[error("an object labelled {namespace}/{label} already exists")]
    LabelCollision {
        /// Namespace.
        namespace: String,
        /// Label.
        label: String,
    },
}
