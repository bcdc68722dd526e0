//! The blocking reader: router, rep or sub, with savant-rs's
//! acknowledgements, topic filter and routing-id handling. Bad input is
//! skipped, counted and logged; it never ends the reader.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::codec::decode_message;
use crate::error::{DecodeError, Result};
use crate::model::{FrameContent, Message};
use crate::transport::config::{ms, ReaderConfig, TopicFilter};
use crate::transport::socket::{self, zmq_err};
use crate::transport::socket_spec::SocketType;
use crate::transport::writer::ACK;

/// A message as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// Part 0: the topic (the sender's source id).
    pub topic: Bytes,
    /// The sender's routing id (router readers only).
    pub routing_id: Option<Bytes>,
    /// The decoded message.
    pub message: Message,
    /// Part 1 exactly as it arrived (forward it without re-encoding).
    pub raw_message: Bytes,
    /// Parts 2 and later (frame payload for external `"zeromq"` content).
    pub extra: Vec<Bytes>,
}

impl Received {
    /// The protocol generation the message came in, if known (`None` only
    /// under [`crate::codec::VersionPolicy::Any`]).
    pub fn generation(&self) -> Option<crate::protocol::Generation> {
        self.message.generation()
    }

    /// The topic as text (lossy).
    pub fn topic_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.topic)
    }

    /// The frame payload as Savant's sink reads it: the extra parts joined
    /// (shared, not copied, when there is one), else the frame's internal
    /// content; `None` when both are empty.
    pub fn content(&self) -> Option<Bytes> {
        match self.extra.len() {
            0 => {}
            1 if !self.extra[0].is_empty() => return Some(self.extra[0].clone()),
            _ => {
                let total: usize = self.extra.iter().map(Bytes::len).sum();
                if total > 0 {
                    let mut buf = BytesMut::with_capacity(total);
                    for p in &self.extra {
                        buf.extend_from_slice(p);
                    }
                    return Some(buf.freeze());
                }
            }
        }
        match self.message.as_video_frame().map(|f| &f.content) {
            Some(FrameContent::Internal(b)) if !b.is_empty() => Some(b.clone()),
            _ => None,
        }
    }
}

/// Why a well-formed message was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterReason {
    /// The topic does not pass the reader's [`TopicFilter`].
    PrefixMismatch,
    /// A router saw this topic from a sender that has since been replaced
    /// (a stale message from a restarted source).
    RoutingIdMismatch,
}

/// Why a message could not be read at all.
#[derive(Debug, Clone, PartialEq)]
pub enum Malformed {
    /// Fewer parts than `[topic, message]` (plus the routing id on router).
    TooShort {
        /// Parts received.
        parts: usize,
        /// Parts needed.
        min: usize,
    },
    /// The message part does not decode (includes too large and wrong version).
    Decode(DecodeError),
}

/// The outcome of one [`BlockingReader::receive`].
// Messages are the common case: boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ReaderResult {
    /// A message.
    Message(Received),
    /// Nothing arrived within the receive timeout.
    Timeout,
    /// A message was dropped by a filter.
    Filtered {
        /// Its topic.
        topic: Bytes,
        /// Which filter.
        reason: FilterReason,
    },
    /// Bad input was skipped.
    Malformed(Malformed),
    /// A well-formed message whose protocol version the reader's
    /// [`crate::codec::VersionPolicy`] refuses (or of no known generation):
    /// counted apart from malformed input, logged once per topic.
    VersionRefused {
        /// Its topic.
        topic: Bytes,
        /// [`DecodeError::VersionMismatch`] or [`DecodeError::UnknownGeneration`],
        /// with the version found and the one expected.
        error: DecodeError,
    },
}

/// Counters of a reader, shared with its handles.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    delivered: AtomicU64,
    prefix_mismatch: AtomicU64,
    routing_id_mismatch: AtomicU64,
    too_short: AtomicU64,
    decode_errors: AtomicU64,
    version_refused: AtomicU64,
}

/// A snapshot of what a reader has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReaderStats {
    /// Messages delivered.
    pub delivered: u64,
    /// Dropped by the topic filter.
    pub prefix_mismatch: u64,
    /// Dropped as coming from a replaced sender.
    pub routing_id_mismatch: u64,
    /// Skipped for having too few parts.
    pub too_short: u64,
    /// Skipped for not decoding (malformed, too large, ...).
    pub decode_errors: u64,
    /// Skipped for a protocol version the reader refuses or does not know.
    pub version_refused: u64,
}

impl ReaderStats {
    /// Everything skipped as bad input.
    pub fn malformed(&self) -> u64 {
        self.too_short + self.decode_errors
    }
}

impl Counters {
    pub(crate) fn snapshot(&self) -> ReaderStats {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ReaderStats {
            delivered: l(&self.delivered),
            prefix_mismatch: l(&self.prefix_mismatch),
            routing_id_mismatch: l(&self.routing_id_mismatch),
            too_short: l(&self.too_short),
            decode_errors: l(&self.decode_errors),
            version_refused: l(&self.version_refused),
        }
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// Which sender (routing id) currently owns each topic on a router, and
/// which ones were replaced.
#[derive(Debug)]
struct RoutingIds {
    /// The last accepted (topic, routing id): most messages repeat it.
    last: Option<(Bytes, Bytes)>,
    current: HashMap<Bytes, Bytes>,
    expired: HashSet<(Bytes, Bytes)>,
    order: VecDeque<(Bytes, Bytes)>,
    capacity: usize,
}

impl RoutingIds {
    fn new(capacity: usize) -> Self {
        Self {
            last: None,
            current: HashMap::new(),
            expired: HashSet::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// Whether a message of `topic` from `rid` is accepted.
    fn accept(&mut self, topic: &Bytes, rid: &Bytes) -> bool {
        if let Some((t, r)) = &self.last {
            if t == topic && r == rid {
                return true;
            }
        }
        let ok = self.accept_slow(topic, rid);
        if ok {
            self.last = Some((topic.clone(), rid.clone()));
        }
        ok
    }

    fn accept_slow(&mut self, topic: &Bytes, rid: &Bytes) -> bool {
        match self.current.get_mut(&topic[..]) {
            Some(cur) if cur == rid => true,
            Some(cur) => {
                if self.expired.contains(&(topic.clone(), rid.clone())) {
                    return false;
                }
                let old = std::mem::replace(cur, rid.clone());
                self.expire(topic.clone(), old);
                true
            }
            None => {
                if self.expired.contains(&(topic.clone(), rid.clone())) {
                    return false;
                }
                self.current.insert(topic.clone(), rid.clone());
                true
            }
        }
    }

    /// Forgets the owner of `topic` after its EOS, so that a reader
    /// seeing many short-lived source ids keeps no state for the ended
    /// ones (the replaced senders stay bounded by `capacity`).
    fn end_of_stream(&mut self, topic: &[u8]) {
        self.current.remove(topic);
        if self.last.as_ref().is_some_and(|(t, _)| &t[..] == topic) {
            self.last = None;
        }
    }

    fn expire(&mut self, topic: Bytes, rid: Bytes) {
        if self.capacity == 0 {
            return;
        }
        if self.expired.insert((topic.clone(), rid.clone())) {
            self.order.push_back((topic, rid));
            if self.order.len() > self.capacity {
                if let Some(k) = self.order.pop_front() {
                    self.expired.remove(&k);
                }
            }
        }
    }
}

/// Receives messages on the calling thread. For async code use
/// [`crate::transport::Reader`], which runs one of these on its own thread.
///
/// A router acknowledges each EOS with `[routing_id, "OK"]`, a rep replies
/// `OK` to every message, a sub never replies. EOS passes the topic filter.
///
/// ```no_run
/// use savant_sdk_core::transport::{BlockingReader, ReaderConfig, ReaderResult};
/// let mut reader = BlockingReader::new(ReaderConfig::builder("router+bind:ipc:///tmp/savant/out.ipc")?.build()?)?;
/// loop {
///     match reader.receive()? {
///         ReaderResult::Message(m) => println!("{} from {}", m.message.kind(), m.topic_str()),
///         ReaderResult::Timeout => break,
///         other => eprintln!("skipped: {other:?}"),
///     }
/// }
/// # Ok::<(), savant_sdk_core::Error>(())
/// ```
pub struct BlockingReader {
    socket: zmq::Socket,
    config: ReaderConfig,
    endpoint: String,
    parts: Vec<Bytes>,
    small: socket::SmallParts,
    routing: RoutingIds,
    counters: Arc<Counters>,
    /// When the last acknowledgement was queued.
    last_ack: Option<std::time::Instant>,
    /// Acknowledgements held back under [`ReaderConfig::deferred_ack`]:
    /// the routing id of each EOS on a router, `None` for a rep's reply.
    pending_acks: Vec<Option<Bytes>>,
    /// Topics whose refused version was logged (bounded).
    refused_logged: HashSet<Bytes>,
}

/// Topics remembered as logged for a refused version; past this the set
/// starts again (a topic may then be logged once more).
const REFUSED_LOG_TOPICS: usize = 1024;

impl Drop for BlockingReader {
    /// The process-wide ZeroMQ context is never terminated, so its I/O
    /// thread may not have sent an acknowledgement queued just before the
    /// process exits (a `receive` that stops at an EOS). Closing waits
    /// until the linger has passed since the last one.
    fn drop(&mut self) {
        if let Some(at) = self.last_ack {
            let linger = self.config.common.linger;
            let waited = at.elapsed();
            if waited < linger {
                std::thread::sleep(linger - waited);
            }
        }
    }
}

impl std::fmt::Debug for BlockingReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingReader")
            .field("spec", &self.config.common.spec.to_string())
            .finish()
    }
}

impl BlockingReader {
    /// Opens the socket (binds or connects).
    pub fn new(config: ReaderConfig) -> Result<Self> {
        let socket_type = config.common.spec.socket_type;
        let max = config.decode.max_message_size;
        let socket = socket::open(&config.common, |s| {
            s.set_rcvtimeo(ms(config.receive_timeout))?;
            s.set_sndtimeo(ms(config.receive_timeout))?;
            // libzmq refuses any part larger than this before allocating it.
            s.set_maxmsgsize(i64::try_from(max).unwrap_or(i64::MAX))?;
            if socket_type == SocketType::Sub {
                s.set_subscribe(config.topic_filter.subscription())?;
            }
            Ok(())
        })?;
        Ok(Self {
            endpoint: config.common.spec.zmq_endpoint(),
            routing: RoutingIds::new(config.routing_id_cache),
            socket,
            config,
            parts: Vec::with_capacity(4),
            small: socket::SmallParts::default(),
            counters: Arc::default(),
            last_ack: None,
            pending_acks: Vec::new(),
            refused_logged: HashSet::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ReaderConfig {
        &self.config
    }

    /// What this reader has delivered and skipped so far.
    pub fn stats(&self) -> ReaderStats {
        self.counters.snapshot()
    }

    pub(crate) fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// Waits up to the receive timeout for one message. Errors are socket
    /// failures only; bad input comes back as [`ReaderResult::Malformed`].
    pub fn receive(&mut self) -> Result<ReaderResult> {
        self.receive_inner(true)
    }

    /// Like [`BlockingReader::receive`] but without waiting:
    /// [`ReaderResult::Timeout`] when nothing is queued.
    pub fn try_receive(&mut self) -> Result<ReaderResult> {
        self.receive_inner(false)
    }

    /// Acknowledgements held back under [`ReaderConfig::deferred_ack`]
    /// (0 without it).
    pub fn pending_acks(&self) -> usize {
        self.pending_acks.len()
    }

    /// Sends the acknowledgements held back under
    /// [`ReaderConfig::deferred_ack`], oldest first: the rep's `OK` to the
    /// message it delivered last, a router's `OK` to each EOS it
    /// delivered. Returns how many were sent; nothing to send is `Ok(0)`.
    /// An acknowledgement the peer can no longer take (gone, or its
    /// queue full) is logged and dropped, as without deferral.
    pub fn acknowledge(&mut self) -> Result<usize> {
        // taken for the loop and put back: its buffer serves the next batch
        let mut pending = std::mem::take(&mut self.pending_acks);
        let n = pending.len();
        for rid in pending.drain(..) {
            self.reply(rid)?;
        }
        self.pending_acks = pending;
        Ok(n)
    }

    fn receive_inner(&mut self, wait: bool) -> Result<ReaderResult> {
        if self.config.common.spec.socket_type == SocketType::Rep && !self.pending_acks.is_empty() {
            return Err(crate::error::Error::Config(format!(
                "rep reader on {}: acknowledge() the last message before receiving the next",
                self.endpoint
            )));
        }
        let got = socket::recv_multipart(&self.socket, &mut self.parts, &mut self.small, wait)
            .map_err(|e| zmq_err("receive", &self.endpoint, e))?;
        if !got {
            return Ok(ReaderResult::Timeout);
        }
        let socket_type = self.config.common.spec.socket_type;
        let is_router = socket_type == SocketType::Router;
        let is_rep = socket_type == SocketType::Rep;
        let min = if is_router { 3 } else { 2 };
        if self.parts.len() < min {
            // A rep must answer or it stays wedged; savant-rs does not and
            // gets stuck, we reply OK and move on.
            self.reply_if_rep(is_rep)?;
            bump(&self.counters.too_short);
            tracing::warn!(endpoint = %self.endpoint, parts = self.parts.len(), min, "skipping a message with too few parts");
            return Ok(ReaderResult::Malformed(Malformed::TooShort {
                parts: self.parts.len(),
                min,
            }));
        }
        let base = usize::from(is_router);
        let total: usize = self.parts[base..].iter().map(Bytes::len).sum();
        let max = self.config.decode.max_message_size;
        let decoded = if total > max {
            Err(DecodeError::TooLarge { size: total, max })
        } else {
            decode_message(self.parts[base + 1].clone(), &self.config.decode)
        };
        let message = match decoded {
            Ok(m) => m,
            Err(e @ (DecodeError::VersionMismatch { .. } | DecodeError::UnknownGeneration(_))) => {
                self.reply_if_rep(is_rep)?;
                bump(&self.counters.version_refused);
                let topic = self.parts[base].clone();
                let sender = is_router.then(|| self.parts[0].clone());
                self.log_refused(&topic, sender.as_ref(), &e);
                return Ok(ReaderResult::VersionRefused { topic, error: e });
            }
            Err(e) => {
                self.reply_if_rep(is_rep)?;
                bump(&self.counters.decode_errors);
                tracing::warn!(endpoint = %self.endpoint, topic = %String::from_utf8_lossy(&self.parts[base]), error = %e, "skipping a message that does not decode");
                return Ok(ReaderResult::Malformed(Malformed::Decode(e)));
            }
        };
        let routing_id = is_router.then(|| self.parts[0].clone());
        let topic = self.parts[base].clone();
        if message.is_end_of_stream() {
            if is_router {
                self.routing.end_of_stream(&topic);
            }
            match (&routing_id, is_rep) {
                (Some(rid), _) => self.reply_delivered(Some(rid.clone()))?,
                (None, true) => self.reply_delivered(None)?,
                _ => {}
            }
            bump(&self.counters.delivered);
            return Ok(ReaderResult::Message(Received {
                topic,
                routing_id,
                message,
                raw_message: self.parts[base + 1].clone(),
                extra: Vec::new(),
            }));
        }
        if !self.config.topic_filter.matches(&topic) {
            self.reply_if_rep(is_rep)?;
            bump(&self.counters.prefix_mismatch);
            return Ok(ReaderResult::Filtered {
                topic,
                reason: FilterReason::PrefixMismatch,
            });
        }
        if let Some(rid) = &routing_id {
            if !self.routing.accept(&topic, rid) {
                bump(&self.counters.routing_id_mismatch);
                return Ok(ReaderResult::Filtered {
                    topic,
                    reason: FilterReason::RoutingIdMismatch,
                });
            }
        }
        if is_rep {
            self.reply_delivered(None)?;
        }
        let extra: Vec<Bytes> = self.parts.drain(base + 2..).collect();
        bump(&self.counters.delivered);
        Ok(ReaderResult::Message(Received {
            topic,
            routing_id,
            message,
            raw_message: self.parts[base + 1].clone(),
            extra,
        }))
    }

    /// One warning per topic for a refused version, naming the sender,
    /// the version it sent and what is accepted.
    fn log_refused(&mut self, topic: &Bytes, routing_id: Option<&Bytes>, e: &DecodeError) {
        if self.refused_logged.contains(topic) {
            return;
        }
        if self.refused_logged.len() >= REFUSED_LOG_TOPICS {
            self.refused_logged.clear();
        }
        self.refused_logged.insert(topic.clone());
        let sender = routing_id.map(|r| r.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let (got, expected) = match e {
            DecodeError::VersionMismatch { got, expected } => (got.as_str(), expected.as_str()),
            DecodeError::UnknownGeneration(got) => (got.as_str(), "a known generation"),
            _ => ("", ""),
        };
        tracing::warn!(
            endpoint = %self.endpoint,
            topic = %String::from_utf8_lossy(topic),
            sender = sender.as_deref().unwrap_or("-"),
            version = got,
            expected,
            "refusing messages of this protocol version on this topic (logged once per topic; counted in version_refused)"
        );
    }

    /// The acknowledgement of a delivered message: sent now, or held
    /// back for [`BlockingReader::acknowledge`] under deferral.
    fn reply_delivered(&mut self, routing_id: Option<Bytes>) -> Result<()> {
        if self.config.deferred_ack {
            self.pending_acks.push(routing_id);
            Ok(())
        } else {
            self.reply(routing_id)
        }
    }

    fn reply_if_rep(&mut self, is_rep: bool) -> Result<()> {
        if is_rep {
            self.reply(None)?;
        }
        Ok(())
    }

    fn reply(&mut self, routing_id: Option<Bytes>) -> Result<()> {
        let r = match routing_id {
            Some(rid) => self
                .socket
                .send(&rid[..], zmq::SNDMORE)
                .and_then(|_| self.socket.send(ACK, 0)),
            None => self.socket.send(ACK, 0),
        };
        match r {
            Ok(()) => {
                self.last_ack = Some(std::time::Instant::now());
                Ok(())
            }
            // The peer is gone or slow: the ack is lost, the reader goes on.
            Err(zmq::Error::EAGAIN) | Err(zmq::Error::EHOSTUNREACH) => {
                tracing::warn!(endpoint = %self.endpoint, "could not send acknowledgement");
                Ok(())
            }
            Err(e) => Err(zmq_err("reply", &self.endpoint, e)),
        }
    }

    /// The reader's topic filter.
    pub fn topic_filter(&self) -> &TopicFilter {
        &self.config.topic_filter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_ids_replace_and_reject_stale() {
        let mut r = RoutingIds::new(2);
        let t = Bytes::from_static(b"cam");
        let a = Bytes::from_static(b"A");
        let b = Bytes::from_static(b"B");
        assert!(r.accept(&t, &a));
        assert!(r.accept(&t, &a));
        assert!(r.accept(&t, &b)); // a new sender replaces A
        assert!(!r.accept(&t, &a)); // A is stale now
        assert!(r.accept(&t, &b));
    }

    #[test]
    fn routing_ids_of_ended_sources_are_released() {
        let mut r = RoutingIds::new(2);
        for i in 0..1000u32 {
            let t = Bytes::from(format!("cam-{i}"));
            let rid = Bytes::from(i.to_be_bytes().to_vec());
            assert!(r.accept(&t, &rid));
            r.end_of_stream(&t);
        }
        assert!(r.current.is_empty());
        assert!(r.last.is_none());
        assert!(r.expired.len() <= 2);
    }
}
