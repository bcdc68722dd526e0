//! Turning command-line paths into image sources.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use savant_sdk_core::source::SourceFrame;
use savant_sdk_sources::{JpegSource, PngSource};

/// Files named on the command line, folders expanded (sorted, images only).
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read folder {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && image_kind(f).is_some())
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
}

fn image_kind(path: &Path) -> Option<Kind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => Some(Kind::Jpeg),
        "png" => Some(Kind::Png),
        _ => None,
    }
}

/// Reads `path` as a frame of `source_id` at `pts`; the kind comes from
/// the file's first bytes, so a misnamed file still works and a non-image
/// is refused with its name.
pub fn frame(source_id: &str, path: &Path, pts: i64, fps: (i64, i64)) -> Result<SourceFrame> {
    use std::io::Read;
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .with_context(|| format!("cannot read {}", path.display()))?;
    let is_png = &head == b"\x89PNG";
    let f = if is_png {
        PngSource::from_path(source_id, path)?
            .with_pts(pts)
            .with_framerate(fps.0, fps.1)
            .frame()?
    } else {
        JpegSource::from_path(source_id, path)?
            .with_pts(pts)
            .with_framerate(fps.0, fps.1)
            .frame()?
    };
    Ok(f)
}
