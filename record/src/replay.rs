//! [`Replayer`]: sends recorded messages again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use savant_sdk_core::codec::{decode_message, encode_message, DecodeOptions, VersionPolicy};
use savant_sdk_core::model::{Message, MessagePayload};
use savant_sdk_core::transport::{BlockingWriter, WriteOutcome};

use crate::error::{RecordError, Result};
use crate::format::DumpRecord;

/// How a [`Replayer`] sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Keep the recording's timing: each record is sent when as much time
    /// has passed since the first one as between their receive times.
    /// Without it, records go out as fast as the socket takes them.
    pub pace: bool,
    /// Give every recorded trace a fresh trace id (in `traceparent` and
    /// `uber-trace-id`; the messages of one recorded trace keep sharing
    /// one new id).
    pub new_trace_ids: bool,
    /// Topic and source id rewrites `(from, to)`: a message whose topic
    /// or source id is `from` goes out with `to`.
    pub source_id_rewrite: Vec<(String, String)>,
}

/// What one [`Replayer::send`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The topic it went out with.
    pub topic: Bytes,
    /// The message kind (`frame`, `eos`, ...; `undecodable` when the
    /// recorded message does not decode: it is sent as it is).
    pub kind: &'static str,
    /// Whether the message was re-encoded (a rewrite or a new trace id);
    /// otherwise its recorded bytes went out unchanged.
    pub reencoded: bool,
    /// How late it went out against the recording's timing (`--pace`).
    pub late: Duration,
    /// The transport's outcome.
    pub outcome: WriteOutcome,
}

/// Most recorded trace ids remembered for [`ReplayOptions::new_trace_ids`].
const TRACE_MAP_CAPACITY: usize = 65_536;

/// Sends [`DumpRecord`]s through a [`BlockingWriter`]: the recorded
/// message bytes as they are (any protocol generation), re-encoded in
/// their own protocol version only when a rewrite changes them.
///
/// ```no_run
/// use savant_sdk_core::transport::{BlockingWriter, WriterConfig};
/// use savant_sdk_record::{DumpReader, ReplayOptions, Replayer};
/// let writer = BlockingWriter::new(WriterConfig::builder("dealer+connect:ipc:///tmp/in.ipc")?.build()?)?;
/// let mut replayer = Replayer::new(writer, ReplayOptions { pace: true, ..Default::default() })?;
/// for record in DumpReader::open("/tmp/dump")?.records() {
///     replayer.send(&record?)?;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Replayer {
    writer: BlockingWriter,
    options: ReplayOptions,
    decode: DecodeOptions,
    /// (first record's time, when it was sent)
    start: Option<(u64, Instant)>,
    traces: HashMap<String, String>,
    stop: Option<Arc<AtomicBool>>,
}

/// The longest sleep of a paced wait between looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);

impl Replayer {
    /// A replayer over `writer`.
    pub fn new(writer: BlockingWriter, options: ReplayOptions) -> Result<Self> {
        for (from, to) in &options.source_id_rewrite {
            if from.is_empty() || to.is_empty() {
                return Err(RecordError::InvalidOption(format!(
                    "empty source id in the rewrite {from:?}={to:?}"
                )));
            }
        }
        Ok(Self {
            writer,
            options,
            decode: DecodeOptions {
                version: VersionPolicy::Any,
                ..DecodeOptions::default()
            },
            start: None,
            traces: HashMap::new(),
            stop: None,
        })
    }

    /// A paced wait ends early when `flag` is set: [`Replayer::send`] then
    /// returns [`RecordError::Stopped`] without sending.
    pub fn with_stop(mut self, flag: Arc<AtomicBool>) -> Self {
        self.stop = Some(flag);
        self
    }

    /// The writer.
    pub fn writer(&self) -> &BlockingWriter {
        &self.writer
    }

    /// Sends one record (after waiting for its time with `pace`).
    pub fn send(&mut self, record: &DumpRecord) -> Result<Sent> {
        let late = self.wait_for(record.time_ns)?;
        let decoded = match decode_message(record.message.clone(), &self.decode) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(topic = %String::from_utf8_lossy(&record.topic), "a recorded message does not decode ({e}); sent as it is");
                None
            }
        };
        let topic = self.rewrite_topic(&record.topic);
        let (kind, is_eos, message, reencoded) = match decoded {
            None => ("undecodable", false, record.message.clone(), false),
            Some(mut m) => {
                let changed = self.rewrite(&mut m);
                let kind = m.kind();
                let eos = m.is_end_of_stream();
                if changed {
                    let bytes = encode_message(&m).map_err(savant_sdk_core::Error::from)?;
                    (kind, eos, bytes, true)
                } else {
                    (kind, eos, record.message.clone(), false)
                }
            }
        };
        let extra: &[Bytes] = if record.content.is_empty() {
            &[]
        } else {
            std::slice::from_ref(&record.content)
        };
        let outcome = self.writer.send_raw(&topic, &message, extra, is_eos)?;
        Ok(Sent {
            topic,
            kind,
            reencoded,
            late,
            outcome,
        })
    }

    /// Sleeps until the record's time in the replay; returns how late it is.
    fn wait_for(&mut self, time_ns: u64) -> Result<Duration> {
        if !self.options.pace {
            return Ok(Duration::ZERO);
        }
        let (t0, started) = *self.start.get_or_insert((time_ns, Instant::now()));
        // a record older than the first (clock steps) goes out at once
        let due = started + Duration::from_nanos(time_ns.saturating_sub(t0));
        let now = Instant::now();
        if due <= now {
            return Ok(now - due);
        }
        loop {
            if self
                .stop
                .as_ref()
                .is_some_and(|f| f.load(Ordering::Relaxed))
            {
                return Err(RecordError::Stopped);
            }
            let now = Instant::now();
            if now >= due {
                return Ok(Duration::ZERO);
            }
            let left = due - now;
            std::thread::sleep(if self.stop.is_some() {
                left.min(STOP_POLL)
            } else {
                left
            });
        }
    }

    fn rewrite_topic(&self, topic: &Bytes) -> Bytes {
        for (from, to) in &self.options.source_id_rewrite {
            if topic[..] == *from.as_bytes() {
                return Bytes::from(to.clone().into_bytes());
            }
        }
        topic.clone()
    }

    /// Applies the rewrites; true when something changed.
    fn rewrite(&mut self, m: &mut Message) -> bool {
        let mut changed = false;
        if !self.options.source_id_rewrite.is_empty() {
            let rules = &self.options.source_id_rewrite;
            let mut apply = |id: &mut String| {
                if let Some((_, to)) = rules.iter().find(|(from, _)| from == id) {
                    id.clone_from(to);
                    changed = true;
                }
            };
            match &mut m.payload {
                MessagePayload::VideoFrame(f) => apply(&mut f.source_id),
                MessagePayload::VideoFrameBatch(b) => {
                    b.frames.values_mut().for_each(|f| apply(&mut f.source_id))
                }
                MessagePayload::UserData(u) => apply(&mut u.source_id),
                MessagePayload::EndOfStream(e) => apply(&mut e.source_id),
                _ => {}
            }
        }
        if self.options.new_trace_ids {
            for (key, value) in m.propagated_context.iter_mut() {
                let new = match key.as_str() {
                    "traceparent" => self.new_traceparent(value),
                    "uber-trace-id" => self.new_uber_trace_id(value),
                    _ => None,
                };
                if let Some(v) = new {
                    *value = v;
                    changed = true;
                }
            }
        }
        changed
    }

    fn new_trace_id(&mut self, old: &str) -> String {
        if let Some(id) = self.traces.get(old) {
            return id.clone();
        }
        if self.traces.len() >= TRACE_MAP_CAPACITY {
            self.traces.clear();
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.traces.insert(old.to_string(), id.clone());
        id
    }

    /// `00-TRACE-SPAN-FLAGS` with a new TRACE.
    fn new_traceparent(&mut self, v: &str) -> Option<String> {
        let mut parts: Vec<&str> = v.split('-').collect();
        if parts.len() != 4 || parts[1].len() != 32 {
            return None;
        }
        let id = self.new_trace_id(parts[1]);
        parts[1] = &id;
        Some(parts.join("-"))
    }

    /// `TRACE:SPAN:PARENT:FLAGS` with a new TRACE.
    fn new_uber_trace_id(&mut self, v: &str) -> Option<String> {
        let mut parts: Vec<&str> = v.split(':').collect();
        if parts.len() != 4 || parts[0].is_empty() {
            return None;
        }
        let id = self.new_trace_id(parts[0]);
        parts[0] = &id;
        Some(parts.join(":"))
    }
}
