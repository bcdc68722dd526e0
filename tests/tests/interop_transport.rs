//! Our transport against the real savant-rs transports, 0.3.0 and
//! 1.15.1 (each test runs once per peer: `savant_rs_0_3::NAME` and
//! `savant_rs_1_15::NAME`), over ipc and tcp, for every socket pair, in
//! both directions: frames with 300 KB content, EOS with acks, source-id
//! and prefix filters, and a savant-rs reader started after our writer.
//! Our writers stamp the version the peer accepts
//! ([`SavantRs::protocol_version`]); one test shows what happens to a
//! writer that stamps another into the 1.15.1 reader.

use std::time::Duration;

use savant_sdk_core::model::*;
use savant_sdk_core::protocol::ProtocolVersion;
use savant_sdk_core::transport::*;
use savant_sdk_tests::{free_tcp_port, payload, peer_tests, Peer, SavantRs};
use serde_json::Value;

peer_tests!(
    our_writer_into_a_savant_rs_reader,
    a_savant_rs_writer_into_our_reader,
    source_id_and_prefix_filters_against_savant_rs,
    a_savant_rs_reader_started_after_our_writer,
);

const PAIRS: [(&str, &str); 3] = [("dealer", "router"), ("req", "rep"), ("pub", "sub")];
const BIG: usize = 300_000;

fn endpoint(dir: &tempfile::TempDir, tcp: bool, name: &str) -> String {
    if tcp {
        format!("tcp://127.0.0.1:{}", free_tcp_port())
    } else {
        format!("ipc://{}/{name}.ipc", dir.path().display())
    }
}

fn frame(source: &str, pts: i64) -> Message {
    Message::video_frame(
        VideoFrame::builder(source)
            .size(64, 48)
            .codec("jpeg")
            .keyframe(true)
            .pts(pts)
            .content(FrameContent::external_zeromq())
            .attribute(Attribute::persistent(
                "peer",
                "index",
                vec![AttributeValue::integer(pts)],
            ))
            .build(),
    )
}

/// Our writer, stamping the version `peer` reads.
fn writer(peer: SavantRs, spec: &str) -> BlockingWriter {
    BlockingWriter::new(
        WriterConfig::builder(spec)
            .unwrap()
            .protocol_version(peer.protocol_version())
            .build()
            .unwrap(),
    )
    .unwrap()
}

/// The envelope fields the peer reported for a message we sent: our
/// version, and a system id exactly when the version has one.
fn assert_our_envelope(peer: SavantRs, m: &Value, what: &str) {
    let version = peer.protocol_version();
    assert_eq!(
        m["protocol_version"],
        version.as_str(),
        "{peer} {what}: protocol version"
    );
    let system_id = m["system_id"].as_str().unwrap_or_default();
    if version.generation().has_system_id() {
        assert!(
            uuid::Uuid::parse_str(system_id).is_ok(),
            "{peer} {what}: our system id should be a UUID: {m}"
        );
    } else {
        assert_eq!(system_id, "", "{peer} {what}: no system id before 1.15");
    }
}

fn messages(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["event"] == "message").collect()
}

fn our_writer_into_a_savant_rs_reader(savant: SavantRs) {
    let dir = tempfile::tempdir().unwrap();
    for tcp in [false, true] {
        for (w, r) in PAIRS {
            let ep = endpoint(&dir, tcp, &format!("ours-{w}"));
            let mut peer = Peer::spawn_with(
                savant,
                &[
                    "reader",
                    "--socket",
                    &format!("{r}+bind:{ep}"),
                    "--count",
                    "4",
                    "--probe-topic",
                    "probe",
                    "--timeout",
                    "60",
                ],
            )
            .unwrap();
            peer.wait_ready(Duration::from_secs(20)).unwrap();
            let mut wr = writer(savant, &format!("{w}+connect:{ep}"));
            if w == "pub" {
                let probe = || {
                    wr.send_message("probe", &frame("probe", -1), &[]).unwrap();
                };
                peer.wait_for_probe(probe, Duration::from_secs(30)).unwrap();
            }
            for i in 0..3 {
                wr.send_message("cam-1", &frame("cam-1", i), &[payload(i as usize, BIG)])
                    .unwrap_or_else(|e| {
                        panic!("ours {w} -> {savant} {r} tcp={tcp}: frame {i}: {e}")
                    });
            }
            let eos = wr
                .send_eos("cam-1")
                .unwrap_or_else(|e| panic!("ours {w} -> {savant} {r} tcp={tcp}: EOS: {e}"));
            if w != "pub" {
                assert!(
                    matches!(eos, WriteOutcome::Acknowledged { .. }),
                    "{savant} {w}: did not ack EOS: {eos:?}"
                );
            }
            let (status, lines) = peer.finish(Duration::from_secs(30)).unwrap();
            let what = format!("ours {w} -> {savant} {r} tcp={tcp}");
            assert!(status.success(), "{what}: {lines:?}");
            let got = messages(&lines);
            assert_eq!(got.len(), 4, "{what}: {lines:?}");
            for (i, m) in got[..3].iter().enumerate() {
                assert_eq!(m["kind"], "frame", "{what}");
                assert_eq!(m["topic"], "cam-1", "{what}");
                assert_eq!(m["pts"], i as i64, "{what}");
                assert_eq!(m["seq_id"], i as u64 + 1, "{what}");
                assert_eq!(m["content_len"], BIG, "{what}");
                assert_eq!(m["content_ok"], true, "{what}: payload differs");
                assert_eq!(m["attributes"], serde_json::json!(["peer/index"]), "{what}");
                assert_our_envelope(savant, m, &what);
            }
            assert_eq!(got[3]["kind"], "eos", "{what}");
            assert_eq!(got[3]["source_id"], "cam-1", "{what}");
            assert_eq!(got[3]["seq_id"], 4, "{what}: EOS seq id");
            assert_our_envelope(savant, got[3], &what);
            assert_eq!(
                got[3]["system_id"], got[0]["system_id"],
                "{what}: one system id per writer"
            );
        }
    }
}

fn a_savant_rs_writer_into_our_reader(savant: SavantRs) {
    let dir = tempfile::tempdir().unwrap();
    for tcp in [false, true] {
        for (w, r) in PAIRS {
            let ep = endpoint(&dir, tcp, &format!("theirs-{r}"));
            let reader = Reader::new(
                ReaderConfig::builder(&format!("{r}+bind:{ep}"))
                    .unwrap()
                    .receive_timeout(Duration::from_millis(100))
                    .build()
                    .unwrap(),
            )
            .unwrap();
            let mut args = vec![
                "writer".to_string(),
                "--socket".into(),
                format!("{w}+connect:{ep}"),
                "--source-id".into(),
                "cam-9".into(),
                "--count".into(),
                "3".into(),
                "--content-size".into(),
                BIG.to_string(),
                "--eos".into(),
            ];
            // a publisher drops what it sends before the subscription
            // arrives: it probes until a probe got here
            let probed = dir.path().join(format!("probed-{tcp}-{w}"));
            args.extend(savant_sdk_tests::writer_probe_args(w, &probed));
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            let what = format!("{savant} {w} -> ours {r} tcp={tcp}");
            let peer = Peer::spawn_with(savant, &args).unwrap();
            let got = rt.block_on(async {
                let mut reader = reader;
                let mut got = Vec::new();
                while got.len() < 4 {
                    let m = tokio::time::timeout(Duration::from_secs(20), reader.recv())
                        .await
                        .unwrap_or_else(|_| panic!("{what}: the writer's messages do not arrive"))
                        .unwrap();
                    if &m.topic[..] == b"probe" {
                        std::fs::write(&probed, b"").unwrap();
                        continue;
                    }
                    got.push(m);
                }
                reader.close().await;
                got
            });
            let (status, lines) = peer.finish(Duration::from_secs(30)).unwrap();
            assert!(status.success(), "{what}: the writer failed: {lines:?}");
            let sent: Vec<&Value> = lines.iter().filter(|l| l["sent"] == "frame").collect();
            assert_eq!(sent.len(), 3, "{what}: {lines:?}");
            let want = savant.protocol_version();
            for (i, m) in got[..3].iter().enumerate() {
                let f = m.message.as_video_frame().expect("a frame");
                assert_eq!(f.source_id, "cam-9", "{what}");
                assert_eq!(f.pts, i as i64, "{what}");
                assert_eq!(m.message.seq_id, i as u64 + 1, "{what}: seq id");
                assert_eq!(m.content().unwrap(), payload(i, BIG), "{what}: content");
                assert_eq!(
                    f.attribute("peer", "index").unwrap().values,
                    vec![AttributeValue::integer(i as i64)],
                    "{what}"
                );
                assert_eq!(m.message.protocol_version, want.as_str(), "{what}");
                assert_eq!(
                    m.message.generation(),
                    Some(want.generation()),
                    "{what}: generation"
                );
                // the system id the writer reported ("" before 1.15)
                assert_eq!(
                    m.message.system_id,
                    sent[i]["system_id"].as_str().unwrap(),
                    "{what}: system id"
                );
            }
            if savant == SavantRs::V1_15 {
                assert!(
                    uuid::Uuid::parse_str(&got[0].message.system_id).is_ok(),
                    "{what}: 1.15 writers stamp a UUID system id: {:?}",
                    got[0].message.system_id
                );
            }
            assert!(got[3].message.is_end_of_stream(), "{what}");
            assert_eq!(got[3].message.seq_id, 4, "{what}: EOS seq id");
            assert_eq!(got[3].message.system_id, got[0].message.system_id, "{what}");
        }
    }
}

fn source_id_and_prefix_filters_against_savant_rs(savant: SavantRs) {
    let dir = tempfile::tempdir().unwrap();
    // savant-rs reader filtering what we send
    for (flag, value, expect) in [
        ("--source-id", "cam-1", vec!["cam-1"]),
        ("--prefix", "cam-", vec!["cam-1", "cam-2"]),
    ] {
        let ep = endpoint(&dir, false, "filter-theirs");
        let mut peer = Peer::spawn_with(
            savant,
            &[
                "reader",
                "--socket",
                &format!("router+bind:{ep}"),
                flag,
                value,
                "--eos-count",
                "1",
                "--timeout",
                "20",
            ],
        )
        .unwrap();
        peer.wait_ready(Duration::from_secs(20)).unwrap();
        let mut wr = writer(savant, &format!("dealer+connect:{ep}"));
        for s in ["other", "cam-1", "cam-2"] {
            wr.send_message(s, &frame(s, 0), &[payload(0, 10)])
                .unwrap_or_else(|e| panic!("ours -> {savant} reader {flag} {value}: {e}"));
        }
        // EOS of a source outside the filter passes and is acknowledged
        let eos = wr.send_eos("other");
        assert!(
            matches!(eos, Ok(WriteOutcome::Acknowledged { .. })),
            "{savant} {flag} {value}: EOS outside the filter: {eos:?}"
        );
        let (status, lines) = peer.finish(Duration::from_secs(20)).unwrap();
        assert!(status.success(), "{savant} {flag} {value}: {lines:?}");
        let topics: Vec<&str> = messages(&lines)
            .iter()
            .map(|m| m["topic"].as_str().unwrap())
            .collect();
        let mut want = expect.clone();
        want.push("other");
        assert_eq!(topics, want, "{savant} reader {flag} {value}");
    }
    // our reader filtering what savant-rs sends
    for (filter, passes) in [
        (TopicFilter::SourceId("cam-1".into()), 1usize),
        (TopicFilter::Prefix("cam".into()), 2),
    ] {
        let ep = endpoint(&dir, false, "filter-ours");
        let mut reader = BlockingReader::new(
            ReaderConfig::builder(&format!("router+bind:{ep}"))
                .unwrap()
                .receive_timeout(Duration::from_millis(100))
                .topic_filter(filter.clone())
                .build()
                .unwrap(),
        )
        .unwrap();
        let peers: Vec<Peer> = ["cam-1", "cam-2", "zzz"]
            .iter()
            .map(|s| {
                Peer::spawn_with(
                    savant,
                    &[
                        "writer",
                        "--socket",
                        &format!("dealer+connect:{ep}"),
                        "--source-id",
                        s,
                        "--count",
                        "2",
                        "--eos",
                    ],
                )
                .unwrap()
            })
            .collect();
        let (mut frames, mut eos, mut filtered) = (0, 0, 0);
        let end = std::time::Instant::now() + Duration::from_secs(30);
        while eos < 3 {
            assert!(
                std::time::Instant::now() < end,
                "{savant} writers, our {filter:?}: {frames} frames {eos} EOS"
            );
            match reader.receive().unwrap() {
                ReaderResult::Message(m) if m.message.is_end_of_stream() => eos += 1,
                ReaderResult::Message(_) => frames += 1,
                ReaderResult::Filtered { .. } => filtered += 1,
                _ => {}
            }
        }
        for p in peers {
            let (status, lines) = p.finish(Duration::from_secs(20)).unwrap();
            assert!(status.success(), "{savant} writer: {lines:?}");
        }
        assert_eq!(frames, 2 * passes, "{savant} writers, our {filter:?}");
        assert_eq!(
            filtered,
            2 * (3 - passes),
            "{savant} writers, our {filter:?}"
        );
    }
}

fn a_savant_rs_reader_started_after_our_writer(savant: SavantRs) {
    let dir = tempfile::tempdir().unwrap();
    let ep = endpoint(&dir, false, "late");
    let mut wr = writer(savant, &format!("dealer+connect:{ep}"));
    for i in 0..3 {
        wr.send_message("late", &frame("late", i), &[payload(i as usize, BIG)])
            .unwrap_or_else(|e| panic!("ours -> late {savant} reader: frame {i}: {e}"));
    }
    let mut peer = Peer::spawn_with(
        savant,
        &[
            "reader",
            "--socket",
            &format!("router+bind:{ep}"),
            "--count",
            "4",
        ],
    )
    .unwrap();
    peer.wait_ready(Duration::from_secs(20)).unwrap();
    let eos = wr.send_eos("late");
    assert!(
        matches!(eos, Ok(WriteOutcome::Acknowledged { .. })),
        "late {savant} reader: EOS {eos:?}"
    );
    let (status, lines) = peer.finish(Duration::from_secs(30)).unwrap();
    assert!(status.success(), "late {savant} reader: {lines:?}");
    let got = messages(&lines);
    assert_eq!(got.len(), 4, "late {savant} reader: {lines:?}");
    assert!(
        got[..3].iter().all(|m| m["content_ok"] == true),
        "late {savant} reader: {lines:?}"
    );
    assert_eq!(got[3]["kind"], "eos", "late {savant} reader");
}

/// A writer stamping `"1.15.0"` (our default) into the savant-rs 1.15.1
/// reader: the reader drops every message as a version mismatch and never
/// acknowledges, so the EOS ends in an AckTimeout whose message names the
/// version we sent and says how to set it.
#[test]
fn a_writer_stamped_1_15_0_gets_an_ack_timeout_from_the_1_15_1_reader() {
    let savant = SavantRs::V1_15;
    let dir = tempfile::tempdir().unwrap();
    let ep = endpoint(&dir, false, "mismatch");
    let mut peer = savant
        .spawn(&[
            "reader",
            "--socket",
            &format!("router+bind:{ep}"),
            "--count",
            "1",
            "--timeout",
            "30",
        ])
        .unwrap();
    peer.wait_ready(Duration::from_secs(20)).unwrap();
    let stamped = ProtocolVersion::parse("1.15.0").unwrap();
    assert_eq!(stamped, ProtocolVersion::default());
    assert_ne!(stamped, savant.protocol_version());
    let mut wr = BlockingWriter::new(
        WriterConfig::builder(&format!("dealer+connect:{ep}"))
            .unwrap()
            .protocol_version(stamped)
            .ack_timeout(Duration::from_millis(300))
            .ack_retries(1)
            .build()
            .unwrap(),
    )
    .unwrap();
    wr.send_message("cam-1", &frame("cam-1", 0), &[payload(0, 10)])
        .unwrap();
    let started = std::time::Instant::now();
    let err = wr
        .send_eos("cam-1")
        .expect_err("the 1.15.1 reader must not acknowledge a 1.15.0 EOS");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "two short waits, not the defaults"
    );
    assert!(
        matches!(&err, savant_sdk_core::Error::AckTimeout { protocol_version, attempts: 2, .. }
            if protocol_version == "1.15.0"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("\"1.15.0\""),
        "names the version sent: {text}"
    );
    assert!(text.contains("protocol version"), "{text}");
    assert!(
        text.contains("--protocol-version"),
        "says how to set it: {text}"
    );
    // and the reader saw the frame as a version mismatch, never as a message
    let mismatch = peer.next_line(Duration::from_secs(10)).unwrap();
    assert_eq!(
        mismatch["event"], "ReaderResultMessageVersionMismatch",
        "{:?}",
        peer.seen
    );
    assert!(
        mismatch["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("1.15.0"),
        "{mismatch}"
    );
    assert!(messages(&peer.seen).is_empty(), "{:?}", peer.seen);
}
