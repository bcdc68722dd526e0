//! Turning command-line paths into image sources, and telling video
//! inputs (files, folders of them, `file://` and `rtsp://` URLs) apart.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use savant_sdk_core::source::SourceFrame;
use savant_sdk_sources::{image_file_frame, is_image_file_name, is_video_file_name};

/// Files named on the command line, folders expanded (sorted, images only).
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read folder {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.is_file()
                        && f.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(is_image_file_name)
                })
                .collect();
            entries.sort();
            if entries.is_empty() {
                bail!("folder {} has no .jpg/.jpeg/.png files", p.display());
            }
            files.extend(entries);
        } else {
            files.push(p.clone());
        }
    }
    if files.is_empty() {
        bail!("no input files");
    }
    Ok(files)
}

/// Reads `path` as a frame of `source_id` at `pts` (JPEG or PNG by its
/// first bytes; a non-image is refused with its name).
pub fn frame(source_id: &str, path: &Path, pts: i64, fps: (i64, i64)) -> Result<SourceFrame> {
    Ok(image_file_frame(source_id, path, pts, fps)?)
}

/// Whether a command-line input is video: an `rtsp://`/`rtsps://` or
/// `file://` URL, a file with a video extension, or a folder that holds
/// one.
pub fn is_video_input(p: &Path) -> bool {
    let s = p.to_string_lossy();
    if is_rtsp_url(&s) || s.starts_with("file://") {
        return true;
    }
    let video_name = |f: &Path| {
        f.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_video_file_name)
    };
    if p.is_dir() {
        return std::fs::read_dir(p)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .any(|e| video_name(&e.path()))
            })
            .unwrap_or(false);
    }
    video_name(p)
}

/// Whether `s` is an RTSP URL.
pub fn is_rtsp_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower.starts_with("rtsp://") || lower.starts_with("rtsps://")
}
