//! [`ImageFilesSink`]: every received image frame as a file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use savant_sdk_core::sink::{Sink, SinkResult};

use crate::error::{ensure_writable_dir, pts_name, safe_name, SinkError};

/// The file extension for image codecs; `None` for anything that is not a
/// still image (video access units are not written as images).
pub fn image_extension(codec: Option<&str>) -> Option<&'static str> {
    match codec? {
        "jpeg" | "jpg" => Some("jpeg"),
        "png" => Some("png"),
        _ => None,
    }
}

/// Writes each received frame's content to `DIR/<source_id>/<pts>.<ext>`
/// (pts zero-padded to 20 digits, extension from the codec). Frames whose
/// content is not an image are skipped with a warning. At EOS the source's
/// folder gets `index.txt`, the files written since the last EOS, in order.
///
/// ```no_run
/// use savant_sdk_sinks::ImageFilesSink;
/// let sink = ImageFilesSink::new("out/images")?.keyframes_only(true);
/// # Ok::<(), savant_sdk_sinks::SinkError>(())
/// ```
#[derive(Debug)]
pub struct ImageFilesSink {
    dir: PathBuf,
    keyframes_only: bool,
    written: HashMap<String, Vec<String>>,
    skipped: u64,
}

impl ImageFilesSink {
    /// Writes under `dir`, which is created and checked for writing now.
    pub fn new(dir: impl AsRef<Path>) -> Result<Self, SinkError> {
        let dir = dir.as_ref().to_path_buf();
        ensure_writable_dir(&dir)?;
        Ok(Self {
            dir,
            keyframes_only: false,
            written: HashMap::new(),
            skipped: 0,
        })
    }

    /// Only write keyframes.
    pub fn keyframes_only(mut self, on: bool) -> Self {
        self.keyframes_only = on;
        self
    }

    /// Frames not written (not images, no content, not keyframes).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    fn write(&mut self, r: &SinkResult) -> Result<(), SinkError> {
        let Some(frame) = r.frame() else {
            return Ok(());
        };
        if self.keyframes_only && frame.keyframe != Some(true) {
            self.skipped += 1;
            return Ok(());
        }
        let (Some(ext), Some(content)) = (image_extension(frame.codec.as_deref()), &r.content)
        else {
            tracing::warn!(source_id = %frame.source_id, pts = frame.pts, codec = ?frame.codec, "frame content is not an image; not written");
            self.skipped += 1;
            return Ok(());
        };
        let folder = self.dir.join(safe_name(&frame.source_id));
        std::fs::create_dir_all(&folder).map_err(|source| SinkError::Write {
            path: folder.clone(),
            source,
        })?;
        let name = pts_name(frame.pts, ext);
        let path = folder.join(&name);
        std::fs::write(&path, content).map_err(|source| SinkError::Write { path, source })?;
        self.written
            .entry(frame.source_id.clone())
            .or_default()
            .push(name);
        Ok(())
    }

    fn end(&mut self, source_id: &str) -> Result<(), SinkError> {
        let names = self.written.remove(source_id).unwrap_or_default();
        let folder = self.dir.join(safe_name(source_id));
        std::fs::create_dir_all(&folder).map_err(|source| SinkError::Write {
            path: folder.clone(),
            source,
        })?;
        let path = folder.join("index.txt");
        let mut text = names.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        std::fs::write(&path, text).map_err(|source| SinkError::Write { path, source })
    }
}

#[async_trait]
impl Sink for ImageFilesSink {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_core::Result<()> {
        if result.is_end_of_stream() {
            self.end(result.source_id())?;
        } else {
            self.write(&result)?;
        }
        Ok(())
    }

    fn name(&self) -> &str {
        "image-files"
    }
}
