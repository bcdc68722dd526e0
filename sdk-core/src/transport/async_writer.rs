//! The async writer: a [`BlockingWriter`] on a thread of its own, so a slow
//! peer never stalls the tokio runtime.
//!
//! Messages reach the socket thread through a bounded channel, one at a
//! time ([`Writer::send_message`]) or in batches (the source runner's
//! stream): the thread drains whatever is queued before it parks again,
//! so a stream of messages costs one wake-up per batch, not one per
//! message. Each message still gets its own outcome, in order.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::model::{EndOfStream, Message, Shutdown};
use crate::transport::config::WriterConfig;
use crate::transport::writer::{BlockingWriter, WriteOutcome};

/// Commands queued in the channel (each a message or a batch of them).
const QUEUE: usize = 16;

/// The parts after the message: none or one without a `Vec`.
#[derive(Debug)]
pub(crate) enum Extra {
    /// One part (or none when `None`).
    One(Option<Bytes>),
    /// Several.
    Many(Vec<Bytes>),
}

impl Extra {
    fn as_slice(&self) -> &[Bytes] {
        match self {
            Extra::One(None) => &[],
            Extra::One(Some(b)) => std::slice::from_ref(b),
            Extra::Many(v) => v,
        }
    }

    fn from_vec(mut v: Vec<Bytes>) -> Self {
        match v.len() {
            0 => Extra::One(None),
            1 => Extra::One(v.pop()),
            _ => Extra::Many(v),
        }
    }
}

/// What the socket thread hands back for a message: its outcome, and
/// the topic text (so a caller needing it owns it without a copy).
pub(crate) type Reply = (Result<WriteOutcome>, Option<String>);

/// One message for the socket thread.
#[derive(Debug)]
pub(crate) struct Command {
    pub(crate) topic: String,
    pub(crate) message: Message,
    pub(crate) extra: Extra,
    pub(crate) reply: oneshot::Sender<Reply>,
    /// Shared by the messages of one stream: set when one of them failed,
    /// so that those queued after it are not sent.
    pub(crate) failed: Option<Arc<AtomicBool>>,
}

impl Command {
    /// A command and the receiver of its reply.
    pub(crate) fn new(
        topic: String,
        message: Message,
        extra: Extra,
        failed: Option<Arc<AtomicBool>>,
    ) -> (Self, oneshot::Receiver<Reply>) {
        let (reply, rx) = oneshot::channel();
        (
            Self {
                topic,
                message,
                extra,
                reply,
                failed,
            },
            rx,
        )
    }
}

/// What the channel carries.
// A single command is the common case of `send_message`: boxing it would
// cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Job {
    One(Command),
    Batch(Vec<Command>),
}

/// Sends what a job holds, in order.
fn handle(writer: &mut BlockingWriter, job: Job) {
    match job {
        Job::One(cmd) => run(writer, cmd),
        Job::Batch(cmds) => {
            for cmd in cmds {
                run(writer, cmd);
            }
        }
    }
}

/// Sends one command on the socket thread and replies.
fn run(writer: &mut BlockingWriter, cmd: Command) {
    let Command {
        topic,
        message,
        extra,
        reply,
        failed,
    } = cmd;
    if failed.as_ref().is_some_and(|f| f.load(Ordering::Relaxed)) {
        let _ = reply.send((
            Err(Error::Closed(
                "writer stream: not sent, an earlier message of the stream failed",
            )),
            None,
        ));
        return;
    }
    let r = writer.send_message(&topic, &message, extra.as_slice());
    if r.is_err() {
        if let Some(f) = &failed {
            f.store(true, Ordering::Relaxed);
        }
    }
    // the message (and its payload) is released before the reply
    drop(message);
    drop(extra);
    let _ = reply.send((r, Some(topic)));
}

/// The outcome of a message queued with [`Writer::submit`]: a future
/// that resolves once the socket thread has sent it (and, over dealer for
/// an EOS or over req, once it is acknowledged).
#[derive(Debug)]
pub struct PendingWrite {
    rx: oneshot::Receiver<Reply>,
}

impl PendingWrite {
    pub(crate) fn new(rx: oneshot::Receiver<Reply>) -> Self {
        Self { rx }
    }

    /// The outcome if it is there already, without waiting (and without
    /// asking to be woken).
    pub fn try_outcome(&mut self) -> Option<Result<WriteOutcome>> {
        match self.rx.try_recv() {
            Ok((r, _)) => Some(r),
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => Some(Err(Error::Closed("writer"))),
        }
    }
}

impl Future for PendingWrite {
    type Output = Result<WriteOutcome>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok((r, _))) => Poll::Ready(r),
            Poll::Ready(Err(_)) => Poll::Ready(Err(Error::Closed("writer"))),
            Poll::Pending => Poll::Pending,
        }
    }
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
    tx: mpsc::Sender<Job>,
    done: oneshot::Receiver<()>,
    spec: String,
}

impl Writer {
    /// Opens the socket on the calling thread (errors come back here), then
    /// hands it to a dedicated thread.
    pub fn new(config: WriterConfig) -> Result<Self> {
        let spec = config.spec().to_string();
        let mut writer = BlockingWriter::new(config)?;
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
        let (done_tx, done) = oneshot::channel();
        std::thread::Builder::new()
            .name("savant-writer".into())
            .spawn(move || {
                while let Some(job) = rx.blocking_recv() {
                    handle(&mut writer, job);
                    // what was queued meanwhile goes without parking
                    while let Ok(job) = rx.try_recv() {
                        handle(&mut writer, job);
                    }
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
        self.submit(topic, message, extra).await?.await
    }

    /// Queues `[topic, message, extra...]` and returns as soon as it is
    /// queued (waiting only while the queue is full); the returned
    /// [`PendingWrite`] resolves to its outcome. Messages are sent in the
    /// order they were queued; queue several before awaiting the first to
    /// keep the socket busy.
    pub async fn submit(
        &self,
        topic: &str,
        message: Message,
        extra: Vec<Bytes>,
    ) -> Result<PendingWrite> {
        let (cmd, rx) = Command::new(topic.to_string(), message, Extra::from_vec(extra), None);
        self.enqueue_one(cmd).await?;
        Ok(PendingWrite::new(rx))
    }

    /// Queues one command.
    pub(crate) async fn enqueue_one(&self, cmd: Command) -> Result<()> {
        self.tx
            .send(Job::One(cmd))
            .await
            .map_err(|_| Error::Closed("writer"))
    }

    /// Queues commands as one batch (the socket thread wakes once for it).
    pub(crate) async fn enqueue_batch(&self, mut cmds: Vec<Command>) -> Result<()> {
        let job = match cmds.len() {
            0 => return Ok(()),
            1 => Job::One(cmds.pop().expect("one command")),
            _ => Job::Batch(cmds),
        };
        self.tx.send(job).await.map_err(|_| Error::Closed("writer"))
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
