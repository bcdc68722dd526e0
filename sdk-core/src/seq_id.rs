//! Per-source sequence ids, numbered as the Savant client numbers them and
//! checked as savant-rs's `validate_seq_id` checks them.
//!
//! Frames, user data and EOS of a source are numbered 1, 2, 3, ...; the EOS
//! takes the next number and the count restarts at 1 after it (savant-rs
//! 0.3.0 followed by the client's `clear_source_seq_id`). Batches, updates,
//! shutdown and unknown messages carry 0.
//!
//! ```
//! use savant_sdk_core::seq_id::{SeqIdGenerator, SeqIdValidator, SeqIdCheck};
//! let mut gen = SeqIdGenerator::default();
//! assert_eq!(gen.next_id("cam"), 1);
//! assert_eq!(gen.next_id("cam"), 2);
//! assert_eq!(gen.end_of_stream("cam"), 3);
//! assert_eq!(gen.next_id("cam"), 1);
//!
//! let mut val = SeqIdValidator::default();
//! assert_eq!(val.frame("cam", 1), SeqIdCheck::Valid);
//! assert_eq!(val.frame("cam", 3), SeqIdCheck::Gap { expected: 2, got: 3 });
//! ```

use std::collections::HashMap;

use crate::model::{Message, MessagePayload};

/// Assigns sequence ids per source id.
#[derive(Debug, Default, Clone)]
pub struct SeqIdGenerator {
    last: HashMap<String, u64>,
}

impl SeqIdGenerator {
    /// The next id for a frame or user data of `source_id`.
    pub fn next_id(&mut self, source_id: &str) -> u64 {
        if let Some(v) = self.last.get_mut(source_id) {
            *v += 1;
            *v
        } else {
            self.last.insert(source_id.to_string(), 1);
            1
        }
    }

    /// The id for an EOS of `source_id`; the source starts again at 1 after it.
    pub fn end_of_stream(&mut self, source_id: &str) -> u64 {
        self.last.remove(source_id).map_or(1, |v| v + 1)
    }

    /// Forgets `source_id` (its next message gets 1).
    pub fn clear(&mut self, source_id: &str) {
        self.last.remove(source_id);
    }

    /// Stamps `message.seq_id` according to its kind.
    pub fn assign(&mut self, message: &mut Message) {
        message.seq_id = match &message.payload {
            MessagePayload::VideoFrame(f) => self.next_id(&f.source_id),
            MessagePayload::UserData(u) => self.next_id(&u.source_id),
            MessagePayload::EndOfStream(e) => self.end_of_stream(&e.source_id),
            _ => 0,
        };
    }
}

/// The outcome of checking a received sequence id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqIdCheck {
    /// As expected (or a stream reset, or a kind that is not numbered).
    Valid,
    /// Some ids were skipped: messages were lost between the peers.
    Gap {
        /// What was expected.
        expected: u64,
        /// What arrived.
        got: u64,
    },
}

/// Checks received sequence ids per source (savant-rs `validate_seq_id`).
#[derive(Debug, Default, Clone)]
pub struct SeqIdValidator {
    last: HashMap<String, u64>,
}

impl SeqIdValidator {
    /// Checks a frame or user data id of `source_id`.
    pub fn frame(&mut self, source_id: &str, seq_id: u64) -> SeqIdCheck {
        let Some(last) = self.last.get_mut(source_id) else {
            self.last.insert(source_id.to_string(), seq_id);
            return SeqIdCheck::Valid;
        };
        let expected = *last + 1;
        *last = seq_id;
        if seq_id <= expected {
            // equal: in order; lower: the sender restarted the stream.
            SeqIdCheck::Valid
        } else {
            SeqIdCheck::Gap {
                expected,
                got: seq_id,
            }
        }
    }

    /// Checks any message; EOS makes the source's next id free.
    pub fn check(&mut self, message: &Message) -> SeqIdCheck {
        match &message.payload {
            MessagePayload::VideoFrame(f) => self.frame(&f.source_id, message.seq_id),
            MessagePayload::UserData(u) => self.frame(&u.source_id, message.seq_id),
            MessagePayload::EndOfStream(e) => {
                self.last.remove(&e.source_id);
                SeqIdCheck::Valid
            }
            _ => SeqIdCheck::Valid,
        }
    }
}
