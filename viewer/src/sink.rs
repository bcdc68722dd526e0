//! [`ViewerSink`]: received frames into a [`Viewer`].

use async_trait::async_trait;
use bytes::Bytes;
use savant_sdk_core::model::{FrameContent, MessagePayload, VideoFrame};
use savant_sdk_core::sink::{Sink, SinkResult};

use crate::server::ViewerServer;
use crate::viewer::{Picture, Viewer};

/// Publishes every received frame (the frames of batches too) into a
/// [`Viewer`]: JPEG and PNG frames with their picture (decoded only when a
/// page asks for it); with the `gstreamer` feature, H.264, HEVC, VP8, VP9
/// and AV1 frames decoded by `savant_sdk_gst::FrameDecoder` (every frame:
/// video frames depend on each other), without it counted, with a note
/// that they have no picture; an EOS marks its source ended.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use savant_sdk_core::client::SinkBuilder;
/// use savant_sdk_viewer::{Viewer, ViewerSink};
/// let viewer = Viewer::new();
/// let server = viewer.serve("127.0.0.1:8080".parse()?).await?;
/// println!("open {}", server.url());
/// let mut reader = SinkBuilder::new("sub+connect:ipc:///tmp/zmq-sockets/output-video.ipc")
///     .build()
///     .await?;
/// reader.run(&mut ViewerSink::new(viewer).with_server(server)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ViewerSink {
    viewer: Viewer,
    server: Option<ViewerServer>,
    /// Decodes video frames (feature `gstreamer`), made at the first one.
    #[cfg(feature = "gstreamer")]
    decoder: Option<savant_sdk_gst::FrameDecoder>,
}

impl ViewerSink {
    /// Publishes into `viewer`.
    pub fn new(viewer: Viewer) -> Self {
        Self {
            viewer,
            server: None,
            #[cfg(feature = "gstreamer")]
            decoder: None,
        }
    }

    /// Stops `server` when the sink finishes (the `viewer` sink type of
    /// pipeline files serves as long as its pipeline runs).
    pub fn with_server(mut self, server: ViewerServer) -> Self {
        self.server = Some(server);
        self
    }

    /// The viewer.
    pub fn viewer(&self) -> &Viewer {
        &self.viewer
    }

    /// The picture of a frame with `content`: the content if it is an image.
    fn picture(frame: &VideoFrame, content: Option<&Bytes>) -> Picture {
        let codec = frame.codec.as_deref();
        match (savant_sdk_sinks::image_extension(codec), content) {
            (Some(_), Some(content)) if !content.is_empty() => Picture::Encoded(content.clone()),
            (Some(_), _) => Picture::Missing("no picture: the frame has no content".into()),
            (None, _) if cfg!(feature = "gstreamer") => Picture::Missing(format!(
                "no picture: codec {} is not one the decoder knows",
                codec.unwrap_or("none")
            )),
            (None, _) => Picture::Missing(format!(
                "no picture: codec {} is not decoded here (video needs the gstreamer feature)",
                codec.unwrap_or("none")
            )),
        }
    }
}

#[cfg(feature = "gstreamer")]
impl ViewerSink {
    /// Whether a frame goes to the video decoder.
    fn is_video(frame: &VideoFrame) -> bool {
        frame
            .codec
            .as_deref()
            .and_then(savant_sdk_gst::Codec::from_savant)
            .is_some_and(|c| !c.is_still_image())
    }

    /// Feeds the decoder (a video frame, or an EOS that drains its
    /// source) and publishes what it hands out.
    fn decode(&mut self, result: SinkResult) -> savant_sdk_core::Result<()> {
        use savant_sdk_gst::Decoded;
        let decoder = self
            .decoder
            .get_or_insert_with(savant_sdk_gst::FrameDecoder::new);
        let mut out = Vec::new();
        let pushed = savant_sdk_gst::blocking(|| decoder.push(result, &mut out));
        for d in out {
            match d {
                Decoded::Picture { result, picture } => {
                    self.viewer.publish(&result, picture.to_rgb_image())
                }
                Decoded::Undecoded { result, reason } => self
                    .viewer
                    .publish_without_picture(&result, format!("no picture: {reason}")),
                Decoded::Message(result) => {
                    if result.is_end_of_stream() {
                        self.viewer.end(result.source_id());
                    }
                }
            }
        }
        pushed.map_err(|e| savant_sdk_core::Error::sink("viewer", e))
    }
}

#[async_trait]
impl Sink for ViewerSink {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_core::Result<()> {
        #[cfg(feature = "gstreamer")]
        {
            let video = result.frame().is_some_and(Self::is_video);
            let drains = result.is_end_of_stream() && self.decoder.is_some();
            if video || drains {
                return self.decode(result);
            }
        }
        match &result.message.payload {
            MessagePayload::EndOfStream(_) => self.viewer.end(result.source_id()),
            MessagePayload::VideoFrame(frame) => {
                let picture = Self::picture(frame, result.content.as_ref());
                self.viewer.publish_frame(frame, result.trace_id, picture);
            }
            // each frame of a batch with its own content
            MessagePayload::VideoFrameBatch(batch) => {
                for frame in batch.frames.values() {
                    let content = match &frame.content {
                        FrameContent::Internal(bytes) => Some(bytes),
                        _ => None,
                    };
                    let picture = Self::picture(frame, content);
                    self.viewer.publish_frame(frame, result.trace_id, picture);
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn finish(&mut self) -> savant_sdk_core::Result<()> {
        #[cfg(feature = "gstreamer")]
        if let Some(decoder) = self.decoder.as_mut() {
            let mut out = Vec::new();
            let finished = savant_sdk_gst::blocking(|| decoder.finish(&mut out));
            for d in out {
                if let savant_sdk_gst::Decoded::Picture { result, picture } = d {
                    self.viewer.publish(&result, picture.to_rgb_image());
                }
            }
            finished.map_err(|e| savant_sdk_core::Error::sink("viewer", e))?;
        }
        if let Some(server) = self.server.take() {
            server.stop();
        }
        Ok(())
    }

    fn name(&self) -> &str {
        "viewer"
    }
}
