//! [`KafkaRedisSource`]: a consumer-group member feeding a module, in the
//! layout of Savant's Kafka-Redis source adapter.
//!
//! A consumer thread polls the topic, decodes each record (every protocol
//! generation; [`KafkaSourceSettings::version_policy`]), fetches `redis`
//! content by its location and hands the frame, its payload now for the
//! ZeroMQ part after the message, to [`Source::next`] through a bounded
//! channel. A record's offset is stored (for the next auto commit) at the
//! start of the following `next`, that is once the runner has handed the
//! record's message to the writer: at-least-once, as Savant's adapter.
//!
//! Streams and rebalances: when a rebalance takes partitions away, the
//! thread, inside the revoke callback, queues an EOS for every stream it
//! was sending from them (after the frames already read) and waits until
//! the runner has sent them all, storing their offsets, before the
//! partitions go: a module never sees a stream go on elsewhere without an
//! EOS, and the new owner starts after what was sent. A stream that starts
//! on this instance (first seen, after an EOS, or after a rebalance) starts
//! at a keyframe: frames before it are skipped and counted. A frame whose
//! Redis key is gone (TTL expired) is counted, reported and skipped; the
//! stream goes on.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message as _;
use rdkafka::ClientContext;
use savant_sdk_component::async_trait;
use savant_sdk_component::codec::{decode_message, DecodeOptions, VersionPolicy};
use savant_sdk_component::model::{FrameContent, MessagePayload};
use savant_sdk_component::source::{Source, SourceFrame, SourceItem};
use tokio::sync::mpsc;

use crate::error::{KafkaError, Result};
use crate::store::{FrameStore, Location, REDIS_METHOD};

/// Where a consumer without a committed offset starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffsetReset {
    /// At the end: only new records (Savant's default).
    #[default]
    Latest,
    /// At the beginning of what the broker keeps.
    Earliest,
}

impl OffsetReset {
    fn as_str(self) -> &'static str {
        match self {
            OffsetReset::Latest => "latest",
            OffsetReset::Earliest => "earliest",
        }
    }
}

impl std::str::FromStr for OffsetReset {
    type Err = KafkaError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "latest" => Ok(OffsetReset::Latest),
            "earliest" => Ok(OffsetReset::Earliest),
            _ => Err(KafkaError::Settings {
                key: "auto offset reset",
                reason: format!("{s:?}: expected latest or earliest"),
            }),
        }
    }
}

/// The settings of a [`KafkaRedisSource`].
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaSourceSettings {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// The topic.
    pub topic: String,
    /// `group.id`: one group per pool of modules.
    pub group_id: String,
    /// `auto.offset.reset` (latest).
    pub offset_reset: OffsetReset,
    /// `session.timeout.ms` (45 s, librdkafka's default): how soon a dead
    /// member's partitions move.
    pub session_timeout: Duration,
    /// `auto.commit.interval.ms` (1 s).
    pub auto_commit_interval: Duration,
    /// `max.poll.interval.ms` (600 s, as Savant's adapter).
    pub max_poll_interval: Duration,
    /// `partition.assignment.strategy` (roundrobin).
    pub assignment_strategy: String,
    /// Which protocol versions are read (every known generation).
    pub version_policy: VersionPolicy,
    /// Records decoded ahead of the runner (50, Savant's queue size).
    pub queue_capacity: usize,
    /// How long Redis may fail before the source fails (30 s).
    pub redis_deadline: Duration,
    /// How long a revoke waits for the runner to send what was read (60 s).
    pub revoke_timeout: Duration,
    /// Further librdkafka properties, set last.
    pub kafka_config: Vec<(String, String)>,
}

impl KafkaSourceSettings {
    /// Savant's adapter's defaults for `brokers`, `topic` and `group_id`.
    pub fn new(
        brokers: impl Into<String>,
        topic: impl Into<String>,
        group_id: impl Into<String>,
    ) -> Self {
        Self {
            brokers: brokers.into(),
            topic: topic.into(),
            group_id: group_id.into(),
            offset_reset: OffsetReset::Latest,
            session_timeout: Duration::from_secs(45),
            auto_commit_interval: Duration::from_secs(1),
            max_poll_interval: Duration::from_secs(600),
            assignment_strategy: "roundrobin".into(),
            version_policy: VersionPolicy::Known,
            queue_capacity: 50,
            redis_deadline: Duration::from_secs(30),
            revoke_timeout: Duration::from_secs(60),
            kafka_config: Vec::new(),
        }
    }

    fn client_config(&self) -> ClientConfig {
        let ms = |d: Duration| d.as_millis().to_string();
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("group.id", &self.group_id)
            .set("auto.offset.reset", self.offset_reset.as_str())
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set("auto.commit.interval.ms", ms(self.auto_commit_interval))
            .set("session.timeout.ms", ms(self.session_timeout))
            .set(
                "heartbeat.interval.ms",
                ms((self.session_timeout / 3).max(Duration::from_millis(100))),
            )
            .set("max.poll.interval.ms", ms(self.max_poll_interval))
            .set("partition.assignment.strategy", &self.assignment_strategy)
            .set("fetch.message.max.bytes", (64 * 1024 * 1024).to_string());
        for (k, v) in &self.kafka_config {
            c.set(k, v);
        }
        c
    }
}

/// Something the source saw, for logs and JSON lines.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SourceEvent {
    /// Partitions were assigned to this member.
    Assigned {
        /// The partitions.
        partitions: Vec<i32>,
    },
    /// Partitions were taken away; the streams read from them got an EOS.
    Revoked {
        /// The partitions.
        partitions: Vec<i32>,
        /// The source ids that got an EOS.
        ended: Vec<String>,
    },
    /// A frame's Redis key is not there (expired): the frame is skipped.
    MissingKey {
        /// The stream.
        source_id: String,
        /// The location.
        location: String,
    },
}

/// Counters of a [`KafkaRedisSource`], readable while it runs.
#[derive(Debug, Default)]
pub struct SourceStats {
    records: AtomicU64,
    frames: AtomicU64,
    eos: AtomicU64,
    rebalance_eos: AtomicU64,
    skipped_until_keyframe: AtomicU64,
    missing_keys: AtomicU64,
    unsupported: AtomicU64,
    ignored: AtomicU64,
    stored: AtomicU64,
    store_failures: AtomicU64,
    kafka_errors: AtomicU64,
}

/// A snapshot of [`SourceStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SourceStatsSnapshot {
    /// Records read.
    pub records: u64,
    /// Frames handed to the runner.
    pub frames: u64,
    /// EOS records handed to the runner.
    pub eos: u64,
    /// EOS made for streams whose partition was revoked.
    pub rebalance_eos: u64,
    /// Frames skipped because their stream started here after them, at a
    /// later keyframe.
    pub skipped_until_keyframe: u64,
    /// Frames skipped because their Redis key was gone.
    pub missing_keys: u64,
    /// Frames skipped for content this source cannot fetch (an external
    /// method other than `redis`, a malformed location).
    pub unsupported: u64,
    /// Messages neither frames, EOS, user data nor batches, skipped.
    pub ignored: u64,
    /// Offsets stored for commit.
    pub stored: u64,
    /// Offsets that could not be stored (their partition had moved).
    pub store_failures: u64,
    /// Errors the consumer reported and went on after.
    pub kafka_errors: u64,
}

impl SourceStats {
    /// The counters now.
    pub fn snapshot(&self) -> SourceStatsSnapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SourceStatsSnapshot {
            records: l(&self.records),
            frames: l(&self.frames),
            eos: l(&self.eos),
            rebalance_eos: l(&self.rebalance_eos),
            skipped_until_keyframe: l(&self.skipped_until_keyframe),
            missing_keys: l(&self.missing_keys),
            unsupported: l(&self.unsupported),
            ignored: l(&self.ignored),
            stored: l(&self.stored),
            store_failures: l(&self.store_failures),
            kafka_errors: l(&self.kafka_errors),
        }
    }
}

/// A record's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    partition: i32,
    offset: i64,
}

/// What the consumer thread hands to `next`.
// Items are the common case: boxing them would cost an allocation per frame.
#[allow(clippy::large_enum_variant)]
enum Event {
    /// An item and the record it came from (none for a rebalance's EOS).
    Item(SourceItem, Option<Position>),
    /// A record that gives no item (skipped), whose offset may be stored
    /// once what came before it was sent.
    Skipped(Position),
    /// Everything before this was handed to the writer: say so.
    Barrier(std::sync::mpsc::SyncSender<()>),
    /// The thread failed.
    Failed(KafkaError),
}

/// Observer of [`SourceEvent`]s.
pub type EventCallback = Arc<dyn Fn(&SourceEvent) + Send + Sync>;

/// The consumer's context: the rebalance callbacks and the stream table.
struct Context {
    tx: mpsc::Sender<Event>,
    /// Stream (source id) -> the partition it is read from; a stream is
    /// here from its first keyframe on this instance to its EOS.
    streams: Mutex<HashMap<String, i32>>,
    stats: Arc<SourceStats>,
    stop: Arc<AtomicBool>,
    events: Option<EventCallback>,
    revoke_timeout: Duration,
    topic: String,
}

impl Context {
    fn emit(&self, e: SourceEvent) {
        tracing::info!(?e, "kafka source");
        if let Some(f) = &self.events {
            f(&e);
        }
    }

    fn partitions(&self, tpl: &rdkafka::TopicPartitionList) -> Vec<i32> {
        let mut p: Vec<i32> = tpl
            .elements_for_topic(&self.topic)
            .iter()
            .map(|e| e.partition())
            .collect();
        p.sort_unstable();
        p
    }

    /// EOS for the streams of `partitions`, and a wait until they are sent.
    fn revoke(&self, partitions: Vec<i32>) {
        let set: BTreeSet<i32> = partitions.iter().copied().collect();
        let mut ended: Vec<String> = {
            let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
            let ended = streams
                .iter()
                .filter(|(_, p)| set.contains(p))
                .map(|(s, _)| s.clone())
                .collect::<Vec<_>>();
            for s in &ended {
                streams.remove(s);
            }
            ended
        };
        ended.sort();
        if !self.stop.load(Ordering::Acquire) {
            for s in &ended {
                self.stats.rebalance_eos.fetch_add(1, Ordering::Relaxed);
                if self
                    .tx
                    .blocking_send(Event::Item(SourceItem::EndOfStream(s.clone()), None))
                    .is_err()
                {
                    break;
                }
            }
            // wait until the runner has sent all of it (and stored its offsets)
            let (done, wait) = std::sync::mpsc::sync_channel(1);
            if self.tx.blocking_send(Event::Barrier(done)).is_ok()
                && wait.recv_timeout(self.revoke_timeout).is_err()
            {
                tracing::warn!(
                    "kafka source: what was read from partitions {partitions:?} not sent within \
                     {:?} of their revocation; the new owner may send some of it again",
                    self.revoke_timeout
                );
            }
        }
        self.emit(SourceEvent::Revoked { partitions, ended });
    }
}

impl ClientContext for Context {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        self.stats.kafka_errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("kafka: {error}: {reason}");
    }
}

impl ConsumerContext for Context {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            self.revoke(self.partitions(tpl));
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            self.emit(SourceEvent::Assigned {
                partitions: self.partitions(tpl),
            });
        }
    }
}

/// Stops a [`KafkaRedisSource`]'s consumer thread and waits for it (its
/// stored offsets committed, the group left). Usable after the source was
/// given away.
#[derive(Clone)]
pub struct SourceHandle {
    stop: Arc<AtomicBool>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
    stats: Arc<SourceStats>,
}

impl std::fmt::Debug for SourceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceHandle")
            .field("stats", &self.stats.snapshot())
            .finish()
    }
}

impl SourceHandle {
    /// The counters.
    pub fn stats(&self) -> SourceStatsSnapshot {
        self.stats.snapshot()
    }

    /// Stops the consumer thread and waits for it to commit and leave the
    /// group (blocking; call from a blocking context or `spawn_blocking`).
    pub fn stop_and_join(&self) {
        self.stop.store(true, Ordering::Release);
        let t = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = t {
            let _ = t.join();
        }
    }
}

/// A [`Source`] reading a Kafka topic (and Redis) in the layout of
/// Savant's Kafka-Redis source adapter; see the [module docs](self).
pub struct KafkaRedisSource {
    rx: mpsc::Receiver<Event>,
    consumer: Arc<BaseConsumer<Context>>,
    topic: String,
    /// The record of the item `next` returned last: stored at the next call.
    pending: Option<Position>,
    handle: SourceHandle,
}

impl std::fmt::Debug for KafkaRedisSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaRedisSource")
            .field("topic", &self.topic)
            .field("stats", &self.handle.stats())
            .finish()
    }
}

impl KafkaRedisSource {
    /// Joins the group and starts the consumer thread; `events` sees
    /// assignments, revocations and missing keys.
    pub fn start(settings: KafkaSourceSettings, events: Option<EventCallback>) -> Result<Self> {
        if settings.queue_capacity == 0 {
            return Err(KafkaError::Settings {
                key: "queue capacity",
                reason: "must be at least 1".into(),
            });
        }
        let (tx, rx) = mpsc::channel(settings.queue_capacity);
        let stats = Arc::new(SourceStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let context = Context {
            tx: tx.clone(),
            streams: Mutex::new(HashMap::new()),
            stats: stats.clone(),
            stop: stop.clone(),
            events,
            revoke_timeout: settings.revoke_timeout,
            topic: settings.topic.clone(),
        };
        let consumer: BaseConsumer<Context> = settings
            .client_config()
            .create_with_context(context)
            .map_err(|e| KafkaError::kafka("consumer", e))?;
        consumer
            .subscribe(&[&settings.topic])
            .map_err(|e| KafkaError::kafka("subscribe", e))?;
        let consumer = Arc::new(consumer);
        let worker = Consuming {
            consumer: consumer.clone(),
            tx,
            store: FrameStore::new(settings.redis_deadline),
            decode: DecodeOptions {
                version: settings.version_policy.clone(),
                ..DecodeOptions::default()
            },
            stats: stats.clone(),
            stop: stop.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("kafka-consumer".into())
            .spawn(move || worker.run())?;
        Ok(Self {
            rx,
            consumer,
            topic: settings.topic,
            pending: None,
            handle: SourceHandle {
                stop,
                thread: Arc::new(Mutex::new(Some(thread))),
                stats,
            },
        })
    }

    /// A handle that stops the consumer and reads the counters.
    pub fn handle(&self) -> SourceHandle {
        self.handle.clone()
    }

    fn store(&self, p: Position) {
        match self
            .consumer
            .store_offset(&self.topic, p.partition, p.offset)
        {
            Ok(()) => self.handle.stats.stored.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                tracing::debug!("offset {p:?} not stored: {e}");
                self.handle
                    .stats
                    .store_failures
                    .fetch_add(1, Ordering::Relaxed)
            }
        };
    }

    /// The next item, with this crate's error.
    pub async fn next_item(&mut self) -> Result<Option<SourceItem>> {
        // the previous item has been handed to the writer
        if let Some(p) = self.pending.take() {
            self.store(p);
        }
        loop {
            match self.rx.recv().await {
                Some(Event::Item(item, position)) => {
                    self.pending = position;
                    return Ok(Some(item));
                }
                Some(Event::Skipped(p)) => self.store(p),
                Some(Event::Barrier(done)) => {
                    let _ = done.try_send(());
                }
                Some(Event::Failed(e)) => return Err(e),
                None if self.handle.stop.load(Ordering::Acquire) => return Ok(None),
                None => return Err(KafkaError::ConsumerGone),
            }
        }
    }
}

impl Drop for KafkaRedisSource {
    fn drop(&mut self) {
        self.handle.stop.store(true, Ordering::Release);
    }
}

#[async_trait]
impl Source for KafkaRedisSource {
    async fn next(&mut self) -> savant_sdk_component::Result<Option<SourceItem>> {
        self.next_item()
            .await
            .map_err(|e| savant_sdk_component::Error::source("kafka-redis", e))
    }

    fn name(&self) -> &str {
        "kafka-redis"
    }
}

/// The consumer thread.
struct Consuming {
    consumer: Arc<BaseConsumer<Context>>,
    tx: mpsc::Sender<Event>,
    store: FrameStore,
    decode: DecodeOptions,
    stats: Arc<SourceStats>,
    stop: Arc<AtomicBool>,
}

impl Consuming {
    fn run(mut self) {
        while !self.stop.load(Ordering::Acquire) && !self.tx.is_closed() {
            let Some(polled) = self.consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let m = match polled {
                Ok(m) => m,
                Err(e) => {
                    self.stats.kafka_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("kafka poll: {e}");
                    continue;
                }
            };
            self.stats.records.fetch_add(1, Ordering::Relaxed);
            let position = Position {
                partition: m.partition(),
                offset: m.offset(),
            };
            let key = m
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .unwrap_or_default();
            let value = Bytes::copy_from_slice(m.payload().unwrap_or_default());
            let topic = m.topic().to_string();
            drop(m);
            let event = match self.event(&topic, &key, value, position) {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!("kafka source: {e}");
                    let _ = self.tx.blocking_send(Event::Failed(e));
                    break;
                }
            };
            if self.tx.blocking_send(event).is_err() {
                break;
            }
        }
        self.stop.store(true, Ordering::Release);
        if let Err(e) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::debug!("final commit: {e}");
        }
        // the consumer closes (leaves the group) when the last Arc goes
    }

    fn event(&mut self, topic: &str, key: &str, value: Bytes, at: Position) -> Result<Event> {
        let message = decode_message(value, &self.decode).map_err(|source| KafkaError::Decode {
            topic: topic.to_string(),
            partition: at.partition,
            offset: at.offset,
            source,
        })?;
        let ctx = self.consumer.context();
        let item = match message.payload {
            MessagePayload::VideoFrame(mut frame) => {
                {
                    let mut streams = ctx.streams.lock().unwrap_or_else(|p| p.into_inner());
                    if !streams.contains_key(&frame.source_id) {
                        if frame.keyframe == Some(false) {
                            self.stats
                                .skipped_until_keyframe
                                .fetch_add(1, Ordering::Relaxed);
                            return Ok(Event::Skipped(at));
                        }
                        streams.insert(frame.source_id.clone(), at.partition);
                    }
                }
                let content = match std::mem::take(&mut frame.content) {
                    FrameContent::Internal(b) => b,
                    FrameContent::None => Bytes::new(),
                    FrameContent::External { method, location } if method == REDIS_METHOD => {
                        let Some(loc) = location.as_deref().and_then(|l| Location::parse(l).ok())
                        else {
                            tracing::warn!(
                                "frame of {} with a bad location {location:?}",
                                frame.source_id
                            );
                            self.stats.unsupported.fetch_add(1, Ordering::Relaxed);
                            return Ok(Event::Skipped(at));
                        };
                        match self.store.get(&loc)? {
                            Some(b) => Bytes::from(b),
                            None => {
                                self.stats.missing_keys.fetch_add(1, Ordering::Relaxed);
                                ctx.emit(SourceEvent::MissingKey {
                                    source_id: frame.source_id.clone(),
                                    location: location.unwrap_or_default(),
                                });
                                return Ok(Event::Skipped(at));
                            }
                        }
                    }
                    FrameContent::External { method, .. } => {
                        tracing::warn!(
                            "frame of {} with unsupported external content {method:?}",
                            frame.source_id
                        );
                        self.stats.unsupported.fetch_add(1, Ordering::Relaxed);
                        return Ok(Event::Skipped(at));
                    }
                };
                self.stats.frames.fetch_add(1, Ordering::Relaxed);
                SourceItem::Frame(SourceFrame::new(*frame, content))
            }
            MessagePayload::EndOfStream(eos) => {
                ctx.streams
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&eos.source_id);
                self.stats.eos.fetch_add(1, Ordering::Relaxed);
                SourceItem::EndOfStream(eos.source_id)
            }
            MessagePayload::UserData(u) => SourceItem::UserData(u),
            MessagePayload::VideoFrameBatch(batch) => SourceItem::Batch {
                topic: key.to_string(),
                batch,
            },
            _ => {
                self.stats.ignored.fetch_add(1, Ordering::Relaxed);
                return Ok(Event::Skipped(at));
            }
        };
        Ok(Event::Item(item, Some(at)))
    }
}
