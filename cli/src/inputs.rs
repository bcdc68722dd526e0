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

/// The one hint of every refusal to mix images and video.
pub const SEPARATE_COMMANDS: &str = "send images and video in separate commands";

/// Whether a command-line input is video: an `rtsp://`/`rtsps://` or
/// `file://` URL, a file with a video extension, or a folder that holds
/// video files. A folder with both images and video files is refused, as
/// an image and a video given as separate arguments are.
pub fn is_video_input(p: &Path) -> Result<bool> {
    let s = p.to_string_lossy();
    if is_rtsp_url(&s) || s.starts_with("file://") {
        return Ok(true);
    }
    if p.is_dir() {
        let (mut images, mut videos) = (0usize, 0usize);
        for f in folder_files(p)? {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            images += usize::from(is_image_file_name(name));
            videos += usize::from(is_video_file_name(name));
        }
        if images > 0 && videos > 0 {
            bail!(
                "folder {} holds {images} image(s) and {videos} video file(s): {SEPARATE_COMMANDS}",
                p.display()
            );
        }
        return Ok(videos > 0);
    }
    Ok(p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(is_video_file_name))
}

/// The files of a folder, sorted by name.
fn folder_files(p: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(p)
        .with_context(|| format!("cannot read folder {}", p.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| f.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// The video inputs one by one: folders expanded into their video files
/// (sorted by name), files and URLs as given.
pub fn expand_video(inputs: &[PathBuf]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            out.extend(
                folder_files(p)?
                    .into_iter()
                    .filter(|f| {
                        f.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(is_video_file_name)
                    })
                    .map(|f| f.to_string_lossy().into_owned()),
            );
        } else {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    Ok(out)
}

/// Whether `s` is an RTSP URL.
pub fn is_rtsp_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower.starts_with("rtsp://") || lower.starts_with("rtsps://")
}
