//! The CLI against the real savant-rs peers, 0.3.0 and 1.15.1 (each test
//! runs once per peer: `savant_rs_0_3::NAME` and `savant_rs_1_15::NAME`):
//! `send` into a savant-rs reader, a savant-rs writer into `receive`, and a
//! savant-rs writer through `loopback` into a savant-rs reader. `send`
//! stamps the version the peer reads with `--protocol-version`; one test
//! shows what the default does against a savant-rs 1.15.1 reader.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{json_lines, run, KillOnDrop, BIN};
use savant_sdk_tests::{peer_tests, Peer, SavantRs};
use serde_json::Value;

peer_tests!(
    send_into_a_savant_rs_reader,
    a_savant_rs_writer_into_receive,
    a_savant_rs_writer_through_loopback_into_a_savant_rs_reader,
    probe_finds_what_a_savant_rs_reader_accepts,
    the_loopback_obeys_only_a_shutdown_with_its_auth,
);

fn ipc(dir: &tempfile::TempDir, name: &str) -> String {
    format!("ipc://{}/{name}.ipc", dir.path().display())
}

fn jpeg(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("frame.jpeg");
    image::RgbImage::from_pixel(32, 24, image::Rgb([200, 30, 30]))
        .save(&path)
        .unwrap();
    path.to_str().unwrap().to_string()
}

fn messages(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["event"] == "message").collect()
}

/// A savant-rs reader bound at `ep` (router), ready; `until` is what ends
/// it (`--count N`, `--eos-count N`) and its `--timeout`.
fn savant_reader(savant: SavantRs, ep: &str, until: &[&str]) -> Peer {
    let mut args = vec![
        "reader".to_string(),
        "--socket".into(),
        format!("router+bind:{ep}"),
    ];
    args.extend(until.iter().map(|a| a.to_string()));
    let mut reader = savant.spawn(&args).unwrap();
    reader.wait_ready(Duration::from_secs(20)).unwrap();
    reader
}

/// A savant-rs writer into `ep` (dealer), run to its end: `count` frames
/// of `source` and the `extra` options (`--eos`, `--shutdown AUTH`, ...).
fn savant_writer(savant: SavantRs, ep: &str, source: &str, count: usize, extra: &[&str]) {
    let mut args = vec![
        "writer".to_string(),
        "--socket".into(),
        format!("dealer+connect:{ep}"),
        "--source-id".into(),
        source.into(),
        "--count".into(),
        count.to_string(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    let (status, lines) = savant.run_peer(&args, Duration::from_secs(60)).unwrap();
    assert!(status.success(), "{savant} writer: {lines:?}");
}

/// `savant-sdk loopback` from `input` (router+bind) to `output`
/// (dealer+connect) with `extra` options; stdout as given.
fn our_loopback(input: &str, output: &str, extra: &[&str], stdout: Stdio) -> KillOnDrop {
    KillOnDrop(
        Command::new(BIN)
            .args([
                "loopback",
                "--input",
                &format!("router+bind:{input}"),
                "--output",
                &format!("dealer+connect:{output}"),
            ])
            .args(extra)
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    )
}

fn send_into_a_savant_rs_reader(savant: SavantRs) {
    let dir = tempfile::tempdir().unwrap();
    let ep = ipc(&dir, "in");
    let reader = savant_reader(savant, &ep, &["--count", "4", "--timeout", "30"]);
    let version = savant.protocol_version();
    let img = jpeg(&dir);
    let (code, out, err) = run(&[
        "send",
        "--socket",
        &format!("dealer+connect:{ep}"),
        "--source-id",
        "cam-1",
        "--repeat",
        "3",
        "--protocol-version",
        version.as_str(),
        &img,
    ]);
    assert_eq!(code, 0, "{savant}: send failed: {err}");
    assert_eq!(
        json_lines(&out)
            .iter()
            .filter(|l| l["kind"] == "frame")
            .count(),
        3,
        "{out}"
    );
    let (status, lines) = reader.finish(Duration::from_secs(30)).unwrap();
    assert!(status.success(), "{savant}: {lines:?}");
    let got = messages(&lines);
    assert_eq!(got.len(), 4, "{savant}: {lines:?}");
    for (i, m) in got[..3].iter().enumerate() {
        assert_eq!(m["kind"], "frame", "{savant}: {m}");
        assert_eq!(m["topic"], "cam-1");
        assert_eq!(m["protocol_version"], version.as_str(), "{savant}: {m}");
        assert_eq!(m["seq_id"], i as u64 + 1, "{savant}: {m}");
        assert_eq!(m["content_len"], std::fs::metadata(&img).unwrap().len());
    }
    assert_eq!(got[3]["kind"], "eos", "{savant}");
}

fn a_savant_rs_writer_into_receive(savant: SavantRs) {
    let dir = tempfile::tempdir().unwrap();
    let ep = ipc(&dir, "out");
    let receive = Command::new(BIN)
        .args([
            "receive",
            "--socket",
            &format!("router+bind:{ep}"),
            "--eos-count",
            "1",
            "--idle-timeout",
            "30",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut receive = KillOnDrop(receive);
    // the writer retries its sends until receive has bound the socket
    savant_writer(
        savant,
        &ep,
        "cam-7",
        5,
        &["--content-size", "1000", "--eos"],
    );
    // receive ends at the EOS (or after its idle timeout)
    let mut stdout = String::new();
    receive
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let done = receive.0.wait().unwrap();
    assert!(
        done.success(),
        "{savant}: receive failed (its stderr is above)"
    );
    let got = json_lines(&stdout);
    let frames: Vec<_> = got.iter().filter(|l| l["kind"] == "frame").collect();
    assert_eq!(frames.len(), 5, "{savant}: {stdout}");
    let generation = savant.protocol_version().generation().name();
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f["source_id"], "cam-7");
        assert_eq!(f["pts"], i as i64, "{savant}: {f}");
        assert_eq!(f["content_bytes"], 1000);
        assert_eq!(
            f["protocol_version"],
            savant.protocol_version().as_str(),
            "{f}"
        );
        assert_eq!(f["generation"], generation, "{f}");
    }
    assert!(got.iter().any(|l| l["kind"] == "eos"), "{stdout}");
}

fn a_savant_rs_writer_through_loopback_into_a_savant_rs_reader(savant: SavantRs) {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
    let reader = savant_reader(savant, &output, &["--count", "4", "--timeout", "40"]);
    let _loopback = our_loopback(&input, &output, &[], Stdio::null());
    savant_writer(
        savant,
        &input,
        "cam-9",
        3,
        &["--content-size", "300000", "--eos"],
    );
    let (status, lines) = reader.finish(Duration::from_secs(40)).unwrap();
    assert!(status.success(), "{savant} reader: {lines:?}");
    let got = messages(&lines);
    assert_eq!(got.len(), 4, "{savant}: {lines:?}");
    for m in &got[..3] {
        assert_eq!(m["kind"], "frame");
        assert_eq!(m["content_len"], 300_000, "{savant}: {m}");
        assert_eq!(m["content_ok"], true, "{savant}: payload differs");
        // the loopback forwards the writer's own bytes, version included
        assert_eq!(
            m["protocol_version"],
            savant.protocol_version().as_str(),
            "{m}"
        );
    }
    assert_eq!(got[3]["kind"], "eos");
}

/// Without `--protocol-version`, `send` stamps "1.15.0" (Savant 0.6.1's),
/// which a savant-rs 1.15.1 reader drops without acknowledging: the EOS
/// acknowledgement times out, and the error names the version sent and the
/// options that fix it.
#[test]
fn the_default_version_into_a_savant_rs_1_15_1_reader_fails_naming_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let ep = ipc(&dir, "in");
    let _reader = savant_reader(SavantRs::V1_15, &ep, &["--count", "1", "--timeout", "40"]);
    let img = jpeg(&dir);
    let (code, _, err) = run(&[
        "send",
        "--socket",
        &format!("dealer+connect:{ep}"),
        "--source-id",
        "cam-1",
        &img,
    ]);
    assert_ne!(code, 0, "a 1.15.1 reader acknowledged 1.15.0?");
    for needle in ["1.15.0", "--protocol-version", "probe"] {
        assert!(err.contains(needle), "no {needle:?} in: {err}");
    }
}

/// `probe` against the real readers: savant-rs 1.15.1 acknowledges only
/// "1.15.1"; savant-rs 0.3.0 checks no version and acknowledges every
/// candidate.
fn probe_finds_what_a_savant_rs_reader_accepts(savant: SavantRs) {
    let dir = tempfile::tempdir().unwrap();
    let ep = ipc(&dir, "in");
    let candidates = ["1.15.0", "1.15.1", "0.2.0", "1.13.0"];
    let reader = savant_reader(savant, &ep, &["--eos-count", "4", "--timeout", "15"]);
    let (code, out, err) = run(&[
        "probe",
        "--socket",
        &format!("dealer+connect:{ep}"),
        "--timeout",
        "1",
        "--candidates",
        &candidates.join(","),
    ]);
    assert_eq!(code, 0, "{savant}: {err}");
    let lines = json_lines(&out);
    let summary = lines
        .iter()
        .find(|l| l["event"] == "probe_summary")
        .unwrap_or_else(|| panic!("no summary: {out}"));
    let accepted: Vec<&str> = summary["accepted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    match savant {
        SavantRs::V0_3 => assert_eq!(accepted, candidates, "{out}"),
        SavantRs::V1_15 => assert_eq!(accepted, ["1.15.1"], "{out}"),
    }
    drop(reader);
}

/// Our loopback as a bridge between generations: a savant-rs 0.3.0
/// writer ("0.2.0") through `loopback --mark ... --protocol-version
/// 1.15.1` into a savant-rs 1.15.1 reader, which reads only "1.15.1".
#[test]
fn the_loopback_bridges_a_0_3_writer_to_a_1_15_1_reader() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
    let reader = savant_reader(
        SavantRs::V1_15,
        &output,
        &["--count", "3", "--timeout", "40"],
    );
    let _loopback = our_loopback(
        &input,
        &output,
        &["--mark", "bridge/seen", "--protocol-version", "1.15.1"],
        Stdio::null(),
    );
    savant_writer(
        SavantRs::V0_3,
        &input,
        "cam-3",
        3,
        &["--content-size", "1000"],
    );
    let (status, lines) = reader.finish(Duration::from_secs(40)).unwrap();
    assert!(status.success(), "1.15.1 reader: {lines:?}");
    let got = messages(&lines);
    assert_eq!(got.len(), 3, "{lines:?}");
    for m in &got {
        assert_eq!(m["kind"], "frame");
        assert_eq!(m["protocol_version"], "1.15.1", "{m}");
        assert_eq!(m["content_ok"], true, "{m}");
        let attrs = m["attributes"].as_array().unwrap();
        assert!(attrs.iter().any(|a| a == "bridge/seen"), "{m}");
    }
}

/// `loopback --shutdown-auth`: a savant-rs writer's Shutdown with the
/// wrong auth is ignored (frames keep flowing); with the right one the
/// loopback forwards the EOS of the stream still open and exits 0 within
/// a second or two.
fn the_loopback_obeys_only_a_shutdown_with_its_auth(savant: SavantRs) {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
    let reader = savant_reader(savant, &output, &["--count", "5", "--timeout", "40"]);
    let mut loopback = our_loopback(
        &input,
        &output,
        &["--shutdown-auth", "s3cret"],
        Stdio::piped(),
    );
    // two frames and a wrong shutdown, then two more frames and the right one
    savant_writer(savant, &input, "cam-5", 2, &["--shutdown", "wrong"]);
    savant_writer(savant, &input, "cam-5", 2, &["--shutdown", "s3cret"]);
    let started = std::time::Instant::now();
    let done = loop {
        if let Some(s) = loopback.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{savant}: the loopback did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(done.success(), "{savant}: loopback exit {done:?}");
    let mut out = String::new();
    loopback
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let stopped = json_lines(&out).pop().unwrap();
    assert_eq!(stopped["reason"], "shutdown", "{out}");
    let (status, lines) = reader.finish(Duration::from_secs(40)).unwrap();
    assert!(status.success(), "{savant} reader: {lines:?}");
    let got = messages(&lines);
    let kinds: Vec<&str> = got.iter().map(|m| m["kind"].as_str().unwrap()).collect();
    // four frames (the wrong shutdown stopped nothing), then the EOS the
    // loopback sent for the open stream; no shutdown went downstream
    assert_eq!(
        kinds,
        ["frame", "frame", "frame", "frame", "eos"],
        "{lines:?}"
    );
    assert_eq!(got[4]["source_id"], "cam-5");
}
