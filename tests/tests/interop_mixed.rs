//! A mixed run: one of our readers receives from a savant-rs 0.3.0 writer
//! and a savant-rs 1.15.1 writer at once (two peer processes connected to
//! one router), decodes both, and tells each message's generation.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use savant_sdk_core::model::*;
use savant_sdk_core::protocol::Generation;
use savant_sdk_core::transport::*;
use savant_sdk_tests::{payload, Peer, SavantRs};
use serde_json::Value;

/// Source, kind, seq id, protocol version, generation and system id of
/// one received message.
type Got = (
    String,
    &'static str,
    u64,
    String,
    Option<Generation>,
    String,
);

#[test]
fn our_reader_takes_0_3_and_1_15_writers_at_once_and_tells_their_generations() {
    let dir = tempfile::tempdir().unwrap();
    let ep = format!("ipc://{}/mixed.ipc", dir.path().display());
    let mut reader = BlockingReader::new(
        ReaderConfig::builder(&format!("router+bind:{ep}"))
            .unwrap()
            .receive_timeout(Duration::from_millis(100))
            .build()
            .unwrap(),
    )
    .unwrap();
    const FRAMES: usize = 5;
    const SIZE: usize = 300_000;
    // the reader is bound: both writers connect to it and send at once
    let writers: Vec<(SavantRs, &str, Peer)> =
        [(SavantRs::V0_3, "cam-old"), (SavantRs::V1_15, "cam-new")]
            .into_iter()
            .map(|(savant, source)| {
                let peer = savant
                    .spawn(&[
                        "writer",
                        "--socket",
                        &format!("dealer+connect:{ep}"),
                        "--source-id",
                        source,
                        "--count",
                        &FRAMES.to_string(),
                        "--content-size",
                        &SIZE.to_string(),
                        "--eos",
                    ])
                    .unwrap();
                (savant, source, peer)
            })
            .collect();

    // Nothing is read until both writers have sent all their frames (5
    // fit in the queues without blocking), so both are connected to the
    // one router and have their messages on the way at once; in which
    // order the router then takes them is ZeroMQ's choice.
    let writers: Vec<_> = writers
        .into_iter()
        .map(|(savant, source, mut peer)| {
            let end = Instant::now() + Duration::from_secs(30);
            loop {
                let left = end.saturating_duration_since(Instant::now());
                let line = peer.next_line(left).unwrap_or_else(|e| {
                    panic!(
                        "{savant} writer did not send its frames: {e:#}: {:?}",
                        peer.seen
                    )
                });
                if line["sent"] == "frame" && line["pts"] == FRAMES as u64 - 1 {
                    break;
                }
            }
            (savant, source, peer)
        })
        .collect();
    // (source, kind, seq id, version, generation, system id) per message
    let mut got: Vec<Got> = Vec::new();
    let mut eos = 0;
    let end = Instant::now() + Duration::from_secs(60);
    while eos < 2 {
        assert!(Instant::now() < end, "mixed run: only {got:?} arrived");
        match reader.receive().unwrap() {
            ReaderResult::Message(m) => {
                let (source, kind) = match &m.message.payload {
                    MessagePayload::VideoFrame(f) => {
                        assert_eq!(
                            m.content().unwrap(),
                            payload(f.pts as usize, SIZE),
                            "{}: content of frame {}",
                            f.source_id,
                            f.pts
                        );
                        (f.source_id.clone(), "frame")
                    }
                    MessagePayload::EndOfStream(e) => {
                        eos += 1;
                        (e.source_id.clone(), "eos")
                    }
                    other => panic!("unexpected message {other:?}"),
                };
                let generation = m.message.generation();
                println!(
                    "{source:>8} {kind:>5} seq {:>2} protocol_version {:>6} generation {:>5} system_id {:?}",
                    m.message.seq_id,
                    m.message.protocol_version,
                    generation.map(Generation::name).unwrap_or("?"),
                    m.message.system_id,
                );
                got.push((
                    source,
                    kind,
                    m.message.seq_id,
                    m.message.protocol_version.clone(),
                    generation,
                    m.message.system_id.clone(),
                ));
            }
            ReaderResult::Timeout => {}
            other => panic!("mixed run: unexpected {other:?}"),
        }
    }
    let mut sent: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (savant, source, peer) in writers {
        let (status, lines) = peer.finish(Duration::from_secs(30)).unwrap();
        assert!(status.success(), "{savant} writer: {lines:?}");
        sent.insert(source, lines);
    }
    for (savant, source, generation) in [
        (SavantRs::V0_3, "cam-old", Generation::V0_2),
        (SavantRs::V1_15, "cam-new", Generation::V1_15),
    ] {
        let mine: Vec<_> = got.iter().filter(|g| g.0 == source).collect();
        assert_eq!(mine.len(), FRAMES + 1, "{savant} ({source}): {got:?}");
        let version = savant.protocol_version();
        for (i, g) in mine.iter().enumerate() {
            assert_eq!(g.1, if i < FRAMES { "frame" } else { "eos" }, "{savant}");
            assert_eq!(g.2, i as u64 + 1, "{savant}: seq ids in order");
            assert_eq!(g.3, version.as_str(), "{savant}: protocol version");
            assert_eq!(g.4, Some(generation), "{savant}: generation");
        }
        let system_id = &mine[0].5;
        assert!(mine.iter().all(|g| &g.5 == system_id), "{savant}: {mine:?}");
        if generation.has_system_id() {
            assert!(
                uuid::Uuid::parse_str(system_id).is_ok(),
                "{savant}: {system_id:?}"
            );
            let reported = sent[source]
                .iter()
                .find(|l| l["sent"] == "frame")
                .and_then(|l| l["system_id"].as_str())
                .unwrap();
            assert_eq!(system_id, reported, "{savant}: the writer's system id");
        } else {
            assert_eq!(system_id, "", "{savant}: no system id before 1.15");
        }
    }
}
