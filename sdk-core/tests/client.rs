//! The client runners through the embedded loopback module over real
//! sockets: per-frame traces in both formats survive the trip, EOS per
//! source, the mark attribute, batches, idle timeout, the blocking forms,
//! and the health endpoint.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use savant_sdk_core::client::{
    BlockingSinkRunner, BlockingSourceRunner, HealthCheck, SinkBuilder, SinkRunner, SourceBuilder,
    SourceRunner,
};
use savant_sdk_core::model::*;
use savant_sdk_core::source::{IterSource, SourceFrame, SourceItem};
use savant_sdk_core::telemetry::Propagation;
use savant_sdk_core::transport::WriteOutcome;
use savant_sdk_core::HealthCheckError;
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};

fn ipc(dir: &tempfile::TempDir, name: &str) -> String {
    format!("ipc://{}/{name}.ipc", dir.path().display())
}

/// A sink bound at `name` in `dir` with an `idle` timeout, and a source
/// (telemetry off) connected straight to it.
async fn direct_pair(
    dir: &tempfile::TempDir,
    name: &str,
    idle: Duration,
) -> (SinkRunner, SourceRunner) {
    let ep = ipc(dir, name);
    let sink = SinkBuilder::new(format!("router+bind:{ep}"))
        .idle_timeout(idle)
        .build()
        .await
        .unwrap();
    let source = SourceBuilder::new(format!("dealer+connect:{ep}"))
        .telemetry_off()
        .build()
        .await
        .unwrap();
    (sink, source)
}

fn frame(source: &str, pts: i64) -> SourceFrame {
    SourceFrame::new(
        VideoFrame::builder(source).codec("jpeg").pts(pts).build(),
        Bytes::from(format!("payload-{source}-{pts}")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_survive_the_loopback_in_both_formats() {
    for propagation in [Propagation::W3c, Propagation::Jaeger] {
        let dir = tempfile::tempdir().unwrap();
        let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
        let mut sink = SinkBuilder::new(format!("router+bind:{output}"))
            .idle_timeout(Duration::from_secs(2))
            .build()
            .await
            .unwrap();
        let module = LoopbackModule::start(
            LoopbackConfig::new(
                format!("router+bind:{input}"),
                format!("dealer+connect:{output}"),
            )
            .mark("loopback", "seen"),
        )
        .unwrap();
        let source = SourceBuilder::new(format!("dealer+connect:{input}"))
            .propagation(propagation)
            .build()
            .await
            .unwrap();
        let items = (0..5)
            .map(|i| frame("a", i).into())
            .chain((0..3).map(|i| frame("b", i).into()));
        let mut sent = Vec::new();
        let summary = source
            .send_stream_with(IterSource::new(items), |r| sent.push(r.clone()))
            .await
            .unwrap();
        assert_eq!(summary.frames, 8);
        assert_eq!(summary.ended, vec!["a".to_string(), "b".to_string()]);
        // 8 frames then an acknowledged EOS per source id
        assert_eq!(sent.len(), 10);
        assert!(sent[8..]
            .iter()
            .all(|r| r.kind == "eos" && matches!(r.status, WriteOutcome::Acknowledged { .. })));
        let sent_traces: Vec<_> = sent[..8].iter().map(|r| r.trace_id.unwrap()).collect();
        assert_eq!(
            sent_traces.iter().collect::<HashSet<_>>().len(),
            8,
            "a new trace per frame"
        );

        let mut got = Vec::new();
        while let Some(r) = sink.next().await {
            got.push(r.unwrap());
        }
        let frames: Vec<_> = got.iter().filter(|r| r.frame().is_some()).collect();
        assert_eq!(frames.len(), 8, "{propagation:?}");
        for (r, s) in frames.iter().zip(&sent) {
            assert_eq!(r.trace_id, s.trace_id, "{propagation:?}: trace ids match");
            assert_eq!(r.pts(), s.pts);
            let f = r.frame().unwrap();
            assert_eq!(
                r.content.as_deref(),
                Some(format!("payload-{}-{}", f.source_id, f.pts).as_bytes())
            );
            assert!(f.attribute("loopback", "seen").is_some(), "marked");
            let key = match propagation {
                Propagation::W3c => "traceparent",
                Propagation::Jaeger => "uber-trace-id",
            };
            assert!(r.message.propagated_context.contains_key(key));
        }
        let eos: Vec<_> = got
            .iter()
            .filter(|r| r.is_end_of_stream())
            .map(|r| r.source_id().to_string())
            .collect();
        assert_eq!(eos, vec!["a", "b"]);
        source.close().await;
        let stats = module.stop().unwrap();
        assert_eq!(stats.forwarded, 10);
        sink.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_user_data_and_telemetry_off() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
    let mut sink = SinkBuilder::new(format!("router+bind:{output}"))
        .idle_timeout(Duration::from_secs(1))
        .build()
        .await
        .unwrap();
    let _module = LoopbackModule::start(LoopbackConfig::new(
        format!("router+bind:{input}"),
        format!("dealer+connect:{output}"),
    ))
    .unwrap();
    let source = SourceBuilder::new(format!("dealer+connect:{input}"))
        .telemetry_off()
        .build()
        .await
        .unwrap();
    let r = source.send(frame("x", 1)).await.unwrap();
    assert_eq!(r.trace_id, None);
    let batch = VideoFrameBatch::new()
        .with_frame(1, VideoFrame::builder("x").pts(2).build())
        .with_frame(2, VideoFrame::builder("y").pts(3).build());
    source.send_batch("x", batch).await.unwrap();
    source
        .send_item(SourceItem::UserData(UserData::new(
            "x",
            vec![Attribute::persistent(
                "u",
                "d",
                vec![AttributeValue::boolean(true)],
            )],
        )))
        .await
        .unwrap();
    source.send_shutdown("x", "secret").await.unwrap();
    let mut kinds = Vec::new();
    while let Some(r) = sink.next().await {
        let r = r.unwrap();
        assert_eq!(r.trace_id, None);
        kinds.push(r.kind());
    }
    assert_eq!(kinds, vec!["frame", "batch", "user_data", "shutdown"]);
}

#[test]
fn the_blocking_runners() {
    let dir = tempfile::tempdir().unwrap();
    let ep = ipc(&dir, "direct");
    let sink = BlockingSinkRunner::build(
        SinkBuilder::new(format!("router+bind:{ep}")).idle_timeout(Duration::from_millis(500)),
    )
    .unwrap();
    let source = BlockingSourceRunner::build(
        SourceBuilder::new(format!("dealer+connect:{ep}")).propagation(Propagation::Jaeger),
    )
    .unwrap();
    let sent = source.send(frame("z", 7)).unwrap();
    source.send_eos("z").unwrap();
    drop(source);
    let got: Vec<_> = sink.map(Result::unwrap).collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].trace_id, sent.trace_id);
    assert!(got[1].is_end_of_stream());
}

#[tokio::test]
async fn health_endpoint_of_the_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let module = LoopbackModule::start(
        LoopbackConfig::new(
            format!("router+bind:{}", ipc(&dir, "in")),
            format!("pub+bind:{}", ipc(&dir, "out")),
        )
        .healthcheck_addr("127.0.0.1:0".parse().unwrap()),
    )
    .unwrap();
    let url = module.health_url().unwrap();
    HealthCheck::new(url.clone())
        .timeout(Duration::from_secs(5))
        .interval(Duration::from_millis(100))
        .wait(&["running"])
        .await
        .unwrap();
    // a wrong path is a 404, which is an error, not "not ready"
    let bad = url.replace("/healthcheck", "/other");
    let e = HealthCheck::new(bad)
        .timeout(Duration::from_secs(2))
        .wait(&["running"])
        .await
        .unwrap_err();
    assert!(
        matches!(e, HealthCheckError::UnexpectedStatus { code: 404, .. }),
        "{e}"
    );
    module.stop().unwrap();
}

/// A source that ends the same source id twice (two rounds, each with its
/// EOS) is summarised with that id once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_summary_lists_each_ended_source_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, source) = direct_pair(&dir, "in", Duration::from_secs(2)).await;
    let items = vec![
        frame("a", 0).into(),
        SourceItem::EndOfStream("a".into()),
        frame("a", 1).into(),
        SourceItem::EndOfStream("a".into()),
        frame("b", 0).into(),
    ];
    let reading = tokio::spawn(async move {
        let mut eos = 0;
        while let Some(r) = sink.next().await {
            if r.unwrap().message.is_end_of_stream() {
                eos += 1;
            }
        }
        eos
    });
    let summary = source
        .send_stream(IterSource::new(items.into_iter()))
        .await
        .unwrap();
    assert_eq!(summary.ended, vec!["a".to_string(), "b".to_string()]);
    assert_eq!(summary.frames, 3);
    source.close().await;
    assert_eq!(reading.await.unwrap(), 3, "every EOS is still sent");
}

/// A stream longer than the runner's window, over three source ids with
/// an EOS of one in the middle (its frames go on after it): every message
/// gets its result, in the order of the stream, and the reader sees each
/// source's messages in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelined_stream_keeps_its_order_and_every_result() {
    use savant_sdk_core::client::STREAM_WINDOW;
    let dir = tempfile::tempdir().unwrap();
    let input = ipc(&dir, "in");
    let mut sink = SinkBuilder::new(format!("router+bind:{input}"))
        .stop_when_all_ended()
        .idle_timeout(Duration::from_secs(10))
        .build()
        .await
        .unwrap();
    let source = SourceBuilder::new(format!("dealer+connect:{input}"))
        .build()
        .await
        .unwrap();
    let n = (STREAM_WINDOW * 8) as i64;
    let mut items: Vec<SourceItem> = Vec::new();
    for i in 0..n {
        items.push(frame(["a", "b", "c"][(i % 3) as usize], i).into());
        if i == n / 2 {
            items.push(SourceItem::EndOfStream("c".into()));
        }
    }
    let expected: Vec<(String, Option<i64>)> = items
        .iter()
        .map(|item| match item {
            SourceItem::Frame(f) => (f.frame.source_id.clone(), Some(f.frame.pts)),
            SourceItem::EndOfStream(s) => (s.clone(), None),
            _ => unreachable!(),
        })
        .collect();
    let reading = tokio::spawn(async move {
        let mut got: Vec<(String, Option<i64>)> = Vec::new();
        while let Some(r) = sink.next().await {
            let r = r.unwrap();
            got.push((r.source_id().to_string(), r.pts()));
        }
        got
    });
    let mut results = Vec::new();
    let summary = source
        .send_stream_with(IterSource::new(items.into_iter()), |r| {
            results.push((r.source_id.clone(), r.pts, r.kind, r.trace_id.is_some()))
        })
        .await
        .unwrap();
    source.close().await;
    assert_eq!(summary.frames, n as u64);
    // the stream's messages, then the final EOS of each (c's frames went
    // on after its EOS)
    assert_eq!(results.len(), expected.len() + 3);
    for (r, e) in results.iter().zip(&expected) {
        assert_eq!((&r.0, r.1), (&e.0, e.1), "results in the stream's order");
        assert_eq!(r.2, if e.1.is_some() { "frame" } else { "eos" });
        assert_eq!(r.3, e.1.is_some(), "a trace per frame");
    }
    let tail: Vec<_> = results[expected.len()..]
        .iter()
        .map(|r| (r.0.as_str(), r.2))
        .collect();
    assert_eq!(tail, [("a", "eos"), ("b", "eos"), ("c", "eos")]);
    let got = reading.await.unwrap();
    assert_eq!(got.len(), results.len(), "everything arrived");
    for id in ["a", "b", "c"] {
        let sent: Vec<_> = expected.iter().filter(|e| e.0 == id).collect();
        let arrived: Vec<_> = got.iter().filter(|g| g.0 == id).collect();
        assert_eq!(&arrived[..sent.len()], &sent[..], "{id} in order");
    }
}

/// A source that fails: what it made before is sent and reported, then
/// its error comes back (and no EOS is sent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_source_gets_its_earlier_frames_sent_and_reported() {
    struct Fails(i64);
    #[savant_sdk_core::async_trait]
    impl savant_sdk_core::source::Source for Fails {
        async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
            if self.0 == 10 {
                return Err(savant_sdk_core::Error::Config("the source broke".into()));
            }
            self.0 += 1;
            Ok(Some(frame("f", self.0).into()))
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, source) = direct_pair(&dir, "in", Duration::from_secs(1)).await;
    let reading = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(r) = sink.next().await {
            let r = r.unwrap();
            got.push((r.kind(), r.pts()));
        }
        got
    });
    let mut reported = Vec::new();
    let e = source
        .send_stream_with(Fails(0), |r| reported.push(r.pts))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("the source broke"), "{e}");
    assert_eq!(reported, (1..=10).map(Some).collect::<Vec<_>>());
    source.close().await;
    let got = reading.await.unwrap();
    assert_eq!(
        got,
        (1..=10).map(|i| ("frame", Some(i))).collect::<Vec<_>>()
    );
}

/// A slow (paced) source's frame is reported once it is sent, not when
/// the source has made the next one: what `send`'s lines time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_sources_frames_are_reported_as_they_are_sent() {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;
    struct Slow(Arc<AtomicI64>);
    #[savant_sdk_core::async_trait]
    impl savant_sdk_core::source::Source for Slow {
        async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
            let made = self.0.load(Ordering::SeqCst);
            if made == 3 {
                return Ok(None);
            }
            if made > 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            self.0.store(made + 1, Ordering::SeqCst);
            Ok(Some(frame("s", made + 1).into()))
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let input = ipc(&dir, "in");
    let mut sink = SinkBuilder::new(format!("router+bind:{input}"))
        .stop_when_all_ended()
        .idle_timeout(Duration::from_secs(5))
        .build()
        .await
        .unwrap();
    let reading = tokio::spawn(async move { while sink.next().await.is_some() {} });
    let source = SourceBuilder::new(format!("dealer+connect:{input}"))
        .telemetry_off()
        .build()
        .await
        .unwrap();
    let made = Arc::new(AtomicI64::new(0));
    let mut reported = Vec::new();
    source
        .send_stream_with(Slow(made.clone()), |r| {
            reported.push((r.kind, r.pts, made.load(Ordering::SeqCst)))
        })
        .await
        .unwrap();
    source.close().await;
    reading.await.unwrap();
    // each frame reported before the source made the next one
    assert_eq!(
        reported,
        [
            ("frame", Some(1), 1),
            ("frame", Some(2), 2),
            ("frame", Some(3), 3),
            ("eos", None, 3)
        ]
    );
}

/// The idle timeout counts from the last message, not from the first
/// wait: frames 100 ms apart for 2.5 s keep a sink with a 1 s idle
/// timeout going (a timer that was not moved on would end it after 1 s),
/// and the sink ends about 1 s after the last one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_timeout_counts_from_the_last_message() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, source) = direct_pair(&dir, "idle", Duration::from_secs(1)).await;
    let sending = tokio::spawn(async move {
        for pts in 0..25 {
            source.send(frame("idle", pts)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        source.close().await;
    });
    let (mut got, mut last_arrival) = (0, std::time::Instant::now());
    while let Some(r) = sink.next().await {
        r.unwrap();
        got += 1;
        last_arrival = std::time::Instant::now();
    }
    let idle = last_arrival.elapsed();
    sending.await.unwrap();
    assert_eq!(got, 25, "the sink ended before the last frame");
    // tokio's timers never fire early; the upper bound is only a bound
    assert!(
        idle >= Duration::from_millis(990) && idle < Duration::from_secs(10),
        "ended {idle:?} after the last frame (idle timeout 1 s)"
    );
    sink.close().await;
}

/// A stream into a peer that reads nothing takes from its source no more
/// than the sockets hold (the dealer's send and the router's receive
/// high-water marks, 50 each by default, and a message or two in the
/// kernel's socket buffers) beside the runner's own window: pipelining
/// added no unbounded queue, and the stream ends in a send timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_into_a_peer_that_reads_nothing_takes_at_most_its_window() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use savant_sdk_core::client::{STREAM_BATCH, STREAM_WINDOW, STREAM_WINDOW_BYTES};
    use savant_sdk_core::transport::{BlockingReader, ReaderConfig, WriterConfig};
    use savant_sdk_core::Error;

    const PAYLOAD: usize = 256 << 10;
    let dir = tempfile::tempdir().unwrap();
    let input = ipc(&dir, "in");
    // bound and never read
    let reader_config = ReaderConfig::builder(&format!("router+bind:{input}"))
        .unwrap()
        .build()
        .unwrap();
    let receive_hwm = reader_config.receive_hwm() as usize;
    let _reader = BlockingReader::new(reader_config).unwrap();
    let send_hwm = WriterConfig::builder(&format!("dealer+connect:{input}"))
        .unwrap()
        .build()
        .unwrap()
        .send_hwm() as usize;
    let source = SourceBuilder::new(format!("dealer+connect:{input}"))
        .send_timeout(Duration::from_millis(500))
        .send_retries(1)
        .telemetry_off()
        .build()
        .await
        .unwrap();
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&taken);
    let payload = Bytes::from(vec![0x5A; PAYLOAD]);
    let endless = std::iter::from_fn(move || {
        let pts = counter.fetch_add(1, Ordering::Relaxed) as i64;
        Some(SourceItem::Frame(SourceFrame::new(
            VideoFrame::builder("cam-1").codec("jpeg").pts(pts).build(),
            payload.clone(),
        )))
    });
    let e = tokio::time::timeout(
        Duration::from_secs(60),
        source.send_stream(IterSource::new(endless)),
    )
    .await
    .expect("the stream blocked instead of timing out")
    .expect_err("an endless stream into a peer that reads nothing cannot succeed");
    assert!(matches!(e, Error::SendTimeout { .. }), "{e:?}");
    let taken = taken.load(Ordering::Relaxed);
    // the window holds this many of these frames at most (one more goes
    // when the bytes are over; the batch being made is part of it), and
    // a batch more is slack
    let window = STREAM_WINDOW.min(STREAM_WINDOW_BYTES / PAYLOAD + 1) + STREAM_BATCH;
    let sockets = send_hwm + receive_hwm + 4;
    assert!(
        taken <= window + sockets,
        "{taken} frames taken from the source; the window ({window}) and the sockets \
         ({sockets}) hold fewer"
    );
    assert!(
        taken > send_hwm,
        "{taken} frames taken: the socket's queue was not even filled"
    );
    source.close().await;
}
