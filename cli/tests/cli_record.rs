//! `savant-sdk record` and `savant-sdk replay`: a stream sent by `send`
//! recorded, read back with Python's `msgpack` in Savant's dump layout and
//! replayed into a savant-rs reader (0.3.0 and 1.15.1); a dump written as
//! Savant's buffer adapter writes it replayed; a truncated segment; the
//! timing of `--pace`; new trace ids and source-id rewrites.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::dumps::{replay_and_receive, synthetic_dump};
use common::{json_lines, run, wait_bound, KillOnDrop, BIN};
use savant_sdk_core::codec::{decode_message, DecodeOptions};
use savant_sdk_core::model::Message;
use savant_sdk_record::{DumpReader, DumpRecord};
use savant_sdk_tests::{dump_tool_script, peer_tests, Peer, SavantRs};
use serde_json::Value;

peer_tests!(
    a_recording_of_send_reads_in_python_and_replays_into_savant_rs,
    a_dump_written_as_savant_writes_it_is_replayed,
    savants_message_dump_player_plays_our_recording,
);

fn ipc(dir: &tempfile::TempDir, name: &str) -> String {
    format!("ipc://{}/{name}.ipc", dir.path().display())
}

fn jpeg(dir: &tempfile::TempDir, name: &str, color: u8) -> String {
    let path = dir.path().join(name);
    image::RgbImage::from_pixel(32, 24, image::Rgb([color, 30, 30]))
        .save(&path)
        .unwrap();
    path.to_str().unwrap().to_string()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `dump_tool.py ARGS` under `savant`, run to its end: its JSON lines.
fn dump_tool(savant: SavantRs, args: &[&str]) -> Vec<Value> {
    let (status, lines) = Peer::spawn_script(savant, &dump_tool_script(), args)
        .unwrap()
        .finish(Duration::from_secs(60))
        .unwrap();
    assert!(status.success(), "{savant} dump_tool {args:?}: {lines:?}");
    lines
}

/// A savant-rs reader bound (router) at `ep`, ready, until `eos` EOS.
fn savant_reader(savant: SavantRs, ep: &str, eos: usize) -> Peer {
    let mut p = Peer::spawn_script(
        savant,
        &dump_tool_script(),
        &[
            "reader",
            "--socket",
            &format!("router+bind:{ep}"),
            "--eos-count",
            &eos.to_string(),
        ],
    )
    .unwrap();
    p.wait_ready(Duration::from_secs(30)).unwrap();
    p
}

fn messages(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["event"] == "message").collect()
}

/// `savant-sdk record ARGS` started and ready (its first line read).
fn start_record(
    args: &[&str],
) -> (
    KillOnDrop,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
) {
    let mut child = Command::new(BIN)
        .arg("record")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["event"], "ready", "{first}");
    (KillOnDrop(child), lines)
}

fn a_recording_of_send_reads_in_python_and_replays_into_savant_rs(savant: SavantRs) {
    let dir = tempfile::tempdir().unwrap();
    let rec_ep = ipc(&dir, "rec");
    let dump = dir.path().join("dump");
    let dump_s = dump.to_str().unwrap().to_string();
    let (mut rec, mut rec_out) = start_record(&[
        "--socket",
        &format!("router+bind:{rec_ep}"),
        "--out",
        &dump_s,
        "--eos-count",
        "2",
        "--idle-timeout",
        "120",
        "--segment-messages",
        "3",
    ]);
    let version = savant.protocol_version();
    let imgs = [jpeg(&dir, "a.jpeg", 200), jpeg(&dir, "b.jpeg", 10)];
    for (source, repeat, img) in [("cam-1", "3", &imgs[0]), ("cam-2", "2", &imgs[1])] {
        let (code, _, err) = run(&[
            "send",
            "--socket",
            &format!("dealer+connect:{rec_ep}"),
            "--source-id",
            source,
            "--repeat",
            repeat,
            "--protocol-version",
            version.as_str(),
            img,
        ]);
        assert_eq!(code, 0, "send: {err}");
    }
    let rest: Vec<String> = rec_out.by_ref().map(|l| l.unwrap()).collect();
    assert!(rec.0.wait().unwrap().success());
    let stopped = json_lines(&rest.join("\n"));
    assert_eq!(stopped[0]["event"], "stopped", "{rest:?}");
    assert_eq!(stopped[0]["records"], 7, "{rest:?}");
    assert_eq!(stopped[0]["reason"], "eos-count");

    // what we wrote, read back by our reader
    let ours: Vec<DumpRecord> = DumpReader::open(&dump)
        .unwrap()
        .records()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ours.len(), 7);
    let segments = std::fs::read_dir(&dump)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "msgpack")
        })
        .count();
    assert_eq!(segments, 3, "rotated every 3 messages");

    // the same files through Python's msgpack, as Savant's player reads them
    let py = dump_tool(savant, &["inspect", &dump_s]);
    assert_eq!(py.len(), 7, "{py:?}");
    let sizes = [
        std::fs::metadata(&imgs[0]).unwrap().len(),
        std::fs::metadata(&imgs[1]).unwrap().len(),
    ];
    let expected = [
        ("cam-1", "frame", sizes[0]),
        ("cam-1", "frame", sizes[0]),
        ("cam-1", "frame", sizes[0]),
        ("cam-1", "eos", 0),
        ("cam-2", "frame", sizes[1]),
        ("cam-2", "frame", sizes[1]),
        ("cam-2", "eos", 0),
    ];
    let mut last_time = 0u64;
    for ((p, r), (topic, kind, len)) in py.iter().zip(&ours).zip(expected) {
        assert_eq!(p["shape_ok"], true, "{p}");
        assert_eq!(
            p["types"],
            serde_json::json!(["int", "list", "bytes", "bytes"]),
            "{p}"
        );
        assert_eq!(p["topic_items"], serde_json::json!(["int"]), "{p}");
        assert_eq!(p["topic"], topic, "{p}");
        assert_eq!(p["kind"], kind, "{p}");
        assert_eq!(p["content_len"], len, "{p}");
        assert_eq!(p["time_ns"], r.time_ns, "{p}");
        assert_eq!(p["message_hex"], hex(&r.message), "{p}");
        assert!(r.time_ns >= last_time);
        last_time = r.time_ns;
    }
    // and through the playlist Savant's player takes
    let listed = dump_tool(
        savant,
        &["inspect", dump.join("playlist.txt").to_str().unwrap()],
    );
    assert_eq!(listed, py);

    // replayed into a savant-rs reader: the same messages in the same order
    let out_ep = ipc(&dir, "replay");
    let reader = savant_reader(savant, &out_ep, 2);
    let (code, out, err) = run(&[
        "replay",
        &dump_s,
        "--socket",
        &format!("dealer+connect:{out_ep}"),
    ]);
    assert_eq!(code, 0, "replay: {err}");
    let done = json_lines(&out);
    assert_eq!(done.last().unwrap()["sent"], 7, "{out}");
    assert_eq!(done.last().unwrap()["damaged"], 0, "{out}");
    let (status, lines) = reader.finish(Duration::from_secs(60)).unwrap();
    assert!(status.success(), "{lines:?}");
    let got = messages(&lines);
    assert_eq!(got.len(), 7, "{lines:?}");
    for (g, p) in got.iter().zip(&py) {
        for k in ["topic", "kind", "canon", "content_sha", "content_len"] {
            assert_eq!(g[k], p[k], "{savant}: {k}: {g} vs {p}");
        }
    }
}

fn a_dump_written_as_savant_writes_it_is_replayed(savant: SavantRs) {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("savant-dump");
    let dump_s = dump.to_str().unwrap().to_string();
    let written = dump_tool(savant, &["write-dump", &dump_s, "--count", "3"]);
    let written: Vec<&Value> = written.iter().filter(|l| l["event"] == "written").collect();
    assert_eq!(written.len(), 8);

    let ep = ipc(&dir, "in");
    let reader = savant_reader(savant, &ep, 2);
    let (code, out, err) = run(&[
        "replay",
        &dump_s,
        "--socket",
        &format!("dealer+connect:{ep}"),
        "--source-id-rewrite",
        "cam-b=cam-z",
    ]);
    assert_eq!(code, 0, "replay: {err}");
    assert_eq!(json_lines(&out).last().unwrap()["sent"], 8, "{out}");
    let (status, lines) = reader.finish(Duration::from_secs(60)).unwrap();
    assert!(status.success(), "{lines:?}");
    let got = messages(&lines);
    assert_eq!(got.len(), 8, "{lines:?}");
    for (g, w) in got.iter().zip(&written) {
        assert_eq!(g["kind"], w["kind"], "{g} vs {w}");
        assert_eq!(g["content_sha"], w["content_sha"], "{g} vs {w}");
        if w["topic"] == "cam-b" {
            // rewritten: re-encoded in its own version, with the new id
            assert_eq!(g["topic"], "cam-z", "{g}");
            assert_eq!(g["source_id"], "cam-z", "{g}");
        } else {
            assert_eq!(g["topic"], w["topic"], "{g} vs {w}");
            assert_eq!(g["canon"], w["canon"], "{g} vs {w}");
        }
    }
}

#[test]
fn a_truncated_segment_is_reported_and_everything_before_it_sent() {
    let savant = SavantRs::V0_3;
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("cut");
    let dump_s = dump.to_str().unwrap().to_string();
    dump_tool(
        savant,
        &["write-dump", &dump_s, "--count", "3", "--truncate"],
    );
    let ep = ipc(&dir, "in");
    let reader = savant_reader(savant, &ep, 2);
    let (code, out, err) = run(&[
        "replay",
        &dump_s,
        "--socket",
        &format!("dealer+connect:{ep}"),
    ]);
    assert_eq!(code, 0, "replay: {err}");
    let lines = json_lines(&out);
    let damaged: Vec<&Value> = lines.iter().filter(|l| l["event"] == "damaged").collect();
    assert_eq!(damaged.len(), 1, "{out}");
    assert_eq!(damaged[0]["truncated"], true, "{out}");
    assert!(damaged[0]["skipped_bytes"].as_u64().unwrap() > 0);
    let done = lines.last().unwrap();
    assert_eq!(
        (done["sent"].as_u64(), done["damaged"].as_u64()),
        (Some(8), Some(1)),
        "{out}"
    );
    let (status, got) = reader.finish(Duration::from_secs(60)).unwrap();
    assert!(status.success(), "{got:?}");
    assert_eq!(messages(&got).len(), 8);
}

#[test]
fn new_trace_ids_are_fresh_and_shared_as_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("traces");
    let recorded = synthetic_dump(&dump, 6, Duration::from_millis(1));
    let got = replay_and_receive(
        &dir,
        &dump,
        &["--new-trace-ids", "--source-id-rewrite", "cam-p=cam-q"],
    );
    assert_eq!(got.len(), recorded.len());
    let trace = |m: &Message| {
        m.propagated_context["uber-trace-id"]
            .split(':')
            .next()
            .unwrap()
            .to_string()
    };
    let mut new_ids = Vec::new();
    for ((_, m, _), r) in got.iter().zip(&recorded) {
        let rec = decode_message(r.message.clone(), &DecodeOptions::default()).unwrap();
        assert_ne!(trace(m), trace(&rec));
        assert_eq!(m.source_id(), Some("cam-q"));
        assert_eq!(m.protocol_version, "0.2.0");
        // the span part is kept
        assert_eq!(
            m.propagated_context["uber-trace-id"].split(':').nth(1),
            rec.propagated_context["uber-trace-id"].split(':').nth(1)
        );
        new_ids.push(trace(m));
    }
    // two recorded frames a trace: two replayed frames a new trace
    for pair in new_ids[..6].chunks(2) {
        assert_eq!(pair[0], pair[1]);
    }
    assert_ne!(new_ids[0], new_ids[2]);
}

#[test]
fn sigterm_stops_record_with_its_segments_complete() {
    let dir = tempfile::tempdir().unwrap();
    let ep = ipc(&dir, "rec");
    let dump = dir.path().join("dump");
    let (mut rec, rec_out) = start_record(&[
        "--socket",
        &format!("router+bind:{ep}"),
        "--out",
        dump.to_str().unwrap(),
        "--idle-timeout",
        "0",
    ]);
    let img = jpeg(&dir, "a.jpeg", 90);
    let (code, _, err) = run(&[
        "send",
        "--socket",
        &format!("dealer+connect:{ep}"),
        "--source-id",
        "cam-s",
        "--repeat",
        "2",
        &img,
    ]);
    // the EOS was acknowledged: the recorder has it
    assert_eq!(code, 0, "send: {err}");
    let status = Command::new("kill")
        .args(["-TERM", &rec.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = rec_out.map(|l| l.unwrap()).collect();
    assert!(rec.0.wait().unwrap().success());
    let stopped = json_lines(&rest.join("\n"));
    assert_eq!(stopped[0]["reason"], "signal", "{rest:?}");
    assert_eq!(stopped[0]["records"], 3, "{rest:?}");
    let records: Vec<DumpRecord> = DumpReader::open(&dump)
        .unwrap()
        .records()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| &r.topic[..] == b"cam-s"));
}

/// Savant's own message dump player (its file, unchanged, in
/// tests/python/savant_player) plays our recording, by the playlist we
/// write, into our `receive`.
fn savants_message_dump_player_plays_our_recording(savant: SavantRs) {
    let dir = tempfile::tempdir().unwrap();
    let rec_ep = ipc(&dir, "rec");
    let dump = dir.path().join("dump");
    let (mut rec, rec_out) = start_record(&[
        "--socket",
        &format!("router+bind:{rec_ep}"),
        "--out",
        dump.to_str().unwrap(),
        "--eos-count",
        "1",
        "--segment-messages",
        "2",
    ]);
    let img = jpeg(&dir, "p.jpeg", 120);
    let version = savant.protocol_version();
    let (code, _, err) = run(&[
        "send",
        "--socket",
        &format!("dealer+connect:{rec_ep}"),
        "--source-id",
        "cam-p",
        "--repeat",
        "3",
        "--protocol-version",
        version.as_str(),
        &img,
    ]);
    assert_eq!(code, 0, "send: {err}");
    let _: Vec<_> = rec_out.collect();
    assert!(rec.0.wait().unwrap().success());

    let out_ep = ipc(&dir, "out");
    let mut receive = KillOnDrop(
        Command::new(BIN)
            .args(["receive", "--socket"])
            .arg(format!("router+bind:{out_ep}"))
            .args(["--eos-count", "1", "--idle-timeout", "60"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_bound(&out_ep);
    let player = savant_sdk_tests::workspace_root().join("tests/python/savant_player");
    let mut cmd = Command::new(savant.python());
    if savant == SavantRs::V1_15 {
        cmd.env("LOGLEVEL", "warn");
    }
    let status = cmd
        .arg(player.join("message_dump_player.py"))
        .env("PLAYLIST_PATH", dump.join("playlist.txt"))
        .env("ZMQ_ENDPOINT", format!("dealer+connect:{out_ep}"))
        .env("SYNC_OUTPUT", "true")
        .status()
        .unwrap();
    assert!(status.success());
    let mut text = String::new();
    std::io::Read::read_to_string(&mut receive.0.stdout.take().unwrap(), &mut text).unwrap();
    assert!(receive.0.wait().unwrap().success());
    let lines = json_lines(&text);
    let got: Vec<&Value> = lines.iter().filter(|l| l["event"] == "received").collect();
    let size = std::fs::metadata(&img).unwrap().len();
    assert_eq!(got.len(), 4, "{lines:?}");
    for (i, g) in got[..3].iter().enumerate() {
        assert_eq!(g["kind"], "frame", "{g}");
        assert_eq!(g["source_id"], "cam-p", "{g}");
        assert_eq!(g["protocol_version"], version.as_str(), "{g}");
        assert_eq!(g["content_bytes"], size, "{g}");
        assert_eq!(g["seq_id"], i as u64 + 1, "{g}");
    }
    assert_eq!(got[3]["kind"], "eos");
}

/// `record` keeps the bytes of every generation as they came (never
/// re-encoded), and joins the extra parts into the content.
#[test]
fn record_keeps_the_bytes_of_every_generation() {
    use bytes::Bytes;
    use savant_sdk_core::codec::encode_message_as;
    use savant_sdk_core::model::{FrameContent, VideoFrame};
    use savant_sdk_core::protocol::Generation;
    use savant_sdk_core::transport::{BlockingWriter, WriterConfig};

    let dir = tempfile::tempdir().unwrap();
    let ep = ipc(&dir, "rec");
    let dump = dir.path().join("dump");
    let (mut rec, rec_out) = start_record(&[
        "--socket",
        &format!("router+bind:{ep}"),
        "--out",
        dump.to_str().unwrap(),
        "--eos-count",
        "1",
    ]);
    let mut w = BlockingWriter::new(
        WriterConfig::builder(&format!("dealer+connect:{ep}"))
            .unwrap()
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut sent = Vec::new();
    for (i, g) in Generation::ALL.into_iter().enumerate() {
        let f = VideoFrame::builder("cam-g")
            .codec("jpeg")
            .pts(i as i64)
            .content(FrameContent::external_zeromq())
            .build();
        let system_id = if g.has_system_id() { "sys-1" } else { "" };
        let bytes = encode_message_as(
            &Message::video_frame(f),
            &g.default_version(),
            7 + i as u64,
            system_id,
        )
        .unwrap();
        let parts = [Bytes::from(vec![1u8; 10]), Bytes::from(vec![2u8; 5])];
        w.send_raw(b"cam-g", &bytes, &parts, false).unwrap();
        sent.push(bytes);
    }
    let eos = encode_message_as(
        &Message::end_of_stream(savant_sdk_core::model::EndOfStream::new("cam-g")),
        &Generation::V0_2.default_version(),
        99,
        "",
    )
    .unwrap();
    w.send_raw(b"cam-g", &eos, &[], true).unwrap();
    sent.push(eos);
    let _: Vec<_> = rec_out.collect();
    assert!(rec.0.wait().unwrap().success());
    let got: Vec<DumpRecord> = DumpReader::open(&dump)
        .unwrap()
        .records()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(got.len(), sent.len());
    for (r, s) in got.iter().zip(&sent) {
        assert_eq!(&r.message, s, "the message part as it came");
        assert_eq!(&r.topic[..], b"cam-g");
    }
    for r in &got[..got.len() - 1] {
        assert_eq!(
            &r.content[..],
            &[[1u8; 10].as_slice(), &[2u8; 5]].concat()[..]
        );
    }
    assert!(got.last().unwrap().content.is_empty());
}
