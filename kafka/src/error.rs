//! The crate's one error type.

use std::time::Duration;

use savant_sdk_component::{DecodeError, EncodeError};

/// What can go wrong between Kafka, Redis and the SDK.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// A setting that cannot be used.
    #[error("invalid setting {key}: {reason}")]
    Settings {
        /// The setting.
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// A Redis location that is not `<host>:<port>:<db>/<key>`.
    #[error("invalid Redis location {location:?}: expected <host>:<port>:<db>/<key>")]
    BadLocation {
        /// The location.
        location: String,
    },
    /// The Kafka client refused or failed an operation.
    #[error("kafka {operation}: {source}")]
    Kafka {
        /// What was being done.
        operation: &'static str,
        /// The client's error.
        source: rdkafka::error::KafkaError,
    },
    /// Redis kept failing for longer than the deadline.
    #[error(
        "redis {operation} at {address} failed for {waited:?} ({attempts} attempts), \
         giving up: {source}; is redis-server running there?"
    )]
    Redis {
        /// What was being done (`SET`, `EXPIRE`, `GET`).
        operation: &'static str,
        /// `host:port:db`.
        address: String,
        /// How long it was retried.
        waited: Duration,
        /// How many attempts were made.
        attempts: u32,
        /// The last failure.
        source: redis::RedisError,
    },
    /// librdkafka's queue stayed full for longer than the deadline: the
    /// broker does not take records as fast as they come.
    #[error(
        "kafka producer queue full for {waited:?} ({queued} records queued): the broker at \
         {brokers} does not take records; is it running and reachable?"
    )]
    Backpressure {
        /// The bootstrap servers.
        brokers: String,
        /// How long the record waited.
        waited: Duration,
        /// Records in librdkafka's queue.
        queued: i32,
    },
    /// The broker refused or lost records that were produced.
    #[error("{failed} kafka records not delivered to {topic}; the first: {first}")]
    Delivery {
        /// The topic.
        topic: String,
        /// How many failed so far.
        failed: u64,
        /// The first failure's text.
        first: String,
    },
    /// A record's value is not a message this SDK can read.
    #[error("record {topic}/{partition}@{offset}: {source}")]
    Decode {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset.
        offset: i64,
        /// Why.
        source: DecodeError,
    },
    /// A message could not be encoded with the configured protocol version.
    #[error("cannot encode message: {0}")]
    Encode(#[from] EncodeError),
    /// The topic did not appear, or not with its partitions, in time.
    #[error("topic {topic} not ready within {within:?}: {reason}")]
    TopicNotReady {
        /// The topic.
        topic: String,
        /// How long was waited.
        within: Duration,
        /// What was seen last.
        reason: String,
    },
    /// The consumer thread is gone (it failed or the source was closed).
    #[error("the kafka consumer thread has stopped")]
    ConsumerGone,
    /// The sink's worker was lost (a consume was cancelled mid-way).
    #[error("the kafka sink's worker was lost by a cancelled consume")]
    WorkerLost,
    /// A thread could not be started.
    #[error("cannot start thread: {0}")]
    Thread(#[from] std::io::Error),
}

impl KafkaError {
    pub(crate) fn kafka(operation: &'static str, source: rdkafka::error::KafkaError) -> Self {
        KafkaError::Kafka { operation, source }
    }
}

/// Results of this crate.
pub type Result<T, E = KafkaError> = std::result::Result<T, E>;
