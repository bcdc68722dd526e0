//! [`KafkaRedisSink`]: results (or source frames) into a Kafka topic in the
//! layout of Savant's Kafka-Redis sink adapter.
//!
//! Each frame becomes one record: key = its source id (UTF-8), value =
//! the protobuf message stamped with the configured protocol version (no
//! ZeroMQ framing). Its payload goes to Redis (`SET <prefix>:<uuid> ...
//! EX <ttl>`, content `External("redis", "<host>:<port>:<db>/<key>")`) or,
//! without Redis, inline (internal content). An EOS is a record too.
//! Other messages (user data, batches, updates) are counted and skipped,
//! as Savant's adapter skips them.
//!
//! Memory is bounded: `consume` returns once the payload is in Redis and
//! the record is in librdkafka's queue, whose size is capped
//! ([`KafkaSinkSettings::queue_max_messages`], `queue_max_kbytes`); when
//! the queue is full or Redis is down, `consume` waits (backpressure up
//! the ZeroMQ socket) and fails with a clear error after
//! [`KafkaSinkSettings::backpressure_deadline`]. A record the broker
//! refuses fails the next `consume` (or `finish`): nothing is dropped
//! without an error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::config::ClientConfig;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use savant_sdk_component::async_trait;
use savant_sdk_component::model::{
    EndOfStream, FrameContent, Message, MessagePayload, TranscodingMethod,
};
use savant_sdk_component::protocol::ProtocolVersion;
use savant_sdk_component::seq_id::SeqIdGenerator;
use savant_sdk_component::sink::{Sink, SinkResult};

use crate::error::{KafkaError, Result};
use crate::store::REDIS_METHOD;
use crate::store::{FrameStore, Location, RedisAddress, DEFAULT_KEY_PREFIX, DEFAULT_TTL};

/// Where and how frame payloads go to Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// The database.
    pub address: RedisAddress,
    /// Key prefix (`savant:frames`); the key is `<prefix>:<frame uuid>`.
    pub key_prefix: String,
    /// Key TTL (60 s), whole seconds.
    pub ttl: Duration,
}

impl RedisSettings {
    /// Savant's defaults at `address`.
    pub fn new(address: RedisAddress) -> Self {
        Self {
            address,
            key_prefix: DEFAULT_KEY_PREFIX.to_string(),
            ttl: DEFAULT_TTL,
        }
    }
}

/// The settings of a [`KafkaRedisSink`].
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaSinkSettings {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// The topic.
    pub topic: String,
    /// Payloads to Redis, or inline when `None`.
    pub redis: Option<RedisSettings>,
    /// Savant's dedup mode: a frame passed through unchanged
    /// (transcoding method Copy) whose key is already in Redis only gets
    /// its TTL renewed (`EXPIRE`), no `SET`.
    pub dedup: bool,
    /// How often everything queued is flushed to the broker (1 s); a
    /// delivery failure is reported by the next `consume` after it.
    pub flush_interval: Duration,
    /// How long a flush may take before it is an error (10 s).
    pub flush_timeout: Duration,
    /// The protocol version records are stamped with.
    pub protocol_version: ProtocolVersion,
    /// librdkafka's `queue.buffering.max.messages` (1000).
    pub queue_max_messages: u32,
    /// librdkafka's `queue.buffering.max.kbytes` (131072: 128 MiB).
    pub queue_max_kbytes: u32,
    /// How long a frame may wait for a full queue or a Redis that is down
    /// before `consume` fails (30 s).
    pub backpressure_deadline: Duration,
    /// Further librdkafka properties, set last.
    pub kafka_config: Vec<(String, String)>,
}

impl KafkaSinkSettings {
    /// Defaults as Savant's adapter has them, for `brokers` and `topic`.
    pub fn new(brokers: impl Into<String>, topic: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            topic: topic.into(),
            redis: None,
            dedup: false,
            flush_interval: Duration::from_secs(1),
            flush_timeout: Duration::from_secs(10),
            protocol_version: ProtocolVersion::default(),
            queue_max_messages: 1000,
            queue_max_kbytes: 128 * 1024,
            backpressure_deadline: Duration::from_secs(30),
            kafka_config: Vec::new(),
        }
    }

    fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set(
                "queue.buffering.max.messages",
                self.queue_max_messages.to_string(),
            )
            .set(
                "queue.buffering.max.kbytes",
                self.queue_max_kbytes.to_string(),
            )
            // a frame inline may be large; the broker's own limit still holds
            .set("message.max.bytes", (64 * 1024 * 1024).to_string());
        for (k, v) in &self.kafka_config {
            c.set(k, v);
        }
        c
    }
}

/// Counters of a [`KafkaRedisSink`], readable while it runs.
#[derive(Debug, Default)]
pub struct SinkStats {
    frames: AtomicU64,
    eos: AtomicU64,
    skipped: AtomicU64,
    redis_sets: AtomicU64,
    redis_renewed: AtomicU64,
    redis_bytes: AtomicU64,
    inline_bytes: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    queue_full_waits: AtomicU64,
    redis_retries: AtomicU64,
    first_failure: Mutex<Option<String>>,
}

/// A snapshot of [`SinkStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SinkStatsSnapshot {
    /// Frame records handed to the producer.
    pub frames: u64,
    /// EOS records handed to the producer.
    pub eos: u64,
    /// Messages that are neither frames nor EOS, not written (as Savant's adapter).
    pub skipped: u64,
    /// Payloads written to Redis.
    pub redis_sets: u64,
    /// Payloads already in Redis whose TTL was renewed instead (dedup).
    pub redis_renewed: u64,
    /// Payload bytes written to Redis.
    pub redis_bytes: u64,
    /// Payload bytes sent inline.
    pub inline_bytes: u64,
    /// Records the broker acknowledged.
    pub delivered: u64,
    /// Records the broker did not take (each also fails the sink).
    pub failed: u64,
    /// Times a record waited for room in librdkafka's queue.
    pub queue_full_waits: u64,
    /// Redis commands retried after a failure.
    pub redis_retries: u64,
}

impl SinkStats {
    /// The counters now.
    pub fn snapshot(&self) -> SinkStatsSnapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SinkStatsSnapshot {
            frames: l(&self.frames),
            eos: l(&self.eos),
            skipped: l(&self.skipped),
            redis_sets: l(&self.redis_sets),
            redis_renewed: l(&self.redis_renewed),
            redis_bytes: l(&self.redis_bytes),
            inline_bytes: l(&self.inline_bytes),
            delivered: l(&self.delivered),
            failed: l(&self.failed),
            queue_full_waits: l(&self.queue_full_waits),
            redis_retries: l(&self.redis_retries),
        }
    }
}

/// Counts deliveries; keeps the first failure's text.
struct Deliveries(Arc<SinkStats>);

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.0.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.0.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self
                    .0
                    .first_failure
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                if first.is_none() {
                    tracing::error!("kafka record not delivered: {e}");
                    *first = Some(e.to_string());
                }
            }
        }
    }
}

/// What runs in a blocking task: Redis and the producer.
struct Worker {
    settings: KafkaSinkSettings,
    producer: ThreadedProducer<Deliveries>,
    store: FrameStore,
    seq_ids: SeqIdGenerator,
    stats: Arc<SinkStats>,
    last_flush: Instant,
}

/// A [`Sink`] writing Kafka records (and Redis keys) in the layout of
/// Savant's Kafka-Redis sink adapter; see the [module docs](self).
pub struct KafkaRedisSink {
    worker: Option<Box<Worker>>,
    stats: Arc<SinkStats>,
}

impl std::fmt::Debug for KafkaRedisSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaRedisSink")
            .field("stats", &self.stats.snapshot())
            .finish()
    }
}

impl KafkaRedisSink {
    /// Makes the producer (the broker is contacted on the first record).
    pub fn new(settings: KafkaSinkSettings) -> Result<Self> {
        if settings.brokers.is_empty() || settings.topic.is_empty() {
            return Err(KafkaError::Settings {
                key: "brokers/topic",
                reason: "empty".into(),
            });
        }
        if let Some(r) = &settings.redis {
            if r.ttl.as_secs() == 0 {
                return Err(KafkaError::Settings {
                    key: "redis ttl",
                    reason: "must be at least 1 s".into(),
                });
            }
        }
        let stats = Arc::new(SinkStats::default());
        let producer = settings
            .client_config()
            .create_with_context(Deliveries(stats.clone()))
            .map_err(|e| KafkaError::kafka("producer", e))?;
        let store = FrameStore::new(settings.backpressure_deadline);
        Ok(Self {
            worker: Some(Box::new(Worker {
                settings,
                producer,
                store,
                seq_ids: SeqIdGenerator::default(),
                stats: stats.clone(),
                last_flush: Instant::now(),
            })),
            stats,
        })
    }

    /// The counters, shared: read them while the sink runs.
    pub fn stats(&self) -> Arc<SinkStats> {
        self.stats.clone()
    }

    /// Runs `f` on the worker in a blocking task.
    async fn with_worker<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Worker) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let mut worker = self.worker.take().ok_or(KafkaError::WorkerLost)?;
        let (worker, out) = tokio::task::spawn_blocking(move || {
            let out = f(&mut worker);
            (worker, out)
        })
        .await
        .map_err(|_| KafkaError::WorkerLost)?;
        self.worker = Some(worker);
        out
    }

    /// Writes one result: what [`Sink::consume`] does, with this crate's error.
    pub async fn write(&mut self, result: SinkResult) -> Result<()> {
        self.with_worker(move |w| w.write(result)).await
    }

    /// Flushes everything queued and reports any record not delivered.
    pub async fn flush(&mut self) -> Result<()> {
        self.with_worker(|w| w.flush()).await
    }
}

impl Worker {
    fn write(&mut self, result: SinkResult) -> Result<()> {
        self.check_deliveries()?;
        let SinkResult {
            message, content, ..
        } = result;
        let stats = self.stats.clone();
        let (source_id, value, counter) = match message.payload {
            MessagePayload::VideoFrame(mut frame) => {
                match content {
                    Some(bytes) => frame.content = self.store_content(&frame, bytes)?,
                    // announced in a ZeroMQ part that did not come: no
                    // reader of the record could fetch it
                    None if matches!(&frame.content, FrameContent::External { method, .. } if method == FrameContent::ZEROMQ) => {
                        frame.content = FrameContent::None
                    }
                    None => {}
                }
                let seq = self.seq_ids.next_id(&frame.source_id);
                let source_id = frame.source_id.clone();
                let m = Message::video_frame(*frame);
                let value = savant_sdk_component::codec::encode_message_as(
                    &m,
                    &self.settings.protocol_version,
                    seq,
                    "",
                )?;
                (source_id, value, &stats.frames)
            }
            MessagePayload::EndOfStream(eos) => {
                let seq = self.seq_ids.end_of_stream(&eos.source_id);
                let source_id = eos.source_id.clone();
                let m = Message::end_of_stream(EndOfStream::new(eos.source_id));
                let value = savant_sdk_component::codec::encode_message_as(
                    &m,
                    &self.settings.protocol_version,
                    seq,
                    "",
                )?;
                (source_id, value, &stats.eos)
            }
            _ => {
                self.stats.skipped.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
        };
        self.produce(&source_id, &value)?;
        counter.fetch_add(1, Ordering::Relaxed);
        if self.last_flush.elapsed() >= self.settings.flush_interval {
            self.flush()?;
        }
        Ok(())
    }

    /// The payload into Redis (or inline): the frame's new content.
    fn store_content(
        &mut self,
        frame: &savant_sdk_component::model::VideoFrame,
        bytes: Bytes,
    ) -> Result<FrameContent> {
        let Some(redis) = &self.settings.redis else {
            self.stats
                .inline_bytes
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            return Ok(FrameContent::Internal(bytes));
        };
        let key = format!("{}:{}", redis.key_prefix, frame.uuid);
        let retries = self.store.retries();
        let renewed = self.settings.dedup
            && frame.transcoding_method == TranscodingMethod::Copy
            && self.store.expire(&redis.address, &key, redis.ttl)?;
        if renewed {
            self.stats.redis_renewed.fetch_add(1, Ordering::Relaxed);
        } else {
            self.store.set(&redis.address, &key, &bytes, redis.ttl)?;
            self.stats.redis_sets.fetch_add(1, Ordering::Relaxed);
            self.stats
                .redis_bytes
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        self.stats
            .redis_retries
            .fetch_add(self.store.retries() - retries, Ordering::Relaxed);
        Ok(FrameContent::External {
            method: REDIS_METHOD.to_string(),
            location: Some(Location::format(&redis.address, &key)),
        })
    }

    /// Into librdkafka's queue, waiting while it is full.
    fn produce(&mut self, key: &str, value: &[u8]) -> Result<()> {
        let start = Instant::now();
        let mut record = BaseRecord::to(&self.settings.topic).key(key).payload(value);
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((
                    rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull),
                    back,
                )) => {
                    if start.elapsed() > self.settings.backpressure_deadline {
                        return Err(KafkaError::Backpressure {
                            brokers: self.settings.brokers.clone(),
                            waited: start.elapsed(),
                            queued: self.producer.in_flight_count(),
                        });
                    }
                    self.stats.queue_full_waits.fetch_add(1, Ordering::Relaxed);
                    record = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((e, _)) => return Err(KafkaError::kafka("produce", e)),
            }
        }
    }

    fn flush(&mut self) -> Result<()> {
        self.producer
            .flush(self.settings.flush_timeout)
            .map_err(|e| KafkaError::kafka("flush", e))?;
        self.last_flush = Instant::now();
        self.check_deliveries()
    }

    fn check_deliveries(&self) -> Result<()> {
        let failed = self.stats.failed.load(Ordering::Relaxed);
        if failed == 0 {
            return Ok(());
        }
        let first = self
            .stats
            .first_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default();
        Err(KafkaError::Delivery {
            topic: self.settings.topic.clone(),
            failed,
            first,
        })
    }
}

#[async_trait]
impl Sink for KafkaRedisSink {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_component::Result<()> {
        self.write(result)
            .await
            .map_err(|e| savant_sdk_component::Error::sink("kafka-redis", e))
    }

    async fn finish(&mut self) -> savant_sdk_component::Result<()> {
        self.flush()
            .await
            .map_err(|e| savant_sdk_component::Error::sink("kafka-redis", e))
    }

    fn name(&self) -> &str {
        "kafka-redis"
    }
}
