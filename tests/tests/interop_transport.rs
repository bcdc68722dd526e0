//! Our transport against the real savant-rs 0.3.0 transport, over ipc and
//! tcp, for every socket pair, in both directions: frames with 300 KB
//! content, EOS with acks, source-id and prefix filters, and a savant-rs
//! reader started after our writer.

use std::time::Duration;

use savant_sdk_core::model::*;
use savant_sdk_core::transport::*;
use savant_sdk_tests::{free_tcp_port, payload, Peer};
use serde_json::Value;

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

fn writer(spec: &str) -> BlockingWriter {
    BlockingWriter::new(WriterConfig::builder(spec).unwrap().build().unwrap()).unwrap()
}

fn messages(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["event"] == "message").collect()
}

#[test]
fn our_writer_into_a_savant_rs_reader() {
    let dir = tempfile::tempdir().unwrap();
    for tcp in [false, true] {
        for (w, r) in PAIRS {
            let ep = endpoint(&dir, tcp, &format!("ours-{w}"));
            let mut peer = Peer::spawn(&[
                "reader",
                "--socket",
                &format!("{r}+bind:{ep}"),
                "--count",
                "4",
                "--timeout",
                "30",
            ])
            .unwrap();
            peer.wait_ready(Duration::from_secs(20)).unwrap();
            let mut wr = writer(&format!("{w}+connect:{ep}"));
            if w == "pub" {
                std::thread::sleep(Duration::from_millis(500)); // the subscription travels
            }
            for i in 0..3 {
                wr.send_message("cam-1", &frame("cam-1", i), &[payload(i as usize, BIG)])
                    .unwrap();
            }
            let eos = wr.send_eos("cam-1").unwrap();
            if w != "pub" {
                assert!(
                    matches!(eos, WriteOutcome::Acknowledged { .. }),
                    "{w}: savant-rs did not ack EOS: {eos:?}"
                );
            }
            let (status, lines) = peer.finish(Duration::from_secs(30)).unwrap();
            assert!(status.success(), "{w}->{r} tcp={tcp}: {lines:?}");
            let got = messages(&lines);
            assert_eq!(got.len(), 4, "{lines:?}");
            for (i, m) in got[..3].iter().enumerate() {
                assert_eq!(m["kind"], "frame");
                assert_eq!(m["topic"], "cam-1");
                assert_eq!(m["pts"], i as i64);
                assert_eq!(m["seq_id"], i as u64 + 1);
                assert_eq!(m["content_len"], BIG);
                assert_eq!(m["content_ok"], true, "{w}->{r}: payload differs");
                assert_eq!(m["attributes"], serde_json::json!(["peer/index"]));
            }
            assert_eq!(got[3]["kind"], "eos");
            assert_eq!(got[3]["source_id"], "cam-1");
        }
    }
}

#[test]
fn a_savant_rs_writer_into_our_reader() {
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
            if w == "pub" {
                // a publisher drops what it sends before the subscription arrives
                args.extend(["--start-delay".into(), "1.0".into()]);
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            let peer = Peer::spawn(&args).unwrap();
            let got = rt.block_on(async move {
                let mut reader = reader;
                let mut got = Vec::new();
                while got.len() < 4 {
                    let m = tokio::time::timeout(Duration::from_secs(20), reader.recv())
                        .await
                        .expect("savant-rs writer's messages arrive")
                        .unwrap();
                    got.push(m);
                }
                reader.close().await;
                got
            });
            let (status, lines) = peer.finish(Duration::from_secs(30)).unwrap();
            assert!(
                status.success(),
                "{w}->{r}: savant-rs writer failed: {lines:?}"
            );
            for (i, m) in got[..3].iter().enumerate() {
                let f = m.message.as_video_frame().expect("a frame");
                assert_eq!(f.source_id, "cam-9");
                assert_eq!(f.pts, i as i64);
                assert_eq!(m.message.seq_id, i as u64 + 1);
                assert_eq!(m.content().unwrap(), payload(i, BIG), "{w}->{r} content");
                assert_eq!(
                    f.attribute("peer", "index").unwrap().values,
                    vec![AttributeValue::integer(i as i64)]
                );
            }
            assert!(got[3].message.is_end_of_stream());
        }
    }
}

#[test]
fn source_id_and_prefix_filters_against_savant_rs() {
    let dir = tempfile::tempdir().unwrap();
    // savant-rs reader filtering what we send
    for (flag, value, expect) in [
        ("--source-id", "cam-1", vec!["cam-1"]),
        ("--prefix", "cam-", vec!["cam-1", "cam-2"]),
    ] {
        let ep = endpoint(&dir, false, "filter-theirs");
        let mut peer = Peer::spawn(&[
            "reader",
            "--socket",
            &format!("router+bind:{ep}"),
            flag,
            value,
            "--eos-count",
            "1",
            "--timeout",
            "20",
        ])
        .unwrap();
        peer.wait_ready(Duration::from_secs(20)).unwrap();
        let mut wr = writer(&format!("dealer+connect:{ep}"));
        for s in ["other", "cam-1", "cam-2"] {
            wr.send_message(s, &frame(s, 0), &[payload(0, 10)]).unwrap();
        }
        // EOS of a source outside the filter passes and is acknowledged
        assert!(matches!(
            wr.send_eos("other").unwrap(),
            WriteOutcome::Acknowledged { .. }
        ));
        let (status, lines) = peer.finish(Duration::from_secs(20)).unwrap();
        assert!(status.success(), "{lines:?}");
        let topics: Vec<&str> = messages(&lines)
            .iter()
            .map(|m| m["topic"].as_str().unwrap())
            .collect();
        let mut want = expect.clone();
        want.push("other");
        assert_eq!(topics, want, "{flag} {value}");
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
                Peer::spawn(&[
                    "writer",
                    "--socket",
                    &format!("dealer+connect:{ep}"),
                    "--source-id",
                    s,
                    "--count",
                    "2",
                    "--eos",
                ])
                .unwrap()
            })
            .collect();
        let (mut frames, mut eos, mut filtered) = (0, 0, 0);
        let end = std::time::Instant::now() + Duration::from_secs(30);
        while eos < 3 {
            assert!(
                std::time::Instant::now() < end,
                "{filter:?}: {frames} {eos}"
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
            assert!(status.success(), "{lines:?}");
        }
        assert_eq!(frames, 2 * passes, "{filter:?}");
        assert_eq!(filtered, 2 * (3 - passes), "{filter:?}");
    }
}

#[test]
fn a_savant_rs_reader_started_after_our_writer() {
    let dir = tempfile::tempdir().unwrap();
    let ep = endpoint(&dir, false, "late");
    let mut wr = writer(&format!("dealer+connect:{ep}"));
    for i in 0..3 {
        wr.send_message("late", &frame("late", i), &[payload(i as usize, BIG)])
            .unwrap();
    }
    let mut peer = Peer::spawn(&[
        "reader",
        "--socket",
        &format!("router+bind:{ep}"),
        "--count",
        "4",
    ])
    .unwrap();
    peer.wait_ready(Duration::from_secs(20)).unwrap();
    assert!(matches!(
        wr.send_eos("late").unwrap(),
        WriteOutcome::Acknowledged { .. }
    ));
    let (status, lines) = peer.finish(Duration::from_secs(30)).unwrap();
    assert!(status.success(), "{lines:?}");
    let got = messages(&lines);
    assert_eq!(got.len(), 4);
    assert!(got[..3].iter().all(|m| m["content_ok"] == true));
    assert_eq!(got[3]["kind"], "eos");
}
