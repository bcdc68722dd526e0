//! # savant-sdk-kafka
//!
//! Kafka (and Redis) between sources and modules, in the layout of
//! Savant's Kafka-Redis adapters, so that ours and theirs mix:
//!
//! - [`KafkaRedisSink`]: a [`Sink`](savant_sdk_component::sink::Sink)
//!   writing each frame and EOS as a Kafka record (key = source id, value
//!   = the protobuf message stamped with the configured protocol version),
//!   the frame's payload in Redis (`SET <prefix>:<uuid> <bytes> EX <ttl>`,
//!   content `External("redis", "<host>:<port>:<db>/<key>")`) or inline.
//! - [`KafkaRedisSource`]: a [`Source`](savant_sdk_component::source::Source)
//!   in a consumer group, fetching the payloads back, at-least-once, with
//!   an EOS for every stream of a revoked partition and each stream
//!   started at a keyframe.
//! - [`admin`]: waiting for a broker, making a topic.
//!
//! The Kafka client is `rdkafka` with its bundled librdkafka (2.12.1); the
//! crate is outside the workspace's default members for that C build.
#![warn(missing_docs)]

pub mod admin;
pub mod error;
pub mod sink;
pub mod source;
pub mod store;

pub use error::{KafkaError, Result};
pub use sink::{KafkaRedisSink, KafkaSinkSettings, RedisSettings, SinkStats, SinkStatsSnapshot};
pub use source::{
    EventCallback, KafkaRedisSource, KafkaSourceSettings, OffsetReset, SourceEvent, SourceHandle,
    SourceStats, SourceStatsSnapshot,
};
pub use store::{FrameStore, Location, RedisAddress};
