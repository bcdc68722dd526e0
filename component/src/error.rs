//! The SDK's one error type, [`enum@Error`], shared by sources, sinks,
//! plugins, the transport and the runners, with the typed details a caller
//! may want to match on ([`DecodeError`], [`SocketSpecError`],
//! [`ModelError`], [`HealthCheckError`]).

use std::path::PathBuf;
use std::time::Duration;

pub use savant_sdk_protocol::error::{DecodeError, EncodeError, ModelError};

/// Everything that can go wrong in the SDK: what a source, sink or plugin
/// returns, and what the transport and runners of `savant-sdk-core` return.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A socket spec that does not parse or does not fit the role.
    #[error("invalid socket spec {spec:?}: {reason}")]
    SocketSpec {
        /// The text given.
        spec: String,
        /// What is wrong with it.
        reason: SocketSpecError,
    },
    /// Bytes that are not a valid message.
    #[error("cannot decode message: {0}")]
    Decode(#[from] DecodeError),
    /// A message the configured protocol layout cannot carry.
    #[error("cannot encode message: {0}")]
    Encode(#[from] EncodeError),
    /// A value that savant-rs would refuse.
    #[error("invalid message: {0}")]
    Model(#[from] ModelError),
    /// A ZeroMQ call failed.
    #[error("zeromq {operation} on {endpoint} failed: {source}")]
    Zmq {
        /// What was being done (bind, connect, send, ...).
        operation: &'static str,
        /// The endpoint of the socket.
        endpoint: String,
        /// The ZeroMQ error (a `zmq::Error`, boxed so that this crate needs
        /// no ZeroMQ).
        source: BoxError,
    },
    /// The message could not be queued within the send timeout, retries included.
    #[error(
        "send to {endpoint} timed out after {attempts} attempts of {timeout:?}: the peer's queue \
         is full or no peer is there; check that a module is connected to this socket and reading, \
         and that whatever reads the module's output is running (an unread output stalls the module \
         through the high-water marks)"
    )]
    SendTimeout {
        /// The endpoint.
        endpoint: String,
        /// How many attempts were made.
        attempts: u32,
        /// The timeout of each attempt.
        timeout: Duration,
    },
    /// The peer did not acknowledge within the ack timeout, retries included.
    #[error(
        "no acknowledgement from {endpoint} after {attempts} waits of {timeout:?}; check: \
         (1) protocol version: we sent {protocol_version:?}, and a savant-rs 1.x or 2.x module \
         drops any other version without a word; set --protocol-version or --savant \
         (WriterConfig/SourceBuilder::protocol_version), or run `savant-sdk probe --socket ...` \
         to find the one it accepts; (2) is a module there at all; (3) is it reading its input \
         (an unread module output stalls it)"
    )]
    AckTimeout {
        /// The endpoint.
        endpoint: String,
        /// How many waits were made.
        attempts: u32,
        /// The timeout of each wait.
        timeout: Duration,
        /// The protocol version the unacknowledged message carried.
        protocol_version: String,
    },
    /// The peer answered something other than `OK`.
    #[error("unexpected acknowledgement from {endpoint}: {reply:?}")]
    UnexpectedAck {
        /// The endpoint.
        endpoint: String,
        /// The last frame of the reply, lossily as text.
        reply: String,
    },
    /// A file-system step around an ipc socket failed.
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An invalid configuration value.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A component's configuration key that its `validate()` refused.
    #[error("invalid {key}: {reason}")]
    InvalidConfig {
        /// The key (a dotted path for nested keys).
        key: String,
        /// Why.
        reason: String,
    },
    /// The reader or writer has been closed (its thread is gone).
    #[error("the {0} is closed")]
    Closed(&'static str),
    /// The module's health check did not report ready.
    #[error(transparent)]
    HealthCheck(#[from] HealthCheckError),
    /// A source failed to produce its next item.
    #[error("source {name}: {source}")]
    Source {
        /// Which source.
        name: String,
        /// The cause.
        source: BoxError,
    },
    /// A sink failed to consume an item.
    #[error("sink {name}: {source}")]
    Sink {
        /// Which sink.
        name: String,
        /// The cause.
        source: BoxError,
    },
}

/// A boxed error from user code (sources, sinks, plugins).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl Error {
    /// Wraps a source's own error.
    pub fn source(name: impl Into<String>, e: impl Into<BoxError>) -> Self {
        Error::Source {
            name: name.into(),
            source: e.into(),
        }
    }

    /// A refused configuration key (what `validate()` returns).
    pub fn invalid_config(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// Wraps a sink's own error.
    pub fn sink(name: impl Into<String>, e: impl Into<BoxError>) -> Self {
        Error::Sink {
            name: name.into(),
            source: e.into(),
        }
    }
}

/// Why waiting for a module's health endpoint failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HealthCheckError {
    /// Not an `http://host[:port]/path` URL.
    #[error("invalid health-check URL {url:?}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The endpoint answered, but never with an accepted status in time.
    #[error("module at {url} not ready after {waited:?} (last status {last_status:?})")]
    NotReady {
        /// The URL.
        url: String,
        /// How long we waited.
        waited: Duration,
        /// The last status body seen.
        last_status: String,
    },
    /// Nothing answered at the URL within the timeout.
    #[error("module health endpoint {url} unreachable after {waited:?}: {error}")]
    Unreachable {
        /// The URL.
        url: String,
        /// How long we waited.
        waited: Duration,
        /// The last connection error.
        error: String,
    },
    /// An HTTP status other than 200 or 503.
    #[error("module health endpoint {url} answered HTTP {code}")]
    UnexpectedStatus {
        /// The URL.
        url: String,
        /// The status code.
        code: u16,
    },
}

/// Why a socket spec was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SocketSpecError {
    /// Nothing given.
    #[error("empty socket spec")]
    Empty,
    /// `type` of `type+mode:` is not one of pub, sub, req, rep, dealer, router.
    #[error("unknown socket type {0:?} (expected pub, sub, req, rep, dealer or router)")]
    UnknownSocketType(String),
    /// `mode` of `type+mode:` is not bind or connect.
    #[error("unknown socket mode {0:?} (expected bind or connect)")]
    UnknownMode(String),
    /// Not `ipc://` or `tcp://`.
    #[error("unsupported endpoint {0:?} (expected ipc://PATH or tcp://HOST:PORT)")]
    UnsupportedScheme(String),
    /// `ipc://` with no path.
    #[error("ipc endpoint without a path")]
    MissingPath,
    /// `tcp://host` with no port, or a port that is not a number.
    #[error("tcp endpoint needs HOST:PORT, got {0:?}")]
    BadTcpAddress(String),
    /// A writer socket type given to a reader or the other way round.
    #[error("{socket_type} is a {actual} socket type, but a {expected} was asked for")]
    WrongRole {
        /// The type given.
        socket_type: &'static str,
        /// The role that type has.
        actual: &'static str,
        /// The role asked for.
        expected: &'static str,
    },
    /// The `:source` suffix on a reader spec.
    #[error("the ':{0}' source suffix is only allowed on writer sockets")]
    SourceOnReader(String),
}

/// An error and its causes as one line, each cause said once: a cause
/// whose text the line already holds is skipped (the SDK's errors put
/// their cause in their own message), one that extends the last part
/// replaces it.
///
/// ```
/// use savant_sdk_component::error::{report, Error};
/// let e = Error::source("cam-1", std::io::Error::other("disk gone"));
/// assert_eq!(report(&e), "source cam-1: disk gone");
/// ```
pub fn report(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(link) = next {
        let text = link.to_string();
        match parts.last_mut() {
            Some(last) if last.contains(text.as_str()) => {}
            Some(last) if text.starts_with(last.as_str()) => *last = text,
            _ => parts.push(text),
        }
        next = link.source();
    }
    parts.join(": ")
}

/// Result with this crate's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
