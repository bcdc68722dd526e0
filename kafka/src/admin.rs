//! Waiting for a broker and making a topic (blocking calls).

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{BaseProducer, Producer};

use crate::error::{KafkaError, Result};

/// Whether a topic was made or already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TopicOutcome {
    /// It was made.
    Created,
    /// It was there already.
    Existed,
}

fn probe_client(brokers: &str) -> Result<BaseProducer> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .map_err(|e| KafkaError::kafka("client", e))
}

/// The partitions of `topic` the broker reports (0 when it has none).
pub fn partition_count(brokers: &str, topic: &str, timeout: Duration) -> Result<usize> {
    let client = probe_client(brokers)?;
    let md = client
        .client()
        .fetch_metadata(Some(topic), timeout)
        .map_err(|e| KafkaError::kafka("metadata", e))?;
    Ok(md
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map_or(0, |t| t.partitions().len()))
}

/// Waits until a metadata request to `brokers` succeeds.
pub fn wait_for_broker(brokers: &str, within: Duration) -> Result<()> {
    let client = probe_client(brokers)?;
    let start = Instant::now();
    loop {
        match client
            .client()
            .fetch_metadata(None, Duration::from_millis(500))
        {
            Ok(_) => return Ok(()),
            Err(e) if start.elapsed() > within => {
                return Err(KafkaError::kafka("metadata (broker not ready)", e))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Makes `topic` with `partitions` partitions (replication 1) unless it
/// exists, and waits until the broker reports it with its partitions.
pub fn ensure_topic(
    brokers: &str,
    topic: &str,
    partitions: i32,
    within: Duration,
) -> Result<TopicOutcome> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .map_err(|e| KafkaError::kafka("admin client", e))?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let opts = AdminOptions::new().operation_timeout(Some(within));
    let results = block_on(admin.create_topics(&[new], &opts))
        .map_err(|e| KafkaError::kafka("create topic", e))?;
    let mut outcome = TopicOutcome::Created;
    for r in results {
        match r {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => outcome = TopicOutcome::Existed,
            Err((name, code)) => {
                return Err(KafkaError::TopicNotReady {
                    topic: name,
                    within,
                    reason: format!("creation refused: {code}"),
                })
            }
        }
    }
    let start = Instant::now();
    loop {
        let n = partition_count(brokers, topic, Duration::from_millis(500)).unwrap_or(0);
        if n > 0 && (outcome == TopicOutcome::Existed || n >= partitions as usize) {
            return Ok(outcome);
        }
        if start.elapsed() > within {
            return Err(KafkaError::TopicNotReady {
                topic: topic.to_string(),
                within,
                reason: format!("{n} of {partitions} partitions reported"),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a future to completion on this thread (the admin client's futures
/// are completed by its own thread; no runtime is needed).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark()
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}
