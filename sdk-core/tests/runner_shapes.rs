//! The shapes the runners make easy, through the embedded loopback module
//! over real sockets: the sink read concurrently ([`SinkRunner::spawn`])
//! for any number of frames, the timeout that says what to check when the
//! module's output is not read, the sink's stop conditions, and one
//! `SourceRunner` shared by several tasks.

use std::time::Duration;

use bytes::Bytes;
use savant_sdk_core::async_trait;
use savant_sdk_core::client::{SinkBuilder, SourceBuilder, SourceRunner};
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::sink::{Sink, SinkResult};
use savant_sdk_core::source::{IterSource, SourceFrame, SourceItem};
use savant_sdk_core::Error;
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};

/// Long enough never to be waited out by a passing test.
const NEVER: Duration = Duration::from_secs(120);
/// How long a test may take before it counts as hung.
const HUNG: Duration = Duration::from_secs(60);

fn ipc(dir: &tempfile::TempDir, name: &str) -> String {
    format!("ipc://{}/{name}.ipc", dir.path().display())
}

fn frame(source: &str, i: i64) -> SourceFrame {
    SourceFrame::new(
        VideoFrame::builder(source)
            .codec("jpeg")
            .pts(i * 33_333_333)
            .build(),
        Bytes::from(vec![0xA5; 1024]),
    )
}

fn frames(source: &str, n: i64) -> IterSource<std::vec::IntoIter<SourceItem>> {
    IterSource::new(
        (0..n)
            .map(|i| SourceItem::Frame(frame(source, i)))
            .collect::<Vec<_>>()
            .into_iter(),
    )
}

/// Short timeouts: a stall fails in seconds, not minutes.
fn source_builder(input: &str) -> SourceBuilder {
    SourceBuilder::new(format!("dealer+connect:{input}"))
        .send_timeout(Duration::from_secs(2))
        .send_retries(1)
        .ack_timeout(Duration::from_secs(2))
        .ack_retries(1)
        .telemetry_off()
}

/// Counts frames and EOS per source id.
#[derive(Default)]
struct Count {
    frames: u64,
    eos: Vec<String>,
}

#[async_trait]
impl Sink for Count {
    async fn consume(&mut self, r: SinkResult) -> savant_sdk_core::Result<()> {
        if r.frame().is_some() {
            self.frames += 1;
        }
        if r.is_end_of_stream() {
            self.eos.push(r.source_id().to_string());
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_sink_reads_while_2000_frames_are_sent_through_the_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
    let sink = SinkBuilder::new(format!("router+bind:{output}"))
        .idle_timeout(NEVER)
        .stop_when_all_ended()
        .build()
        .await
        .unwrap();
    let module = LoopbackModule::start(LoopbackConfig::new(
        format!("router+bind:{input}"),
        format!("dealer+connect:{output}"),
    ))
    .unwrap();
    let source = source_builder(&input).build().await.unwrap();
    let reading = sink.spawn(Count::default());
    let summary = tokio::time::timeout(HUNG, source.send_stream(frames("cam-1", 2000)))
        .await
        .expect("sending hung")
        .unwrap();
    assert_eq!(summary.frames, 2000);
    // ends at the EOS, not after the (never reached) idle timeout
    let (count, consumed) = tokio::time::timeout(HUNG, reading.join())
        .await
        .expect("the sink did not stop after the last EOS")
        .unwrap();
    assert_eq!(count.frames, 2000);
    assert_eq!(count.eos, ["cam-1"]);
    assert_eq!(consumed, 2001);
    source.close().await;
    module.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_whose_module_output_nobody_reads_times_out_naming_what_to_check() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
    // the module's output goes to a socket nobody binds, let alone reads
    let module = LoopbackModule::start(LoopbackConfig::new(
        format!("router+bind:{input}"),
        format!("dealer+connect:{output}"),
    ))
    .unwrap();
    let source = SourceBuilder::new(format!("dealer+connect:{input}"))
        .send_timeout(Duration::from_millis(300))
        .send_retries(1)
        .ack_timeout(Duration::from_millis(300))
        .ack_retries(1)
        .telemetry_off()
        .build()
        .await
        .unwrap();
    let sending = async {
        // bounded: the high-water marks and socket buffers fill long before
        for i in 0..200_000 {
            if let Err(e) = source.send(frame("cam-1", i)).await {
                return (i, e);
            }
        }
        panic!("200000 frames went into a module whose output nobody reads");
    };
    let (sent, e) = tokio::time::timeout(HUNG, sending)
        .await
        .expect("a send blocked instead of timing out");
    assert!(
        matches!(e, Error::SendTimeout { .. } | Error::AckTimeout { .. }),
        "after {sent} frames: {e:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains("reading") && text.contains("module's output"),
        "the message says what to check: {text}"
    );
    // what the message says to check: once the output is read, the
    // stalled frames flow (and the module stops without waiting out its
    // own send timeouts)
    let reading = SinkBuilder::new(format!("router+bind:{output}"))
        .idle_timeout(Duration::from_secs(2))
        .build()
        .await
        .unwrap()
        .spawn(Count::default());
    drop(source);
    let (count, _) = tokio::time::timeout(HUNG, reading.join())
        .await
        .expect("the reader did not end")
        .unwrap();
    assert!(count.frames > 0, "nothing flowed once the output was read");
    module.stop().unwrap();
}

/// A sink, module and source on fresh sockets, the sink built by `sink`.
async fn loop_through(
    sink: impl FnOnce(SinkBuilder) -> SinkBuilder,
) -> (
    tempfile::TempDir,
    savant_sdk_core::client::SinkRunner,
    savant_sdk_loopback::LoopbackHandle,
    SourceRunner,
) {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
    let builder = SinkBuilder::new(format!("router+bind:{output}")).idle_timeout(NEVER);
    let runner = sink(builder).build().await.unwrap();
    let module = LoopbackModule::start(LoopbackConfig::new(
        format!("router+bind:{input}"),
        format!("dealer+connect:{output}"),
    ))
    .unwrap();
    let source = source_builder(&input).build().await.unwrap();
    (dir, runner, module, source)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sink_stops_after_n_frames_after_n_eos_and_when_every_source_ended() {
    // after 5 frames: the fifth is delivered, then the stream ends
    let (_dir, sink, module, source) = loop_through(|b| b.stop_after_frames(5)).await;
    let reading = sink.spawn(Count::default());
    source.send_stream(frames("a", 10)).await.unwrap();
    let (count, n) = tokio::time::timeout(HUNG, reading.join())
        .await
        .expect("did not stop after 5 frames")
        .unwrap();
    assert_eq!((count.frames, n), (5, 5));
    source.close().await;
    module.stop().unwrap();

    // after 2 EOS, whichever source ids they are for
    let (_dir, sink, module, source) = loop_through(|b| b.stop_after_eos(2)).await;
    let reading = sink.spawn(Count::default());
    for id in ["a", "b"] {
        source.send_stream(frames(id, 3)).await.unwrap();
    }
    let (count, _) = tokio::time::timeout(HUNG, reading.join())
        .await
        .expect("did not stop after 2 EOS")
        .unwrap();
    assert_eq!(
        (count.frames, count.eos.clone()),
        (6, vec!["a".into(), "b".into()])
    );
    source.close().await;
    module.stop().unwrap();

    // when every source id seen has ended: an EOS of a source id that sent
    // nothing closes nothing; "a" ending while "b" is open does not stop it
    let (_dir, sink, module, source) = loop_through(|b| b.stop_when_all_ended()).await;
    let reading = sink.spawn(Count::default());
    source.send_eos("never-sent-a-frame").await.unwrap();
    source.send(frame("a", 0)).await.unwrap();
    source.send(frame("b", 0)).await.unwrap();
    source.send_eos("a").await.unwrap();
    source.send(frame("b", 1)).await.unwrap();
    source.send_eos("b").await.unwrap();
    let (count, _) = tokio::time::timeout(HUNG, reading.join())
        .await
        .expect("did not stop when every source ended")
        .unwrap();
    assert_eq!(count.frames, 3);
    assert_eq!(count.eos, ["never-sent-a-frame", "a", "b"]);
    source.close().await;
    module.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_source_runner_shared_by_four_tasks_sends_everything_and_close_flushes() {
    let (_dir, sink, module, source) = loop_through(|b| b.stop_when_all_ended()).await;
    let reading = sink.spawn(Count::default());
    // one source id open throughout, so the sink cannot stop between tasks
    source.send(frame("keeper", 0)).await.unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let source = source.clone();
            tokio::spawn(async move {
                let summary = source.send_stream(frames(&format!("cam-{t}"), 300)).await;
                source.close().await; // a clone: the socket stays open for the others
                summary
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().frames, 300);
    }
    source.send_eos("keeper").await.unwrap();
    source.close().await; // the last handle: flushes and closes
    let (count, _) = tokio::time::timeout(HUNG, reading.join())
        .await
        .expect("the sink did not see every source end")
        .unwrap();
    assert_eq!(count.frames, 1201);
    let mut eos = count.eos.clone();
    eos.sort();
    assert_eq!(eos, ["cam-0", "cam-1", "cam-2", "cam-3", "keeper"]);
    module.stop().unwrap();
}
