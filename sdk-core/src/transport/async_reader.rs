//! The async reader: a [`BlockingReader`] on a thread of its own feeding a
//! bounded channel. When the consumer falls behind the channel fills, the
//! thread stops reading, and ZeroMQ's high-water mark pushes back on the
//! writer: memory stays bounded.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::transport::config::ReaderConfig;
use crate::transport::reader::{BlockingReader, Counters, ReaderResult, ReaderStats, Received};

/// Receives messages in async code. Filtered and malformed messages are
/// skipped, counted ([`Reader::stats`]) and logged through `tracing`.
///
/// ```no_run
/// use savant_sdk_core::transport::{Reader, ReaderConfig};
/// # async fn run() -> savant_sdk_core::Result<()> {
/// let mut reader = Reader::new(ReaderConfig::builder("router+bind:tcp://127.0.0.1:5555")?.build()?)?;
/// while let Ok(m) = reader.recv().await {
///     println!("{} {} seq {}", m.topic_str(), m.message.kind(), m.message.seq_id);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Reader {
    rx: mpsc::Receiver<Result<Received>>,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    done: Option<oneshot::Receiver<()>>,
}

impl Reader {
    /// Opens the socket on the calling thread (errors come back here), then
    /// reads on a dedicated thread.
    pub fn new(config: ReaderConfig) -> Result<Self> {
        if config.deferred_ack {
            return Err(crate::error::Error::Config(
                "deferred acknowledgements need a BlockingReader (acknowledge() after each message); the async Reader does not support them".into(),
            ));
        }
        let capacity = config.channel_capacity;
        let mut reader = BlockingReader::new(config)?;
        let counters = reader.counters();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel(capacity);
        let (done_tx, done) = oneshot::channel();
        let stop_flag = stop.clone();
        std::thread::Builder::new()
            .name("savant-reader".into())
            .spawn(move || {
                while !stop_flag.load(Ordering::Relaxed) && !tx.is_closed() {
                    match reader.receive() {
                        Ok(ReaderResult::Message(m)) => {
                            if tx.blocking_send(Ok(m)).is_err() {
                                break;
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            let _ = tx.blocking_send(Err(e));
                            break;
                        }
                    }
                }
                drop(reader);
                let _ = done_tx.send(());
            })
            .map_err(|e| Error::Config(format!("cannot start reader thread: {e}")))?;
        Ok(Self {
            rx,
            stop,
            counters,
            done: Some(done),
        })
    }

    /// The next delivered message. `Err(Error::Closed)` once the reader is
    /// closed; a socket failure is returned once, then the reader is closed.
    pub async fn recv(&mut self) -> Result<Received> {
        match self.rx.recv().await {
            Some(r) => r,
            None => Err(Error::Closed("reader")),
        }
    }

    /// Polls for the next message (`None` once closed), for `Stream`
    /// implementations.
    pub fn poll_recv(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Received>>> {
        self.rx.poll_recv(cx)
    }

    /// What has been delivered and skipped so far.
    pub fn stats(&self) -> ReaderStats {
        self.counters.snapshot()
    }

    /// Stops reading and waits until the socket is closed (at most one
    /// receive timeout), so that its endpoint can be bound again.
    pub async fn close(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.rx.close();
        // Drain so a thread blocked on a full channel can finish.
        while self.rx.recv().await.is_some() {}
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
