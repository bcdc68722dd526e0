//! Per-source sequence ids, numbered as the Savant client numbers them and
//! checked as savant-rs's `validate_seq_id` checks them.
//!
//! Frames, user data and EOS of a source are numbered 1, 2, 3, ...; the EOS
//! takes the next number and the count restarts at 1 after it (savant-rs
//! 0.3.0 followed by the client's `clear_source_seq_id`, and the savant-rs
//! 1.15 writer). Batches, updates, shutdown and unknown messages carry 0 up
//! to 1.x; from 1.15 on they are numbered on one auxiliary counter of their
//! own ([`SeqIdGenerator::next_auxiliary`]). A 1.15 reader keys the check
//! by (system id, source id): [`SeqIdValidator::check`] does the same.
//!
//! ```
//! use savant_sdk_protocol::seq_id::{SeqIdGenerator, SeqIdValidator, SeqIdCheck};
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
    auxiliary: u64,
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

    /// The next id of a message without a source (update, batch,
    /// shutdown, unknown), as savant-rs 1.15 numbers them.
    pub fn next_auxiliary(&mut self) -> u64 {
        self.auxiliary += 1;
        self.auxiliary
    }

    /// Source ids with an open count (forgotten at their EOS).
    pub fn open_sources(&self) -> usize {
        self.last.len()
    }

    /// Forgets `source_id` (its next message gets 1).
    pub fn clear(&mut self, source_id: &str) {
        self.last.remove(source_id);
    }

    /// The id `message` gets, by its kind; `number_auxiliary` numbers the
    /// kinds without a source as savant-rs 1.15 does (else they get 0).
    pub fn id_for(&mut self, message: &Message, number_auxiliary: bool) -> u64 {
        match &message.payload {
            MessagePayload::VideoFrame(f) => self.next_id(&f.source_id),
            MessagePayload::UserData(u) => self.next_id(&u.source_id),
            MessagePayload::EndOfStream(e) => self.end_of_stream(&e.source_id),
            _ if number_auxiliary => self.next_auxiliary(),
            _ => 0,
        }
    }

    /// Stamps `message.seq_id` according to its kind (0.2.x/1.x numbering).
    pub fn assign(&mut self, message: &mut Message) {
        message.seq_id = self.id_for(message, false);
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

/// Checks received sequence ids per (system id, source id), as savant-rs
/// `validate_seq_id` does (the system id is empty before 1.15).
#[derive(Debug, Default, Clone)]
pub struct SeqIdValidator {
    /// system id -> source id -> last id.
    last: HashMap<String, HashMap<String, u64>>,
}

impl SeqIdValidator {
    /// Checks a frame or user data id of `source_id` from a writer without
    /// a system id.
    pub fn frame(&mut self, source_id: &str, seq_id: u64) -> SeqIdCheck {
        self.frame_of("", source_id, seq_id)
    }

    /// Sources with open state (forgotten at their EOS).
    pub fn open_sources(&self) -> usize {
        self.last.values().map(HashMap::len).sum()
    }

    /// Checks a frame or user data id of `source_id` from writer `system_id`.
    pub fn frame_of(&mut self, system_id: &str, source_id: &str, seq_id: u64) -> SeqIdCheck {
        let sources = match self.last.get_mut(system_id) {
            Some(s) => s,
            None => self.last.entry(system_id.to_string()).or_default(),
        };
        let Some(last) = sources.get_mut(source_id) else {
            sources.insert(source_id.to_string(), seq_id);
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
        let system = message.system_id.as_str();
        match &message.payload {
            MessagePayload::VideoFrame(f) => self.frame_of(system, &f.source_id, message.seq_id),
            MessagePayload::UserData(u) => self.frame_of(system, &u.source_id, message.seq_id),
            MessagePayload::EndOfStream(e) => {
                if let Some(sources) = self.last.get_mut(system) {
                    sources.remove(&e.source_id);
                    if sources.is_empty() {
                        self.last.remove(system);
                    }
                }
                SeqIdCheck::Valid
            }
            _ => SeqIdCheck::Valid,
        }
    }
}
