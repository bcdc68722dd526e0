//! [`ImageFilesSink`]: every received image frame as a file.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use savant_sdk_core::sink::{Sink, SinkResult};

use crate::error::{ensure_writable_dir, pts_name, safe_name, SinkError};
use crate::skipped::{create_new, SkipReason, Skipped};

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
/// (pts zero-padded to 20 digits, extension from the codec). Frames of a
/// codec that is not a still image (H.264 and other video), without
/// content, or not keyframes under [`ImageFilesSink::keyframes_only`] are
/// skipped and counted, with one warning per source and codec. A file is
/// never replaced: a name already taken (the same pts twice, or an earlier
/// run's file) gets `-1`, `-2`, ... and a warning, once per source. At EOS
/// the source's folder gets `index.txt`, the files written since the last
/// EOS, in order (none for a source that sent no image).
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
    skipped: Skipped,
    /// Sources warned about a name already taken (until their EOS).
    renamed_warned: HashSet<String>,
    renamed: u64,
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
            skipped: Skipped::default(),
            renamed_warned: HashSet::new(),
            renamed: 0,
        })
    }

    /// Only write keyframes.
    pub fn keyframes_only(mut self, on: bool) -> Self {
        self.keyframes_only = on;
        self
    }

    /// Frames not written (not images, no content, not keyframes).
    pub fn skipped(&self) -> u64 {
        self.skipped.total()
    }

    /// Files written under another name because theirs was taken.
    pub fn renamed(&self) -> u64 {
        self.renamed
    }

    fn write(&mut self, r: &SinkResult) -> Result<(), SinkError> {
        let Some(frame) = r.frame() else {
            return Ok(());
        };
        let codec = frame.codec.as_deref();
        let Some(ext) = image_extension(codec) else {
            self.skipped
                .record("image-files", &frame.source_id, codec, SkipReason::Codec);
            return Ok(());
        };
        if self.keyframes_only && frame.keyframe != Some(true) {
            self.skipped.record(
                "image-files",
                &frame.source_id,
                codec,
                SkipReason::NotKeyframe,
            );
            return Ok(());
        }
        let Some(content) = r.content.as_ref().filter(|c| !c.is_empty()) else {
            self.skipped.record(
                "image-files",
                &frame.source_id,
                codec,
                SkipReason::NoContent,
            );
            return Ok(());
        };
        let folder = self.dir.join(safe_name(&frame.source_id));
        std::fs::create_dir_all(&folder).map_err(|source| SinkError::Write {
            path: folder.clone(),
            source,
        })?;
        let wanted = pts_name(frame.pts, ext);
        let name = create_new(&folder, &wanted, content).map_err(|source| SinkError::Write {
            path: folder.join(&wanted),
            source,
        })?;
        if name != wanted {
            self.renamed += 1;
            if self.renamed_warned.insert(frame.source_id.clone()) {
                tracing::warn!(source_id = %frame.source_id, wanted, written = name, "an image of this name exists (the same pts twice, or an earlier run); written under a new name, never replaced (logged once per source)");
            }
        }
        self.written
            .entry(frame.source_id.clone())
            .or_default()
            .push(name);
        Ok(())
    }

    fn end(&mut self, source_id: &str) -> Result<(), SinkError> {
        self.skipped.end_of_stream(source_id);
        self.renamed_warned.remove(source_id);
        let Some(names) = self.written.remove(source_id) else {
            // nothing written for this source: no folder, no index
            return Ok(());
        };
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
