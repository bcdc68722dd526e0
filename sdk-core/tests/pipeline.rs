//! The pipeline runner through the embedded loopback module over real
//! sockets: several sources into one writer, a failing and a panicking
//! source (their streams still end with EOS, each error reported once,
//! the others complete), several sinks on one reader (a failing sink does
//! not starve the others), and a shutdown while an endless source sends
//! (EOS for its stream, sinks finished, all within the bound).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use savant_sdk_core::async_trait;
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::pipeline::{Pipeline, SinkOutcome, SourceOutcome};
use savant_sdk_core::sink::{Sink, SinkResult};
use savant_sdk_core::source::{IterSource, Source, SourceFrame, SourceItem};
use savant_sdk_core::Error;
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};

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
        Bytes::from_static(&[0xA5; 256]),
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

/// Yields `ok` frames, then fails or panics.
struct Breaks {
    id: &'static str,
    ok: i64,
    n: i64,
    panic: bool,
}

#[async_trait]
impl Source for Breaks {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        if self.n == self.ok {
            if self.panic {
                panic!("{} exploded", self.id);
            }
            return Err(Error::source(
                self.id,
                std::io::Error::other("camera unplugged"),
            ));
        }
        self.n += 1;
        Ok(Some(frame(self.id, self.n).into()))
    }
}

/// Never ends: a frame every 5 ms.
struct Endless(i64);

#[async_trait]
impl Source for Endless {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.0 += 1;
        Ok(Some(frame("endless", self.0).into()))
    }
}

#[derive(Default)]
struct Seen {
    frames: BTreeMap<String, u64>,
    eos: BTreeMap<String, u64>,
    /// Results offered after the sink failed (the pipeline gives none).
    after_failure: u64,
    failed: bool,
    finished: bool,
}

/// Records what it gets into a shared `Seen`; fails on frame `fail_at`.
struct Record {
    seen: Arc<Mutex<Seen>>,
    fail_at: Option<u64>,
    count: u64,
}

#[async_trait]
impl Sink for Record {
    async fn consume(&mut self, r: SinkResult) -> savant_sdk_core::Result<()> {
        let mut seen = self.seen.lock().unwrap();
        if seen.failed {
            seen.after_failure += 1;
        }
        if let Some(f) = r.frame() {
            self.count += 1;
            if Some(self.count) == self.fail_at {
                seen.failed = true;
                return Err(Error::sink("record", std::io::Error::other("disk full")));
            }
            *seen.frames.entry(f.source_id.clone()).or_default() += 1;
        } else if r.is_end_of_stream() {
            *seen.eos.entry(r.source_id().to_string()).or_default() += 1;
        }
        Ok(())
    }

    async fn finish(&mut self) -> savant_sdk_core::Result<()> {
        self.seen.lock().unwrap().finished = true;
        Ok(())
    }
}

fn record(fail_at: Option<u64>) -> (Arc<Mutex<Seen>>, Box<dyn Sink>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    (
        seen.clone(),
        Box::new(Record {
            seen,
            fail_at,
            count: 0,
        }),
    )
}

struct Module {
    _dir: tempfile::TempDir,
    input: String,
    output: String,
    _module: savant_sdk_loopback::LoopbackHandle,
}

fn module() -> Module {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
    let module = LoopbackModule::start(LoopbackConfig::new(
        format!("router+bind:{input}"),
        format!("dealer+connect:{output}"),
    ))
    .unwrap();
    Module {
        _dir: dir,
        input,
        output,
        _module: module,
    }
}

fn writer(input: &str) -> SourceBuilder {
    SourceBuilder::new(format!("dealer+connect:{input}"))
        .send_timeout(Duration::from_secs(2))
        .send_retries(1)
        .ack_timeout(Duration::from_secs(2))
        .ack_retries(1)
        .telemetry_off()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_and_panicking_sources_end_their_streams_and_the_others_complete() {
    let m = module();
    // no stop condition of its own: the pipeline ends the reader once
    // every stream its sources ended came back with its EOS
    let reader = SinkBuilder::new(format!("router+bind:{}", m.output))
        .idle_timeout(Duration::from_secs(120))
        .build()
        .await
        .unwrap();
    let writer = writer(&m.input).build().await.unwrap();
    let (healthy, healthy_sink) = record(None);
    let (failing, failing_sink) = record(Some(5));
    let mut p = Pipeline::new();
    p.source("a", writer.clone(), frames("a", 40))
        .source("b", writer.clone(), frames("b", 25))
        .source(
            "broken",
            writer.clone(),
            Breaks {
                id: "broken",
                ok: 3,
                n: 0,
                panic: false,
            },
        )
        .source(
            "panicky",
            writer,
            Breaks {
                id: "panicky",
                ok: 2,
                n: 0,
                panic: true,
            },
        )
        .reader(
            "out",
            reader,
            vec![
                ("failing".into(), failing_sink),
                ("healthy".into(), healthy_sink),
            ],
        );
    let report = tokio::time::timeout(HUNG, p.run()).await.expect("hung");

    let outcome = |name: &str| {
        report
            .sources
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(outcome("a"), SourceOutcome::Completed);
    assert_eq!(outcome("b"), SourceOutcome::Completed);
    let SourceOutcome::Failed(e) = outcome("broken") else {
        panic!("{:?}", outcome("broken"))
    };
    assert_eq!(e.matches("camera unplugged").count(), 1, "said once: {e}");
    let SourceOutcome::Panicked(p) = outcome("panicky") else {
        panic!("{:?}", outcome("panicky"))
    };
    assert!(p.contains("panicky exploded"), "{p}");

    let healthy = healthy.lock().unwrap();
    let want: BTreeMap<String, u64> = [("a", 40), ("b", 25), ("broken", 3), ("panicky", 2)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(healthy.frames, want);
    let one_eos: BTreeMap<String, u64> = want.keys().map(|k| (k.clone(), 1)).collect();
    assert_eq!(healthy.eos, one_eos, "one EOS per stream, failed ones too");
    assert!(healthy.finished);

    let reader = &report.readers[0];
    let failing_report = reader.sinks.iter().find(|s| s.name == "failing").unwrap();
    assert!(
        matches!(&failing_report.outcome, SinkOutcome::Failed(e) if e.contains("disk full")),
        "{:?}",
        failing_report.outcome
    );
    // four frames, then the fifth failed; an EOS that came before it
    // (the sources run at once) was consumed too
    let failing_seen = failing.lock().unwrap();
    let frames_before: u64 = failing_seen.frames.values().sum();
    let eos_before: u64 = failing_seen.eos.values().sum();
    assert_eq!(frames_before, 4);
    assert_eq!(failing_seen.after_failure, 0, "nothing after its failure");
    assert_eq!(failing_report.consumed, frames_before + eos_before);
    drop(failing_seen);
    assert!(
        failing.lock().unwrap().finished,
        "a failed sink still finishes"
    );
    assert!(report.has_errors() && !report.stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_streams_with_eos_and_finishes_the_sinks_in_time() {
    let m = module();
    let reader = SinkBuilder::new(format!("router+bind:{}", m.output))
        .idle_timeout(Duration::from_secs(30))
        .build()
        .await
        .unwrap();
    let writer = writer(&m.input).build().await.unwrap();
    let (seen, sink) = record(None);
    let mut p = Pipeline::new();
    p.source("endless", writer, Endless(0))
        .reader("out", reader, vec![("record".into(), sink)]);
    let trigger = p.trigger();
    let run = tokio::spawn(p.run());
    // wait until frames flow, then shut down
    let started = Instant::now();
    while seen
        .lock()
        .unwrap()
        .frames
        .get("endless")
        .copied()
        .unwrap_or(0)
        < 5
    {
        assert!(started.elapsed() < HUNG, "no frames arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let asked = Instant::now();
    trigger.trigger();
    let report = tokio::time::timeout(HUNG, run)
        .await
        .expect("hung")
        .unwrap();
    let took = asked.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "took {took:?} after the shutdown"
    );
    assert!(report.stopped);
    assert_eq!(report.sources[0].outcome, SourceOutcome::Stopped);
    assert_eq!(report.sources[0].ended, vec!["endless".to_string()]);
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.eos.get("endless"),
        Some(&1),
        "the open stream got its EOS"
    );
    assert_eq!(
        seen.frames["endless"], report.sources[0].frames,
        "every frame sent before the EOS arrived"
    );
    assert!(seen.finished);
}

/// Messages lost between the peers show where they are lost: a
/// `SinkRunner` reports each gap in a source's seq ids on the result after
/// it and counts gaps and lost messages; the pipeline's reader report
/// carries them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_in_seq_ids_are_reported_and_counted_where_the_loss_shows() {
    use savant_sdk_core::model::{EndOfStream, Message};
    use savant_sdk_core::transport::{BlockingWriter, WriterConfig};
    let dir = tempfile::tempdir().unwrap();
    let ep = ipc(&dir, "gaps");
    let reader = SinkBuilder::new(format!("router+bind:{ep}"))
        .stop_after_eos(1)
        .idle_timeout(Duration::from_secs(30))
        .build()
        .await
        .unwrap();
    let gaps = Arc::new(Mutex::new(Vec::new()));
    struct Gaps(Arc<Mutex<Vec<(i64, u64)>>>);
    #[async_trait]
    impl Sink for Gaps {
        async fn consume(&mut self, r: SinkResult) -> savant_sdk_core::Result<()> {
            if let (Some(g), Some(pts)) = (r.seq_gap, r.pts()) {
                self.0.lock().unwrap().push((pts, g.lost()));
            }
            Ok(())
        }
    }
    let mut p = Pipeline::new();
    p.reader(
        "gaps",
        reader,
        vec![("gaps".into(), Box::new(Gaps(gaps.clone())))],
    );
    let run = tokio::spawn(p.run());
    // frames numbered 1, 2, 5, 6, 9 by hand: 2 lost before 5, 2 before 9
    let endpoint = format!("dealer+connect:{ep}");
    tokio::task::spawn_blocking(move || {
        let mut w = BlockingWriter::new(
            WriterConfig::builder(&endpoint)
                .unwrap()
                .assign_seq_ids(false)
                .build()
                .unwrap(),
        )
        .unwrap();
        for seq in [1u64, 2, 5, 6, 9] {
            let mut m = Message::video_frame(VideoFrame::builder("cam").pts(seq as i64).build());
            m.seq_id = seq;
            w.send_message("cam", &m, &[]).unwrap();
        }
        let mut eos = Message::end_of_stream(EndOfStream::new("cam"));
        eos.seq_id = 10;
        w.send_message("cam", &eos, &[]).unwrap();
    })
    .await
    .unwrap();
    let report = tokio::time::timeout(HUNG, run)
        .await
        .expect("hung")
        .unwrap();
    assert_eq!(*gaps.lock().unwrap(), vec![(5, 2), (9, 2)]);
    let r = &report.readers[0];
    assert_eq!((r.received, r.seq_gaps, r.lost), (6, 2, 4));
}

/// One source id ended several times (a folder of videos under one id):
/// the reader waits for every EOS the source sent, not the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_id_ended_several_times_is_read_to_its_last_eos() {
    let m = module();
    let reader = SinkBuilder::new(format!("router+bind:{}", m.output))
        .idle_timeout(Duration::from_secs(120))
        .build()
        .await
        .unwrap();
    let writer = writer(&m.input).build().await.unwrap();
    let (seen, sink) = record(None);
    let mut items = Vec::new();
    for round in 0..3 {
        for i in 0..20 {
            items.push(SourceItem::Frame(frame("cam", round * 100 + i)));
        }
        items.push(SourceItem::EndOfStream("cam".into()));
    }
    let mut p = Pipeline::new();
    p.source("files", writer, IterSource::new(items.into_iter()))
        .reader("out", reader, vec![("record".into(), sink)]);
    let report = tokio::time::timeout(HUNG, p.run()).await.expect("hung");
    assert!(!report.has_errors() && !report.stopped);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.frames["cam"], 60, "every round's frames");
    assert_eq!(seen.eos["cam"], 3, "every round's EOS");
}
