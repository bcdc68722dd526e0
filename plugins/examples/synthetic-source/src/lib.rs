//! Example plugin: `synthetic`, a source of generated JPEG frames showing
//! a box that moves a few pixels per frame. The same file builds the
//! `.so` and the statically linked component.
//!
//! Settings (TOML or JSON; all optional):
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `source_id` | `"synthetic"` | source id of the frames |
//! | `frames` | `30` | frames before the end; `0` never ends |
//! | `width`, `height` | `320`, `240` | picture size |
//! | `fps` | `30` | frame rate (pts advance by `1e9 / fps` ns) |
//! | `quality` | `80` | JPEG quality, 1 to 100 |
//!
//! ```
//! use savant_sdk_example_synthetic_source::{SyntheticConfig, SyntheticSource};
//! use savant_sdk_plugin::source::{Source, SourceItem};
//! let mut s = SyntheticSource::new(SyntheticConfig { frames: 2, ..Default::default() })?;
//! let rt = tokio::runtime::Builder::new_current_thread().build()?;
//! let Some(SourceItem::Frame(f)) = rt.block_on(s.next())? else { panic!() };
//! assert_eq!(&f.content[..2], &[0xFF, 0xD8]); // a JPEG
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use savant_sdk_plugin::component::{BuildContext, SourceConfig};
use savant_sdk_plugin::model::{FrameContent, TimeBase, VideoFrame};
use savant_sdk_plugin::source::{Source, SourceFrame, SourceItem};
use savant_sdk_plugin::{async_trait, export_source, schemars, Error};
use serde::Deserialize;

/// The settings of [`SyntheticSource`].
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "savant_sdk_plugin::schemars")]
#[serde(default, deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Source id of the frames.
    pub source_id: String,
    /// Frames before the end; 0 never ends.
    pub frames: u64,
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// JPEG quality (1 to 100).
    pub quality: u8,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            source_id: "synthetic".into(),
            frames: 30,
            width: 320,
            height: 240,
            fps: 30,
            quality: 80,
        }
    }
}

/// Why the source cannot be built or cannot draw a frame.
#[derive(Debug, thiserror::Error)]
pub enum SyntheticError {
    /// A setting out of range.
    #[error("invalid setting {key}: {reason}")]
    Setting {
        /// The key.
        key: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The JPEG encoder failed.
    #[error("cannot encode frame {index}: {source}")]
    Encode {
        /// The frame.
        index: u64,
        /// The encoder's error.
        source: image::ImageError,
    },
}

/// Generates JPEG frames with a moving box.
#[derive(Debug)]
pub struct SyntheticSource {
    config: SyntheticConfig,
    index: u64,
    duration: i64,
}

impl SyntheticConfig {
    /// Checks the settings (no I/O).
    pub fn check(&self) -> Result<(), SyntheticError> {
        let config = self;
        if config.width < 16 || config.height < 16 || config.width > 8192 || config.height > 8192 {
            return Err(SyntheticError::Setting {
                key: "width/height",
                reason: "must be 16 to 8192",
            });
        }
        if config.fps == 0 {
            return Err(SyntheticError::Setting {
                key: "fps",
                reason: "must be positive",
            });
        }
        if !(1..=100).contains(&config.quality) {
            return Err(SyntheticError::Setting {
                key: "quality",
                reason: "must be 1 to 100",
            });
        }
        Ok(())
    }
}

impl SyntheticSource {
    /// Checks the settings.
    pub fn new(config: SyntheticConfig) -> Result<Self, SyntheticError> {
        config.check()?;
        tracing::info!(source_id = %config.source_id, frames = config.frames, "synthetic source ready");
        Ok(Self {
            duration: 1_000_000_000 / i64::from(config.fps),
            config,
            index: 0,
        })
    }

    /// Frame `index` as JPEG: a gradient with a box at a position that
    /// moves with `index`.
    pub fn picture(&self, index: u64) -> Result<Bytes, SyntheticError> {
        let (w, h) = (self.config.width, self.config.height);
        let side = (w.min(h) / 4).max(4);
        let bx = ((index * 7) % u64::from(w - side)) as u32;
        let by = (h - side) / 2;
        let img = RgbImage::from_fn(w, h, |x, y| {
            if (bx..bx + side).contains(&x) && (by..by + side).contains(&y) {
                Rgb([230, 40, 40])
            } else {
                Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 96])
            }
        });
        let mut out = Vec::with_capacity((w * h / 8) as usize);
        JpegEncoder::new_with_quality(&mut out, self.config.quality)
            .encode_image(&img)
            .map_err(|source| SyntheticError::Encode { index, source })?;
        Ok(Bytes::from(out))
    }
}

#[async_trait]
impl Source for SyntheticSource {
    async fn next(&mut self) -> savant_sdk_plugin::Result<Option<SourceItem>> {
        if self.config.frames != 0 && self.index == self.config.frames {
            tracing::info!(source_id = %self.config.source_id, frames = self.index, "synthetic source done");
            return Ok(None);
        }
        let index = self.index;
        self.index += 1;
        let jpeg = self
            .picture(index)
            .map_err(|e| savant_sdk_plugin::Error::source("synthetic", e))?;
        let pts = index as i64 * self.duration;
        let frame = VideoFrame::builder(self.config.source_id.clone())
            .codec("jpeg")
            .framerate(format!("{}/1", self.config.fps))
            .size(i64::from(self.config.width), i64::from(self.config.height))
            .keyframe(true)
            .pts(pts)
            .duration(self.duration)
            .time_base(TimeBase::NANOSECONDS)
            .content(FrameContent::external_zeromq())
            .build();
        tracing::debug!(source_id = %self.config.source_id, pts, bytes = jpeg.len(), "generated frame");
        Ok(Some(SourceFrame::new(frame, jpeg).into()))
    }

    fn name(&self) -> &str {
        "synthetic"
    }
}

impl SourceConfig for SyntheticConfig {
    const TYPE: &'static str = "synthetic";
    const DESCRIPTION: &'static str = "generated JPEG frames of a moving box (example plugin)";

    fn validate(&self) -> savant_sdk_plugin::Result<()> {
        match self.check() {
            Err(SyntheticError::Setting { key, reason }) => Err(Error::invalid_config(key, reason)),
            _ => Ok(()),
        }
    }

    fn build(self, _ctx: &BuildContext) -> savant_sdk_plugin::Result<Box<dyn Source>> {
        let source = SyntheticSource::new(self).map_err(|e| Error::source("synthetic", e))?;
        Ok(Box::new(source))
    }
}

export_source!(SyntheticConfig);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_box_moves_and_the_source_ends() {
        let mut s = SyntheticSource::new(SyntheticConfig {
            frames: 3,
            ..Default::default()
        })
        .unwrap();
        assert_ne!(s.picture(0).unwrap(), s.picture(1).unwrap());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut pts = Vec::new();
        while let Some(item) = rt.block_on(s.next()).unwrap() {
            let SourceItem::Frame(f) = item else {
                panic!("frames only")
            };
            assert_eq!((f.frame.width, f.frame.height), (320, 240));
            pts.push(f.frame.pts);
        }
        assert_eq!(pts, vec![0, 33_333_333, 66_666_666]);
    }

    #[test]
    fn bad_settings_are_refused() {
        let e = SyntheticSource::new(SyntheticConfig {
            fps: 0,
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("fps"), "{e}");
        let e = savant_sdk_plugin::parse_config::<SyntheticConfig>("synthetic", "frams = 3")
            .unwrap_err();
        assert!(e.to_string().contains("frams"), "{e}");
    }
}
