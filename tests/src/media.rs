//! Test media made with `gst-launch-1.0`, and what GStreamer itself reports
//! about them: the reference the video sources and sinks are checked
//! against. Nothing here is committed; every file is made in the test.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use savant_sdk_core::model::{EndOfStream, Message};
use savant_sdk_core::sink::SinkResult;
use savant_sdk_core::source::{Source, SourceItem};
use savant_sdk_gst::Codec;
use savant_sdk_sources::VideoFileSource;

/// A codec the tests encode with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestCodec {
    /// x264enc, with B-frames.
    H264,
    /// x265enc.
    Hevc,
    /// vp8enc.
    Vp8,
    /// vp9enc.
    Vp9,
    /// av1enc (libaom), fastest settings.
    Av1,
    /// jpegenc (MJPEG).
    Jpeg,
}

impl TestCodec {
    /// Savant's name of the codec.
    pub fn savant_name(self) -> &'static str {
        match self {
            TestCodec::H264 => "h264",
            TestCodec::Hevc => "hevc",
            TestCodec::Vp8 => "vp8",
            TestCodec::Vp9 => "vp9",
            TestCodec::Av1 => "av1",
            TestCodec::Jpeg => "jpeg",
        }
    }

    /// The encoder, keyframe every `gop` frames.
    pub fn encoder(self, gop: u32) -> String {
        match self {
            TestCodec::H264 => format!("x264enc key-int-max={gop} bframes=2 speed-preset=ultrafast"),
            TestCodec::Hevc => format!(
                "x265enc key-int-max={gop} speed-preset=ultrafast option-string=\"bframes=0\""
            ),
            TestCodec::Vp8 => format!("vp8enc keyframe-max-dist={gop} deadline=1 cpu-used=16"),
            TestCodec::Vp9 => format!("vp9enc keyframe-max-dist={gop} deadline=1 cpu-used=8"),
            TestCodec::Av1 => format!(
                "av1enc keyframe-max-dist={gop} cpu-used=10 usage-profile=realtime end-usage=cbr target-bitrate=200"
            ),
            TestCodec::Jpeg => "jpegenc quality=60".to_string(),
        }
    }

    /// The codec in the SDK's codec table.
    pub fn codec(self) -> Codec {
        Codec::from_savant(self.savant_name()).expect("every test codec is in the table")
    }

    /// The parser GStreamer uses between a demuxer and a sink for this
    /// codec, and the caps the access units are pulled in: the shared
    /// codec table's, as the video sources use them (byte-stream access
    /// units for H.264/HEVC, OBU temporal units for AV1).
    pub fn parse(self) -> String {
        let codec = self.codec();
        let caps = codec.frame_caps();
        match codec.parser() {
            None => "identity".to_string(),
            Some(p @ ("h264parse" | "h265parse")) => format!("{p} config-interval=-1 ! {caps}"),
            Some(p) if caps == codec.media_type() => p.to_string(),
            Some(p) => format!("{p} ! {caps}"),
        }
    }
}

/// A container the tests mux into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestContainer {
    /// mp4mux.
    Mp4,
    /// qtmux (MOV).
    Mov,
    /// matroskamux.
    Mkv,
    /// webmmux.
    Webm,
    /// mpegtsmux.
    Ts,
    /// avimux.
    Avi,
}

impl TestContainer {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            TestContainer::Mp4 => "mp4",
            TestContainer::Mov => "mov",
            TestContainer::Mkv => "mkv",
            TestContainer::Webm => "webm",
            TestContainer::Ts => "ts",
            TestContainer::Avi => "avi",
        }
    }

    /// The muxer element.
    pub fn muxer(self) -> &'static str {
        match self {
            TestContainer::Mp4 => "mp4mux",
            TestContainer::Mov => "qtmux",
            TestContainer::Mkv => "matroskamux",
            TestContainer::Webm => "webmmux",
            TestContainer::Ts => "mpegtsmux",
            TestContainer::Avi => "avimux",
        }
    }

    /// The demuxer element.
    pub fn demuxer(self) -> &'static str {
        match self {
            TestContainer::Mp4 | TestContainer::Mov => "qtdemux",
            TestContainer::Mkv | TestContainer::Webm => "matroskademux",
            TestContainer::Ts => "tsdemux",
            TestContainer::Avi => "avidemux",
        }
    }
}

/// Runs `gst-launch-1.0 -q DESCRIPTION`, failing with its output.
pub fn gst_launch(description: &str) -> Result<()> {
    let out = Command::new("gst-launch-1.0")
        .arg("-q")
        .args(shell_words(description))
        .output()
        .context("running gst-launch-1.0 (install gstreamer1.0-tools: scripts/setup.sh)")?;
    if !out.status.success() {
        bail!(
            "gst-launch-1.0 {description} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Splits a pipeline description like a shell would (double quotes only).
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// A test clip: `frames` frames of a moving ball at `width`x`height` and
/// `fps`, encoded with `codec` (a keyframe at most every `gop` frames)
/// into `container`.
#[derive(Debug, Clone, Copy)]
pub struct Clip {
    /// The codec.
    pub codec: TestCodec,
    /// The container.
    pub container: TestContainer,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Number of frames.
    pub frames: u32,
    /// Most frames between keyframes.
    pub gop: u32,
}

impl Clip {
    /// 24 frames of 160x120 at 30 fps, a keyframe every 8.
    pub fn new(codec: TestCodec, container: TestContainer) -> Self {
        Clip {
            codec,
            container,
            width: 160,
            height: 120,
            fps: 30,
            frames: 24,
            gop: 8,
        }
    }

    /// The same with another size.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// The same with `frames` frames, a keyframe every `gop`.
    pub fn frames(mut self, frames: u32, gop: u32) -> Self {
        self.frames = frames;
        self.gop = gop;
        self
    }

    /// Encodes the clip into `path` with `gst-launch-1.0`.
    pub fn write(&self, path: &Path) -> Result<()> {
        let parse = match self.codec {
            TestCodec::H264 => "h264parse ! ",
            TestCodec::Hevc => "h265parse ! ",
            TestCodec::Av1 => "av1parse ! ",
            _ => "",
        };
        gst_launch(&format!(
            "videotestsrc num-buffers={} pattern=ball ! video/x-raw,format=I420,width={},height={},framerate={}/1 ! {} ! {parse}{} ! filesink location={}",
            self.frames,
            self.width,
            self.height,
            self.fps,
            self.codec.encoder(self.gop),
            self.container.muxer(),
            path.display()
        ))
    }
}

/// Encodes a raw H.264 or HEVC byte stream (no container) at `path`.
pub fn make_elementary_stream(
    path: &Path,
    codec: TestCodec,
    width: u32,
    height: u32,
    frames: u32,
    gop: u32,
) -> Result<()> {
    let caps = match codec {
        TestCodec::H264 => "h264parse ! video/x-h264,stream-format=byte-stream",
        TestCodec::Hevc => "h265parse ! video/x-h265,stream-format=byte-stream",
        other => bail!("{other:?} has no elementary byte stream"),
    };
    gst_launch(&format!(
        "videotestsrc num-buffers={frames} pattern=ball ! video/x-raw,format=I420,width={width},height={height},framerate=25/1 ! {} ! {caps} ! filesink location={}",
        codec.encoder(gop),
        path.display()
    ))
}

/// One access unit as GStreamer's own pipeline reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceUnit {
    /// Size in bytes.
    pub size: usize,
    /// Presentation time, ns.
    pub pts: Option<u64>,
    /// Decoding time, ns.
    pub dts: Option<u64>,
    /// Duration, ns.
    pub duration: Option<u64>,
    /// No `delta-unit` flag.
    pub keyframe: bool,
}

/// Runs `gst-launch-1.0 -v filesrc location=PATH ! TAIL ! fakesink
/// silent=false sync=false` and returns the `chain` lines fakesink prints,
/// one per buffer; `what` names the pipeline in the error when it fails.
fn fakesink_chain_lines(path: &Path, tail: &str, what: &str) -> Result<Vec<String>> {
    let description = format!(
        "filesrc location={} ! {tail} ! fakesink silent=false sync=false",
        path.display()
    );
    let out = Command::new("gst-launch-1.0")
        .arg("-v")
        .args(shell_words(&description))
        .output()
        .context("running gst-launch-1.0")?;
    if !out.status.success() {
        bail!(
            "{what} ({description}) failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("last-message = chain"))
        .map(str::to_string)
        .collect())
}

/// The access units of `path` as `gst-launch-1.0 -v filesrc ! DEMUX !
/// PARSE ! fakesink silent=false` prints them: an independent reading
/// of the same file through GStreamer's command-line tool.
pub fn reference_units(path: &Path, demux_and_parse: &str) -> Result<Vec<ReferenceUnit>> {
    fakesink_chain_lines(path, demux_and_parse, "the reference pipeline")?
        .iter()
        .map(|line| parse_chain_line(line).with_context(|| format!("parsing {line}")))
        .collect()
}

fn parse_chain_line(line: &str) -> Result<ReferenceUnit> {
    let field = |name: &str| -> Option<&str> {
        let start = line.find(&format!("{name}: "))? + name.len() + 2;
        let rest = &line[start..];
        Some(&rest[..rest.find(',').unwrap_or(rest.len())])
    };
    let size_start = line.find(") (").context("no size")? + 3;
    let size: usize = line[size_start..]
        .split(' ')
        .next()
        .context("no size")?
        .parse()?;
    let flags = line
        .find("flags: ")
        .map(|i| &line[i..])
        .map(|f| &f[..f.find(", meta").unwrap_or(f.len())])
        .unwrap_or("");
    Ok(ReferenceUnit {
        size,
        pts: field("pts").and_then(parse_clock),
        dts: field("dts").and_then(parse_clock),
        duration: field("duration").and_then(parse_clock),
        keyframe: !flags.contains("delta-unit"),
    })
}

/// `H:MM:SS.NNNNNNNNN` to nanoseconds; `None` for `99:99:99.999999999`
/// (GStreamer's "none").
fn parse_clock(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.starts_with("99:99:99") || s == "none" {
        return None;
    }
    let (hms, frac) = s.split_once('.')?;
    let mut parts = hms.split(':').map(|p| p.parse::<u64>());
    let (h, m, sec) = (
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next()?.ok()?,
    );
    let ns: u64 = frac.parse().ok()?;
    Some(((h * 60 + m) * 60 + sec) * 1_000_000_000 + ns)
}

/// The number of video frames GStreamer decodes playing `path` to its
/// end (`filesrc ! decodebin ! video/x-raw ! fakesink`): checks that a
/// written file plays.
pub fn decoded_frame_count(path: &Path) -> Result<usize> {
    let what = format!("playing {} to the end", path.display());
    Ok(fakesink_chain_lines(path, "decodebin ! video/x-raw", &what)?.len())
}

/// The frames of a video file as a sink would receive them (read with
/// VideoFileSource, no module in between): for tests of sinks and of the
/// decoder.
pub async fn clip_results(path: &Path, source_id: &str) -> Result<Vec<SinkResult>> {
    let mut source =
        VideoFileSource::builder(source_id, path.to_str().context("utf-8 path")?).build()?;
    let mut out = Vec::new();
    while let Some(item) = source.next().await? {
        if let SourceItem::Frame(f) = item {
            out.push(SinkResult {
                topic: source_id.to_string(),
                message: Message::video_frame(f.frame),
                content: Some(f.content),
                trace_id: None,
                seq_gap: None,
                log_handle: Default::default(),
            });
        }
    }
    Ok(out)
}

/// An EOS of `source_id` as a sink would receive it.
pub fn eos_result(source_id: &str) -> SinkResult {
    SinkResult {
        topic: source_id.to_string(),
        message: Message::end_of_stream(EndOfStream::new(source_id)),
        content: None,
        trace_id: None,
        seq_gap: None,
        log_handle: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gst_launch_chain_lines() {
        let line = "/GstPipeline:pipeline0/GstFakeSink:fakesink0: last-message = chain   ******* (fakesink0:sink) (6041 bytes, dts: 0:00:00.033333333, pts: 0:00:00.166666666, duration: 0:00:00.033333333, offset: 9141, offset_end: -1, flags: 00002200 marker delta-unit , meta: none) 0x55d6e1ad4c60";
        let u = parse_chain_line(line).unwrap();
        assert_eq!(
            u,
            ReferenceUnit {
                size: 6041,
                pts: Some(166_666_666),
                dts: Some(33_333_333),
                duration: Some(33_333_333),
                keyframe: false
            }
        );
        let none = parse_chain_line("last-message = chain   ******* (fakesink0:sink) (10 bytes, dts: 99:99:99.999999999, pts: 1:00:00.000000001, duration: 99:99:99.999999999, offset: 0, offset_end: -1, flags: 00000040 discont , meta: none)").unwrap();
        assert_eq!(none.dts, None);
        assert_eq!(none.pts, Some(3_600_000_000_001));
        assert!(none.keyframe);
    }

    #[test]
    fn splits_quoted_words() {
        assert_eq!(
            shell_words("a b=\"x y\" c"),
            vec!["a".to_string(), "b=x y".into(), "c".into()]
        );
    }
}
