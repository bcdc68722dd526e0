//! The ZeroMQ transport, as savant-rs 0.3.x does it.
//!
//! * [`SocketSpec`] parses Savant's socket syntax
//!   (`dealer+connect:ipc:///path`, `router+bind:tcp://host:port`, ...).
//! * [`BlockingWriter`] / [`BlockingReader`] work on the calling thread;
//!   [`Writer`] / [`Reader`] are their async forms, each running the socket
//!   on a dedicated thread so a slow peer never stalls the runtime.
//! * Messages travel as `[topic, message, extra...]`; routers acknowledge
//!   EOS with `OK`, reps acknowledge everything, subs nothing.
//!
//! The socket pairs: `dealer` → `router` (reliable, the default), `req` →
//! `rep` (every message acknowledged), `pub` → `sub` (lossy fan-out).
//!
//! Built on the `zmq` crate (libzmq): it has high-water marks, send and
//! receive timeouts, linger and reconnection, which the pure-Rust `zeromq`
//! crate lacks.

mod async_reader;
pub(crate) mod async_writer;
mod config;
mod message_memory;
mod reader;
mod socket;
mod socket_spec;
mod writer;

pub use async_reader::Reader;
pub use async_writer::{PendingWrite, Writer};
pub use config::{
    ReaderConfig, ReaderConfigBuilder, TopicFilter, WriterConfig, WriterConfigBuilder,
};
pub use message_memory::{reuse_message_memory, MessageMemory, MMAP_THRESHOLD, TRIM_THRESHOLD};
pub use reader::{BlockingReader, FilterReason, Malformed, ReaderResult, ReaderStats, Received};
pub use socket::terminate_context;
pub use socket_spec::{Endpoint, Role, SocketSpec, SocketType};
pub use writer::{BlockingWriter, WriteOutcome, ACK};
