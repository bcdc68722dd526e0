//! [`ImageDirectorySource`]: the images of a folder as a stream.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use savant_sdk_core::source::{Source, SourceFrame, SourceItem};

use crate::error::SourceError;
use crate::image::image_file_frame;

/// The JPEG and PNG files of a folder, sorted by name, as frames of one
/// source id with pts advancing by one frame duration per file. A glob
/// (`*` and `?`) picks the files; by default `*.jpg`, `*.jpeg` and `*.png`
/// (any case). A file that is not a readable JPEG/PNG is an error naming it.
///
/// ```no_run
/// use savant_sdk_sources::ImageDirectorySource;
/// let frames = ImageDirectorySource::new("cam-1", "/data/frames")?
///     .glob("frame_*.jpg")?
///     .framerate(25, 1);
/// # Ok::<(), savant_sdk_sources::SourceError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ImageDirectorySource {
    source_id: String,
    dir: PathBuf,
    files: Vec<PathBuf>,
    framerate: (i64, i64),
    next: usize,
}

/// Whether `name` matches `pattern` (`*` any run of characters, `?` one).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// File name extensions of video files: what a folder given to the video
/// file source (feature `gstreamer`) is scanned for.
pub const VIDEO_FILE_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mov", "mkv", "webm", "ts", "m2ts", "mts", "avi", "h264", "264", "h265", "265",
    "hevc",
];

/// Whether a file name has one of [`VIDEO_FILE_EXTENSIONS`] (any case).
///
/// ```
/// assert!(savant_sdk_sources::is_video_file_name("clip.MP4"));
/// assert!(!savant_sdk_sources::is_video_file_name("frame.jpg"));
/// ```
pub fn is_video_file_name(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(_, ext)| {
        VIDEO_FILE_EXTENSIONS
            .iter()
            .any(|e| e.eq_ignore_ascii_case(ext))
    })
}

/// Whether a file name ends in `.jpg`, `.jpeg` or `.png` (any case).
pub fn is_image_file_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".jpg") || lower.ends_with(".jpeg") || lower.ends_with(".png")
}

impl ImageDirectorySource {
    /// The images of `dir` for `source_id`.
    pub fn new(source_id: impl Into<String>, dir: impl AsRef<Path>) -> Result<Self, SourceError> {
        let dir = dir.as_ref().to_path_buf();
        let mut s = Self {
            source_id: source_id.into(),
            files: Vec::new(),
            dir,
            framerate: (30, 1),
            next: 0,
        };
        s.files = s.list(is_image_file_name)?;
        Ok(s)
    }

    fn list(&self, keep: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>, SourceError> {
        let io = |source| SourceError::Io {
            path: self.dir.clone(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(io)?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
            .filter(|e| e.file_name().to_str().is_some_and(&keep))
            .map(|e| e.path())
            .collect();
        files.sort();
        Ok(files)
    }

    /// Only files whose name matches `pattern`.
    pub fn glob(mut self, pattern: &str) -> Result<Self, SourceError> {
        self.files = self.list(|name| glob_match(pattern, name))?;
        Ok(self)
    }

    /// Frame rate (default 30/1).
    pub fn framerate(mut self, numerator: i64, denominator: i64) -> Self {
        self.framerate = (numerator, denominator);
        self
    }

    /// The files that will be sent, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    fn frame(&self, index: usize) -> Result<SourceFrame, SourceError> {
        let path = &self.files[index];
        let (num, den) = self.framerate;
        let pts = if num > 0 {
            index as i64 * 1_000_000_000 * den / num
        } else {
            0
        };
        image_file_frame(&self.source_id, path, pts, (num, den))
    }
}

#[async_trait]
impl Source for ImageDirectorySource {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        if self.next >= self.files.len() {
            return Ok(None);
        }
        let frame = self.frame(self.next)?;
        self.next += 1;
        Ok(Some(SourceItem::Frame(frame)))
    }

    fn name(&self) -> &str {
        "image-directory"
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("*.jpg", "a.jpg"));
        assert!(glob_match("frame_??.jpg", "frame_01.jpg"));
        assert!(!glob_match("frame_??.jpg", "frame_001.jpg"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
        assert!(!glob_match("*.png", "a.jpg"));
    }
}
