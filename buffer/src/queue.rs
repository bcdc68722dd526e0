//! The persistent queue: messages in one redb table keyed by a sequence
//! number (one FIFO for every source, so each source's order is kept),
//! with Savant's admission rule (frames refused when full, with
//! hysteresis; service messages in a reserve of their own).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::{BufferError, Result};

const MESSAGES: TableDefinition<u64, &[u8]> = TableDefinition::new("messages");

/// The first byte of every stored record: its layout version.
const RECORD_VERSION: u8 = 1;

/// What a message is, for the admission rule and the output's
/// acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A video frame: refused when the buffer is full.
    Frame,
    /// An end of stream: a service message, and acknowledged over dealer.
    Eos,
    /// Any other message (shutdown, user data, updates, batches, unknown):
    /// a service message.
    Service,
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Kind::Frame => 0,
            Kind::Eos => 1,
            Kind::Service => 2,
        }
    }

    fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            0 => Kind::Frame,
            1 => Kind::Eos,
            2 => Kind::Service,
            _ => return None,
        })
    }

    /// Whether it is stored in the service reserve when the buffer is full.
    pub fn is_service(self) -> bool {
        self != Kind::Frame
    }
}

/// A message as it is stored and sent on: the topic, the encoded message
/// part exactly as it arrived, and the extra parts (frame content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Frame, EOS or another service message.
    pub kind: Kind,
    /// Part 0, the topic.
    pub topic: Bytes,
    /// Part 1, the encoded message (never re-encoded).
    pub message: Bytes,
    /// Parts 2 and later.
    pub extra: Vec<Bytes>,
}

impl StoredMessage {
    /// The record's bytes: version, kind, then each part as a 32-bit
    /// little-endian length and its bytes (topic, message, the number of
    /// extra parts, each extra part).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.push(RECORD_VERSION);
        out.push(self.kind.code());
        let mut put = |b: &[u8]| {
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            out.extend_from_slice(b);
        };
        put(&self.topic);
        put(&self.message);
        out.extend_from_slice(&(self.extra.len() as u32).to_le_bytes());
        for p in &self.extra {
            out.extend_from_slice(&(p.len() as u32).to_le_bytes());
            out.extend_from_slice(p);
        }
        out
    }

    /// The length of [`StoredMessage::encode`]'s bytes, without making them.
    pub fn encoded_len(&self) -> usize {
        let parts = 2 + self.extra.len();
        let body: usize = self.topic.len()
            + self.message.len()
            + self.extra.iter().map(Bytes::len).sum::<usize>();
        2 + 4 * (parts + 1) + body
    }

    /// Reads a record written by [`StoredMessage::encode`]; the parts are
    /// slices of `bytes`, not copies.
    pub fn decode(bytes: &Bytes) -> std::result::Result<Self, String> {
        let mut r = Cursor { b: bytes, at: 0 };
        let version = r.byte()?;
        if version != RECORD_VERSION {
            return Err(format!(
                "record layout {version}, expected {RECORD_VERSION}"
            ));
        }
        let kind = Kind::from_code(r.byte()?).ok_or("unknown kind")?;
        let topic = bytes.slice_ref(r.part()?);
        let message = bytes.slice_ref(r.part()?);
        let n = r.u32()? as usize;
        let mut extra = Vec::with_capacity(n.min(16));
        for _ in 0..n {
            extra.push(bytes.slice_ref(r.part()?));
        }
        if r.at != bytes.len() {
            return Err(format!("{} bytes after the record", bytes.len() - r.at));
        }
        Ok(Self {
            kind,
            topic,
            message,
            extra,
        })
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or("truncated record")?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn byte(&mut self) -> std::result::Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> std::result::Result<u32, String> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn part(&mut self) -> std::result::Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// Savant's admission rule. A frame is stored while fewer than `capacity`
/// messages are queued; when the queue reaches `capacity` the buffer is
/// full and refuses frames until it has drained to `threshold` or below
/// (hysteresis). Service messages (EOS, shutdown, everything that is not a
/// frame) are stored while fewer than `capacity + reserve` are queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    capacity: u64,
    reserve: u64,
    threshold: u64,
    full: bool,
}

impl Admission {
    /// `threshold_percent` of `capacity` is where a full buffer takes
    /// frames again (Savant's `BUFFER_THRESHOLD_PERCENTAGE`, 80).
    pub fn new(capacity: u64, reserve: u64, threshold_percent: u8) -> Self {
        let threshold = capacity * u64::from(threshold_percent.min(100)) / 100;
        Self {
            capacity,
            reserve,
            threshold,
            full: false,
        }
    }

    /// Whether a message of `kind` is stored when `len` are queued; a
    /// refused frame marks the buffer full.
    pub fn admit(&mut self, len: u64, kind: Kind) -> bool {
        if kind.is_service() {
            return len < self.capacity + self.reserve;
        }
        if self.full {
            if len > self.threshold {
                return false;
            }
            self.full = false;
            tracing::info!(
                queued = len,
                threshold = self.threshold,
                "buffer drained to its threshold: taking frames again"
            );
        }
        if len >= self.capacity {
            self.full = true;
            tracing::warn!(
                queued = len,
                capacity = self.capacity,
                "buffer full: refusing frames until it drains to the threshold"
            );
            return false;
        }
        true
    }

    /// Whether frames are being refused.
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// The queue length at which a full buffer takes frames again.
    pub fn threshold(&self) -> u64 {
        self.threshold
    }
}

#[derive(Debug)]
struct State {
    len: u64,
    payload: u64,
    next_key: u64,
    admission: Admission,
    /// Removals committed without fsync since the last durable commit.
    unsynced_removals: u64,
}

/// The queue on disk. One thread pushes ([`PersistentQueue::push`]), one
/// reads and removes; both may share it (`&self`).
pub struct PersistentQueue {
    db: Database,
    path: PathBuf,
    state: Mutex<State>,
}

impl std::fmt::Debug for PersistentQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistentQueue")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The queue's file inside the buffer's directory.
pub const STORE_FILE: &str = "buffer.redb";

impl PersistentQueue {
    /// Opens (or creates) the queue in `dir`, keeping what a previous run
    /// left (redb repairs a file whose writer was killed on open); with
    /// `reset` every queued message is dropped first.
    pub fn open(dir: &Path, admission: Admission, reset: bool) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| BufferError::Io {
            what: "cannot create the buffer directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(STORE_FILE);
        let store = |what: &'static str| {
            let path = path.clone();
            move |e: redb::Error| BufferError::Store {
                path,
                what,
                source: Box::new(e),
            }
        };
        let db = Database::create(&path).map_err(|e| store("open")(e.into()))?;
        let (mut len, mut payload, mut next_key) = (0u64, 0u64, 0u64);
        {
            let tx = db.begin_write().map_err(|e| store("begin")(e.into()))?;
            if reset {
                tx.delete_table(MESSAGES)
                    .map_err(|e| store("reset")(e.into()))?;
            }
            {
                let table = tx
                    .open_table(MESSAGES)
                    .map_err(|e| store("open table")(e.into()))?;
                for entry in table.iter().map_err(|e| store("read")(e.into()))? {
                    let (k, v) = entry.map_err(|e| store("read")(e.into()))?;
                    len += 1;
                    payload += v.value().len() as u64;
                    next_key = k.value() + 1;
                }
            }
            tx.commit().map_err(|e| store("commit")(e.into()))?;
        }
        let mut admission = admission;
        admission.full = len >= admission.capacity;
        Ok(Self {
            db,
            path,
            state: Mutex::new(State {
                len,
                payload,
                next_key,
                admission,
                unsynced_removals: 0,
            }),
        })
    }

    fn err(&self, what: &'static str) -> impl Fn(redb::Error) -> BufferError + '_ {
        move |e| BufferError::Store {
            path: self.path.clone(),
            what,
            source: Box::new(e),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Messages queued.
    pub fn len(&self) -> u64 {
        self.state().len
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the queued records.
    pub fn payload_size(&self) -> u64 {
        self.state().payload
    }

    /// Whether frames are being refused: full, and not yet drained to
    /// the threshold (the next frame after that is taken).
    pub fn is_full(&self) -> bool {
        let st = self.state();
        st.admission.is_full() && st.len > st.admission.threshold()
    }

    /// Stores the messages the admission rule takes, in one transaction
    /// made durable (fsync) before this returns: a group commit. Returns,
    /// per message, whether it was stored.
    pub fn push(&self, messages: &[StoredMessage]) -> Result<Vec<bool>> {
        let mut taken = Vec::with_capacity(messages.len());
        let mut records = Vec::with_capacity(messages.len());
        {
            // counted before the commit: the egress may read and remove
            // them as soon as it is done (a failed commit stops the buffer)
            let mut st = self.state();
            for m in messages {
                let len = st.len;
                let ok = st.admission.admit(len, m.kind);
                taken.push(ok);
                if ok {
                    st.len += 1;
                    st.payload += m.encoded_len() as u64;
                    records.push((st.next_key, m));
                    st.next_key += 1;
                }
            }
        }
        // encoded outside the lock the egress takes too
        let records: Vec<(u64, Vec<u8>)> =
            records.into_iter().map(|(k, m)| (k, m.encode())).collect();
        if records.is_empty() {
            return Ok(taken);
        }
        let tx = self
            .db
            .begin_write()
            .map_err(|e| self.err("begin")(e.into()))?;
        {
            let mut table = tx
                .open_table(MESSAGES)
                .map_err(|e| self.err("open table")(e.into()))?;
            for (k, v) in &records {
                table
                    .insert(*k, v.as_slice())
                    .map_err(|e| self.err("insert")(e.into()))?;
            }
        }
        tx.commit().map_err(|e| self.err("commit")(e.into()))?;
        // a durable commit persists the removals before it
        self.state().unsynced_removals = 0;
        Ok(taken)
    }

    /// Up to `max` queued messages from key `from` on, oldest first.
    pub fn read_from(&self, from: u64, max: usize) -> Result<Vec<(u64, StoredMessage)>> {
        let tx = self
            .db
            .begin_read()
            .map_err(|e| self.err("begin read")(e.into()))?;
        let table = match tx.open_table(MESSAGES) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(self.err("open table")(e.into())),
        };
        let mut out = Vec::new();
        for entry in table
            .range(from..)
            .map_err(|e| self.err("read")(e.into()))?
            .take(max)
        {
            let (k, v) = entry.map_err(|e| self.err("read")(e.into()))?;
            let key = k.value();
            // one copy out of the store's page per record; the parts are
            // slices of it
            let record = Bytes::copy_from_slice(v.value());
            let m = StoredMessage::decode(&record).map_err(|detail| BufferError::Damaged {
                path: self.path.clone(),
                key,
                detail,
            })?;
            out.push((key, m));
        }
        Ok(out)
    }

    /// The oldest queued message.
    pub fn first(&self) -> Result<Option<(u64, StoredMessage)>> {
        Ok(self.read_from(0, 1)?.pop())
    }

    /// Removes messages that were sent on, in one transaction committed
    /// without fsync (the next durable commit persists it): after a crash
    /// messages removed just before may come back and be sent again
    /// (at-least-once), never the other way round.
    pub fn remove(&self, keys: &[u64]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut tx = self
            .db
            .begin_write()
            .map_err(|e| self.err("begin")(e.into()))?;
        tx.set_durability(Durability::None)
            .map_err(|e| self.err("set durability")(e.into()))?;
        let (mut count, mut bytes) = (0u64, 0u64);
        {
            let mut table = tx
                .open_table(MESSAGES)
                .map_err(|e| self.err("open table")(e.into()))?;
            for &key in keys {
                if let Some(v) = table
                    .remove(key)
                    .map_err(|e| self.err("remove")(e.into()))?
                {
                    count += 1;
                    bytes += v.value().len() as u64;
                }
            }
        }
        tx.commit().map_err(|e| self.err("commit")(e.into()))?;
        let mut st = self.state();
        st.len = st.len.saturating_sub(count);
        st.payload = st.payload.saturating_sub(bytes);
        st.unsynced_removals += count;
        Ok(())
    }

    /// Removals since the last durable commit.
    pub fn unsynced_removals(&self) -> u64 {
        self.state().unsynced_removals
    }

    /// Makes the removals so far durable (an empty commit with fsync).
    pub fn sync(&self) -> Result<()> {
        let tx = self
            .db
            .begin_write()
            .map_err(|e| self.err("begin")(e.into()))?;
        tx.commit().map_err(|e| self.err("commit")(e.into()))?;
        self.state().unsynced_removals = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: Kind, i: u32) -> StoredMessage {
        StoredMessage {
            kind,
            topic: Bytes::from(format!("cam-{}", i % 3)),
            message: Bytes::from(i.to_le_bytes().to_vec()),
            extra: if kind == Kind::Frame {
                vec![Bytes::from(vec![i as u8; 300]), Bytes::new()]
            } else {
                vec![]
            },
        }
    }

    #[test]
    fn records_round_trip_and_damage_is_caught() {
        for kind in [Kind::Frame, Kind::Eos, Kind::Service] {
            let m = msg(kind, 7);
            let bytes = m.encode();
            assert_eq!(bytes.len(), m.encoded_len());
            let record = Bytes::from(bytes.clone());
            assert_eq!(StoredMessage::decode(&record).unwrap(), m);
            assert!(StoredMessage::decode(&record.slice(..record.len() - 1)).is_err());
            let mut longer = bytes;
            longer.push(0);
            assert!(StoredMessage::decode(&Bytes::from(longer)).is_err());
        }
        assert!(StoredMessage::decode(&Bytes::from_static(&[9, 0])).is_err());
        assert!(StoredMessage::decode(&Bytes::from_static(&[RECORD_VERSION, 7])).is_err());
    }

    #[test]
    fn admission_refuses_frames_when_full_with_hysteresis_and_keeps_a_reserve() {
        let mut a = Admission::new(10, 3, 80);
        assert_eq!(a.threshold(), 8);
        for len in 0..10 {
            assert!(a.admit(len, Kind::Frame), "{len}");
        }
        assert!(!a.admit(10, Kind::Frame));
        assert!(a.is_full());
        // service messages use the reserve: 10, 11, 12 queued are fine, 13 not
        assert!(a.admit(10, Kind::Eos));
        assert!(a.admit(12, Kind::Service));
        assert!(!a.admit(13, Kind::Eos));
        // hysteresis: draining to 9 is not enough, 8 is
        assert!(!a.admit(9, Kind::Frame));
        assert!(a.is_full());
        assert!(a.admit(8, Kind::Frame));
        assert!(!a.is_full());
        assert!(a.admit(9, Kind::Frame));
        assert!(!a.admit(10, Kind::Frame));
        // 100 %: no hysteresis; 0 %: frames again only when empty
        let mut none = Admission::new(4, 0, 100);
        assert!(!none.admit(4, Kind::Frame));
        assert!(none.admit(3, Kind::Frame));
        let mut empty = Admission::new(4, 0, 0);
        assert!(!empty.admit(4, Kind::Frame));
        assert!(!empty.admit(1, Kind::Frame));
        assert!(empty.admit(0, Kind::Frame));
    }

    #[test]
    fn push_read_remove_in_order_and_the_queue_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let q = PersistentQueue::open(dir.path(), Admission::new(100, 10, 80), false).unwrap();
        let batch: Vec<_> = (0..20)
            .map(|i| msg(if i == 19 { Kind::Eos } else { Kind::Frame }, i))
            .collect();
        assert!(q.push(&batch).unwrap().iter().all(|&t| t));
        assert_eq!(q.len(), 20);
        let payload: u64 = batch.iter().map(|m| m.encode().len() as u64).sum();
        assert_eq!(q.payload_size(), payload);
        let head = q.read_from(0, 5).unwrap();
        assert_eq!(head.len(), 5);
        assert_eq!(
            head.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>(),
            batch[..5].to_vec()
        );
        let keys: Vec<u64> = head.iter().map(|(k, _)| *k).collect();
        q.remove(&keys[..2]).unwrap();
        q.remove(&keys[2..]).unwrap();
        q.remove(&keys[..1]).unwrap(); // already gone: nothing
        assert_eq!(q.unsynced_removals(), 5);
        q.sync().unwrap();
        assert_eq!(q.unsynced_removals(), 0);
        // reading on from a cursor
        let next = q.read_from(head[4].0 + 1, 100).unwrap();
        assert_eq!(next.len(), 15);
        drop(q);
        // reopened: the same 15, in order, and new keys after them
        let q = PersistentQueue::open(dir.path(), Admission::new(100, 10, 80), false).unwrap();
        assert_eq!(q.len(), 15);
        let all = q.read_from(0, 100).unwrap();
        assert_eq!(
            all.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>(),
            batch[5..].to_vec()
        );
        q.push(&[msg(Kind::Frame, 99)]).unwrap();
        let all = q.read_from(0, 100).unwrap();
        assert_eq!(all.last().unwrap().1, msg(Kind::Frame, 99));
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
        drop(q);
        // reset drops everything
        let q = PersistentQueue::open(dir.path(), Admission::new(100, 10, 80), true).unwrap();
        assert!(q.is_empty());
        assert_eq!(q.first().unwrap(), None);
    }

    #[test]
    fn a_full_queue_refuses_frames_keeps_eos_and_reopens_full() {
        let dir = tempfile::tempdir().unwrap();
        let q = PersistentQueue::open(dir.path(), Admission::new(5, 2, 60), false).unwrap();
        let frames: Vec<_> = (0..8).map(|i| msg(Kind::Frame, i)).collect();
        let taken = q.push(&frames).unwrap();
        assert_eq!(taken, [true, true, true, true, true, false, false, false]);
        assert!(q.is_full());
        assert_eq!(
            q.push(&[msg(Kind::Eos, 0), msg(Kind::Service, 1), msg(Kind::Eos, 2)])
                .unwrap(),
            [true, true, false]
        );
        assert_eq!(q.len(), 7);
        drop(q);
        let q = PersistentQueue::open(dir.path(), Admission::new(5, 2, 60), false).unwrap();
        assert!(q.is_full(), "a queue reopened at capacity refuses frames");
        assert_eq!(q.push(&[msg(Kind::Frame, 9)]).unwrap(), [false]);
        // drained to the threshold (3): frames again
        let keys: Vec<u64> = q.read_from(0, 4).unwrap().iter().map(|(k, _)| *k).collect();
        q.remove(&keys).unwrap();
        assert_eq!(q.len(), 3);
        assert_eq!(q.push(&[msg(Kind::Frame, 10)]).unwrap(), [true]);
        assert!(!q.is_full());
    }
}
