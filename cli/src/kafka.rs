//! `savant-sdk kafka-sink` and `kafka-source`: Kafka (and Redis) between
//! sources and modules, in the layout of Savant's Kafka-Redis adapters.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use savant_sdk_core::client::{FinalEos, SinkBuilder, SourceBuilder, SourceResult};
use savant_sdk_core::pipeline::{Pipeline, PipelineObserver, SourceOutcome};
use savant_sdk_kafka::{
    admin, KafkaRedisSink, KafkaRedisSource, KafkaSinkSettings, KafkaSourceSettings, OffsetReset,
    RedisAddress, RedisSettings, SourceEvent,
};
use serde_json::json;

use crate::emit;
use crate::protocol::{AcceptArgs, ProtocolArgs};

/// The topic options both commands share.
#[derive(Debug, Args)]
pub struct TopicArgs {
    /// Kafka bootstrap servers, e.g. 127.0.0.1:9092.
    #[arg(long)]
    brokers: String,
    /// The topic.
    #[arg(long)]
    topic: String,
    /// Make the topic (replication 1) if it is not there.
    #[arg(long)]
    create_topic: bool,
    /// Partitions of a topic made with --create-topic (streams are spread
    /// over them by source id; at most this many members of a group get any).
    #[arg(long, default_value_t = 1, requires = "create_topic")]
    partitions: i32,
    /// Seconds to wait for the broker (and the topic) at start.
    #[arg(long, default_value_t = 30.0)]
    connect_timeout: f64,
    /// A librdkafka property KEY=VALUE, set after the command's own (repeatable).
    #[arg(long = "kafka-config", value_name = "KEY=VALUE", value_parser = parse_kv)]
    kafka_config: Vec<(String, String)>,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{s:?}: expected KEY=VALUE"))
}

impl TopicArgs {
    /// Waits for the broker and makes or checks the topic.
    async fn prepare(&self) -> Result<()> {
        let (brokers, topic) = (self.brokers.clone(), self.topic.clone());
        let (create, partitions) = (self.create_topic, self.partitions);
        let within =
            Duration::try_from_secs_f64(self.connect_timeout).context("--connect-timeout")?;
        let outcome = tokio::task::spawn_blocking(move || -> Result<Option<admin::TopicOutcome>> {
            admin::wait_for_broker(&brokers, within)?;
            if create {
                return Ok(Some(admin::ensure_topic(&brokers, &topic, partitions, within)?));
            }
            if admin::partition_count(&brokers, &topic, within)? == 0 {
                bail!("topic {topic} does not exist at {brokers} (give --create-topic to make it)");
            }
            Ok(None)
        })
        .await??;
        if let Some(o) = outcome {
            emit(json!({"event": "topic", "topic": self.topic, "outcome": o}));
        }
        Ok(())
    }
}

/// Arguments of `kafka-sink`.
#[derive(Debug, Args)]
pub struct KafkaSinkArgs {
    /// The socket results (or source frames) come in on, e.g.
    /// router+bind:ipc:///tmp/zmq-sockets/output-video.ipc (as `receive --socket`).
    #[arg(long)]
    input: String,
    #[command(flatten)]
    topic: TopicArgs,
    /// Put frame payloads into Redis at HOST[:PORT][/DB] (else inline in the record).
    #[arg(long, value_name = "HOST:PORT[/DB]", value_parser = parse_redis)]
    redis: Option<RedisAddress>,
    /// Redis key prefix; keys are <prefix>:<frame uuid>.
    #[arg(long, default_value = savant_sdk_kafka::store::DEFAULT_KEY_PREFIX)]
    redis_key_prefix: String,
    /// Redis key TTL in whole seconds.
    #[arg(long, default_value_t = 60)]
    redis_ttl: u64,
    /// Renew the TTL (EXPIRE) instead of SET for frames passed through
    /// unchanged whose key is already there (Savant's DEDUPLICATE).
    #[arg(long, requires = "redis")]
    dedup: bool,
    /// Seconds between producer flushes.
    #[arg(long, default_value_t = 1.0)]
    flush_interval: f64,
    /// Seconds a frame may wait for a full producer queue or a Redis that
    /// is down before the command fails (backpressure meanwhile).
    #[arg(long, default_value_t = 30.0)]
    backpressure_timeout: f64,
    /// Records librdkafka may hold unsent (queue.buffering.max.messages).
    #[arg(long, default_value_t = 1000)]
    queue_max_messages: u32,
    /// Exit after this many seconds without a message (default: never).
    #[arg(long)]
    idle_timeout: Option<f64>,
    /// Print a stats line every this many seconds (0: only at the end).
    #[arg(long, default_value_t = 0.0)]
    stats_interval: f64,
    #[command(flatten)]
    protocol: ProtocolArgs,
    #[command(flatten)]
    accept: AcceptArgs,
}

fn parse_redis(s: &str) -> Result<RedisAddress, String> {
    RedisAddress::parse_spec(s).map_err(|e| e.to_string())
}

fn secs(v: f64, name: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(v).with_context(|| name.to_string())
}

/// Prints a stats line every `interval` until dropped.
fn stats_ticker<F>(interval: Duration, line: F) -> Option<tokio::task::JoinHandle<()>>
where
    F: Fn() -> serde_json::Value + Send + 'static,
{
    (!interval.is_zero()).then(|| {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.tick().await;
            loop {
                tick.tick().await;
                emit(line());
            }
        })
    })
}

/// `kafka-sink`: reads a socket, writes Savant's Kafka-Redis layout.
pub async fn sink(a: KafkaSinkArgs) -> Result<()> {
    a.topic.prepare().await?;
    let mut settings = KafkaSinkSettings::new(&a.topic.brokers, &a.topic.topic);
    settings.redis = a.redis.clone().map(|address| RedisSettings {
        address,
        key_prefix: a.redis_key_prefix.clone(),
        ttl: Duration::from_secs(a.redis_ttl),
    });
    settings.dedup = a.dedup;
    settings.flush_interval = secs(a.flush_interval, "--flush-interval")?;
    settings.backpressure_deadline = secs(a.backpressure_timeout, "--backpressure-timeout")?;
    settings.queue_max_messages = a.queue_max_messages;
    settings.protocol_version = a.protocol.version();
    settings.kafka_config = a.topic.kafka_config.clone();
    let version = settings.protocol_version.clone();
    let sink = KafkaRedisSink::new(settings)?;
    let stats = sink.stats();
    let mut builder = SinkBuilder::new(&a.input).version_policy(a.accept.accept_version.clone());
    if let Some(t) = a.idle_timeout {
        builder = builder.idle_timeout(secs(t, "--idle-timeout")?);
    }
    let runner = builder.build().await?;
    emit(json!({
        "event": "kafka_sink_ready",
        "input": a.input,
        "topic": a.topic.topic,
        "redis": a.redis.as_ref().map(|r| r.location_prefix()),
        "protocol_version": version.as_str(),
    }));
    let s = stats.clone();
    let ticker = stats_ticker(
        secs(a.stats_interval, "--stats-interval")?,
        move || json!({"event": "kafka_sink_stats", "stats": s.snapshot()}),
    );
    let mut pipeline = Pipeline::new();
    pipeline
        .reader(&a.input, runner, vec![("kafka".into(), Box::new(sink))])
        .stop_on_signals();
    let report = pipeline.run().await;
    if let Some(t) = ticker {
        t.abort();
    }
    emit(json!({"event": "kafka_sink_stopped", "stats": stats.snapshot()}));
    let reader = &report.readers[0];
    if let Some(e) = &reader.error {
        bail!("{e}");
    }
    if let Some(e) = reader.sinks.iter().find_map(|s| s.outcome.error()) {
        bail!("{e}");
    }
    Ok(())
}

/// Arguments of `kafka-source`.
#[derive(Debug, Args)]
pub struct KafkaSourceArgs {
    /// The module's input socket, e.g. dealer+connect:ipc:///tmp/zmq-sockets/input-video.ipc.
    #[arg(long)]
    socket: String,
    #[command(flatten)]
    topic: TopicArgs,
    /// The consumer group (one per pool of modules doing the same work).
    #[arg(long)]
    group: String,
    /// Where a group without a committed offset starts: latest or earliest.
    #[arg(long, default_value = "latest", value_parser = parse_reset)]
    auto_offset_reset: OffsetReset,
    /// Seconds without a heartbeat after which a member is dead and its
    /// partitions move (session.timeout.ms).
    #[arg(long, default_value_t = 45.0)]
    session_timeout: f64,
    /// Records decoded ahead of the sends.
    #[arg(long, default_value_t = 50)]
    queue_size: usize,
    /// Seconds Redis may fail before the command fails.
    #[arg(long, default_value_t = 30.0)]
    redis_timeout: f64,
    /// Seconds of waiting for the module's acknowledgement (dealer, req).
    #[arg(long, default_value_t = 10.0)]
    ack_timeout: f64,
    /// Print a stats line every this many seconds (0: only at the end).
    #[arg(long, default_value_t = 0.0)]
    stats_interval: f64,
    /// Print a JSON line per message sent.
    #[arg(long)]
    verbose: bool,
    #[command(flatten)]
    protocol: ProtocolArgs,
    /// Which protocol versions of the records are read.
    #[command(flatten)]
    accept: AcceptArgs,
}

fn parse_reset(s: &str) -> Result<OffsetReset, String> {
    s.parse()
        .map_err(|e: savant_sdk_kafka::KafkaError| e.to_string())
}

/// One JSON line per message sent (--verbose).
struct Sent;

impl PipelineObserver for Sent {
    fn on_sent(&self, _source: &str, r: &SourceResult) {
        // the line `send` prints, in its shape
        let bytes = (r.kind == "frame").then_some(r.content_bytes);
        crate::output::emit_serialized(&crate::send::line(r, None, bytes));
    }
}

/// `kafka-source`: a consumer-group member feeding a module.
pub async fn source(a: KafkaSourceArgs) -> Result<()> {
    a.topic.prepare().await?;
    let mut settings = KafkaSourceSettings::new(&a.topic.brokers, &a.topic.topic, &a.group);
    settings.offset_reset = a.auto_offset_reset;
    settings.session_timeout = secs(a.session_timeout, "--session-timeout")?;
    settings.queue_capacity = a.queue_size;
    settings.redis_deadline = secs(a.redis_timeout, "--redis-timeout")?;
    settings.version_policy = a.accept.accept_version.clone();
    settings.kafka_config = a.topic.kafka_config.clone();
    let runner = SourceBuilder::new(&a.socket)
        .telemetry_off()
        .protocol_version(a.protocol.version())
        .ack_timeout(secs(a.ack_timeout, "--ack-timeout")?)
        .build()
        .await?;
    let events: savant_sdk_kafka::EventCallback = Arc::new(|e: &SourceEvent| emit(json!(e)));
    let source = KafkaRedisSource::start(settings, Some(events))?;
    let handle = source.handle();
    emit(
        json!({"event": "kafka_source_ready", "topic": a.topic.topic, "group": a.group, "socket": a.socket}),
    );
    let h = handle.clone();
    let ticker = stats_ticker(
        secs(a.stats_interval, "--stats-interval")?,
        move || json!({"event": "kafka_source_stats", "stats": h.stats()}),
    );
    let mut pipeline = Pipeline::new();
    pipeline
        .source_ending("kafka", runner, Box::new(source), FinalEos::Send)
        .stop_on_signals();
    if a.verbose {
        pipeline.observer(Arc::new(Sent));
    }
    let report = pipeline.run().await;
    if let Some(t) = ticker {
        t.abort();
    }
    let h = handle.clone();
    tokio::task::spawn_blocking(move || h.stop_and_join()).await?;
    emit(json!({"event": "kafka_source_stopped", "stats": handle.stats()}));
    match &report.sources[0].outcome {
        SourceOutcome::Completed | SourceOutcome::Stopped => Ok(()),
        failed => bail!("{}", failed.error().unwrap_or(failed.kind())),
    }
}
