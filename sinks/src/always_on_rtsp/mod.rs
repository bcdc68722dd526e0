//! [`AlwaysOnRtspSink`]: each source id served as an RTSP stream that
//! never stops, re-encoded as H.264 at a constant frame rate, with a stub
//! picture while the source sends nothing.

mod feed;
mod server;
mod stub;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use savant_sdk_core::sink::{Sink, SinkResult};
use savant_sdk_gst::{Decoded, FrameDecoder};

pub use feed::FeedState;
pub use savant_sdk_gst::parse_framerate;
pub use stub::{generated as generated_stub, Stub, STUB_BACKGROUND};

use crate::error::SinkError;
use feed::{rgb_caps, Feed};
use server::Server;
use stub::StubPicture;

/// The settings of an [`AlwaysOnRtspSink`]; start with
/// [`AlwaysOnRtspSink::builder`].
#[derive(Debug, Clone)]
pub struct AlwaysOnRtspSettings {
    address: String,
    port: u16,
    fps: (i32, i32),
    bitrate_kbps: u32,
    keyframe_interval: u32,
    max_delay: Duration,
    stub: Stub,
    size: Option<(u32, u32)>,
    annotate: bool,
    max_streams: usize,
}

impl AlwaysOnRtspSettings {
    /// The address to listen on (default `127.0.0.1`: this machine only,
    /// as every endpoint the SDK serves; `0.0.0.0` serves players on other
    /// machines, with no authentication).
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = address.into();
        self
    }

    /// The output frame rate (default 30/1): pictures are repeated or
    /// dropped to keep it.
    pub fn framerate(mut self, numerator: i32, denominator: i32) -> Self {
        self.fps = (numerator.max(1), denominator.max(1));
        self
    }

    /// The H.264 bitrate in kbit/s (default 4000).
    pub fn bitrate_kbps(mut self, kbps: u32) -> Self {
        self.bitrate_kbps = kbps.max(1);
        self
    }

    /// Most frames between keyframes (default 30): how long a player that
    /// joins waits for its first picture.
    pub fn keyframe_interval(mut self, frames: u32) -> Self {
        self.keyframe_interval = frames.max(1);
        self
    }

    /// How long without a frame before the stub shows (default 1 s).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The stub picture (default: generated "no signal" frames).
    pub fn stub(mut self, stub: Stub) -> Self {
        self.stub = stub;
        self
    }

    /// The stub from a JPEG (or PNG) file.
    pub fn stub_file(self, path: impl AsRef<std::path::Path>) -> Result<Self, SinkError> {
        let path = path.as_ref();
        let img = image::open(path).map_err(|e| SinkError::Encode {
            path: path.to_path_buf(),
            detail: format!("cannot read the stub picture: {e}"),
        })?;
        Ok(self.stub(Stub::Picture(img.to_rgb8())))
    }

    /// The output size of every stream (default: each source's first
    /// picture's size); pictures of another size are scaled.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = Some((width.max(2) & !1, height.max(2) & !1));
        self
    }

    /// Draw the objects on the pictures (default off: Savant's always-on
    /// sink draws nothing itself).
    pub fn annotate(mut self, on: bool) -> Self {
        self.annotate = on;
        self
    }

    /// Source ids served at most (default 64); later ones are skipped
    /// with a warning.
    pub fn max_streams(mut self, n: usize) -> Self {
        self.max_streams = n.max(1);
        self
    }

    /// Starts the server.
    pub fn build(self) -> Result<AlwaysOnRtspSink, SinkError> {
        let gst = |e| {
            SinkError::from_gst(e, |detail| SinkError::Rtsp {
                what: "GStreamer".into(),
                detail,
            })
        };
        savant_sdk_gst::init().map_err(gst)?;
        savant_sdk_gst::require(&[
            "appsrc",
            "videoconvert",
            "videoscale",
            "x264enc",
            "rtph264pay",
        ])
        .map_err(gst)?;
        let server = Server::start(&self.address, self.port)?;
        tracing::info!(url = %server.url("/stream/<source_id>"), "always-on RTSP output");
        Ok(AlwaysOnRtspSink {
            server,
            settings: self,
            decoder: FrameDecoder::new(),
            annotator: crate::draw::Annotator::new(),
            out: Vec::new(),
            streams: HashMap::new(),
            refused: 0,
        })
    }
}

/// Serves each source id at `rtsp://HOST:PORT/stream/<source_id>` through
/// gst-rtsp-server, as Savant's Always-On RTSP sink does: frames are
/// decoded ([`FrameDecoder`]), optionally annotated, and re-encoded as
/// H.264 (`x264enc tune=zerolatency`) at a constant frame rate. When a
/// source's frames stop for [`max_delay`](AlwaysOnRtspSettings::max_delay)
/// the stream goes on with a stub picture, and switches back when frames
/// return: players stay connected through the outage.
///
/// A stream is mounted at its source's first decoded frame; characters of
/// the source id other than `A-Z a-z 0-9 . _ -` become `_` in its path.
///
/// ```no_run
/// use savant_sdk_sinks::AlwaysOnRtspSink;
/// let sink = AlwaysOnRtspSink::builder(8554).framerate(25, 1).build()?;
/// println!("{}", sink.url("cam-1")); // rtsp://127.0.0.1:8554/stream/cam-1
/// # Ok::<(), savant_sdk_sinks::SinkError>(())
/// ```
pub struct AlwaysOnRtspSink {
    settings: AlwaysOnRtspSettings,
    server: Server,
    decoder: FrameDecoder,
    annotator: crate::draw::Annotator,
    out: Vec<Decoded>,
    streams: HashMap<String, Feed>,
    refused: u64,
}

impl std::fmt::Debug for AlwaysOnRtspSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlwaysOnRtspSink")
            .field("port", &self.server.port())
            .field("streams", &self.streams.len())
            .finish()
    }
}

/// The mount path of a source id.
pub fn mount_path(source_id: &str) -> String {
    let safe: String = source_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("/stream/{safe}")
}

impl AlwaysOnRtspSink {
    /// Settings for a server on `port` (0: any free port; see
    /// [`AlwaysOnRtspSink::port`]).
    pub fn builder(port: u16) -> AlwaysOnRtspSettings {
        AlwaysOnRtspSettings {
            address: "127.0.0.1".into(),
            port,
            fps: (30, 1),
            bitrate_kbps: 4000,
            keyframe_interval: 30,
            max_delay: Duration::from_secs(1),
            stub: Stub::Generated,
            size: None,
            annotate: false,
            max_streams: 64,
        }
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `rtsp://HOST:PORT` of the server (`127.0.0.1` when it listens on
    /// every interface).
    pub fn base_url(&self) -> String {
        self.server.url("")
    }

    /// The URL a player opens for `source_id`.
    pub fn url(&self, source_id: &str) -> String {
        self.server.url(&mount_path(source_id))
    }

    /// What `source_id`'s stream shows now (`None` before its first frame).
    pub fn state(&self, source_id: &str) -> Option<FeedState> {
        self.streams.get(source_id).map(Feed::state)
    }

    /// Pictures pushed to `source_id`'s stream: (live, stub).
    pub fn pushed(&self, source_id: &str) -> Option<(u64, u64)> {
        self.streams.get(source_id).map(|f| {
            let s = f.shared();
            (
                s.live_pushed.load(std::sync::atomic::Ordering::Relaxed),
                s.stub_pushed.load(std::sync::atomic::Ordering::Relaxed),
            )
        })
    }

    /// The decoder's counters.
    pub fn decode_stats(&self) -> savant_sdk_gst::DecodeStats {
        self.decoder.stats()
    }

    fn show(&mut self, decoded: Decoded) -> Result<(), SinkError> {
        let Decoded::Picture {
            result,
            mut picture,
        } = decoded
        else {
            return Ok(());
        };
        let source_id = result.source_id().to_string();
        if !self.streams.contains_key(&source_id) {
            if self.streams.len() >= self.settings.max_streams {
                self.refused += 1;
                if self.refused == 1 {
                    tracing::warn!(source_id = %source_id, max = self.settings.max_streams, "always-on RTSP: too many streams; this one is not served");
                }
                return Ok(());
            }
            let (w, h) = self
                .settings
                .size
                .unwrap_or((picture.width() & !1, picture.height() & !1));
            let (w, h) = (w.max(2), h.max(2));
            let s = &self.settings;
            let feed = Feed::start(
                source_id.clone(),
                s.fps,
                s.max_delay,
                StubPicture::new(&source_id, s.stub.clone(), w, h, s.fps),
            )
            .map_err(|e| SinkError::Rtsp {
                what: format!("cannot start the feed of {source_id}"),
                detail: e.to_string(),
            })?;
            let launch = format!(
                "( appsrc name=src is-live=true format=time do-timestamp=true block=false \
                 ! videoscale ! videoconvert ! video/x-raw,format=I420,width={w},height={h} \
                 ! x264enc tune=zerolatency speed-preset=ultrafast bitrate={} key-int-max={} \
                 ! rtph264pay name=pay0 pt=96 config-interval=-1 )",
                s.bitrate_kbps, s.keyframe_interval
            );
            let path = mount_path(&source_id);
            self.server.mount(
                &path,
                &launch,
                feed.shared().appsrc.clone(),
                rgb_caps(w, h, s.fps),
            );
            tracing::info!(source_id = %source_id, url = %self.server.url(&path), "always-on RTSP stream");
            self.streams.insert(source_id.clone(), feed);
        }
        if self.settings.annotate {
            if let Some(frame) = result.frame() {
                self.annotator
                    .draw_objects(&mut picture.image_mut(), &frame.objects);
            }
        }
        let caps = rgb_caps(picture.width(), picture.height(), self.settings.fps);
        let feed = self.streams.get(&source_id).expect("inserted above");
        feed.update(picture.into_gst_buffer(), caps);
        Ok(())
    }
}

#[async_trait]
impl Sink for AlwaysOnRtspSink {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_core::Result<()> {
        let mut out = std::mem::take(&mut self.out);
        let decoder = &mut self.decoder;
        let pushed = savant_sdk_gst::blocking(|| decoder.push(result, &mut out));
        let mut shown = Ok(());
        for d in out.drain(..) {
            if shown.is_ok() {
                shown = self.show(d);
            }
        }
        self.out = out;
        pushed.map_err(|e| savant_sdk_core::Error::sink("always-on-rtsp", e))?;
        Ok(shown?)
    }

    async fn finish(&mut self) -> savant_sdk_core::Result<()> {
        let mut out = Vec::new();
        self.decoder
            .finish(&mut out)
            .map_err(|e| savant_sdk_core::Error::sink("always-on-rtsp", e))?;
        for d in out {
            self.show(d)?;
        }
        Ok(())
    }

    fn name(&self) -> &str {
        "always-on-rtsp"
    }
}

impl Drop for AlwaysOnRtspSink {
    fn drop(&mut self) {
        for (_, mut feed) in self.streams.drain() {
            feed.stop();
        }
        self.server.stop();
    }
}
