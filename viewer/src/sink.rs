//! [`ViewerSink`]: received frames into a [`Viewer`].

use async_trait::async_trait;
use savant_sdk_core::sink::{Sink, SinkResult};

use crate::server::ViewerServer;
use crate::viewer::{Picture, Viewer};

/// Publishes every received frame into a [`Viewer`]: JPEG and PNG frames
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

    /// The picture of a frame: its content if it is an image.
    fn picture(result: &SinkResult) -> Picture {
        let Some(frame) = result.frame() else {
            return Picture::Missing(String::new());
        };
        let codec = frame.codec.as_deref();
        match (savant_sdk_sinks::image_extension(codec), &result.content) {
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
        if result.is_end_of_stream() {
            self.viewer.end(result.source_id());
        } else if result.frame().is_some() {
            let picture = Self::picture(&result);
            self.viewer.publish_picture(&result, picture);
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
