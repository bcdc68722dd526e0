//! The async reader: a [`BlockingReader`] on a thread of its own feeding a
//! bounded queue. When the consumer falls behind the queue fills, the
//! thread stops reading, and ZeroMQ's high-water mark pushes back on the
//! writer: memory stays bounded.
//!
//! The thread hands messages over in batches: after one waited-for
//! message it takes what else is already queued in the socket (up to
//! [`BATCH`], without waiting), so a busy stream costs the consumer one
//! wake-up per batch, not one per message, and a lone message is handed
//! over at once. The queue is bounded in messages (the config's channel
//! capacity), whatever their batches: a thread that finds it full waits
//! until the consumer has taken half of it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::transport::config::ReaderConfig;
use crate::transport::reader::{BlockingReader, Counters, ReaderResult, ReaderStats, Received};

/// Messages handed from the socket thread at once at most.
pub(crate) const BATCH: usize = 32;

/// What the socket thread hands over at once: messages, and at the end
/// the error that stopped it, if any.
type Batch = VecDeque<Result<Received>>;

/// One waited-for receive, then what else is queued (up to `max`) without
/// waiting; whether the socket failed (its error is the last item).
fn read_batch(reader: &mut BlockingReader, max: usize) -> (Batch, bool) {
    let mut items = VecDeque::new();
    while items.len() < max {
        let waited = items.is_empty();
        let r = if waited {
            reader.receive()
        } else {
            reader.try_receive()
        };
        match r {
            Ok(ReaderResult::Message(m)) => {
                if items.is_empty() {
                    items.reserve_exact(max);
                }
                items.push_back(Ok(m));
            }
            // nothing more queued (or nothing within the receive timeout)
            Ok(ReaderResult::Timeout) => break,
            // skipped input (counted): the caller checks its stop flag
            // before the next wait; without waiting, look for more
            Ok(_) if waited => break,
            Ok(_) => {}
            Err(e) => {
                items.push_back(Err(e));
                return (items, true);
            }
        }
    }
    (items, false)
}

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
/// How long a thread waiting for room sleeps at most before it looks at
/// its stop flag again.
const ROOM_CHECK: Duration = Duration::from_millis(50);

/// The messages between the socket thread and the consumer, counted, and
/// the thread's wait for room.
#[derive(Debug)]
struct Room {
    /// Messages handed over and not yet taken by the consumer.
    queued: AtomicUsize,
    /// The socket thread waits for room (it is to be unparked once the
    /// queue is down to `low`).
    waiting: AtomicBool,
    /// The queue's bound, in messages.
    capacity: usize,
    /// Where a waiting thread is woken.
    low: usize,
}

impl Room {
    /// The consumer took `n` messages: wakes the thread if it waits and
    /// the queue is down to half.
    fn taken(&self, n: usize, thread: &std::thread::Thread) {
        let left = self.queued.fetch_sub(n, Ordering::SeqCst) - n;
        if left <= self.low && self.waiting.load(Ordering::SeqCst) {
            thread.unpark();
        }
    }

    /// On the socket thread: how many messages may be handed over now,
    /// waiting (until `stop`) while the queue is full.
    fn wait_for_room(&self, stop: &AtomicBool) -> Option<usize> {
        loop {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            let queued = self.queued.load(Ordering::SeqCst);
            if queued < self.capacity {
                return Some(self.capacity - queued);
            }
            self.waiting.store(true, Ordering::SeqCst);
            // rechecked after the flag is up: a consumer that took
            // messages before it saw the flag left room for this check
            if self.queued.load(Ordering::SeqCst) > self.low {
                std::thread::park_timeout(ROOM_CHECK);
            }
            self.waiting.store(false, Ordering::SeqCst);
        }
    }
}

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
    rx: mpsc::UnboundedReceiver<Batch>,
    /// The rest of the batch being delivered.
    pending: VecDeque<Result<Received>>,
    room: Arc<Room>,
    /// The socket thread (woken when room is made).
    thread: std::thread::Thread,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    done: Option<oneshot::Receiver<()>>,
}

impl Reader {
    /// Opens the socket on the calling thread (errors come back here), then
    /// reads on a dedicated thread.
    pub fn new(config: ReaderConfig) -> Result<Self> {
        if config.deferred_ack {
            return Err(Error::Config(
                "deferred acknowledgements need a BlockingReader (acknowledge() after each message); the async Reader does not support them".into(),
            ));
        }
        let capacity = config.channel_capacity.max(1);
        let room = Arc::new(Room {
            queued: AtomicUsize::new(0),
            waiting: AtomicBool::new(false),
            capacity,
            low: capacity / 2,
        });
        let mut reader = BlockingReader::new(config)?;
        let counters = reader.counters();
        let stop = Arc::new(AtomicBool::new(false));
        // bounded by `room`, in messages
        let (tx, rx) = mpsc::unbounded_channel();
        let (done_tx, done) = oneshot::channel();
        let (stop_flag, thread_room) = (stop.clone(), room.clone());
        let handle = std::thread::Builder::new()
            .name("savant-reader".into())
            .spawn(move || {
                while !tx.is_closed() {
                    let Some(free) = thread_room.wait_for_room(&stop_flag) else {
                        break;
                    };
                    let (items, failed) = read_batch(&mut reader, free.min(BATCH));
                    if !items.is_empty() {
                        thread_room.queued.fetch_add(items.len(), Ordering::SeqCst);
                        if tx.send(items).is_err() {
                            break;
                        }
                    }
                    if failed {
                        break;
                    }
                }
                drop(reader);
                let _ = done_tx.send(());
            })
            .map_err(|e| Error::Config(format!("cannot start reader thread: {e}")))?;
        Ok(Self {
            rx,
            pending: VecDeque::new(),
            room,
            thread: handle.thread().clone(),
            stop,
            counters,
            done: Some(done),
        })
    }

    /// The next delivered message. `Err(Error::Closed)` once the reader is
    /// closed; a socket failure is returned once, then the reader is closed.
    pub async fn recv(&mut self) -> Result<Received> {
        match std::future::poll_fn(|cx| self.poll_recv(cx)).await {
            Some(r) => r,
            None => Err(Error::Closed("reader")),
        }
    }

    /// Polls for the next message (`None` once closed), for `Stream`
    /// implementations.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Received>>> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                self.room.taken(1, &self.thread);
                return Poll::Ready(Some(r));
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(batch)) => self.pending = batch,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// What has been delivered and skipped so far.
    pub fn stats(&self) -> ReaderStats {
        self.counters.snapshot()
    }

    /// Stops reading and waits until the socket is closed (at most one
    /// receive timeout), so that its endpoint can be bound again.
    pub async fn close(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.unpark();
        self.rx.close();
        self.pending.clear();
        // Drain what is queued (the thread ends at its stop flag).
        while self.rx.recv().await.is_some() {}
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.unpark();
    }
}
