//! [`MetadataJsonSink`]: frame metadata as JSON lines.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use savant_sdk_core::sink::{Sink, SinkResult};

use crate::error::{ensure_writable_dir, safe_name, SinkError};
use crate::metadata::Record;

enum Target {
    /// One `<source_id>.jsonl` per source in a folder.
    PerSource {
        dir: PathBuf,
        /// Per source id: its file's path and the file.
        files: HashMap<String, (PathBuf, BufWriter<File>)>,
    },
    /// Everything in one file (or standard output).
    One {
        path: PathBuf,
        out: Box<dyn Write + Send>,
    },
}

/// Writes one JSON line ([`Record`]) per frame and per EOS: to a file per
/// source, to one file, or to standard output.
///
/// ```no_run
/// use savant_sdk_sinks::MetadataJsonSink;
/// let per_source = MetadataJsonSink::per_source("out/meta")?; // out/meta/<source_id>.jsonl
/// let stdout = MetadataJsonSink::stdout();
/// # Ok::<(), savant_sdk_sinks::SinkError>(())
/// ```
pub struct MetadataJsonSink {
    target: Target,
    line: Vec<u8>,
}

impl std::fmt::Debug for MetadataJsonSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetadataJsonSink")
    }
}

impl MetadataJsonSink {
    /// `dir/<source_id>.jsonl` for each source; `dir` is created and
    /// checked for writing now.
    pub fn per_source(dir: impl AsRef<Path>) -> Result<Self, SinkError> {
        let dir = dir.as_ref().to_path_buf();
        ensure_writable_dir(&dir)?;
        Ok(Self {
            target: Target::PerSource {
                dir,
                files: HashMap::new(),
            },
            line: Vec::new(),
        })
    }

    /// All records in one file, created now.
    pub fn file(path: impl AsRef<Path>) -> Result<Self, SinkError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            ensure_writable_dir(parent)?;
        }
        let f = File::create(&path).map_err(|source| SinkError::Unwritable {
            path: path.clone(),
            source,
        })?;
        Ok(Self {
            target: Target::One {
                path,
                out: Box::new(BufWriter::new(f)),
            },
            line: Vec::new(),
        })
    }

    /// All records on standard output.
    pub fn stdout() -> Self {
        Self {
            target: Target::One {
                path: PathBuf::from("<stdout>"),
                out: Box::new(std::io::stdout()),
            },
            line: Vec::new(),
        }
    }

    /// Writes the record of one result (frames and EOS; other kinds are
    /// not written).
    pub fn write(&mut self, r: &SinkResult) -> Result<(), SinkError> {
        let Some(record) = Record::from_result(r) else {
            return Ok(());
        };
        self.line.clear();
        serde_json::to_writer(&mut self.line, &record).map_err(|e| SinkError::Encode {
            path: PathBuf::from("<json>"),
            detail: e.to_string(),
        })?;
        self.line.push(b'\n');
        // Paths are made once per file, not per record.
        let (out, path): (&mut dyn Write, &Path) = match &mut self.target {
            Target::One { path, out } => (out.as_mut(), path.as_path()),
            Target::PerSource { dir, files } => {
                let source_id = r.source_id();
                if !files.contains_key(source_id) {
                    let path = dir.join(format!("{}.jsonl", safe_name(source_id)));
                    let f = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .map_err(|source| SinkError::Write {
                            path: path.clone(),
                            source,
                        })?;
                    files.insert(source_id.to_string(), (path, BufWriter::new(f)));
                }
                let (path, out) = files.get_mut(source_id).expect("inserted above");
                (out, path.as_path())
            }
        };
        out.write_all(&self.line)
            .map_err(|source| SinkError::Write {
                path: path.to_path_buf(),
                source,
            })?;
        if r.is_end_of_stream() {
            out.flush().map_err(|source| SinkError::Write {
                path: path.to_path_buf(),
                source,
            })?;
        }
        Ok(())
    }

    /// Flushes everything written so far.
    pub fn flush(&mut self) -> Result<(), SinkError> {
        match &mut self.target {
            Target::One { path, out } => out.flush().map_err(|source| SinkError::Write {
                path: path.clone(),
                source,
            }),
            Target::PerSource { dir, files } => {
                for (_, f) in files.values_mut() {
                    f.flush().map_err(|source| SinkError::Write {
                        path: dir.clone(),
                        source,
                    })?;
                }
                Ok(())
            }
        }
    }
}

#[async_trait]
impl Sink for MetadataJsonSink {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_core::Result<()> {
        self.write(&result)?;
        // inside the runner's span of the result: joins the frame's trace
        tracing::debug!(source_id = %result.source_id(), kind = result.kind(), "metadata record written");
        Ok(())
    }

    async fn finish(&mut self) -> savant_sdk_core::Result<()> {
        Ok(self.flush()?)
    }

    fn name(&self) -> &str {
        "metadata-json"
    }
}
