//! [`DumpWriter`]: records into rotating segment files.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{RecordError, Result};
use crate::format::DumpRecord;

/// The playlist [`DumpWriter`] keeps beside its segments: their paths, one
/// a line, what Savant's message dump player takes as `PLAYLIST_PATH`.
pub const PLAYLIST: &str = "playlist.txt";

/// When a [`DumpWriter`] starts a new segment. A record is never split:
/// a segment may pass `max_bytes` by the one record that starts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentPolicy {
    /// Start a new segment before a record that would take the current one
    /// past this many bytes.
    pub max_bytes: u64,
    /// Start a new segment after this many records.
    pub max_messages: Option<u64>,
    /// Start a new segment when the current one is this old (Savant's
    /// buffer adapter rotates every 60 s).
    pub max_duration: Option<Duration>,
}

impl Default for SegmentPolicy {
    /// 64 MiB segments, no count or age limit.
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            max_messages: None,
            max_duration: None,
        }
    }
}

struct Segment {
    path: PathBuf,
    file: BufWriter<File>,
    bytes: u64,
    messages: u64,
    opened: Instant,
}

/// Writes [`DumpRecord`]s into segment files of a directory, in the layout
/// of Savant's message dumps: each segment is msgpack records one after
/// the other, with no header.
///
/// Segments are named `dump-YYYY-MM-DD-HH-MM-SS-NNNNNN.msgpack` (UTC time
/// the segment was opened, then this writer's segment number), so that
/// their names sort in time order, like Savant's
/// `dump-%Y-%m-%d-%H-%M-%S.msgpack`. Each new segment is also appended to
/// [`PLAYLIST`] in the directory.
///
/// Durability: every record is handed to the OS as soon as it is written
/// (a killed process loses at most the record it was writing, which the
/// reader then reports as truncated); a segment is fsync'd when it is
/// closed (at rotation and at [`DumpWriter::finish`]), and the directory
/// when a segment is created. A power loss may lose what the OS had not
/// yet written of the open segment.
///
/// ```
/// use bytes::Bytes;
/// use savant_sdk_record::{DumpReader, DumpRecord, DumpWriter, SegmentPolicy};
/// let dir = tempfile::tempdir()?;
/// let mut w = DumpWriter::create(dir.path(), SegmentPolicy::default())?;
/// w.write(&DumpRecord {
///     time_ns: DumpRecord::now_ns(),
///     topic: Bytes::from_static(b"cam-1"),
///     message: Bytes::from_static(b"encoded message"),
///     content: Bytes::from_static(b"jpeg"),
/// })?;
/// w.finish()?;
/// let records: Vec<_> = DumpReader::open(dir.path())?.records().collect::<Result<_, _>>()?;
/// assert_eq!(records[0].topic, Bytes::from_static(b"cam-1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DumpWriter {
    dir: PathBuf,
    policy: SegmentPolicy,
    current: Option<Segment>,
    next_number: u64,
    buf: Vec<u8>,
    segments: Vec<PathBuf>,
    records: u64,
}

impl std::fmt::Debug for DumpWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpWriter")
            .field("dir", &self.dir)
            .field("policy", &self.policy)
            .field("segments", &self.segments.len())
            .finish()
    }
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> RecordError + 'a {
    move |source| RecordError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

impl DumpWriter {
    /// Creates `dir` (and its parents) if needed. No file is made before
    /// the first record.
    pub fn create(dir: impl AsRef<Path>, policy: SegmentPolicy) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        if policy.max_bytes == 0 || policy.max_messages == Some(0) {
            return Err(RecordError::InvalidOption(
                "segment limits must be above 0".into(),
            ));
        }
        std::fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
        Ok(Self {
            dir,
            policy,
            current: None,
            next_number: 0,
            buf: Vec::with_capacity(1024),
            segments: Vec::new(),
            records: 0,
        })
    }

    /// The segment files written so far, in order.
    pub fn segments(&self) -> &[PathBuf] {
        &self.segments
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Appends one record, first starting a new segment if the policy
    /// says so.
    pub fn write(&mut self, record: &DumpRecord) -> Result<()> {
        self.buf.clear();
        record.encode(&mut self.buf)?;
        let len = self.buf.len() as u64;
        let rotate = match &self.current {
            None => true,
            Some(s) => {
                s.messages > 0
                    && (s.bytes + len > self.policy.max_bytes
                        || self.policy.max_messages.is_some_and(|m| s.messages >= m)
                        || self
                            .policy
                            .max_duration
                            .is_some_and(|d| s.opened.elapsed() >= d))
            }
        };
        if rotate {
            self.close_current()?;
            self.open_segment()?;
        }
        let Some(seg) = self.current.as_mut() else {
            unreachable!("a segment was just opened");
        };
        seg.file
            .write_all(&self.buf)
            .and_then(|()| seg.file.flush())
            .map_err(io("cannot write", &seg.path))?;
        seg.bytes += len;
        seg.messages += 1;
        self.records += 1;
        Ok(())
    }

    /// Closes (and fsyncs) the open segment; returns every segment written.
    pub fn finish(mut self) -> Result<Vec<PathBuf>> {
        self.close_current()?;
        Ok(std::mem::take(&mut self.segments))
    }

    fn close_current(&mut self) -> Result<()> {
        if let Some(mut seg) = self.current.take() {
            seg.file.flush().map_err(io("cannot write", &seg.path))?;
            seg.file
                .get_ref()
                .sync_all()
                .map_err(io("cannot sync", &seg.path))?;
        }
        Ok(())
    }

    fn open_segment(&mut self) -> Result<()> {
        // a name another writer took in the same second: the next number
        let (path, file) = loop {
            let name = format!(
                "dump-{}-{:06}.msgpack",
                utc_stamp(DumpRecord::now_ns() / 1_000_000_000),
                self.next_number
            );
            self.next_number += 1;
            let path = self.dir.join(name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io("cannot create", &path)(e)),
            }
        };
        // the new name durable in the directory
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        let playlist = self.dir.join(PLAYLIST);
        let listed = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&playlist)
            .and_then(|mut f| writeln!(f, "{}", listed.display()))
            .map_err(io("cannot write", &playlist))?;
        tracing::info!(segment = %path.display(), "new message dump segment");
        self.segments.push(path.clone());
        self.current = Some(Segment {
            path,
            file: BufWriter::with_capacity(256 * 1024, file),
            bytes: 0,
            messages: 0,
            opened: Instant::now(),
        });
        Ok(())
    }
}

impl Drop for DumpWriter {
    /// Flushes the open segment (errors are logged; call
    /// [`DumpWriter::finish`] to see them).
    fn drop(&mut self) {
        if let Err(e) = self.close_current() {
            tracing::warn!("closing the message dump: {e}");
        }
    }
}

/// `YYYY-MM-DD-HH-MM-SS` (UTC) of UNIX time `secs`.
fn utc_stamp(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}-{:02}-{:02}-{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "1970-01-01-00-00-00");
        assert_eq!(utc_stamp(951_782_400), "2000-02-29-00-00-00");
        assert_eq!(utc_stamp(1_764_610_203), "2025-12-01-17-30-03");
    }
}
