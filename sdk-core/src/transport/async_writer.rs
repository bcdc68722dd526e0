//! The async writer: a [`BlockingWriter`] on a thread of its own, so a slow
//! peer never stalls the tokio runtime.

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::model::{EndOfStream, Message, Shutdown};
use crate::transport::config::WriterConfig;
use crate::transport::writer::{BlockingWriter, WriteOutcome};

struct Command {
    topic: String,
    message: Message,
    extra: Vec<Bytes>,
    reply: oneshot::Sender<Result<WriteOutcome>>,
}

/// Sends messages from async code. Cheap to share behind an `Arc`; sends
/// from several tasks are serialised in arrival order.
///
/// ```no_run
/// use savant_sdk_core::model::{FrameContent, Message, VideoFrame};
/// use savant_sdk_core::transport::{Writer, WriterConfig};
///
/// # async fn run() -> savant_sdk_core::Result<()> {
/// let writer = Writer::new(WriterConfig::builder("dealer+connect:tcp://127.0.0.1:5555")?.build()?)?;
/// let frame = VideoFrame::builder("cam-1").content(FrameContent::None).build();
/// writer.send_message("cam-1", Message::video_frame(frame), vec![]).await?;
/// writer.send_eos("cam-1").await?;
/// writer.close().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Writer {
    tx: mpsc::Sender<Command>,
    done: oneshot::Receiver<()>,
    spec: String,
}

impl Writer {
    /// Opens the socket on the calling thread (errors come back here), then
    /// hands it to a dedicated thread.
    pub fn new(config: WriterConfig) -> Result<Self> {
        let spec = config.spec().to_string();
        let mut writer = BlockingWriter::new(config)?;
        let (tx, mut rx) = mpsc::channel::<Command>(16);
        let (done_tx, done) = oneshot::channel();
        std::thread::Builder::new()
            .name("savant-writer".into())
            .spawn(move || {
                while let Some(cmd) = rx.blocking_recv() {
                    let r = writer.send_message(&cmd.topic, &cmd.message, &cmd.extra);
                    let _ = cmd.reply.send(r);
                }
                drop(writer); // closes the socket (linger applies)
                let _ = done_tx.send(());
            })
            .map_err(|e| Error::Config(format!("cannot start writer thread: {e}")))?;
        Ok(Self { tx, done, spec })
    }

    /// Sends `[topic, message, extra...]`; see [`BlockingWriter::send_message`].
    pub async fn send_message(
        &self,
        topic: &str,
        message: Message,
        extra: Vec<Bytes>,
    ) -> Result<WriteOutcome> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command {
                topic: topic.to_string(),
                message,
                extra,
                reply,
            })
            .await
            .map_err(|_| Error::Closed("writer"))?;
        rx.await.map_err(|_| Error::Closed("writer"))?
    }

    /// Sends an EOS for `source_id` and waits for its acknowledgement
    /// (dealer, req).
    pub async fn send_eos(&self, source_id: &str) -> Result<WriteOutcome> {
        self.send_message(
            source_id,
            Message::end_of_stream(EndOfStream::new(source_id)),
            Vec::new(),
        )
        .await
    }

    /// Sends a shutdown request with `auth` on `topic`.
    pub async fn send_shutdown(&self, topic: &str, auth: &str) -> Result<WriteOutcome> {
        self.send_message(topic, Message::shutdown(Shutdown::new(auth)), Vec::new())
            .await
    }

    /// The socket spec, as text.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// Closes the socket after the queued sends and waits for its thread.
    pub async fn close(self) {
        drop(self.tx);
        let _ = self.done.await;
    }
}
