//! The client runners through the embedded loopback module over real
//! sockets: per-frame traces in both formats survive the trip, EOS per
//! source, the mark attribute, batches, idle timeout, the blocking forms,
//! and the health endpoint.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use savant_sdk_core::client::{
    BlockingSinkRunner, BlockingSourceRunner, HealthCheck, SinkBuilder, SourceBuilder,
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
    let input = ipc(&dir, "in");
    let mut sink = SinkBuilder::new(format!("router+bind:{input}"))
        .idle_timeout(Duration::from_secs(2))
        .build()
        .await
        .unwrap();
    let source = SourceBuilder::new(format!("dealer+connect:{input}"))
        .telemetry_off()
        .build()
        .await
        .unwrap();
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
