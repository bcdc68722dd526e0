//! [`DumpReader`]: the records of a dump, segment after segment.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::{RecordError, Result};
use crate::format::{decode, Bad, DumpRecord};

/// What [`DumpReader`] gives: a record, or a damaged stretch it skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpItem {
    /// The next record.
    Record(DumpRecord),
    /// The rest of a segment, from `offset` on, could not be read and was
    /// skipped; reading goes on with the next segment.
    Damaged {
        /// The segment.
        segment: PathBuf,
        /// Where the unreadable record starts.
        offset: u64,
        /// Bytes skipped (to the end of the segment).
        skipped: u64,
        /// True when the segment ends inside the record (a writer that
        /// died mid-write); false when the bytes are not a record.
        truncated: bool,
        /// What was wrong.
        detail: String,
    },
}

struct Open {
    path: PathBuf,
    file: BufReader<File>,
    size: u64,
    offset: u64,
}

/// Reads the records of a message dump in order: Savant's or ours.
///
/// [`DumpReader::open`] takes a directory (its `*.msgpack` files in name
/// order, which is time order for both Savant's and our names), a
/// playlist file (Savant's player input: segment paths one a line) or one
/// segment file. A record cut short at the end of a segment (a crash
/// mid-write) or bytes that are not a record are reported as
/// [`DumpItem::Damaged`] and the rest of that segment skipped; this is
/// never fatal. Only a segment that cannot be opened or read is an error.
pub struct DumpReader {
    segments: Vec<PathBuf>,
    next: usize,
    open: Option<Open>,
}

impl std::fmt::Debug for DumpReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpReader")
            .field("segments", &self.segments)
            .field("next", &self.next)
            .finish()
    }
}

impl DumpReader {
    /// The dump at `path`: a directory, a playlist or a segment file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let meta = std::fs::metadata(path).map_err(|source| RecordError::Io {
            what: "cannot open",
            path: path.to_path_buf(),
            source,
        })?;
        let segments = if meta.is_dir() {
            let mut v = Vec::new();
            let rd = std::fs::read_dir(path).map_err(|source| RecordError::Io {
                what: "cannot list",
                path: path.to_path_buf(),
                source,
            })?;
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "msgpack") && p.is_file() {
                    v.push(p);
                }
            }
            v.sort();
            v
        } else if path.extension().is_some_and(|x| x == "msgpack") {
            vec![path.to_path_buf()]
        } else {
            Self::playlist(path)?
        };
        if segments.is_empty() {
            return Err(RecordError::NoSegments(path.to_path_buf()));
        }
        Ok(Self::from_segments(segments))
    }

    /// The segments listed in a playlist, one path a line (relative paths
    /// from the playlist's directory).
    fn playlist(path: &Path) -> Result<Vec<PathBuf>> {
        let text = std::fs::read_to_string(path).map_err(|source| RecordError::Io {
            what: "cannot read",
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| base.join(l))
            .collect())
    }

    /// Reads these segments, in this order.
    pub fn from_segments(segments: Vec<PathBuf>) -> Self {
        Self {
            segments,
            next: 0,
            open: None,
        }
    }

    /// The segments, in reading order.
    pub fn segments(&self) -> &[PathBuf] {
        &self.segments
    }

    /// Only the records: damaged stretches are logged (a warning) and
    /// skipped.
    pub fn records(self) -> impl Iterator<Item = Result<DumpRecord>> {
        self.filter_map(|item| match item {
            Ok(DumpItem::Record(r)) => Some(Ok(r)),
            Ok(DumpItem::Damaged {
                segment,
                offset,
                detail,
                ..
            }) => {
                tracing::warn!(segment = %segment.display(), offset, "skipping: {detail}");
                None
            }
            Err(e) => Some(Err(e)),
        })
    }

    fn open_next(&mut self) -> Result<bool> {
        let Some(path) = self.segments.get(self.next).cloned() else {
            return Ok(false);
        };
        self.next += 1;
        let err = |what, source| RecordError::Io {
            what,
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(|e| err("cannot open", e))?;
        let size = file.metadata().map_err(|e| err("cannot open", e))?.len();
        self.open = Some(Open {
            file: BufReader::with_capacity(256 * 1024, file),
            path,
            size,
            offset: 0,
        });
        Ok(true)
    }
}

/// Counts what is read through it.
struct Counted<'a, R> {
    inner: &'a mut R,
    n: u64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        Ok(k)
    }
}

impl<R: std::io::BufRead> std::io::BufRead for Counted<'_, R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.n += amt as u64;
        self.inner.consume(amt);
    }
}

impl Iterator for DumpReader {
    type Item = Result<DumpItem>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.open.is_none() {
                match self.open_next() {
                    Ok(true) => {}
                    Ok(false) => return None,
                    Err(e) => return Some(Err(e)),
                }
            }
            let seg = self.open.as_mut()?;
            let remaining = seg.size.saturating_sub(seg.offset);
            let mut counted = Counted {
                inner: &mut seg.file,
                n: 0,
            };
            let got = decode(&mut counted, remaining);
            let start = seg.offset;
            seg.offset += counted.n;
            match got {
                Ok(Some(r)) => return Some(Ok(DumpItem::Record(r))),
                Ok(None) => {
                    self.open = None;
                }
                Err(Bad::Io(source)) => {
                    let path = seg.path.clone();
                    self.open = None;
                    return Some(Err(RecordError::Io {
                        what: "cannot read",
                        path,
                        source,
                    }));
                }
                Err(bad) => {
                    let (truncated, detail) = match bad {
                        Bad::Truncated => (
                            true,
                            format!(
                                "the segment ends inside a record ({} of its bytes are there)",
                                seg.size - start
                            ),
                        ),
                        Bad::Invalid(d) => (false, format!("not a message dump record: {d}")),
                        Bad::Io(_) => unreachable!("handled above"),
                    };
                    let item = DumpItem::Damaged {
                        segment: seg.path.clone(),
                        offset: start,
                        skipped: seg.size.saturating_sub(start),
                        truncated,
                        detail,
                    };
                    self.open = None;
                    return Some(Ok(item));
                }
            }
        }
    }
}
