//! Still-image sources: one JPEG or PNG file (or bytes in memory) becomes
//! one frame, with its size read from the header (no decoding) and the
//! persistent `default/location` attribute Savant's client sets.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use image::ImageFormat;
use savant_sdk_core::model::{
    Attribute, AttributeValue, FrameContent, TimeBase, VideoFrame, VideoFrameUpdate,
};
use savant_sdk_core::source::{Source, SourceFrame, SourceItem};

use crate::error::SourceError;

/// Namespace of the attributes the image sources set (Savant's
/// `DEFAULT_NAMESPACE`).
pub const DEFAULT_NAMESPACE: &str = "default";
/// Name of the attribute holding the file location.
pub const LOCATION_ATTRIBUTE: &str = "location";

const SECOND_IN_NS: i64 = 1_000_000_000;
const PNG_IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Jpeg,
    Png,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Jpeg => "JPEG",
            Kind::Png => "PNG",
        }
    }
    fn codec(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpeg",
            Kind::Png => "png",
        }
    }
    fn format(self) -> ImageFormat {
        match self {
            Kind::Jpeg => ImageFormat::Jpeg,
            Kind::Png => ImageFormat::Png,
        }
    }
}

/// What the still-image sources share: the image and what does not
/// change between its frames behind one `Arc`, so that a clone (each
/// round of a `repeat`) costs no allocation.
#[derive(Debug, Clone)]
pub(crate) struct StillImage {
    image: Arc<Image>,
    pts: i64,
    framerate: (i64, i64),
    sent: bool,
}

/// The image of a [`StillImage`].
#[derive(Debug, Clone)]
struct Image {
    kind: Kind,
    source_id: String,
    data: Bytes,
    location: Option<PathBuf>,
    name: String,
    width: u32,
    height: u32,
    updates: Vec<VideoFrameUpdate>,
}

impl StillImage {
    fn from_path(kind: Kind, source_id: String, path: &Path) -> Result<Self, SourceError> {
        let data = std::fs::read(path).map_err(|source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::new(
            kind,
            source_id,
            Bytes::from(data),
            Some(path.to_path_buf()),
            path.display().to_string(),
        )
    }

    fn new(
        kind: Kind,
        source_id: String,
        data: Bytes,
        location: Option<PathBuf>,
        name: String,
    ) -> Result<Self, SourceError> {
        let (width, height) = probe(kind, &data, &name)?;
        Ok(Self {
            image: Arc::new(Image {
                kind,
                source_id,
                data,
                location,
                name,
                width,
                height,
                updates: Vec::new(),
            }),
            pts: 0,
            framerate: (30, 1),
            sent: false,
        })
    }

    /// The frame (a new one each call).
    fn frame(&self) -> Result<SourceFrame, SourceError> {
        let image = &*self.image;
        let (num, den) = self.framerate;
        let mut frame = VideoFrame::builder(image.source_id.clone())
            .framerate(format!("{num}/{den}"))
            .codec(image.kind.codec())
            .size(i64::from(image.width), i64::from(image.height))
            .keyframe(true)
            .pts(self.pts)
            .duration(if num > 0 { SECOND_IN_NS * den / num } else { 0 })
            .time_base(TimeBase::NANOSECONDS)
            .content(FrameContent::external_zeromq())
            .build();
        if let Some(path) = &image.location {
            frame.attributes.push(Attribute::persistent(
                DEFAULT_NAMESPACE,
                LOCATION_ATTRIBUTE,
                vec![AttributeValue::string(path.display().to_string())],
            ));
        }
        for u in &image.updates {
            frame
                .apply_update(u)
                .map_err(|source| SourceError::Update {
                    name: image.name.clone(),
                    source,
                })?;
        }
        Ok(SourceFrame {
            frame,
            content: image.data.clone(),
        })
    }
}

/// Reads width and height from the header and checks the end marker,
/// without decoding the image.
fn probe(kind: Kind, data: &[u8], name: &str) -> Result<(u32, u32), SourceError> {
    match image::guess_format(data) {
        Ok(f) if f == kind.format() => {}
        other => {
            return Err(SourceError::WrongFormat {
                name: name.to_string(),
                expected: kind.name(),
                found: other.ok().map(|f| format!("{f:?}")),
            })
        }
    }
    let complete = match kind {
        // EOI marker, possibly followed by padding some encoders add
        Kind::Jpeg => data.windows(2).rev().take(64).any(|w| w == [0xFF, 0xD9]),
        Kind::Png => data.ends_with(&PNG_IEND),
    };
    if !complete {
        return Err(SourceError::Truncated {
            name: name.to_string(),
            kind: kind.name(),
        });
    }
    image::ImageReader::with_format(Cursor::new(data), kind.format())
        .into_dimensions()
        .map_err(|e| SourceError::BadHeader {
            name: name.to_string(),
            kind: kind.name(),
            detail: e.to_string(),
        })
}

/// The frame of one image file, JPEG or PNG as its first bytes say (so a
/// misnamed file still works), at `pts` with frame rate
/// `numerator/denominator`. The file is read once; an unreadable file or a
/// non-image is an error naming it.
///
/// ```no_run
/// let frame = savant_sdk_sources::image_file_frame("cam-1", "frame.png", 0, (30, 1))?;
/// # Ok::<(), savant_sdk_sources::SourceError>(())
/// ```
pub fn image_file_frame(
    source_id: &str,
    path: impl AsRef<Path>,
    pts: i64,
    (numerator, denominator): (i64, i64),
) -> Result<SourceFrame, SourceError> {
    let path = path.as_ref();
    let data = std::fs::read(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let kind = match image::guess_format(&data) {
        Ok(ImageFormat::Png) => Kind::Png,
        Ok(ImageFormat::Jpeg) => Kind::Jpeg,
        other => {
            return Err(SourceError::WrongFormat {
                name: path.display().to_string(),
                expected: "JPEG or PNG",
                found: other.ok().map(|f| format!("{f:?}")),
            })
        }
    };
    let mut image = StillImage::new(
        kind,
        source_id.to_string(),
        Bytes::from(data),
        Some(path.to_path_buf()),
        path.display().to_string(),
    )?;
    image.pts = pts;
    image.framerate = (numerator, denominator);
    image.frame()
}

macro_rules! still_image_source {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            inner: StillImage,
        }

        impl $name {
            /// Reads the file at `path`; its location becomes the frame's
            /// `default/location` attribute.
            pub fn from_path(source_id: impl Into<String>, path: impl AsRef<Path>) -> Result<Self, SourceError> {
                Ok(Self { inner: StillImage::from_path($kind, source_id.into(), path.as_ref())? })
            }

            /// Uses image bytes already in memory.
            pub fn from_bytes(source_id: impl Into<String>, data: impl Into<Bytes>) -> Result<Self, SourceError> {
                Ok(Self { inner: StillImage::new($kind, source_id.into(), data.into(), None, "<memory>".into())? })
            }

            /// Sets the frame's pts (nanoseconds; default 0).
            pub fn with_pts(mut self, pts: i64) -> Self {
                self.inner.pts = pts;
                self
            }

            /// Sets the frame rate (default 30/1); the duration follows.
            pub fn with_framerate(mut self, numerator: i64, denominator: i64) -> Self {
                self.inner.framerate = (numerator, denominator);
                self
            }

            /// Adds an update merged into the frame when it is built.
            pub fn with_update(mut self, update: VideoFrameUpdate) -> Self {
                Arc::make_mut(&mut self.inner.image).updates.push(update);
                self
            }

            /// Width and height from the header.
            pub fn size(&self) -> (u32, u32) {
                (self.inner.image.width, self.inner.image.height)
            }

            /// The frame with its payload (the image bytes, unchanged).
            pub fn frame(&self) -> Result<SourceFrame, SourceError> {
                self.inner.frame()
            }
        }

        #[async_trait]
        impl Source for $name {
            async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
                if self.inner.sent {
                    return Ok(None);
                }
                self.inner.sent = true;
                Ok(Some(SourceItem::Frame(self.inner.frame()?)))
            }

            fn name(&self) -> &str {
                &self.inner.image.name
            }
        }
    };
}

still_image_source!(
    /// One JPEG image as one frame (codec `jpeg`, keyframe, external
    /// content carrying the file's bytes unchanged).
    ///
    /// ```no_run
    /// use savant_sdk_sources::JpegSource;
    /// let source = JpegSource::from_path("cam-1", "frame.jpeg")?.with_pts(40_000_000);
    /// let (w, h) = source.size();
    /// # Ok::<(), savant_sdk_sources::SourceError>(())
    /// ```
    JpegSource,
    Kind::Jpeg
);

still_image_source!(
    /// One PNG image as one frame (codec `png`).
    ///
    /// ```no_run
    /// use savant_sdk_sources::PngSource;
    /// let source = PngSource::from_path("cam-1", "frame.png")?;
    /// # Ok::<(), savant_sdk_sources::SourceError>(())
    /// ```
    PngSource,
    Kind::Png
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_no_image_at_all_is_not_called_a_jpeg() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "hello, not a picture").unwrap();
        for e in [
            image_file_frame("s", &text, 0, (30, 1)).unwrap_err(),
            crate::JpegSource::from_path("s", &text).unwrap_err(),
        ] {
            let m = e.to_string();
            assert!(
                m.contains("notes.txt") && m.contains("not an image") && !m.contains("not a JPEG"),
                "{m}"
            );
        }
        let m = image_file_frame("s", &text, 0, (30, 1))
            .unwrap_err()
            .to_string();
        assert!(m.contains("expected JPEG or PNG"), "{m}");
        // another image format is named as such
        let gif = dir.path().join("a.gif");
        std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").unwrap();
        let m = image_file_frame("s", &gif, 0, (30, 1))
            .unwrap_err()
            .to_string();
        assert!(m.contains("looks like Gif"), "{m}");
    }
}
