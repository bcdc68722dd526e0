//! Turning command-line paths into image sources.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use savant_sdk_core::source::SourceFrame;
use savant_sdk_sources::{image_file_frame, is_image_file_name};

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
