//! The configurations of the built-in sources, registered by name with
//! [`savant_sdk_plugin::register_source!`] so that a pipeline file (or
//! `savant-sdk run --list`) finds them as `type = "..."`.
//!
//! | type | keys (default) |
//! |---|---|
//! | `jpeg_file`, `png_file` | `source_id`, `path`, `pts` (0), `framerate` (`"30/1"`), `repeat` (1; 0 forever), `pace` (false) |
//! | `image_folder` | `source_id`, `path`, `glob` (`*.jpg`, `*.jpeg`, `*.png`), `framerate` (`"30/1"`), `repeat` (1; 0 forever), `pace` (false) |
//! | `multi_stream` | `path` (a video file, feature `gstreamer`, or an image folder), `streams`, `source_id_pattern` (one `%d`), `pace` (false), `framerate` (`"30/1"`, images) |
//! | `video_file` (feature `gstreamer`) | `source_id`, `path`, `loop` (false), `pace` (false), `start_offset_ms`, `absolute_timestamps` (false), `eos_on_file_end` (true), `loss_rate` (0: each frame dropped with this probability), `seed` (from the clock) |
//! | `rtsp` (feature `gstreamer`) | `source_id`, `url`, `transport` (`tcp`), `latency_ms` (200), `connect_timeout_ms` (10000), `silence_timeout_ms` (5000), `backoff_initial_ms` (500), `backoff_max_ms` (30000), `attempts` (5), `give_up_after` (reconnect forever) |
//!
//! `validate()` does no I/O: files are opened, and GStreamer is
//! initialised, by `build`. Every source built here ends (returns `None`)
//! once the build context's shutdown signal fires, even while it waits (a
//! paced source, an RTSP reconnection).
//!
//! ```
//! use savant_sdk_plugin::component::SourceConfig;
//! use savant_sdk_sources::config::JpegFileConfig;
//! let c: JpegFileConfig = savant_sdk_plugin::parse_config(
//!     "jpeg_file",
//!     "source_id = 'cam-1'\npath = 'frame.jpeg'\nrepeat = 10",
//! )?;
//! assert_eq!(c.repeat, 10);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::PathBuf;

use async_trait::async_trait;
use savant_sdk_component::component::{BuildContext, Shutdown, SourceConfig};
use savant_sdk_component::source::{Source, SourceItem};
use savant_sdk_component::{Error, Result};
use savant_sdk_plugin::schemars;
use serde::Deserialize;

use crate::combinators::SourceExt;
use crate::{ImageDirectorySource, JpegSource, PngSource, SourceError};

/// A source that ends (returns `None`) once a shutdown signal fires, also
/// while the source it wraps is waiting (its `next` is dropped then).
pub struct UntilShutdown {
    inner: Box<dyn Source>,
    shutdown: Shutdown,
    done: bool,
}

impl std::fmt::Debug for UntilShutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UntilShutdown")
            .field("inner", &self.inner.name())
            .field("shutdown", &self.shutdown)
            .field("done", &self.done)
            .finish()
    }
}

impl UntilShutdown {
    /// `inner` until `shutdown` fires.
    pub fn new(inner: Box<dyn Source>, shutdown: Shutdown) -> Self {
        Self {
            inner,
            shutdown,
            done: false,
        }
    }
}

#[async_trait]
impl Source for UntilShutdown {
    async fn next(&mut self) -> Result<Option<SourceItem>> {
        if self.done || self.shutdown.is_requested() {
            self.done = true;
            return Ok(None);
        }
        tokio::select! {
            biased;
            _ = self.shutdown.requested() => {
                tracing::debug!(source = self.inner.name(), "shutdown: source ended");
                self.done = true;
                Ok(None)
            }
            item = self.inner.next() => item,
        }
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

/// `inner` ending at the context's shutdown.
fn guarded(inner: Box<dyn Source>, ctx: &BuildContext) -> Box<dyn Source> {
    Box::new(UntilShutdown::new(inner, ctx.shutdown().clone()))
}

/// A frame rate, `N/D` or `N` frames per second (both positive).
pub fn parse_framerate(text: &str) -> Option<(i64, i64)> {
    let (n, d) = text.split_once('/').unwrap_or((text, "1"));
    let (n, d) = (n.trim().parse::<i64>().ok()?, d.trim().parse::<i64>().ok()?);
    (n > 0 && d > 0).then_some((n, d))
}

fn check_framerate(text: &str) -> Result<(i64, i64)> {
    parse_framerate(text).ok_or_else(|| {
        Error::invalid_config(
            "framerate",
            format!("{text:?} is not a frame rate: write \"N/D\" or \"N\" with positive N and D"),
        )
    })
}

fn check_source_id(id: &str) -> Result<()> {
    if id.trim().is_empty() {
        return Err(Error::invalid_config("source_id", "must not be empty"));
    }
    Ok(())
}

fn check_path(key: &str, path: &std::path::Path) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(Error::invalid_config(key, "must not be empty"));
    }
    Ok(())
}

fn default_framerate() -> String {
    "30/1".into()
}

fn default_repeat() -> u64 {
    1
}

#[cfg(feature = "gstreamer")]
fn default_true() -> bool {
    true
}

/// `repeat` (0 forever, else rounds) and `pace` applied to a cloneable
/// source, ending at the context's shutdown.
fn finish<S>(source: S, repeat: u64, pace: bool, ctx: &BuildContext) -> Box<dyn Source>
where
    S: Source + Clone + Sync + 'static,
{
    let rounds = (repeat != 1).then_some(if repeat == 0 { None } else { Some(repeat) });
    let inner: Box<dyn Source> = match (rounds, pace) {
        (None, false) => Box::new(source),
        (None, true) => Box::new(source.pace()),
        (Some(times), false) => Box::new(source.repeat(times)),
        (Some(times), true) => Box::new(source.repeat(times).pace()),
    };
    guarded(inner, ctx)
}

fn source_error(ctx: &BuildContext, e: SourceError) -> Error {
    Error::source(ctx.name(), e)
}

macro_rules! image_file_config {
    ($(#[$doc:meta])* $name:ident, $type:literal, $description:literal, $source:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
        #[schemars(crate = "savant_sdk_plugin::schemars")]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Source id of the frames.
            pub source_id: String,
            /// The image file; its location becomes the frame's `default/location` attribute.
            pub path: PathBuf,
            /// pts of the (first) frame, nanoseconds.
            #[serde(default)]
            pub pts: i64,
            /// Frame rate, "N/D" or "N" (sets the frame's framerate and duration).
            #[serde(default = "default_framerate")]
            pub framerate: String,
            /// Rounds: 1 sends the image once, N sends it N times with timestamps continuing, 0 forever.
            #[serde(default = "default_repeat")]
            pub repeat: u64,
            /// Release the frames in real time by their pts instead of as fast as they are taken.
            #[serde(default)]
            pub pace: bool,
        }

        impl $name {
            fn check(&self) -> Result<(i64, i64)> {
                check_source_id(&self.source_id)?;
                check_path("path", &self.path)?;
                check_framerate(&self.framerate)
            }
        }

        impl SourceConfig for $name {
            const TYPE: &'static str = $type;
            const DESCRIPTION: &'static str = $description;

            fn validate(&self) -> Result<()> {
                self.check().map(|_| ())
            }

            fn build(self, ctx: &BuildContext) -> Result<Box<dyn Source>> {
                let (n, d) = self.check()?;
                let source = $source::from_path(self.source_id, &self.path)
                    .map_err(|e| source_error(ctx, e))?
                    .with_pts(self.pts)
                    .with_framerate(n, d);
                Ok(finish(source, self.repeat, self.pace, ctx))
            }
        }

        savant_sdk_plugin::register_source!($name);
    };
}

image_file_config!(
    /// `jpeg_file`: one JPEG file as one frame ([`JpegSource`]: size from
    /// its header, bytes unchanged), optionally repeated and paced.
    JpegFileConfig,
    "jpeg_file",
    "one JPEG file as one frame (optionally repeated and paced)",
    JpegSource
);

image_file_config!(
    /// `png_file`: one PNG file as one frame ([`PngSource`]), optionally
    /// repeated and paced.
    PngFileConfig,
    "png_file",
    "one PNG file as one frame (optionally repeated and paced)",
    PngSource
);

/// `image_folder`: the JPEG and PNG files of a folder, sorted by name, as
/// frames of one source id ([`ImageDirectorySource`]).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "savant_sdk_plugin::schemars")]
#[serde(deny_unknown_fields)]
pub struct ImageFolderConfig {
    /// Source id of the frames.
    pub source_id: String,
    /// The folder.
    pub path: PathBuf,
    /// Only files whose name matches this pattern (`*` and `?`); by default every `.jpg`, `.jpeg` and `.png` (any case).
    #[serde(default)]
    pub glob: Option<String>,
    /// Frame rate, "N/D" or "N": pts advance by one frame duration per file.
    #[serde(default = "default_framerate")]
    pub framerate: String,
    /// Rounds through the folder: 1 once, N times with timestamps continuing, 0 forever.
    #[serde(default = "default_repeat")]
    pub repeat: u64,
    /// Release the frames in real time by their pts.
    #[serde(default)]
    pub pace: bool,
}

impl ImageFolderConfig {
    fn check(&self) -> Result<(i64, i64)> {
        check_source_id(&self.source_id)?;
        check_path("path", &self.path)?;
        if self.glob.as_deref().is_some_and(|g| g.is_empty()) {
            return Err(Error::invalid_config("glob", "must not be empty"));
        }
        check_framerate(&self.framerate)
    }
}

impl SourceConfig for ImageFolderConfig {
    const TYPE: &'static str = "image_folder";
    const DESCRIPTION: &'static str =
        "the JPEG and PNG files of a folder, sorted by name, as one stream";

    fn validate(&self) -> Result<()> {
        self.check().map(|_| ())
    }

    fn build(self, ctx: &BuildContext) -> Result<Box<dyn Source>> {
        let (n, d) = self.check()?;
        let mut source = ImageDirectorySource::new(self.source_id, &self.path)
            .map_err(|e| source_error(ctx, e))?;
        if let Some(glob) = &self.glob {
            source = source.glob(glob).map_err(|e| source_error(ctx, e))?;
        }
        Ok(finish(source.framerate(n, d), self.repeat, self.pace, ctx))
    }
}

savant_sdk_plugin::register_source!(ImageFolderConfig);

/// `multi_stream`: one video file or image folder as N streams
/// ([`MultiStreamSource`](crate::MultiStreamSource)), read once into
/// memory (at most [`MAX_INPUT_BYTES`](crate::MAX_INPUT_BYTES)), frames
/// interleaved round robin, an EOS per stream.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "savant_sdk_plugin::schemars")]
#[serde(deny_unknown_fields)]
pub struct MultiStreamConfig {
    /// A video file (its access units) or a folder of JPEG/PNG images.
    pub path: PathBuf,
    /// How many streams.
    pub streams: usize,
    /// Source ids: this pattern with its one `%d` replaced by 0..streams-1.
    pub source_id_pattern: String,
    /// Release frame k of every stream at frame k's pts after the start.
    #[serde(default)]
    pub pace: bool,
    /// Frame rate of an image folder, "N/D" or "N".
    #[serde(default = "default_framerate")]
    pub framerate: String,
}

impl MultiStreamConfig {
    fn check(&self) -> Result<(i64, i64)> {
        check_path("path", &self.path)?;
        if self.streams == 0 {
            return Err(Error::invalid_config("streams", "must be at least 1"));
        }
        if self.source_id_pattern.matches("%d").count() != 1 {
            return Err(Error::invalid_config(
                "source_id_pattern",
                format!("{:?} must hold exactly one %d", self.source_id_pattern),
            ));
        }
        check_framerate(&self.framerate)
    }
}

impl SourceConfig for MultiStreamConfig {
    const TYPE: &'static str = "multi_stream";
    const DESCRIPTION: &'static str =
        "one video file or image folder as N streams (read once, round robin, an EOS each)";

    fn validate(&self) -> Result<()> {
        self.check().map(|_| ())
    }

    fn build(self, ctx: &BuildContext) -> Result<Box<dyn Source>> {
        let fps = self.check()?;
        let source =
            crate::MultiStreamSource::open(&self.path, fps, self.streams, &self.source_id_pattern)
                .map_err(|e| source_error(ctx, e))?
                .pace(self.pace);
        Ok(guarded(Box::new(source), ctx))
    }
}

savant_sdk_plugin::register_source!(MultiStreamConfig);

#[cfg(feature = "gstreamer")]
pub use self::video::{RtspConfig, RtspTransportName, VideoFileConfig};

#[cfg(feature = "gstreamer")]
mod video {
    use std::time::Duration;

    use super::*;
    use crate::{RtspReconnect, RtspSource, RtspTransport, VideoFileSource};

    /// `video_file`: the encoded video of a file, a folder of video files
    /// or a `file://` URI ([`VideoFileSource`]), never decoded.
    #[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
    #[schemars(crate = "savant_sdk_plugin::schemars")]
    #[serde(deny_unknown_fields)]
    pub struct VideoFileConfig {
        /// Source id of the frames.
        pub source_id: String,
        /// A video file, a folder (its video files in name order) or a `file://` URI.
        pub path: String,
        /// Start again from the first file after the last one, forever.
        #[serde(default, rename = "loop")]
        pub looped: bool,
        /// Send in real time, at the speed of the timestamps, instead of as fast as they are taken.
        #[serde(default)]
        pub pace: bool,
        /// Start the first file here, milliseconds (at the keyframe before it).
        #[serde(default)]
        pub start_offset_ms: Option<u64>,
        /// Add the wall-clock time of the first frame (ns since the Unix epoch) to every pts and dts.
        #[serde(default)]
        pub absolute_timestamps: bool,
        /// Send an EOS at the end of each file.
        #[serde(default = "default_true")]
        pub eos_on_file_end: bool,
        /// Drop each frame with this probability, in [0, 1), before it is sent (counted, logged at the end).
        #[serde(default)]
        pub loss_rate: f64,
        /// The seed of the drops: the same seed drops the same frames (default: from the clock).
        #[serde(default)]
        pub seed: Option<u64>,
    }

    impl SourceConfig for VideoFileConfig {
        const TYPE: &'static str = "video_file";
        const DESCRIPTION: &'static str =
            "encoded video of files (MP4, MKV, MPEG-TS, AVI; H.264, HEVC, VP8, VP9, AV1, MJPEG), not decoded";

        fn validate(&self) -> Result<()> {
            check_source_id(&self.source_id)?;
            if self.path.is_empty() {
                return Err(Error::invalid_config("path", "must not be empty"));
            }
            if self.path.contains("://") && !self.path.starts_with("file://") {
                return Err(Error::invalid_config(
                    "path",
                    "a video file source reads files and file:// URIs (use type = \"rtsp\" for cameras)",
                ));
            }
            crate::check_loss_rate(self.loss_rate).map_err(|_| {
                Error::invalid_config(
                    "loss_rate",
                    format!("{} is not a probability in [0, 1)", self.loss_rate),
                )
            })?;
            Ok(())
        }

        fn build(self, ctx: &BuildContext) -> Result<Box<dyn Source>> {
            self.validate()?;
            let mut builder = VideoFileSource::builder(self.source_id, self.path)
                .looped(self.looped)
                .pace(self.pace)
                .absolute_timestamps(self.absolute_timestamps)
                .eos_on_file_end(self.eos_on_file_end)
                .loss_rate(self.loss_rate);
            if let Some(seed) = self.seed {
                builder = builder.seed(seed);
            }
            if let Some(ms) = self.start_offset_ms {
                builder = builder.start_offset(Duration::from_millis(ms));
            }
            let source = builder.build().map_err(|e| source_error(ctx, e))?;
            Ok(guarded(Box::new(source), ctx))
        }
    }

    savant_sdk_plugin::register_source!(VideoFileConfig);

    /// How RTP travels from the camera.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
    #[schemars(crate = "savant_sdk_plugin::schemars")]
    #[serde(rename_all = "lowercase")]
    pub enum RtspTransportName {
        /// Interleaved in the RTSP TCP connection.
        #[default]
        Tcp,
        /// RTP over UDP.
        Udp,
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }
    fn default_latency_ms() -> u64 {
        200
    }
    fn default_connect_timeout_ms() -> u64 {
        10_000
    }
    fn default_silence_timeout_ms() -> u64 {
        5_000
    }
    fn default_backoff_initial_ms() -> u64 {
        500
    }
    fn default_backoff_max_ms() -> u64 {
        30_000
    }
    fn default_attempts() -> u32 {
        5
    }

    /// `rtsp`: the encoded video of an RTSP camera ([`RtspSource`]), with
    /// reconnection; the source ends at the pipeline's shutdown, also
    /// while it waits to reconnect.
    #[derive(Clone, Deserialize, schemars::JsonSchema)]
    #[schemars(crate = "savant_sdk_plugin::schemars")]
    #[serde(deny_unknown_fields)]
    pub struct RtspConfig {
        /// Source id of the frames.
        pub source_id: String,
        /// `rtsp://[user:password@]host[:port]/path` (also rtsps, rtspt, rtspu); credentials never appear in logs.
        pub url: String,
        /// `tcp` or `udp` for the RTP packets.
        #[serde(default)]
        pub transport: RtspTransportName,
        /// Jitter buffer, milliseconds.
        #[serde(default = "default_latency_ms")]
        pub latency_ms: u64,
        /// How long one connection attempt may take until the first access unit, milliseconds.
        #[serde(default = "default_connect_timeout_ms")]
        pub connect_timeout_ms: u64,
        /// No access unit for this long, once connected, is a disconnect, milliseconds.
        #[serde(default = "default_silence_timeout_ms")]
        pub silence_timeout_ms: u64,
        /// Wait before a reconnection, milliseconds; doubled after each failed attempt.
        #[serde(default = "default_backoff_initial_ms")]
        pub backoff_initial_ms: u64,
        /// The longest wait before a reconnection, milliseconds.
        #[serde(default = "default_backoff_max_ms")]
        pub backoff_max_ms: u64,
        /// Failed attempts in a row the first connection gets before the source fails.
        #[serde(default = "default_attempts")]
        pub attempts: u32,
        /// After a connection that worked is lost: give up after this many failed attempts in a row; absent, reconnect forever.
        #[serde(default)]
        pub give_up_after: Option<u32>,
    }

    impl std::fmt::Debug for RtspConfig {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("RtspConfig")
                .field("source_id", &self.source_id)
                .field("url", &crate::redact_url(&self.url))
                .field("transport", &self.transport)
                .finish_non_exhaustive()
        }
    }

    impl SourceConfig for RtspConfig {
        const TYPE: &'static str = "rtsp";
        const DESCRIPTION: &'static str =
            "encoded video of an RTSP camera (H.264, HEVC, VP8, VP9, MJPEG), with reconnection";

        fn validate(&self) -> Result<()> {
            check_source_id(&self.source_id)?;
            let scheme_ok = ["rtsp://", "rtsps://", "rtspt://", "rtspu://"]
                .iter()
                .any(|s| self.url.len() > s.len() && self.url[..s.len()].eq_ignore_ascii_case(s));
            if !scheme_ok || crate::video::rtsp_host_port(&self.url).is_none() {
                return Err(Error::invalid_config(
                    "url",
                    format!(
                        "{} is not an rtsp:// URL with a host",
                        crate::redact_url(&self.url)
                    ),
                ));
            }
            if self.attempts == 0 {
                return Err(Error::invalid_config("attempts", "must be at least 1"));
            }
            if self.give_up_after == Some(0) {
                return Err(Error::invalid_config(
                    "give_up_after",
                    "must be at least 1 (leave it out to reconnect forever)",
                ));
            }
            for (key, v) in [
                ("connect_timeout_ms", self.connect_timeout_ms),
                ("silence_timeout_ms", self.silence_timeout_ms),
            ] {
                if v == 0 {
                    return Err(Error::invalid_config(key, "must be positive"));
                }
            }
            if self.backoff_initial_ms > self.backoff_max_ms {
                return Err(Error::invalid_config(
                    "backoff_initial_ms",
                    format!(
                        "{} is above backoff_max_ms {}",
                        self.backoff_initial_ms, self.backoff_max_ms
                    ),
                ));
            }
            if self.latency_ms > u64::from(u32::MAX) {
                return Err(Error::invalid_config("latency_ms", "too large"));
            }
            Ok(())
        }

        fn build(self, ctx: &BuildContext) -> Result<Box<dyn Source>> {
            self.validate()?;
            let source = RtspSource::builder(self.source_id, self.url)
                .transport(match self.transport {
                    RtspTransportName::Tcp => RtspTransport::Tcp,
                    RtspTransportName::Udp => RtspTransport::Udp,
                })
                .latency(ms(self.latency_ms))
                .connect_timeout(ms(self.connect_timeout_ms))
                .silence_timeout(ms(self.silence_timeout_ms))
                .backoff(ms(self.backoff_initial_ms), ms(self.backoff_max_ms))
                .attempts(self.attempts)
                .reconnect(match self.give_up_after {
                    Some(n) => RtspReconnect::GiveUpAfter(n),
                    None => RtspReconnect::Forever,
                })
                .build()
                .map_err(|e| source_error(ctx, e))?;
            Ok(guarded(Box::new(source), ctx))
        }
    }

    savant_sdk_plugin::register_source!(RtspConfig);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use savant_sdk_component::component::ShutdownTrigger;
    use savant_sdk_plugin::parse_config;

    use super::*;

    fn write_image(dir: &std::path::Path, name: &str, format: image::ImageFormat) -> PathBuf {
        let path = dir.join(name);
        image::RgbImage::from_pixel(8, 6, image::Rgb([10, 200, 30]))
            .save_with_format(&path, format)
            .unwrap();
        path
    }

    fn toml_path(p: &std::path::Path) -> String {
        p.display().to_string().replace('\\', "/")
    }

    async fn drain(mut s: Box<dyn Source>) -> Vec<SourceItem> {
        let mut out = Vec::new();
        while let Some(item) = s.next().await.unwrap() {
            out.push(item);
        }
        out
    }

    fn refused<C: SourceConfig>(text: &str, key: &str) {
        let message = match parse_config::<C>(C::TYPE, text) {
            Err(e) => e.to_string(),
            Ok(c) => c.validate().expect_err(text).to_string(),
        };
        assert!(message.contains(key), "{text:?}: {message}");
    }

    #[tokio::test]
    async fn jpeg_and_png_files() {
        let dir = tempfile::tempdir().unwrap();
        let jpeg = write_image(dir.path(), "a.jpeg", image::ImageFormat::Jpeg);
        let png = write_image(dir.path(), "b.png", image::ImageFormat::Png);
        let text = format!("source_id = 'cam'\npath = '{}'", toml_path(&jpeg));
        let c: JpegFileConfig = parse_config("jpeg_file", &text).unwrap();
        c.validate().unwrap();
        assert_eq!((c.repeat, c.pts, c.framerate.as_str()), (1, 0, "30/1"));
        assert_eq!(
            drain(c.build(&BuildContext::new("x")).unwrap()).await.len(),
            1
        );

        let text = format!(
            "source_id = 'cam'\npath = '{}'\nrepeat = 3\nframerate = '25'",
            toml_path(&png)
        );
        let c: PngFileConfig = parse_config("png_file", &text).unwrap();
        c.validate().unwrap();
        let items = drain(c.build(&BuildContext::new("x")).unwrap()).await;
        let pts: Vec<i64> = items
            .iter()
            .filter_map(|i| match i {
                SourceItem::Frame(f) => Some(f.frame.pts),
                _ => None,
            })
            .collect();
        assert_eq!(pts, vec![0, 40_000_000, 80_000_000]);

        // a PNG is not a JPEG: build fails naming the component
        let text = format!("source_id = 'cam'\npath = '{}'", toml_path(&png));
        let c: JpegFileConfig = parse_config("jpeg_file", &text).unwrap();
        let e = c
            .build(&BuildContext::new("front-door"))
            .err()
            .expect("refused");
        assert!(e.to_string().contains("front-door"), "{e}");

        refused::<JpegFileConfig>("path = 'a.jpg'", "source_id");
        refused::<JpegFileConfig>("source_id = 'a'", "path");
        refused::<PngFileConfig>(
            "source_id = 'a'\npath = 'a.png'\nframerate = '0/1'",
            "framerate",
        );
        refused::<PngFileConfig>("source_id = 'a'\npath = 'a.png'\nfps = 3", "fps");
        refused::<JpegFileConfig>("source_id = ''\npath = 'a.jpg'", "source_id");
    }

    #[tokio::test]
    async fn image_folder() {
        let dir = tempfile::tempdir().unwrap();
        write_image(dir.path(), "1.jpg", image::ImageFormat::Jpeg);
        write_image(dir.path(), "2.png", image::ImageFormat::Png);
        let text = format!("source_id = 'cam'\npath = '{}'", toml_path(dir.path()));
        let c: ImageFolderConfig = parse_config("image_folder", &text).unwrap();
        c.validate().unwrap();
        assert_eq!(
            drain(c.build(&BuildContext::new("x")).unwrap()).await.len(),
            2
        );
        let text = format!(
            "source_id = 'cam'\npath = '{}'\nglob = '*.png'\nrepeat = 2",
            toml_path(dir.path())
        );
        let c: ImageFolderConfig = parse_config("image_folder", &text).unwrap();
        assert_eq!(
            drain(c.build(&BuildContext::new("x")).unwrap()).await.len(),
            2
        );

        refused::<ImageFolderConfig>("source_id = 'a'", "path");
        refused::<ImageFolderConfig>(
            "source_id = 'a'\npath = 'd'\nframerate = 'fast'",
            "framerate",
        );
        refused::<ImageFolderConfig>("source_id = 'a'\npath = 'd'\nglob = ''", "glob");
        refused::<ImageFolderConfig>("source_id = 'a'\npath = 'd'\nrecursive = true", "recursive");
        let text = format!(
            "source_id = 'a'\npath = '{}'",
            toml_path(&dir.path().join("none"))
        );
        let c: ImageFolderConfig = parse_config("image_folder", &text).unwrap();
        c.validate().unwrap(); // no I/O in validate
        assert!(c.build(&BuildContext::new("x")).is_err());
    }

    #[tokio::test]
    async fn a_paced_endless_source_ends_at_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let jpeg = write_image(dir.path(), "a.jpg", image::ImageFormat::Jpeg);
        let text = format!(
            "source_id = 'cam'\npath = '{}'\nrepeat = 0\npace = true\nframerate = '1/10'",
            toml_path(&jpeg)
        );
        let c: JpegFileConfig = parse_config("jpeg_file", &text).unwrap();
        let trigger = ShutdownTrigger::new();
        let ctx = BuildContext::new("x").with_shutdown(trigger.subscribe());
        let mut source = c.build(&ctx).unwrap();
        // the first frame at once, the second in 10 s: shutdown ends the wait
        assert!(source.next().await.unwrap().is_some());
        let waiting = tokio::spawn(async move {
            let r = source.next().await.unwrap();
            (r.is_none(), source.next().await.unwrap().is_none())
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        trigger.trigger();
        let ended = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("ended at shutdown")
            .unwrap();
        assert_eq!(ended, (true, true));
    }

    #[test]
    fn every_source_is_registered_with_a_schema() {
        let mut names = vec!["jpeg_file", "png_file", "image_folder"];
        if cfg!(feature = "gstreamer") {
            names.extend(["video_file", "rtsp"]);
        }
        for name in names {
            let c = savant_sdk_plugin::static_components()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("{name} is not registered"));
            assert_eq!(c.kind(), "source");
            assert!(!c.description.is_empty());
            let schema = (c.schema)();
            let props = schema["properties"].as_object();
            assert!(
                props.is_some_and(|p| p.contains_key("source_id")),
                "{name}: {schema}"
            );
        }
    }

    #[tokio::test]
    async fn multi_stream() {
        let dir = tempfile::tempdir().unwrap();
        write_image(dir.path(), "1.jpg", image::ImageFormat::Jpeg);
        write_image(dir.path(), "2.jpg", image::ImageFormat::Jpeg);
        let text = format!(
            "path = '{}'\nstreams = 3\nsource_id_pattern = 'cam-%d'",
            toml_path(dir.path())
        );
        let c: MultiStreamConfig = parse_config("multi_stream", &text).unwrap();
        c.validate().unwrap();
        let items = drain(c.build(&BuildContext::new("x")).unwrap()).await;
        assert_eq!(items.len(), 2 * 3 + 3);
        assert_eq!(items[8], SourceItem::EndOfStream("cam-2".into()));
        assert!(savant_sdk_plugin::static_components().any(|c| c.name == "multi_stream"));
        refused::<MultiStreamConfig>("path = 'd'\nstreams = 2", "source_id_pattern");
        refused::<MultiStreamConfig>(
            "path = 'd'\nstreams = 2\nsource_id_pattern = 'cam'",
            "source_id_pattern",
        );
        refused::<MultiStreamConfig>(
            "path = 'd'\nstreams = 0\nsource_id_pattern = 'c%d'",
            "streams",
        );
    }

    #[cfg(feature = "gstreamer")]
    mod video {
        use super::*;

        #[tokio::test]
        async fn video_file() {
            let text = "source_id = 'cam'\npath = '/data/street.mp4'";
            let c: VideoFileConfig = parse_config("video_file", text).unwrap();
            c.validate().unwrap();
            assert!(!c.looped && !c.pace && c.eos_on_file_end && c.start_offset_ms.is_none());
            let c: VideoFileConfig = parse_config(
                "video_file",
                "source_id = 'cam'\npath = 'v.mkv'\nloop = true\nstart_offset_ms = 1500",
            )
            .unwrap();
            assert!(c.looped);
            refused::<VideoFileConfig>("source_id = 'a'", "path");
            refused::<VideoFileConfig>("source_id = 'a'\npath = 'rtsp://h/x'", "path");
            refused::<VideoFileConfig>("source_id = 'a'\npath = 'a.mp4'\nlooped = true", "looped");
            for rate in ["-0.1", "1.0", "nan"] {
                refused::<VideoFileConfig>(
                    &format!("source_id = 'a'\npath = 'a.mp4'\nloss_rate = {rate}"),
                    "loss_rate",
                );
            }
            let c: VideoFileConfig = parse_config(
                "video_file",
                "source_id = 'a'\npath = 'a.mp4'\nloop = true\nloss_rate = 0.25\nseed = 9",
            )
            .unwrap();
            c.validate().unwrap();
            assert_eq!((c.loss_rate, c.seed), (0.25, Some(9)));
            // a missing file fails at build, naming the component
            let dir = tempfile::tempdir().unwrap();
            let text = format!(
                "source_id = 'cam'\npath = '{}'",
                toml_path(&dir.path().join("none.mp4"))
            );
            let c: VideoFileConfig = parse_config("video_file", &text).unwrap();
            c.validate().unwrap();
            let e = c
                .build(&BuildContext::new("street"))
                .err()
                .expect("refused");
            assert!(e.to_string().contains("street"), "{e}");
        }

        #[test]
        fn rtsp_settings() {
            let c: RtspConfig = parse_config(
                "rtsp",
                "source_id = 'cam'\nurl = 'rtsp://u:pw@10.0.0.5/live'",
            )
            .unwrap();
            c.validate().unwrap();
            assert_eq!(
                (c.transport, c.latency_ms, c.attempts, c.give_up_after),
                (RtspTransportName::Tcp, 200, 5, None)
            );
            assert!(!format!("{c:?}").contains("pw"));
            let c: RtspConfig = parse_config(
                "rtsp",
                "source_id = 'cam'\nurl = 'rtsp://h/x'\ntransport = 'udp'\ngive_up_after = 3",
            )
            .unwrap();
            c.validate().unwrap();
            refused::<RtspConfig>("source_id = 'a'", "url");
            refused::<RtspConfig>("source_id = 'a'\nurl = 'http://h/x'", "url");
            refused::<RtspConfig>(
                "source_id = 'a'\nurl = 'rtsp://h/x'\nattempts = 0",
                "attempts",
            );
            refused::<RtspConfig>(
                "source_id = 'a'\nurl = 'rtsp://h/x'\nsilence_timeout_ms = 0",
                "silence_timeout_ms",
            );
            refused::<RtspConfig>(
                "source_id = 'a'\nurl = 'rtsp://h/x'\nbackoff_initial_ms = 5000\nbackoff_max_ms = 10",
                "backoff_initial_ms",
            );
            refused::<RtspConfig>(
                "source_id = 'a'\nurl = 'rtsp://h/x'\ngive_up_after = 0",
                "give_up_after",
            );
            refused::<RtspConfig>(
                "source_id = 'a'\nurl = 'rtsp://h/x'\ntransport = 'sctp'",
                "transport",
            );
        }

        /// A camera that is not there: the source waits to reconnect, and
        /// ends at shutdown instead of after its attempts.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn rtsp_ends_at_shutdown_while_reconnecting() {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port(); // closed again: connections are refused
            let text = format!(
                "source_id = 'cam'\nurl = 'rtsp://127.0.0.1:{port}/x'\nattempts = 1000\nbackoff_initial_ms = 2000\nbackoff_max_ms = 2000\nconnect_timeout_ms = 2000"
            );
            let c: RtspConfig = parse_config("rtsp", &text).unwrap();
            let trigger = ShutdownTrigger::new();
            let ctx = BuildContext::new("cam").with_shutdown(trigger.subscribe());
            let mut source = c.build(&ctx).unwrap();
            let waiting = tokio::spawn(async move { source.next().await.map(|i| i.is_none()) });
            tokio::time::sleep(Duration::from_millis(500)).await;
            trigger.trigger();
            let ended = tokio::time::timeout(Duration::from_secs(10), waiting)
                .await
                .expect("ended at shutdown")
                .unwrap()
                .unwrap();
            assert!(ended);
        }
    }
}
