//! Memory under churn: 100,000 source ids that come and go (one frame
//! and an EOS each, the pattern of Savant issues #941, #952 and #1169)
//! from a `SourceRunner` through the embedded loopback module into a
//! `SinkRunner`, all in this process. Whatever is kept per source id after
//! its EOS (seq ids, routing ids, open streams, stop conditions) would
//! grow the process; over the second half it must grow less than 1 MB.

use std::time::Duration;

use bytes::Bytes;
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::source::SourceFrame;
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};

const SOURCES: usize = 100_000;

/// This process's resident set, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_flat_as_source_ids_come_and_go() {
    let dir = tempfile::tempdir().unwrap();
    let input = format!("ipc://{}/in.ipc", dir.path().display());
    let output = format!("ipc://{}/out.ipc", dir.path().display());
    let mut sink = SinkBuilder::new(format!("router+bind:{output}"))
        .stop_after_eos(SOURCES as u64)
        .idle_timeout(Duration::from_secs(60))
        .build()
        .await
        .unwrap();
    let module = LoopbackModule::start(LoopbackConfig::new(
        format!("router+bind:{input}"),
        format!("dealer+connect:{output}"),
    ))
    .unwrap();
    let source = SourceBuilder::new(format!("dealer+connect:{input}"))
        .telemetry_off()
        .build()
        .await
        .unwrap();
    let reading = tokio::spawn(async move {
        let (mut frames, mut eos) = (0usize, 0usize);
        let mut marks = Vec::new();
        while let Some(r) = sink.next().await {
            let r = r.unwrap();
            if r.is_end_of_stream() {
                eos += 1;
                if eos == SOURCES / 2 || eos == SOURCES {
                    marks.push(rss_kib());
                }
            } else {
                frames += 1;
            }
        }
        sink.close().await;
        (frames, eos, marks)
    });
    let payload = Bytes::from_static(&[0xA5; 64]);
    let mut sent_marks = Vec::new();
    for i in 0..SOURCES {
        let id = format!("cam-{i}");
        let frame = VideoFrame::builder(id.as_str())
            .codec("jpeg")
            .pts(0)
            .build();
        source
            .send(SourceFrame::new(frame, payload.clone()))
            .await
            .unwrap();
        source.send_eos(&id).await.unwrap();
        if i + 1 == SOURCES / 2 || i + 1 == SOURCES {
            sent_marks.push(rss_kib());
        }
    }
    let (frames, eos, marks) = tokio::time::timeout(Duration::from_secs(300), reading)
        .await
        .expect("the sink ended")
        .unwrap();
    source.close().await;
    let stats = module.stop().unwrap();
    assert_eq!((frames, eos), (SOURCES, SOURCES));
    assert_eq!(stats.forwarded, 2 * SOURCES as u64);
    let grew = marks[1]
        .saturating_sub(marks[0])
        .max(sent_marks[1].saturating_sub(sent_marks[0]));
    eprintln!(
        "RSS at {} and {} source ids: {} KiB -> {} KiB (sender side {} -> {})",
        SOURCES / 2,
        SOURCES,
        marks[0],
        marks[1],
        sent_marks[0],
        sent_marks[1]
    );
    assert!(grew < 1024, "grew {grew} KiB over the second half");
}
