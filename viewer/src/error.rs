//! The error type of the viewer crate.

use std::net::SocketAddr;

/// Why the viewer could not start or render.
#[derive(Debug, thiserror::Error)]
pub enum ViewerError {
    /// The HTTP server cannot listen on the address.
    #[error("the viewer cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The server needs a tokio runtime and none is running here.
    #[error("the viewer's HTTP server needs a running tokio runtime")]
    NoRuntime,
    /// An option is out of range.
    #[error("viewer option {option}: {reason}")]
    Option {
        /// The option.
        option: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A picture could not be decoded or encoded.
    #[error("picture of source {source_id}: {detail}")]
    Picture {
        /// The source id.
        source_id: String,
        /// The decoder's or encoder's message.
        detail: String,
    },
}

impl From<ViewerError> for savant_sdk_core::Error {
    fn from(e: ViewerError) -> Self {
        savant_sdk_core::Error::sink("viewer", e)
    }
}
