//! [`ViewerSink`]: received frames into a [`Viewer`].

use async_trait::async_trait;
use bytes::Bytes;
use savant_sdk_core::model::{FrameContent, MessagePayload, VideoFrame};
use savant_sdk_core::sink::{Sink, SinkResult};

use crate::server::ViewerServer;
use crate::viewer::{Picture, Viewer};

/// Publishes every received frame (the frames of batches too) into a
/// [`Viewer`]: JPEG and PNG frames
/// with their picture (decoded only when a page asks for it), frames of
/// other codecs counted, with a note that they have no picture (video is
/// decoded by whoever calls [`Viewer::publish`] with the picture); an
/// EOS marks its source ended.
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
}

impl ViewerSink {
    /// Publishes into `viewer`.
    pub fn new(viewer: Viewer) -> Self {
        Self {
            viewer,
            server: None,
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
            (None, _) => Picture::Missing(format!(
                "no picture: codec {} is not decoded here (video needs a decoder, e.g. GStreamer)",
                codec.unwrap_or("none")
            )),
        }
    }
}

#[async_trait]
impl Sink for ViewerSink {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_core::Result<()> {
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
        if let Some(server) = self.server.take() {
            server.stop();
        }
        Ok(())
    }

    fn name(&self) -> &str {
        "viewer"
    }
}
