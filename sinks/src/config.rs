//! The configurations of the built-in sinks, registered by name with
//! [`savant_sdk_plugin::register_sink!`] so that a pipeline file finds
//! them as `type = "..."`.
//!
//! | type | keys (default) |
//! |---|---|
//! | `image_files` | `dir`, `keyframes_only` (false) |
//! | `metadata_json` | one of `dir` (a file per source), `path` (one file), `stdout = true` |
//! | `annotated` | `dir`, `format` (`png` or `jpeg`; `png`), `thickness` (2) |
//! | `fan_out` | `sinks` (a list of tables, each with a `type` and optional `name`), `queue` (64) |
//! | `video_files` (feature `gstreamer`) | `dir`, `container` (`mp4` or `mkv`; `mp4`), `chunk_duration_ms` (none), `close_timeout_ms` (10000), `metadata` (true) |
//! | `annotated_video` (feature `gstreamer`) | `dir`, `container` (`mp4`), `bitrate_kbps` (2000), `keyframe_interval` (30), `thickness` (2) |
//! | `always_on_rtsp` (feature `rtsp-server`) | `port` (8554), `address` (`127.0.0.1`), `framerate` (`30/1`), `bitrate_kbps` (4000), `keyframe_interval` (30), `max_delay_ms` (1000), `stub` (a JPEG/PNG file; none: generated), `width`/`height` (none: the first frame's), `annotate` (false), `max_streams` (64) |
//!
//! ```toml
//! type = "fan_out"
//! queue = 64
//! sinks = [
//!     { type = "image_files", dir = "out/images" },
//!     { type = "metadata_json", name = "meta", dir = "out/meta" },
//! ]
//! ```
//!
//! `validate()` does no I/O: folders are created and checked by `build`.

use std::path::PathBuf;

use savant_sdk_component::component::{BuildContext, SinkConfig};
use savant_sdk_component::sink::Sink;
use savant_sdk_component::{Error, Result};
use savant_sdk_plugin::schemars;
use serde::Deserialize;

use crate::{
    AnnotatedFrameSink, FanOut, ImageFilesSink, MetadataJsonSink, SinkError, DEFAULT_QUEUE,
};

fn sink_error(ctx: &BuildContext, e: SinkError) -> Error {
    Error::sink(ctx.name(), e)
}

fn check_path(key: &str, path: &std::path::Path) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(Error::invalid_config(key, "must not be empty"));
    }
    Ok(())
}

#[cfg(feature = "gstreamer")]
fn default_true() -> bool {
    true
}

/// `image_files`: the images received (JPEG, PNG) as files,
/// `dir/<source_id>/<pts>.<ext>` ([`ImageFilesSink`]).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "savant_sdk_plugin::schemars")]
#[serde(deny_unknown_fields)]
pub struct ImageFilesConfig {
    /// The output folder (created at start).
    pub dir: PathBuf,
    /// Only write keyframes.
    #[serde(default)]
    pub keyframes_only: bool,
}

impl SinkConfig for ImageFilesConfig {
    const TYPE: &'static str = "image_files";
    const DESCRIPTION: &'static str = "received images as files, one folder per source";

    fn validate(&self) -> Result<()> {
        check_path("dir", &self.dir)
    }

    fn build(self, ctx: &BuildContext) -> Result<Box<dyn Sink>> {
        self.validate()?;
        let sink = ImageFilesSink::new(&self.dir).map_err(|e| sink_error(ctx, e))?;
        Ok(Box::new(sink.keyframes_only(self.keyframes_only)))
    }
}

savant_sdk_plugin::register_sink!(ImageFilesConfig);

/// `metadata_json`: frame metadata as JSON lines ([`MetadataJsonSink`]),
/// to one of: a file per source under `dir`, one file `path`, or standard
/// output.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "savant_sdk_plugin::schemars")]
#[serde(deny_unknown_fields)]
pub struct MetadataJsonConfig {
    /// A folder: `dir/<source_id>.jsonl` for each source.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// One file for every source.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Standard output.
    #[serde(default)]
    pub stdout: bool,
}

impl SinkConfig for MetadataJsonConfig {
    const TYPE: &'static str = "metadata_json";
    const DESCRIPTION: &'static str =
        "frame metadata as JSON lines (per source, one file or stdout)";

    fn validate(&self) -> Result<()> {
        let chosen = [self.dir.is_some(), self.path.is_some(), self.stdout]
            .iter()
            .filter(|b| **b)
            .count();
        if chosen != 1 {
            return Err(Error::invalid_config(
                "dir",
                "give exactly one of dir, path or stdout = true",
            ));
        }
        if let Some(dir) = &self.dir {
            check_path("dir", dir)?;
        }
        if let Some(path) = &self.path {
            check_path("path", path)?;
        }
        Ok(())
    }

    fn build(self, ctx: &BuildContext) -> Result<Box<dyn Sink>> {
        self.validate()?;
        let sink = match (&self.dir, &self.path) {
            (Some(dir), _) => MetadataJsonSink::per_source(dir),
            (_, Some(path)) => MetadataJsonSink::file(path),
            _ => Ok(MetadataJsonSink::stdout()),
        }
        .map_err(|e| sink_error(ctx, e))?;
        Ok(Box::new(sink))
    }
}

savant_sdk_plugin::register_sink!(MetadataJsonConfig);

/// The image format the `annotated` sink writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "savant_sdk_plugin::schemars")]
#[serde(rename_all = "lowercase")]
pub enum AnnotatedFormat {
    /// PNG files.
    #[default]
    Png,
    /// JPEG files.
    Jpeg,
}

fn default_thickness() -> u32 {
    2
}

/// `annotated`: received frames with the detected objects drawn on them,
/// as image files ([`AnnotatedFrameSink`]).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "savant_sdk_plugin::schemars")]
#[serde(deny_unknown_fields)]
pub struct AnnotatedConfig {
    /// The output folder (created at start).
    pub dir: PathBuf,
    /// `png` or `jpeg`.
    #[serde(default)]
    pub format: AnnotatedFormat,
    /// Line width of the boxes, pixels (at least 1).
    #[serde(default = "default_thickness")]
    pub thickness: u32,
}

impl SinkConfig for AnnotatedConfig {
    const TYPE: &'static str = "annotated";
    const DESCRIPTION: &'static str = "frames with their objects drawn on them, as image files";

    fn validate(&self) -> Result<()> {
        check_path("dir", &self.dir)?;
        if self.thickness == 0 {
            return Err(Error::invalid_config("thickness", "must be at least 1"));
        }
        Ok(())
    }

    fn build(self, ctx: &BuildContext) -> Result<Box<dyn Sink>> {
        self.validate()?;
        let mut sink = AnnotatedFrameSink::new(&self.dir)
            .map_err(|e| sink_error(ctx, e))?
            .thickness(self.thickness);
        if self.format == AnnotatedFormat::Jpeg {
            sink = sink.jpeg();
        }
        Ok(Box::new(sink))
    }
}

savant_sdk_plugin::register_sink!(AnnotatedConfig);

fn default_queue() -> usize {
    DEFAULT_QUEUE
}

/// `fan_out`: every result to each of several sinks, each behind a
/// bounded queue ([`FanOut`]). Each entry of `sinks` is a table with the
/// nested sink's `type`, an optional `name` (default `<fan-out name>.<type>`)
/// and that sink's own keys; it is built through the build context's
/// registry.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "savant_sdk_plugin::schemars")]
#[serde(deny_unknown_fields)]
pub struct FanOutConfig {
    /// The sinks: tables with a `type` (and optional `name`) plus the keys of that sink.
    pub sinks: Vec<serde_json::Value>,
    /// How many results one sink may lag behind the fastest (at least 1).
    #[serde(default = "default_queue")]
    pub queue: usize,
}

impl FanOutConfig {
    /// The nested sinks as (name, type, configuration JSON text).
    fn entries(&self, parent: &str) -> Result<Vec<(String, String, String)>> {
        let mut out = Vec::with_capacity(self.sinks.len());
        for (i, entry) in self.sinks.iter().enumerate() {
            let key = |k: &str| format!("sinks[{i}].{k}");
            let serde_json::Value::Object(table) = entry else {
                return Err(Error::invalid_config(
                    format!("sinks[{i}]"),
                    "must be a table with a type",
                ));
            };
            let mut table = table.clone();
            let type_name = match table.remove("type") {
                Some(serde_json::Value::String(t)) if !t.is_empty() => t,
                Some(_) => return Err(Error::invalid_config(key("type"), "must be a string")),
                None => return Err(Error::invalid_config(key("type"), "is missing")),
            };
            let name = match table.remove("name") {
                Some(serde_json::Value::String(n)) if !n.is_empty() => n,
                Some(_) => return Err(Error::invalid_config(key("name"), "must be a string")),
                None => format!("{parent}.{type_name}"),
            };
            out.push((
                name,
                type_name,
                serde_json::Value::Object(table).to_string(),
            ));
        }
        Ok(out)
    }
}

impl SinkConfig for FanOutConfig {
    const TYPE: &'static str = "fan_out";
    const DESCRIPTION: &'static str = "every result to each of several sinks, each behind a queue";

    fn validate(&self) -> Result<()> {
        if self.sinks.is_empty() {
            return Err(Error::invalid_config(
                "sinks",
                "must list at least one sink",
            ));
        }
        if self.queue == 0 {
            return Err(Error::invalid_config("queue", "must be at least 1"));
        }
        self.entries("fan_out").map(|_| ())
    }

    fn build(self, ctx: &BuildContext) -> Result<Box<dyn Sink>> {
        self.validate()?;
        let mut fan_out = FanOut::new().queue(self.queue);
        for (name, type_name, text) in self.entries(ctx.name())? {
            fan_out.push(ctx.build_sink(&name, &type_name, &text)?);
        }
        Ok(Box::new(fan_out))
    }
}

savant_sdk_plugin::register_sink!(FanOutConfig);

#[cfg(feature = "gstreamer")]
pub use self::video::{AnnotatedVideoConfig, VideoContainerName, VideoFilesConfig};

#[cfg(feature = "gstreamer")]
mod video {
    use std::time::Duration;

    use super::*;
    use crate::{VideoContainer, VideoFileSink};

    /// The container of the `video_files` sink.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
    #[schemars(crate = "savant_sdk_plugin::schemars")]
    #[serde(rename_all = "lowercase")]
    pub enum VideoContainerName {
        /// MP4: H.264, HEVC, VP9, AV1.
        #[default]
        Mp4,
        /// Matroska: H.264, HEVC, VP8, VP9, AV1, MJPEG.
        Mkv,
    }

    fn default_close_timeout_ms() -> u64 {
        10_000
    }

    /// `video_files`: received encoded frames muxed into MP4 or MKV files,
    /// `dir/<source_id>/<first pts>.<ext>`, with the metadata beside them
    /// ([`VideoFileSink`]).
    #[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
    #[schemars(crate = "savant_sdk_plugin::schemars")]
    #[serde(deny_unknown_fields)]
    pub struct VideoFilesConfig {
        /// The output folder (created at start).
        pub dir: PathBuf,
        /// `mp4` or `mkv`.
        #[serde(default)]
        pub container: VideoContainerName,
        /// Start a new file at the first keyframe this long (of pts) after the file's start, milliseconds; absent or 0: one file until EOS or a parameter change.
        #[serde(default)]
        pub chunk_duration_ms: Option<u64>,
        /// How long closing a file may wait for the muxer, milliseconds.
        #[serde(default = "default_close_timeout_ms")]
        pub close_timeout_ms: u64,
        /// Write the `.jsonl` metadata beside each file.
        #[serde(default = "default_true")]
        pub metadata: bool,
    }

    impl SinkConfig for VideoFilesConfig {
        const TYPE: &'static str = "video_files";
        const DESCRIPTION: &'static str =
            "received encoded video muxed into MP4 or MKV files, one per source at a time";

        fn validate(&self) -> Result<()> {
            check_path("dir", &self.dir)?;
            if self.close_timeout_ms == 0 {
                return Err(Error::invalid_config(
                    "close_timeout_ms",
                    "must be positive",
                ));
            }
            Ok(())
        }

        fn build(self, ctx: &BuildContext) -> Result<Box<dyn Sink>> {
            self.validate()?;
            let sink = VideoFileSink::builder(&self.dir)
                .container(match self.container {
                    VideoContainerName::Mp4 => VideoContainer::Mp4,
                    VideoContainerName::Mkv => VideoContainer::Mkv,
                })
                .chunk_duration(self.chunk_duration_ms.map(Duration::from_millis))
                .close_timeout(Duration::from_millis(self.close_timeout_ms))
                .metadata(self.metadata)
                .build()
                .map_err(|e| sink_error(ctx, e))?;
            Ok(Box::new(sink))
        }
    }

    savant_sdk_plugin::register_sink!(VideoFilesConfig);

    fn default_annotated_bitrate() -> u32 {
        2000
    }

    fn default_keyframe_interval() -> u32 {
        30
    }

    /// `annotated_video`: received frames of any decodable codec with the
    /// detected objects drawn, re-encoded as H.264 into MP4 or MKV files
    /// ([`crate::AnnotatedVideoSink`]).
    #[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
    #[schemars(crate = "savant_sdk_plugin::schemars")]
    #[serde(deny_unknown_fields)]
    pub struct AnnotatedVideoConfig {
        /// The output folder (created at start).
        pub dir: PathBuf,
        /// `mp4` or `mkv`.
        #[serde(default)]
        pub container: VideoContainerName,
        /// The H.264 bitrate, kbit/s.
        #[serde(default = "default_annotated_bitrate")]
        pub bitrate_kbps: u32,
        /// Most frames between keyframes.
        #[serde(default = "default_keyframe_interval")]
        pub keyframe_interval: u32,
        /// Line width of the boxes in pixels.
        #[serde(default = "default_thickness")]
        pub thickness: u32,
    }

    impl SinkConfig for AnnotatedVideoConfig {
        const TYPE: &'static str = "annotated_video";
        const DESCRIPTION: &'static str =
            "received frames decoded, annotated and re-encoded as H.264 into MP4 or MKV files";

        fn validate(&self) -> Result<()> {
            check_path("dir", &self.dir)?;
            for (key, v) in [
                ("bitrate_kbps", self.bitrate_kbps),
                ("keyframe_interval", self.keyframe_interval),
                ("thickness", self.thickness),
            ] {
                if v == 0 {
                    return Err(Error::invalid_config(key, "must be positive"));
                }
            }
            Ok(())
        }

        fn build(self, ctx: &BuildContext) -> Result<Box<dyn Sink>> {
            self.validate()?;
            let sink = crate::AnnotatedVideoSink::builder(&self.dir)
                .container(match self.container {
                    VideoContainerName::Mp4 => VideoContainer::Mp4,
                    VideoContainerName::Mkv => VideoContainer::Mkv,
                })
                .bitrate_kbps(self.bitrate_kbps)
                .keyframe_interval(self.keyframe_interval)
                .thickness(self.thickness)
                .build()
                .map_err(|e| sink_error(ctx, e))?;
            Ok(Box::new(sink))
        }
    }

    savant_sdk_plugin::register_sink!(AnnotatedVideoConfig);
}

#[cfg(feature = "rtsp-server")]
pub use self::rtsp::AlwaysOnRtspConfig;

#[cfg(feature = "rtsp-server")]
mod rtsp {
    use std::time::Duration;

    use super::*;
    use crate::AlwaysOnRtspSink;

    fn default_port() -> u16 {
        8554
    }
    fn default_address() -> String {
        "127.0.0.1".into()
    }
    fn default_framerate() -> String {
        "30/1".into()
    }
    fn default_bitrate() -> u32 {
        4000
    }
    fn default_keyframe_interval() -> u32 {
        30
    }
    fn default_max_delay_ms() -> u64 {
        1000
    }
    fn default_max_streams() -> usize {
        64
    }

    /// `always_on_rtsp`: each source id served at
    /// `rtsp://HOST:PORT/stream/<source_id>`, re-encoded H.264 at a constant
    /// frame rate, a stub picture while a source sends nothing
    /// ([`AlwaysOnRtspSink`]).
    #[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
    #[schemars(crate = "savant_sdk_plugin::schemars")]
    #[serde(deny_unknown_fields)]
    pub struct AlwaysOnRtspConfig {
        /// The RTSP port (0: any free port).
        #[serde(default = "default_port")]
        pub port: u16,
        /// The address to listen on.
        #[serde(default = "default_address")]
        pub address: String,
        /// The output frame rate, `num/den`.
        #[serde(default = "default_framerate")]
        pub framerate: String,
        /// The H.264 bitrate, kbit/s.
        #[serde(default = "default_bitrate")]
        pub bitrate_kbps: u32,
        /// Most frames between keyframes.
        #[serde(default = "default_keyframe_interval")]
        pub keyframe_interval: u32,
        /// Milliseconds without a frame before the stub shows.
        #[serde(default = "default_max_delay_ms")]
        pub max_delay_ms: u64,
        /// The stub picture (JPEG or PNG); absent: a generated "no signal" frame.
        #[serde(default)]
        pub stub: Option<PathBuf>,
        /// The output width (with `height`); absent: each source's first picture's.
        #[serde(default)]
        pub width: Option<u32>,
        /// The output height (with `width`).
        #[serde(default)]
        pub height: Option<u32>,
        /// Draw the objects on the pictures.
        #[serde(default)]
        pub annotate: bool,
        /// Source ids served at most.
        #[serde(default = "default_max_streams")]
        pub max_streams: usize,
    }

    use savant_sdk_gst::parse_framerate;

    impl SinkConfig for AlwaysOnRtspConfig {
        const TYPE: &'static str = "always_on_rtsp";
        const DESCRIPTION: &'static str =
            "each source id served as an always-on RTSP stream (re-encoded H.264, a stub picture while it sends nothing)";

        fn validate(&self) -> Result<()> {
            if parse_framerate(&self.framerate).is_none() {
                return Err(Error::invalid_config(
                    "framerate",
                    format!("{:?} is not num/den with both positive", self.framerate),
                ));
            }
            for (key, v) in [
                ("bitrate_kbps", u64::from(self.bitrate_kbps)),
                ("keyframe_interval", u64::from(self.keyframe_interval)),
                ("max_delay_ms", self.max_delay_ms),
                ("max_streams", self.max_streams as u64),
            ] {
                if v == 0 {
                    return Err(Error::invalid_config(key, "must be positive"));
                }
            }
            match (self.width, self.height) {
                (Some(w), Some(h)) if w >= 2 && h >= 2 => {}
                (None, None) => {}
                _ => {
                    return Err(Error::invalid_config(
                        "width",
                        "width and height go together, each at least 2",
                    ))
                }
            }
            if let Some(stub) = &self.stub {
                check_path("stub", stub)?;
            }
            Ok(())
        }

        fn build(self, ctx: &BuildContext) -> Result<Box<dyn Sink>> {
            self.validate()?;
            let (n, d) = parse_framerate(&self.framerate).expect("validated");
            let mut settings = AlwaysOnRtspSink::builder(self.port)
                .address(self.address)
                .framerate(n, d)
                .bitrate_kbps(self.bitrate_kbps)
                .keyframe_interval(self.keyframe_interval)
                .max_delay(Duration::from_millis(self.max_delay_ms))
                .annotate(self.annotate)
                .max_streams(self.max_streams);
            if let (Some(w), Some(h)) = (self.width, self.height) {
                settings = settings.size(w, h);
            }
            if let Some(stub) = &self.stub {
                settings = settings.stub_file(stub).map_err(|e| sink_error(ctx, e))?;
            }
            Ok(Box::new(settings.build().map_err(|e| sink_error(ctx, e))?))
        }
    }

    savant_sdk_plugin::register_sink!(AlwaysOnRtspConfig);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use savant_sdk_component::component::ComponentLookup;
    use savant_sdk_component::source::Source;
    use savant_sdk_plugin::parse_config;

    use super::*;

    fn refused<C: SinkConfig>(text: &str, key: &str) {
        let message = match parse_config::<C>(C::TYPE, text) {
            Err(e) => e.to_string(),
            Ok(c) => c.validate().expect_err(text).to_string(),
        };
        assert!(message.contains(key), "{text:?}: {message}");
    }

    fn path(p: &std::path::Path) -> String {
        p.display().to_string().replace('\\', "/")
    }

    /// The statically registered components, as a registry would offer them.
    struct Static;

    impl ComponentLookup for Static {
        fn build_source(&self, t: &str, _: &str, _: &BuildContext) -> Result<Box<dyn Source>> {
            Err(Error::Config(format!("no source {t}")))
        }
        fn build_sink(&self, t: &str, config: &str, ctx: &BuildContext) -> Result<Box<dyn Sink>> {
            let c = savant_sdk_plugin::static_components()
                .find(|c| c.name == t)
                .ok_or_else(|| Error::Config(format!("no sink {t}")))?;
            c.create_sink(config, ctx)
                .map_err(|e| Error::Config(e.to_string()))
        }
    }

    #[test]
    fn image_files() {
        let tmp = tempfile::tempdir().unwrap();
        let text = format!("dir = '{}'", path(&tmp.path().join("img")));
        let c: ImageFilesConfig = parse_config("image_files", &text).unwrap();
        c.validate().unwrap();
        assert!(!c.keyframes_only);
        c.build(&BuildContext::new("x")).unwrap();
        assert!(tmp.path().join("img").is_dir());
        refused::<ImageFilesConfig>("keyframes_only = true", "dir");
        refused::<ImageFilesConfig>("dir = ''", "dir");
        refused::<ImageFilesConfig>("dir = 'd'\nquality = 3", "quality");
        // an unwritable folder fails at build, naming the component
        let file = tmp.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let text = format!("dir = '{}'", path(&file.join("sub")));
        let c: ImageFilesConfig = parse_config("image_files", &text).unwrap();
        let e = c
            .build(&BuildContext::new("pictures"))
            .err()
            .expect("refused");
        assert!(e.to_string().contains("pictures"), "{e}");
    }

    #[test]
    fn metadata_json() {
        let tmp = tempfile::tempdir().unwrap();
        let text = format!("dir = '{}'", path(&tmp.path().join("meta")));
        let c: MetadataJsonConfig = parse_config("metadata_json", &text).unwrap();
        c.validate().unwrap();
        c.build(&BuildContext::new("x")).unwrap();
        let text = format!("path = '{}'", path(&tmp.path().join("all.jsonl")));
        let c: MetadataJsonConfig = parse_config("metadata_json", &text).unwrap();
        c.build(&BuildContext::new("x")).unwrap();
        assert!(tmp.path().join("all.jsonl").is_file());
        let c: MetadataJsonConfig = parse_config("metadata_json", "stdout = true").unwrap();
        c.validate().unwrap();
        refused::<MetadataJsonConfig>("", "dir");
        refused::<MetadataJsonConfig>("dir = 'a'\npath = 'b'", "dir");
        refused::<MetadataJsonConfig>("file = 'b'", "file");
    }

    #[test]
    fn annotated() {
        let tmp = tempfile::tempdir().unwrap();
        let text = format!("dir = '{}'", path(tmp.path()));
        let c: AnnotatedConfig = parse_config("annotated", &text).unwrap();
        c.validate().unwrap();
        assert_eq!((c.format, c.thickness), (AnnotatedFormat::Png, 2));
        c.build(&BuildContext::new("x")).unwrap();
        let text = format!(
            "dir = '{}'\nformat = 'jpeg'\nthickness = 4",
            path(tmp.path())
        );
        let c: AnnotatedConfig = parse_config("annotated", &text).unwrap();
        c.build(&BuildContext::new("x")).unwrap();
        refused::<AnnotatedConfig>("format = 'png'", "dir");
        refused::<AnnotatedConfig>("dir = 'd'\nthickness = 0", "thickness");
        refused::<AnnotatedConfig>("dir = 'd'\nformat = 'gif'", "gif");
    }

    #[tokio::test]
    async fn fan_out_builds_its_sinks_through_the_registry() {
        let tmp = tempfile::tempdir().unwrap();
        let text = format!(
            "queue = 8\nsinks = [\n  {{ type = 'image_files', dir = '{}' }},\n  {{ type = 'metadata_json', name = 'meta', dir = '{}' }},\n]",
            path(&tmp.path().join("img")),
            path(&tmp.path().join("meta")),
        );
        let c: FanOutConfig = parse_config("fan_out", &text).unwrap();
        c.validate().unwrap();
        assert_eq!((c.sinks.len(), c.queue), (2, 8));
        // without a registry in the context: an error saying so
        let e = c
            .clone()
            .build(&BuildContext::new("out"))
            .err()
            .expect("refused");
        assert!(e.to_string().contains("registry"), "{e}");
        let ctx = BuildContext::new("out").with_lookup(Arc::new(Static));
        let mut sink = c.build(&ctx).unwrap();
        sink.finish().await.unwrap();
        assert!(tmp.path().join("img").is_dir() && tmp.path().join("meta").is_dir());
        // a nested sink's bad config is refused when built
        let c: FanOutConfig = parse_config(
            "fan_out",
            "sinks = [{ type = 'image_files', dir = 'd', colour = 1 }]",
        )
        .unwrap();
        c.validate().unwrap();
        let e = c.build(&ctx).err().expect("refused").to_string();
        assert!(e.contains("colour"), "{e}");

        refused::<FanOutConfig>("queue = 3", "sinks");
        refused::<FanOutConfig>("sinks = []", "sinks");
        refused::<FanOutConfig>(
            "sinks = [{ type = 'image_files', dir = 'd' }]\nqueue = 0",
            "queue",
        );
        refused::<FanOutConfig>("sinks = [{ dir = 'd' }]", "sinks[0].type");
        refused::<FanOutConfig>("sinks = [{ type = 3 }]", "sinks[0].type");
        refused::<FanOutConfig>("sinks = [{ type = 'a' }, 'b']", "sinks[1]");
        refused::<FanOutConfig>("sinks = [{ type = 'a', name = 1 }]", "sinks[0].name");
    }

    #[cfg(feature = "rtsp-server")]
    #[test]
    fn always_on_rtsp() {
        let c: AlwaysOnRtspConfig = parse_config("always_on_rtsp", "").unwrap();
        assert_eq!(
            (c.port, c.address.as_str(), c.framerate.as_str()),
            (8554, "127.0.0.1", "30/1")
        );
        assert_eq!(
            (c.max_delay_ms, c.annotate, c.stub.is_none()),
            (1000, false, true)
        );
        c.validate().unwrap();
        refused::<AlwaysOnRtspConfig>("framerate = '30'", "framerate");
        refused::<AlwaysOnRtspConfig>("framerate = '0/1'", "framerate");
        refused::<AlwaysOnRtspConfig>("max_delay_ms = 0", "max_delay_ms");
        refused::<AlwaysOnRtspConfig>("width = 640", "width");
        refused::<AlwaysOnRtspConfig>("port = 70000", "port");
        refused::<AlwaysOnRtspConfig>("colour = 'red'", "colour");
    }

    #[cfg(feature = "gstreamer")]
    #[test]
    fn annotated_video() {
        let c: AnnotatedVideoConfig = parse_config("annotated_video", "dir = 'v'").unwrap();
        assert_eq!(
            (c.bitrate_kbps, c.keyframe_interval, c.thickness),
            (2000, 30, 2)
        );
        refused::<AnnotatedVideoConfig>("bitrate_kbps = 1", "dir");
        refused::<AnnotatedVideoConfig>("dir = 'v'\nbitrate_kbps = 0", "bitrate_kbps");
        refused::<AnnotatedVideoConfig>("dir = 'v'\ncontainer = 'avi'", "avi");
    }

    #[test]
    fn every_sink_is_registered_with_a_schema() {
        let mut names = vec!["image_files", "metadata_json", "annotated", "fan_out"];
        if cfg!(feature = "gstreamer") {
            names.extend(["video_files", "annotated_video"]);
        }
        if cfg!(feature = "rtsp-server") {
            names.push("always_on_rtsp");
        }
        for name in names {
            let c = savant_sdk_plugin::static_components()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("{name} is not registered"));
            assert_eq!(c.kind(), "sink");
            assert!(!c.description.is_empty());
            let schema = (c.schema)();
            let props = schema["properties"].as_object();
            assert!(props.is_some_and(|p| !p.is_empty()), "{name}: {schema}");
        }
    }

    /// The sink's GStreamer work runs on a blocking thread: consume and
    /// finish work on a current-thread runtime too.
    #[cfg(feature = "gstreamer")]
    #[tokio::test]
    async fn video_files_consume_and_finish_off_the_runtime() {
        use savant_sdk_component::model::{EndOfStream, Message};
        use savant_sdk_component::sink::SinkResult;
        let tmp = tempfile::tempdir().unwrap();
        let text = format!("dir = '{}'", path(tmp.path()));
        let c: VideoFilesConfig = parse_config("video_files", &text).unwrap();
        let mut sink = c.build(&BuildContext::new("x")).unwrap();
        let eos = SinkResult {
            topic: "cam".into(),
            trace_id: None,
            content: None,
            message: Message::end_of_stream(EndOfStream::new("cam")),
            log_handle: Default::default(),
            seq_gap: None,
        };
        sink.consume(eos).await.unwrap();
        sink.finish().await.unwrap();
    }

    #[cfg(feature = "gstreamer")]
    #[test]
    fn video_files() {
        let tmp = tempfile::tempdir().unwrap();
        let text = format!("dir = '{}'", path(tmp.path()));
        let c: VideoFilesConfig = parse_config("video_files", &text).unwrap();
        c.validate().unwrap();
        assert_eq!(
            (
                c.container,
                c.chunk_duration_ms,
                c.close_timeout_ms,
                c.metadata
            ),
            (VideoContainerName::Mp4, None, 10_000, true)
        );
        c.build(&BuildContext::new("x")).unwrap();
        let text = format!(
            "dir = '{}'\ncontainer = 'mkv'\nchunk_duration_ms = 60000\nmetadata = false",
            path(tmp.path())
        );
        let c: VideoFilesConfig = parse_config("video_files", &text).unwrap();
        c.build(&BuildContext::new("x")).unwrap();
        refused::<VideoFilesConfig>("container = 'mkv'", "dir");
        refused::<VideoFilesConfig>("dir = 'd'\nchunk = 3", "chunk");
        refused::<VideoFilesConfig>("dir = 'd'\ncontainer = 'avi'", "avi");
        refused::<VideoFilesConfig>("dir = 'd'\nclose_timeout_ms = 0", "close_timeout_ms");
    }
}
