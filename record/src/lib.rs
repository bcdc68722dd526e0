//! # savant-sdk-record
//!
//! Record Savant ZeroMQ traffic to disk and replay it, in the layout of
//! Savant's message dumps, so that Savant's message dump player reads our
//! recordings and we read the dumps of Savant's buffer adapter.
//!
//! * [`DumpRecord`]: one message, `[time_ns, topic, message, content]` in
//!   msgpack.
//! * [`DumpWriter`]: rotating segment files (by size, record count or
//!   age) and a playlist.
//! * [`DumpReader`]: the records of a directory, playlist or segment in
//!   order; a damaged or truncated tail is reported and skipped.
//! * [`Replayer`]: sends records through a
//!   [`savant_sdk_core::transport::BlockingWriter`], as recorded or paced,
//!   optionally with new trace ids and source ids.
//!
//! The layout follows Savant's `adapters/python/bridge/buffer.py`
//! (`MessageDumper`, the writer) and
//! `adapters/python/sources/message_dump_player.py` (the reader).
#![warn(missing_docs)]

mod error;
mod format;
mod reader;
mod replay;
mod writer;

pub use error::{RecordError, Result};
pub use format::DumpRecord;
pub use reader::{DumpItem, DumpReader};
pub use replay::{ReplayOptions, Replayer, Sent};
pub use writer::{DumpWriter, SegmentPolicy, PLAYLIST};
