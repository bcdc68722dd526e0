//! [`MultiStreamSource`]: one input sent as N streams, for load tests.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use savant_sdk_core::source::{Source, SourceFrame, SourceItem};
use tokio::time::Instant;

use crate::combinators::pace::to_duration;
use crate::error::SourceError;

/// The most content a [`MultiStreamSource`] holds in memory by default:
/// 256 MiB of access units (or images). A larger input is refused with
/// [`SourceError::InputTooLarge`]; [`MultiStreamSource::limit`] changes it.
pub const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

/// The source ids of `streams` streams: `pattern` with its one `%d`
/// replaced by 0, 1, ... `streams - 1`.
///
/// ```
/// let ids = savant_sdk_sources::stream_ids("cam-%d", 3)?;
/// assert_eq!(ids, ["cam-0", "cam-1", "cam-2"]);
/// assert!(savant_sdk_sources::stream_ids("cam", 3).is_err());
/// # Ok::<(), savant_sdk_sources::SourceError>(())
/// ```
pub fn stream_ids(pattern: &str, streams: usize) -> Result<Vec<String>, SourceError> {
    if pattern.matches("%d").count() != 1 {
        return Err(SourceError::InvalidSetting(format!(
            "source id pattern {pattern:?} must hold exactly one %d"
        )));
    }
    if streams == 0 {
        return Err(SourceError::InvalidSetting(
            "streams must be at least 1".into(),
        ));
    }
    Ok((0..streams)
        .map(|i| pattern.replace("%d", &i.to_string()))
        .collect())
}

enum Input {
    /// Not read yet: read whole at the first `next`.
    Pending(Box<dyn Source>),
    /// The frames of the input, each content once.
    Loaded(Arc<[SourceFrame]>),
}

/// One input (a video file, an image folder, any finite [`Source`]) sent
/// as N streams with distinct source ids, for load tests of a module.
///
/// The input is read once, at the first [`Source::next`], into memory:
/// its frames with their content as [`bytes::Bytes`] (one copy of the
/// input's access units, whatever N is; at most [`MAX_INPUT_BYTES`] by
/// default). Then the streams are interleaved round robin: frame `k` of
/// every stream, then frame `k + 1`. Each stream's frame is a new
/// `VideoFrame` (a new uuid, the stream's source id, the input frame's
/// pts, so each stream has its own time line from the input's start)
/// sharing the content `Bytes` without a copy. After the last frame every
/// stream gets its EOS, in stream order. EOS items of the input itself are
/// left out (each stream is one stream).
///
/// No thread or task per stream: memory per stream is its source id.
/// With [`MultiStreamSource::pace`] frame `k` of every stream is released
/// at the input's pts of frame `k` after the start.
///
/// ```
/// use savant_sdk_core::model::VideoFrame;
/// use savant_sdk_core::source::{Source, SourceFrame, SourceItem};
/// use savant_sdk_sources::MultiStreamSource;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> savant_sdk_core::Result<()> {
/// let frames = (0..2)
///     .map(|i| SourceFrame::new(VideoFrame::builder("in").pts(i).build(), vec![1, 2, 3]))
///     .collect();
/// let mut source = MultiStreamSource::from_frames(frames, 3, "cam-%d")?;
/// let mut order = Vec::new();
/// while let Some(item) = source.next().await? {
///     match item {
///         SourceItem::Frame(f) => order.push(format!("{}@{}", f.frame.source_id, f.frame.pts)),
///         SourceItem::EndOfStream(id) => order.push(format!("eos {id}")),
///         _ => {}
///     }
/// }
/// assert_eq!(order[..4], ["cam-0@0", "cam-1@0", "cam-2@0", "cam-0@1"]);
/// assert_eq!(order.len(), 2 * 3 + 3);
/// # Ok(()) }
/// ```
pub struct MultiStreamSource {
    name: String,
    input: Input,
    ids: Vec<String>,
    /// The next frame's index in the input, and the stream it is for.
    frame: usize,
    stream: usize,
    /// The next stream to end, once every frame is out.
    eos: usize,
    pace: bool,
    /// When paced: the start and the first frame's pts.
    start: Option<(Instant, i64)>,
    limit: u64,
}

impl std::fmt::Debug for MultiStreamSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiStreamSource")
            .field("name", &self.name)
            .field("streams", &self.ids.len())
            .field("frame", &self.frame)
            .finish_non_exhaustive()
    }
}

impl MultiStreamSource {
    /// `input` as `streams` streams named by `pattern` (one `%d`, see
    /// [`stream_ids`]); `input` is read at the first `next`.
    pub fn new(
        input: impl Source + 'static,
        streams: usize,
        pattern: &str,
    ) -> Result<Self, SourceError> {
        let name = format!("multi_stream {}", input.name());
        Ok(Self::with_input(
            name,
            Input::Pending(Box::new(input)),
            stream_ids(pattern, streams)?,
        ))
    }

    /// These frames as `streams` streams named by `pattern`.
    pub fn from_frames(
        frames: Vec<SourceFrame>,
        streams: usize,
        pattern: &str,
    ) -> Result<Self, SourceError> {
        Ok(Self::with_input(
            "multi_stream".into(),
            Input::Loaded(frames.into()),
            stream_ids(pattern, streams)?,
        ))
    }

    /// A video file (feature `gstreamer`; its access units, never
    /// decoded) or a folder of JPEG/PNG images (sorted by name, at
    /// `framerate` N/D) as `streams` streams. A file larger than the limit
    /// is refused here, before it is read.
    pub fn open(
        path: impl AsRef<Path>,
        framerate: (i64, i64),
        streams: usize,
        pattern: &str,
    ) -> Result<Self, SourceError> {
        let path = path.as_ref();
        let ids = stream_ids(pattern, streams)?;
        let meta = std::fs::metadata(path).map_err(|source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let name = format!("multi_stream {}", path.display());
        let input: Box<dyn Source> = if meta.is_dir() {
            let dir = crate::ImageDirectorySource::new(&ids[0], path)?
                .framerate(framerate.0, framerate.1);
            Box::new(dir)
        } else {
            if meta.len() > MAX_INPUT_BYTES {
                return Err(SourceError::InputTooLarge {
                    name: path.display().to_string(),
                    bytes: meta.len(),
                    limit: MAX_INPUT_BYTES,
                });
            }
            Self::video(path, &ids[0])?
        };
        Ok(Self::with_input(name, Input::Pending(input), ids))
    }

    #[cfg(feature = "gstreamer")]
    fn video(path: &Path, id: &str) -> Result<Box<dyn Source>, SourceError> {
        let source = crate::VideoFileSource::builder(id, path.to_string_lossy())
            .eos_on_file_end(false)
            .build()?;
        Ok(Box::new(source))
    }

    #[cfg(not(feature = "gstreamer"))]
    fn video(path: &Path, _id: &str) -> Result<Box<dyn Source>, SourceError> {
        Err(SourceError::InvalidSetting(format!(
            "{}: video files need the `gstreamer` feature (or give a folder of images)",
            path.display()
        )))
    }

    fn with_input(name: String, input: Input, ids: Vec<String>) -> Self {
        Self {
            name,
            input,
            ids,
            frame: 0,
            stream: 0,
            eos: 0,
            pace: false,
            start: None,
            limit: MAX_INPUT_BYTES,
        }
    }

    /// Release frame `k` of every stream at frame `k`'s pts after the
    /// start (real time), instead of as fast as they are taken.
    pub fn pace(mut self, pace: bool) -> Self {
        self.pace = pace;
        self
    }

    /// The most content bytes the input may have (default
    /// [`MAX_INPUT_BYTES`]); reading a larger one fails.
    pub fn limit(mut self, bytes: u64) -> Self {
        self.limit = bytes;
        self
    }

    /// The streams' source ids, in order.
    pub fn source_ids(&self) -> &[String] {
        &self.ids
    }

    /// Reads the input whole (its frames; EOS and other items left out).
    async fn load(&mut self, mut input: Box<dyn Source>) -> savant_sdk_core::Result<()> {
        let mut frames = Vec::new();
        let mut bytes = 0u64;
        while let Some(item) = input.next().await? {
            if let SourceItem::Frame(mut f) = item {
                bytes += f.content.len() as u64;
                if bytes > self.limit {
                    return Err(SourceError::InputTooLarge {
                        name: self.name.clone(),
                        bytes,
                        limit: self.limit,
                    }
                    .into());
                }
                // our own copy: the input's buffers (GStreamer's) are freed
                f.content = bytes::Bytes::copy_from_slice(&f.content);
                frames.push(f);
            }
        }
        if frames.is_empty() {
            return Err(SourceError::InvalidSetting(format!("{}: no frames", self.name)).into());
        }
        tracing::info!(
            source = %self.name,
            frames = frames.len(),
            bytes,
            streams = self.ids.len(),
            "input read: every stream shares its content"
        );
        self.input = Input::Loaded(frames.into());
        Ok(())
    }
}

#[async_trait]
impl Source for MultiStreamSource {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        let frames = match &mut self.input {
            Input::Loaded(frames) => frames.clone(),
            Input::Pending(_) => {
                let placeholder = Input::Loaded(Arc::from(Vec::new()));
                let Input::Pending(input) = std::mem::replace(&mut self.input, placeholder) else {
                    unreachable!("pending")
                };
                self.load(input).await?;
                let Input::Loaded(frames) = &self.input else {
                    unreachable!("loaded")
                };
                frames.clone()
            }
        };
        if self.frame < frames.len() {
            let template = &frames[self.frame];
            if self.pace && self.stream == 0 {
                let t = &template.frame;
                let (t0, p0) = *self.start.get_or_insert((Instant::now(), t.pts));
                tokio::time::sleep_until(t0 + to_duration(t.pts - p0, t.time_base)).await;
            }
            let mut frame = template.frame.clone();
            frame.source_id.clone_from(&self.ids[self.stream]);
            frame.uuid = uuid::Uuid::now_v7();
            let item = SourceItem::Frame(SourceFrame {
                frame,
                content: template.content.clone(),
            });
            self.stream += 1;
            if self.stream == self.ids.len() {
                self.stream = 0;
                self.frame += 1;
            }
            return Ok(Some(item));
        }
        if self.eos < self.ids.len() {
            self.eos += 1;
            return Ok(Some(SourceItem::EndOfStream(
                self.ids[self.eos - 1].clone(),
            )));
        }
        Ok(None)
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use savant_sdk_core::model::VideoFrame;

    use super::*;

    fn frames(n: i64) -> Vec<SourceFrame> {
        (0..n)
            .map(|i| {
                SourceFrame::new(
                    VideoFrame::builder("in").pts(i * 40).build(),
                    vec![i as u8; 100],
                )
            })
            .collect()
    }

    async fn drain(mut s: MultiStreamSource) -> Vec<SourceItem> {
        let mut out = Vec::new();
        while let Some(item) = s.next().await.unwrap() {
            out.push(item);
        }
        out
    }

    #[test]
    fn patterns_need_exactly_one_placeholder() {
        assert!(stream_ids("cam-%d-%d", 2).is_err());
        assert!(stream_ids("cam", 2).is_err());
        assert!(stream_ids("cam-%d", 0).is_err());
        assert_eq!(stream_ids("%d", 2).unwrap(), ["0", "1"]);
    }

    #[tokio::test]
    async fn round_robin_shared_content_own_uuid_then_eos() {
        let items = drain(MultiStreamSource::from_frames(frames(3), 4, "s%d").unwrap()).await;
        assert_eq!(items.len(), 3 * 4 + 4);
        let mut uuids = std::collections::HashSet::new();
        let first_content = match &items[0] {
            SourceItem::Frame(f) => f.content.as_ptr(),
            _ => panic!(),
        };
        for (i, item) in items[..12].iter().enumerate() {
            let SourceItem::Frame(f) = item else {
                panic!("frame expected")
            };
            assert_eq!(f.frame.source_id, format!("s{}", i % 4));
            assert_eq!(f.frame.pts, (i / 4) as i64 * 40);
            assert!(uuids.insert(f.frame.uuid));
            if i < 4 {
                assert_eq!(f.content.as_ptr(), first_content, "shared, not copied");
            }
        }
        for (i, item) in items[12..].iter().enumerate() {
            assert_eq!(item, &SourceItem::EndOfStream(format!("s{i}")));
        }
    }

    #[tokio::test]
    async fn an_input_over_the_limit_is_refused() {
        let input =
            savant_sdk_core::source::IterSource::new(frames(5).into_iter().map(SourceItem::Frame));
        let mut s = MultiStreamSource::new(input, 2, "c%d").unwrap().limit(250);
        let e = s.next().await.unwrap_err().to_string();
        assert!(e.contains("limit of 250"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn paced_by_the_input_pts() {
        let mut s = MultiStreamSource::from_frames(frames(3), 2, "c%d")
            .unwrap()
            .pace(true);
        let mut s_frames = Vec::new();
        let t0 = Instant::now();
        while let Some(item) = s.next().await.unwrap() {
            if let SourceItem::Frame(f) = item {
                s_frames.push((f.frame.pts, t0.elapsed()));
            }
        }
        // pts are ns (default time base): 40 ns apart
        assert_eq!(s_frames.len(), 6);
        assert!(s_frames[5].1 >= std::time::Duration::from_nanos(80));
    }
}
