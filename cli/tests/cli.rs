//! The `savant-sdk` binary, run as a user would: bad input, send and
//! receive through the loopback subcommand, and the demo.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

mod common;
#[path = "../../sdk-core/tests/otlp_common/grpc_receiver.rs"]
mod grpc;

use common::{json_lines, run, BIN};

fn write_jpeg(path: &Path, shade: u8) {
    image::RgbImage::from_pixel(32, 24, image::Rgb([shade, 0, 0]))
        .save_with_format(path, image::ImageFormat::Jpeg)
        .unwrap();
}

#[test]
fn user_mistakes_give_one_clear_line_and_a_failure_code() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.jpeg");
    write_jpeg(&img, 10);
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not an image").unwrap();
    let img = img.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["send", "--socket", "dealer+connect:udp://x:1", img],
            "invalid socket spec",
        ),
        (
            vec!["send", "--socket", "router+bind:tcp://127.0.0.1:1", img],
            "reader socket type",
        ),
        (
            vec![
                "send",
                "--socket",
                "dealer+connect:ipc:///tmp/x.ipc",
                "/nonexistent/frame.jpeg",
            ],
            "/nonexistent/frame.jpeg",
        ),
        (
            vec![
                "send",
                "--socket",
                "dealer+connect:ipc:///tmp/x.ipc",
                text.to_str().unwrap(),
            ],
            "notes.txt",
        ),
        (
            vec!["receive", "--socket", "pub+bind:tcp://127.0.0.1:1"],
            "writer socket type",
        ),
        (
            vec![
                "send",
                "--socket",
                "dealer+connect:ipc:///tmp/x.ipc",
                "--fps",
                "0/1",
                img,
            ],
            "frame rate",
        ),
        (
            vec![
                "send",
                "--socket",
                "dealer+connect:ipc:///tmp/x.ipc",
                "--protocol-version",
                "9.0.0",
                img,
            ],
            "no known generation",
        ),
        (
            vec![
                "send",
                "--socket",
                "dealer+connect:ipc:///tmp/x.ipc",
                "--savant",
                "0.5.9",
                img,
            ],
            "--protocol-version",
        ),
        (
            vec![
                "receive",
                "--socket",
                "router+bind:ipc:///tmp/x.ipc",
                "--accept-version",
                "1.x.y",
            ],
            "1.15+",
        ),
        (
            vec!["probe", "--socket", "pub+bind:ipc:///tmp/x.ipc"],
            "dealer or req",
        ),
        (
            vec![
                "probe",
                "--socket",
                "dealer+connect:ipc:///tmp/x.ipc",
                "--candidates",
                "1.15.1,7.0.0",
            ],
            "7.0.0",
        ),
    ] {
        let (code, _out, err) = run(&args);
        assert_ne!(code, 0, "{args:?}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{err}"
        );
        assert!(err.trim().lines().count() <= 3, "short: {err}");
    }
}

#[test]
fn protocol_version_and_savant_are_one_or_the_other_and_their_help_names_the_default() {
    let (code, _, err) = run(&[
        "send",
        "--socket",
        "dealer+connect:ipc:///tmp/x.ipc",
        "--protocol-version",
        "1.15.1",
        "--savant",
        "0.6.1",
        "x.jpg",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot be used with"), "{err}");
    for command in ["send", "demo", "run"] {
        let (code, out, _) = run(&[command, "--help"]);
        assert_eq!(code, 0);
        assert!(
            out.contains("--protocol-version <VERSION>"),
            "{command}: {out}"
        );
        assert!(out.contains("--savant <RELEASE>"), "{command}: {out}");
        assert!(
            out.contains("\"1.15.0\"") && out.contains("0.6.1"),
            "{command}: {out}"
        );
        assert!(
            out.contains("drops"),
            "{command}: what a mismatch does: {out}"
        );
        assert!(
            out.contains("[default: jaeger]") || command == "run",
            "{command}: {out}"
        );
    }
    let (_, out, _) = run(&["loopback", "--help"]);
    assert!(
        out.contains("--protocol-version") && out.contains("--accept-version"),
        "{out}"
    );
    assert!(out.contains("/status"), "{out}");
    let (_, out, _) = run(&["receive", "--help"]);
    assert!(
        out.contains("--accept-version <VERSION|GEN>") && out.contains("[default: known]"),
        "{out}"
    );
    let (_, out, _) = run(&["probe", "--help"]);
    for needle in [
        "Side effects",
        "EOS per candidate",
        "10 s",
        "savant-sdk-probe-",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
}

/// A module that reads one version only: our own reader with
/// `VersionPolicy::Exact` (what a savant-rs 1.x module's reader does),
/// on a thread; the EOS topics it got come back when `stop` is set.
fn exact_reader(
    socket: &str,
    version: &str,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<(String, String)>> {
    use savant_sdk_core::codec::VersionPolicy;
    use savant_sdk_core::transport::{BlockingReader, ReaderConfig, ReaderResult};
    let mut reader = BlockingReader::new(
        ReaderConfig::builder(socket)
            .unwrap()
            .version_policy(VersionPolicy::Exact(version.into()))
            .receive_timeout(std::time::Duration::from_millis(50))
            .build()
            .unwrap(),
    )
    .unwrap();
    std::thread::spawn(move || {
        let mut got = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            if let ReaderResult::Message(m) = reader.receive().unwrap() {
                got.push((m.topic_str().into_owned(), m.message.protocol_version));
            }
        }
        got
    })
}

#[test]
fn probe_finds_the_one_version_a_module_reads() {
    let dir = tempfile::tempdir().unwrap();
    let ep = format!("ipc://{}/exact.ipc", dir.path().display());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = exact_reader(&format!("router+bind:{ep}"), "1.15.1", stop.clone());
    let socket = format!("dealer+connect:{ep}");
    let (code, out, err) = run(&["probe", "--socket", &socket, "--timeout", "0.5"]);
    assert_eq!(code, 0, "{err}");
    let lines = json_lines(&out);
    let probes: Vec<_> = lines.iter().filter(|l| l["event"] == "probe").collect();
    let versions: Vec<_> = probes
        .iter()
        .map(|l| l["protocol_version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.15.0", "1.13.0", "0.2.0", "1.15.1", "2.1.1"]);
    for p in &probes {
        let expected = if p["protocol_version"] == "1.15.1" {
            "acknowledged"
        } else {
            "no_ack"
        };
        assert_eq!(p["outcome"], expected, "{p}");
        assert!(p["topic"]
            .as_str()
            .unwrap()
            .starts_with("savant-sdk-probe-"));
    }
    assert_eq!(probes[3]["generation"], "1.15+");
    let topics: std::collections::HashSet<_> = probes.iter().map(|p| &p["topic"]).collect();
    assert_eq!(topics.len(), probes.len(), "a fresh topic per candidate");
    let summary = lines.last().unwrap();
    assert_eq!(summary["event"], "probe_summary");
    assert_eq!(summary["accepted"], serde_json::json!(["1.15.1"]));

    // none of the candidates: exit 1 with a line saying so; as a table
    let (code, out, err) = run(&[
        "probe",
        "--socket",
        &socket,
        "--timeout",
        "0.3",
        "--candidates",
        "1.15.0,2.1.1",
        "--format",
        "table",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("acknowledged none of the 2 versions"), "{err}");
    assert!(out.contains("VERSION") && out.contains("no_ack"), "{out}");

    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let got = reader.join().unwrap();
    // the module saw exactly the one EOS it accepted, on its throwaway topic
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, probes[3]["topic"].as_str().unwrap());
    assert_eq!(got[0].1, "1.15.1");
}

#[test]
fn probe_finds_every_version_on_the_loopback_and_receive_reports_each() {
    let dir = tempfile::tempdir().unwrap();
    let input = format!("ipc://{}/in.ipc", dir.path().display());
    let output = format!("ipc://{}/out.ipc", dir.path().display());
    let receiver = Command::new(BIN)
        .args(["receive", "--socket", &format!("router+bind:{output}")])
        .args(["--eos-count", "5", "--idle-timeout", "30"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let receiver = common::KillOnDrop(receiver);
    let mut module = common::KillOnDrop(
        Command::new(BIN)
            .args(["loopback", "--input", &format!("router+bind:{input}")])
            .args(["--output", &format!("dealer+connect:{output}")])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(module.0.stdout.take().unwrap()).lines();
    let ready: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(ready["event"], "ready");
    let (code, out, err) = run(&[
        "probe",
        "--socket",
        &format!("dealer+connect:{input}"),
        "--timeout",
        "5",
    ]);
    assert_eq!(code, 0, "{err}");
    let probes = json_lines(&out);
    let summary = probes.last().unwrap();
    assert_eq!(
        summary["accepted"],
        serde_json::json!(["1.15.0", "1.13.0", "0.2.0", "1.15.1", "2.1.1"]),
        "{out}"
    );
    let (ok, out, _) = finish(receiver);
    assert!(ok);
    let got = json_lines(&out);
    assert_eq!(got.len(), 5, "{got:?}");
    for (r, p) in got.iter().zip(&probes) {
        assert_eq!(r["kind"], "eos");
        assert_eq!(r["source_id"], p["topic"]);
        assert_eq!(r["protocol_version"], p["protocol_version"]);
        assert_eq!(r["generation"], p["generation"]);
    }
    Command::new("kill")
        .args(["-TERM", &module.0.id().to_string()])
        .status()
        .unwrap();
    assert!(module.0.wait().unwrap().success());
}

/// Waits for `child`: success, stdout, stderr.
fn finish(mut child: common::KillOnDrop) -> (bool, String, String) {
    use std::io::Read;
    let (mut out, mut err) = (String::new(), String::new());
    if let Some(mut s) = child.0.stdout.take() {
        s.read_to_string(&mut out).unwrap();
    }
    if let Some(mut s) = child.0.stderr.take() {
        s.read_to_string(&mut err).unwrap();
    }
    let ok = child.0.wait().unwrap().success();
    (ok, out, err)
}

#[test]
fn send_stamps_the_version_asked_and_receive_can_refuse_others() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.jpg");
    write_jpeg(&img, 30);
    let ep = format!("ipc://{}/v.ipc", dir.path().display());
    let receiver = Command::new(BIN)
        .args(["receive", "--socket", &format!("router+bind:{ep}")])
        .args([
            "--accept-version",
            "0.2.x",
            "--count",
            "2",
            "--idle-timeout",
            "30",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut receiver = common::KillOnDrop(receiver);
    // the sends have no EOS to wait on: the reader must be there first
    common::wait_bound(&ep);
    // its log, read as it comes: the refusal of the first sender's frames
    // is the signal to start the second (two senders' frames would race)
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let log = BufReader::new(receiver.0.stderr.take().unwrap());
    let logger = std::thread::spawn(move || {
        let mut all = String::new();
        for line in log.lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all += &line;
            all.push('\n');
        }
        all
    });
    let socket = format!("dealer+connect:{ep}");
    let send = |source: &str, version: &[&str]| {
        let mut args = vec!["send", "--socket", &socket, "--source-id", source];
        args.extend_from_slice(&["--repeat", "2", "--no-eos"]);
        args.extend_from_slice(version);
        args.push(img.to_str().unwrap());
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
    };
    // the default, "1.15.0": refused by a reader of 0.2.x only. A sender
    // without EOS has no acknowledgement to wait for; its frames still
    // reach the reader, since it ends ZeroMQ's context before it exits
    // (ZeroMQ sends them on its I/O thread, within the linger).
    send("new", &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut refused = false;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(l) if l.contains("refusing messages of this protocol version") => {
                refused = true;
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(refused, "the reader never saw the first sender");
    // Savant 0.4's "0.2.0": read
    send("old", &["--savant", "0.4"]);
    let mut out = String::new();
    std::io::Read::read_to_string(&mut receiver.0.stdout.take().unwrap(), &mut out).unwrap();
    let ok = receiver.0.wait().unwrap().success();
    let err = logger.join().unwrap();
    assert!(ok, "{err}");
    let got = json_lines(&out);
    assert_eq!(got.len(), 2, "{got:?}");
    for r in &got {
        assert_eq!(r["source_id"], "old");
        assert_eq!(r["protocol_version"], "0.2.0");
        assert_eq!(r["generation"], "0.2.x");
    }
    // every frame of "new" that arrived was dropped and counted
    let dropped: u64 = err
        .split(" messages dropped for their protocol version")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of dropped messages: {err}"));
    assert!(dropped >= 1, "{dropped}: {err}");
}

/// A sender without EOS (nothing to wait for at its end) loses nothing at
/// exit: 8 sends of 25 frames each, every one of the 200 frames arrives.
#[test]
fn send_without_eos_delivers_every_frame_before_it_exits() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.jpg");
    write_jpeg(&img, 64);
    let ep = format!("ipc://{}/no-eos.ipc", dir.path().display());
    let receiver = Command::new(BIN)
        .args(["receive", "--socket", &format!("router+bind:{ep}")])
        .args(["--count", "200", "--idle-timeout", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_bound(&ep);
    for _ in 0..8 {
        let (code, _, err) = run(&[
            "send",
            "--socket",
            &format!("dealer+connect:{ep}"),
            "--source-id",
            "cam",
            "--repeat",
            "25",
            "--no-eos",
            img.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
    }
    let out = receiver.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(got.len(), 200, "every frame arrived");
}

#[test]
fn run_stamps_the_version_of_the_source_the_command_line_or_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.jpg");
    write_jpeg(&img, 90);
    let pipeline = dir.path().join("p.toml");
    let run_once = |name: &str, extra: &[&str]| {
        let ep = format!("ipc://{}/{name}.ipc", dir.path().display());
        std::fs::write(
            &pipeline,
            format!(
                "protocol_version = '1.15.1'\n\
                 [[source]]\ntype = 'jpeg_file'\npath = 'a.jpg'\nsource_id = 'old'\nsavant = '0.4'\nsocket = 'dealer+connect:{ep}'\n\
                 [[source]]\ntype = 'jpeg_file'\npath = 'a.jpg'\nsource_id = 'plain'\nsocket = 'dealer+connect:{ep}'\n"
            ),
        )
        .unwrap();
        let receiver = common::KillOnDrop(
            Command::new(BIN)
                .args(["receive", "--socket", &format!("router+bind:{ep}")])
                .args(["--eos-count", "2", "--idle-timeout", "30"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut args = vec!["run", pipeline.to_str().unwrap()];
        args.extend_from_slice(extra);
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        let (ok, out, _) = finish(receiver);
        assert!(ok);
        let mut by_source = std::collections::BTreeMap::new();
        for r in json_lines(&out) {
            by_source
                .entry(r["source_id"].as_str().unwrap().to_string())
                .or_insert_with(std::collections::BTreeSet::new)
                .insert(r["protocol_version"].as_str().unwrap().to_string());
        }
        by_source
    };
    let got = run_once("file", &[]);
    assert_eq!(got["old"], ["0.2.0".to_string()].into());
    assert_eq!(got["plain"], ["1.15.1".to_string()].into());
    // the command line over the file, the source's own key over both
    let got = run_once("flag", &["--savant", "0.6.0"]);
    assert_eq!(got["old"], ["0.2.0".to_string()].into());
    assert_eq!(got["plain"], ["1.13.0".to_string()].into());
}

#[test]
fn the_demo_stamps_the_version_asked() {
    let (code, out, err) = run(&[
        "demo",
        "--frames",
        "3",
        "--interval-ms",
        "1",
        "--savant",
        "0.4",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("protocol version 0.2.0"), "{out}");
    assert!(out.contains("summary: 3 sent, 3 received"), "{out}");
}

#[test]
fn send_and_receive_through_the_loopback_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    for i in 0..3 {
        write_jpeg(&frames.join(format!("{i:02}.jpg")), i * 50);
    }
    let input = format!("ipc://{}/in.ipc", dir.path().display());
    let output = format!("ipc://{}/out.ipc", dir.path().display());
    let receiver = Command::new(BIN)
        .args([
            "receive",
            "--socket",
            &format!("router+bind:{output}"),
            "--eos-count",
            "1",
            "--idle-timeout",
            "20",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut module = Command::new(BIN)
        .args([
            "loopback",
            "--input",
            &format!("router+bind:{input}"),
            "--output",
            &format!("dealer+connect:{output}"),
            "--mark",
            "cli/loop",
            "--healthcheck-port",
            "0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(module.stdout.take().unwrap()).lines();
    let ready: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(ready["event"], "ready");
    let status_url = ready["status"].as_str().expect("a /status URL");
    assert!(status_url.ends_with("/status"), "{ready}");
    assert!(ready["healthcheck"]
        .as_str()
        .unwrap()
        .ends_with("/healthcheck"));
    // the default trace format (jaeger) and version; the module's Savant
    // 0.5+ style /status (a JSON string) waited on
    let (code, out, err) = run(&[
        "send",
        "--socket",
        &format!("dealer+connect:{input}"),
        "--source-id",
        "cli-cam",
        "--healthcheck-url",
        status_url,
        "--healthcheck-timeout",
        "10",
        frames.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let sent = json_lines(&out);
    assert_eq!(sent.len(), 4);
    assert!(sent[..3]
        .iter()
        .all(|l| l["event"] == "sent" && l["kind"] == "frame"));
    assert_eq!(sent[3]["kind"], "eos");
    assert_eq!(sent[1]["pts"], 33_333_333);

    let out = receiver.wait_with_output().unwrap();
    assert!(out.status.success());
    let got = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(got.len(), 4, "{got:?}");
    for (s, r) in sent.iter().zip(&got) {
        assert_eq!(r["event"], "received");
        assert_eq!(r["kind"], s["kind"]);
        assert_eq!(r["trace_id"], s["trace_id"], "trace ids match");
        assert_eq!(r["source_id"], "cli-cam");
        assert_eq!(r["protocol_version"], "1.15.0");
        assert_eq!(r["generation"], "1.15+");
    }
    let t = got[0]["trace_id"].as_str().unwrap();
    assert_eq!(t.len(), 32);
    assert!(t
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(got[0]["codec"], "jpeg");
    assert_eq!(got[0]["width"], 32);
    assert!(got[0]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "cli/loop"));
    assert!(got[0]["content_bytes"].as_u64().unwrap() > 100);

    // SIGTERM stops the module cleanly
    Command::new("kill")
        .args(["-TERM", &module.id().to_string()])
        .status()
        .unwrap();
    let status = module.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let stopped: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(stopped["event"], "stopped");
    assert_eq!(stopped["forwarded"], 4);
}

#[test]
fn the_demo_runs_on_the_embedded_module() {
    let (code, out, err) = run(&["demo", "--frames", "12", "--interval-ms", "2"]);
    assert_eq!(code, 0, "{err}");
    let frames = out.lines().filter(|l| l.starts_with("frame ")).count();
    assert_eq!(frames, 12, "{out}");
    assert!(out.contains("summary: 12 sent, 12 received"), "{out}");
}

#[test]
fn receive_writes_images_metadata_and_annotated_frames() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    for i in 0..2 {
        write_jpeg(&frames.join(format!("{i:02}.jpg")), 100 + i * 50);
    }
    let ep = format!("ipc://{}/direct.ipc", dir.path().display());
    let (images, annotated, meta) = (
        dir.path().join("images"),
        dir.path().join("annotated"),
        dir.path().join("meta.jsonl"),
    );
    let receiver = Command::new(BIN)
        .args([
            "receive",
            "--socket",
            &format!("router+bind:{ep}"),
            "--eos-count",
            "1",
            "--out-images",
            images.to_str().unwrap(),
            "--out-annotated",
            annotated.to_str().unwrap(),
            "--out-json",
            meta.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // no wait for the receiver to bind: a dealer connects before its
    // peer binds and keeps what it sends until then
    let (code, _, err) = run(&[
        "send",
        "--socket",
        &format!("dealer+connect:{ep}"),
        "--source-id",
        "cam",
        "--repeat",
        "2",
        frames.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let out = receiver.wait_with_output().unwrap();
    assert!(out.status.success());
    // four frames (two files, twice) with increasing pts
    let mut written: Vec<_> = std::fs::read_dir(images.join("cam"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".jpeg"))
        .collect();
    written.sort();
    assert_eq!(written.len(), 4, "{written:?}");
    let first = std::fs::read(images.join("cam").join(&written[0])).unwrap();
    assert_eq!(first, std::fs::read(frames.join("00.jpg")).unwrap());
    assert_eq!(std::fs::read_dir(annotated.join("cam")).unwrap().count(), 4);
    let lines = std::fs::read_to_string(&meta).unwrap();
    let records = json_lines(&lines);
    assert_eq!(records.len(), 5);
    // index 3 of 30/1: 100 ms, not three rounded frame durations
    assert_eq!(records[3]["pts"], 100_000_000);
    assert_eq!(records[4]["event"], "eos");

    // an output folder that cannot be made fails before anything is received
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let (code, _, err) = run(&[
        "receive",
        "--socket",
        &format!("router+bind:ipc://{}/other.ipc", dir.path().display()),
        "--out-images",
        blocker.join("sub").to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot write"), "{err}");
}

#[test]
fn send_loop_and_pace_until_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.jpg");
    write_jpeg(&img, 7);
    let ep = format!("ipc://{}/loop.ipc", dir.path().display());
    let receiver = Command::new(BIN)
        .args([
            "receive",
            "--socket",
            &format!("router+bind:{ep}"),
            "--eos-count",
            "1",
            "--idle-timeout",
            "20",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut sender = Command::new(BIN)
        .args([
            "send",
            "--socket",
            &format!("dealer+connect:{ep}"),
            "--loop",
            "--pace",
            "--fps",
            "20/1",
            img.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the first frame line says the sender is in its loop (and handles
    // SIGINT): a slow start on a loaded machine is not taken for sending
    let mut stdout = BufReader::new(sender.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1000));
    Command::new("kill")
        .args(["-INT", &sender.id().to_string()])
        .status()
        .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let done = sender.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let sent = json_lines(&format!("{first}{rest}"));
    let frames = sent.iter().filter(|l| l["kind"] == "frame").count();
    // paced at 20 fps for about a second: far fewer than unpaced
    assert!((5..=40).contains(&frames), "{frames} frames");
    assert_eq!(sent.last().unwrap()["kind"], "eos");
    let got = receiver.wait_with_output().unwrap();
    let got = json_lines(&String::from_utf8_lossy(&got.stdout));
    assert_eq!(got.len(), frames + 1);
    assert_eq!(got[frames - 1]["pts"], (frames as i64 - 1) * 50_000_000);
}

#[test]
fn receive_matches_what_send_printed() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    for i in 0..3 {
        write_jpeg(&frames.join(format!("{i}.jpg")), i * 20);
    }
    let ep = format!("ipc://{}/m.ipc", dir.path().display());
    let sent_file = dir.path().join("sent.jsonl");
    // the file is read when receiving ends, so it may be written meanwhile
    let receiver = Command::new(BIN)
        .args([
            "receive",
            "--socket",
            &format!("router+bind:{ep}"),
            "--idle-timeout",
            "2",
            "--match-sent",
            sent_file.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // no wait for the receiver to bind: a dealer connects before its
    // peer binds and keeps what it sends until then
    let (code, sent, err) = run(&[
        "send",
        "--socket",
        &format!("dealer+connect:{ep}"),
        "--trace",
        "jaeger",
        frames.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    // plus a frame that was "sent" but never arrives
    let lost = "0123456789abcdef0123456789abcdef";
    let extra = serde_json::json!({"event": "sent", "kind": "frame", "source_id": "client",
        "pts": 9, "trace_id": lost, "sent_at_us": 1u64});
    std::fs::write(&sent_file, format!("{sent}{extra}\n")).unwrap();
    let out = receiver.wait_with_output().unwrap();
    assert!(out.status.success());
    let got = json_lines(&String::from_utf8_lossy(&out.stdout));
    let summary = got
        .iter()
        .find(|l| l["event"] == "match_summary")
        .expect("a summary");
    assert_eq!(summary["sent"], 4);
    assert_eq!(summary["received"], 3);
    assert_eq!(summary["missing"], serde_json::json!([lost]));
    let matched: Vec<_> = got.iter().filter(|l| l["event"] == "match").collect();
    assert_eq!(matched.len(), 4);
    let sent_frames: Vec<_> = json_lines(&sent)
        .into_iter()
        .filter(|l| l["kind"] == "frame")
        .collect();
    // latencies to the microsecond: no 8.802000000000001
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((_, rest)) = line.split_once("\"latency_ms\":") else {
            continue;
        };
        let number = rest.split([',', '}']).next().unwrap();
        let decimals = number.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(decimals <= 3, "{line}");
    }
    for (m, s) in matched.iter().zip(sent_frames.iter()) {
        assert_eq!(m["trace_id"], s["trace_id"]);
        let ms = m["latency_ms"].as_f64().expect("a latency");
        assert!((0.0..5000.0).contains(&ms), "{ms}");
    }
}

#[test]
fn an_unreachable_collector_does_not_hold_up_the_demo() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (code, out, err) = run(&[
        "demo",
        "--frames",
        "5",
        "--interval-ms",
        "1",
        "--otlp-endpoint",
        &format!("http://{closed}"),
        "--service-name",
        "demo-test",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("summary: 5 sent, 5 received"), "{out}");
}

/// `receive --out-video`: JPEG frames muxed into MKV play back in
/// GStreamer with every frame; an unwritable folder and an unknown
/// container fail with a clear line.
#[cfg(feature = "gstreamer")]
#[test]
fn receive_writes_video_files() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    for i in 0..3 {
        write_jpeg(&frames.join(format!("{i:02}.jpg")), 60 + i * 50);
    }
    let receive_into = |container: &str, ep: &str| {
        let out = dir.path().join(container);
        let receiver = Command::new(BIN)
            .args(["receive", "--socket", &format!("router+bind:{ep}")])
            .args(["--eos-count", "1", "--idle-timeout", "20"])
            .args(["--out-video", out.to_str().unwrap()])
            .args(["--video-container", container])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // no wait for the receiver to bind: a dealer connects before its
        // peer binds and keeps what it sends until then
        let (code, _, err) = run(&[
            "send",
            "--socket",
            &format!("dealer+connect:{ep}"),
            "--source-id",
            "cam",
            frames.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        (out, receiver.wait_with_output().unwrap())
    };

    let ep = format!("ipc://{}/mkv.ipc", dir.path().display());
    let (out, result) = receive_into("mkv", &ep);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let files: Vec<_> = std::fs::read_dir(out.join("cam"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let video = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "mkv"))
        .expect("an mkv file");
    assert_eq!(files.len(), 2, "the video and its metadata: {files:?}");
    let meta = std::fs::read_to_string(video.with_extension("jsonl")).unwrap();
    assert_eq!(json_lines(&meta).len(), 3);
    let played = Command::new("gst-launch-1.0")
        .args(["-v", "filesrc"])
        .arg(format!("location={}", video.display()))
        .args([
            "!",
            "decodebin",
            "!",
            "fakesink",
            "silent=false",
            "sync=false",
        ])
        .output()
        .unwrap();
    assert!(played.status.success());
    let decoded = String::from_utf8_lossy(&played.stdout)
        .lines()
        .filter(|l| l.contains("last-message = chain"))
        .count();
    assert_eq!(decoded, 3, "every frame plays");

    // an output folder that cannot be made fails before anything is received
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let (code, _, err) = run(&[
        "receive",
        "--socket",
        &format!("router+bind:ipc://{}/other.ipc", dir.path().display()),
        "--out-video",
        blocker.join("sub").to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot write"), "{err}");

    let (code, _, err) = run(&[
        "receive",
        "--socket",
        "sub+connect:ipc:///nowhere",
        "--out-video",
        "x",
        "--video-container",
        "avi",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("avi"), "{err}");
}

#[test]
fn the_demo_exports_over_grpc_with_otlp_protocol_grpc() {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    let (addr, got) = grpc::grpc_receiver();
    let (code, out, err) = run(&[
        "demo",
        "--frames",
        "3",
        "--interval-ms",
        "1",
        "--otlp-protocol",
        "grpc",
        "--otlp-endpoint",
        &format!("http://{addr}"),
        "--service-name",
        "demo-grpc",
    ]);
    assert_eq!(code, 0, "{err}");
    // "frame    0  trace <32 hex>  round trip ..."
    let traces: Vec<String> = out
        .lines()
        .filter(|l| l.starts_with("frame "))
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
        .collect();
    assert_eq!(traces.len(), 3, "{out}");
    let requests = got.lock().unwrap();
    let resource_spans: Vec<_> = requests.iter().flat_map(|r| &r.resource_spans).collect();
    assert!(!resource_spans.is_empty(), "nothing exported: {err}");
    for rs in &resource_spans {
        let service = rs
            .resource
            .as_ref()
            .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
            .and_then(|kv| kv.value.as_ref()?.value.as_ref());
        assert!(
            matches!(service, Some(Any::StringValue(s)) if s == "demo-grpc"),
            "{service:?}"
        );
    }
    let exported: Vec<String> = resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .filter(|s| s.name == "savant.send_frame")
        .map(|s| s.trace_id.iter().map(|b| format!("{b:02x}")).collect())
        .collect();
    for t in &traces {
        assert!(exported.contains(t), "{t} not in {exported:?}");
    }
}

#[test]
fn otlp_protocol_is_checked_and_an_unreachable_grpc_collector_does_not_hold_up_the_demo() {
    let (code, _out, err) = run(&["demo", "--otlp-protocol", "carrier-pigeon"]);
    assert_ne!(code, 0);
    assert!(err.contains("expected http or grpc"), "{err}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (code, out, err) = run(&[
        "demo",
        "--frames",
        "5",
        "--interval-ms",
        "1",
        "--otlp-protocol",
        "grpc",
        "--otlp-endpoint",
        &format!("http://{closed}"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("summary: 5 sent, 5 received"), "{out}");
}

#[test]
fn errors_say_each_cause_once_and_a_non_image_is_no_image() {
    let dir = tempfile::tempdir().unwrap();
    let socket = format!("dealer+connect:ipc://{}/nobody.ipc", dir.path().display());
    let missing = dir.path().join("missing.jpg");
    let (code, _, err) = run(&["send", "--socket", &socket, missing.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("missing.jpg"), "{err}");
    assert_eq!(err.matches("No such file").count(), 1, "said once: {err}");
    let text = dir.path().join("notes.jpg");
    std::fs::write(&text, "hello, not a picture").unwrap();
    let (code, _, err) = run(&["send", "--socket", &socket, text.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("notes.jpg") && err.contains("not an image") && !err.contains("not a JPEG"),
        "{err}"
    );
}

#[test]
fn the_demo_offers_only_the_trace_formats_it_runs_with() {
    let (code, help, _) = run(&["demo", "--help"]);
    assert_eq!(code, 0);
    assert!(help.contains("- w3c") && !help.contains("- off"), "{help}");
    // refused by the parser, before anything starts
    let (code, _, err) = run(&["demo", "--trace", "off"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("invalid value 'off'"), "{err}");
}

#[test]
fn the_health_check_waits_its_whole_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("a.jpg");
    write_jpeg(&image, 10);
    // a port nothing listens on: every poll is refused
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let socket = format!("dealer+connect:ipc://{}/nobody.ipc", dir.path().display());
    let url = format!("http://127.0.0.1:{port}/healthcheck");
    let start = std::time::Instant::now();
    let (code, _, err) = run(&[
        "send",
        "--socket",
        &socket,
        "--healthcheck-url",
        &url,
        "--healthcheck-timeout",
        "2",
        image.to_str().unwrap(),
    ]);
    let waited = start.elapsed();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unreachable"), "{err}");
    // a lower bound only: a loaded machine may take longer, never shorter
    assert!(
        waited >= std::time::Duration::from_secs(2),
        "gave up after {waited:?}"
    );
}

#[test]
fn receive_of_one_source_id_on_sub_still_passes_other_sources_eos() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("a.jpg");
    write_jpeg(&image, 10);
    let input = format!("ipc://{}/in.ipc", dir.path().display());
    let output = format!("ipc://{}/out.ipc", dir.path().display());
    let mut module = common::KillOnDrop(
        Command::new(BIN)
            .args([
                "loopback",
                "--input",
                &format!("router+bind:{input}"),
                "--output",
                &format!("pub+bind:{output}"),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(module.0.stdout.take().unwrap()).lines();
    let ready: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(ready["event"], "ready");
    let mut receiver = common::KillOnDrop(
        Command::new(BIN)
            .args([
                "receive",
                "--socket",
                &format!("sub+connect:{output}"),
                "--source-id",
                "b",
                "--eos-count",
                "1",
                "--idle-timeout",
                "30",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // a subscriber misses what is published before it has joined: send
    // source a's frame and EOS until the receiver has its EOS and exits
    let mut exited = None;
    for _ in 0..100 {
        let (code, _, err) = run(&[
            "send",
            "--socket",
            &format!("dealer+connect:{input}"),
            "--source-id",
            "a",
            image.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        if let Some(status) = receiver.0.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
    }
    let status = exited.expect("the receiver never saw source a's EOS");
    assert!(status.success());
    let mut out = String::new();
    std::io::Read::read_to_string(&mut receiver.0.stdout.take().unwrap(), &mut out).unwrap();
    let got = json_lines(&out);
    assert!(
        got.iter()
            .any(|l| l["kind"] == "eos" && l["source_id"] == "a"),
        "{got:?}"
    );
    assert!(
        got.iter().all(|l| l["kind"] != "frame"),
        "only b's frames pass: {got:?}"
    );
}

/// SIGINT and SIGTERM stop an unpaced `send --loop` (which spends most of
/// its time sending, outside the wait for the next frame) within a few
/// seconds, with its EOS sent: a signal that arrives mid-send is kept, not
/// lost (it was, and the sender went on forever).
#[test]
fn a_signal_during_a_send_stops_an_unpaced_loop() {
    for signal in ["-INT", "-TERM"] {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("a.jpg");
        write_jpeg(&img, 3);
        let ep = format!("ipc://{}/busy.ipc", dir.path().display());
        let receiver = Command::new(BIN)
            .args([
                "receive",
                "--socket",
                &format!("router+bind:{ep}"),
                "--eos-count",
                "1",
                "--idle-timeout",
                "30",
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let _receiver = common::KillOnDrop(receiver);
        let mut sender = Command::new(BIN)
            .args([
                "send",
                "--socket",
                &format!("dealer+connect:{ep}"),
                "--loop",
                img.to_str().unwrap(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(sender.stdout.take().unwrap());
        // a few frames in: the sender is in its loop
        let mut line = String::new();
        for _ in 0..20 {
            line.clear();
            stdout.read_line(&mut line).unwrap();
        }
        Command::new("kill")
            .args([signal, &sender.id().to_string()])
            .status()
            .unwrap();
        // drain stdout on a thread so the sender never blocks on it
        let rest = std::thread::spawn(move || {
            let mut rest = String::new();
            std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
            rest
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let status = loop {
            if let Some(s) = sender.try_wait().unwrap() {
                break s;
            }
            if std::time::Instant::now() > deadline {
                let _ = sender.kill();
                panic!("send {signal}: still running 15 s after the signal");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(status.success(), "send {signal}: {status:?}");
        let rest = rest.join().unwrap();
        let last = json_lines(&rest).pop().expect("lines after the signal");
        assert_eq!(last["kind"], "eos", "send {signal}: {last}");
    }
}

/// `run --schema` is a valid JSON Schema (draft 2020-12, checked by
/// Python's `jsonschema`), a pipeline file of built-in components
/// validates against it, and one with a misspelt key or an unknown type
/// does not; `run --list` names every built-in with its keys.
#[test]
fn the_pipeline_schema_is_json_schema_and_pipeline_files_validate_against_it() {
    let (code, schema, err) = run(&["run", "--schema"]);
    assert_eq!(code, 0, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let schema_path = dir.path().join("schema.json");
    std::fs::write(&schema_path, &schema).unwrap();
    let good = "savant = '0.6.1'\n\
        [loopback]\ninput = 'router+bind:ipc:///tmp/x/in.ipc'\noutput = 'dealer+connect:ipc:///tmp/x/out.ipc'\n\
        [module]\ninput = 'dealer+connect:ipc:///tmp/x/in.ipc'\noutput = 'router+bind:ipc:///tmp/x/out.ipc'\n\
        [[source]]\ntype = 'video_file'\npath = 'a.mp4'\nsource_id = 'cam-1'\n\
        [[source]]\ntype = 'image_folder'\npath = 'frames'\nsource_id = 'cam-2'\n\
        [[sink]]\ntype = 'video_files'\ndir = 'out'\n\
        [[sink]]\ntype = 'metadata_json'\npath = 'out/m.jsonl'\nidle_timeout = 3\n";
    let misspelt = good.replace("dir = 'out'", "dri = 'out'");
    let unknown = good.replace("type = 'video_files'", "type = 'videos'");
    let check = |pipeline: &str| -> (bool, String) {
        let file = dir.path().join("p.toml");
        std::fs::write(&file, pipeline).unwrap();
        let out = Command::new(savant_sdk_tests::python())
            .args([
                "-c",
                "import json, sys, tomllib, jsonschema\n\
                 schema = json.load(open(sys.argv[1]))\n\
                 jsonschema.Draft202012Validator.check_schema(schema)\n\
                 jsonschema.Draft202012Validator(schema).validate(tomllib.load(open(sys.argv[2], 'rb')))\n",
                schema_path.to_str().unwrap(),
                file.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = check(good);
    assert!(ok, "{err}");
    let (ok, err) = check(&misspelt);
    assert!(!ok && err.contains("ValidationError"), "{err}");
    let (ok, err) = check(&unknown);
    assert!(!ok && err.contains("ValidationError"), "{err}");

    let (code, list, err) = run(&["run", "--list"]);
    assert_eq!(code, 0, "{err}");
    for name in [
        "source jpeg_file",
        "source png_file",
        "source image_folder",
        "source multi_stream",
        "source video_file",
        "source rtsp",
        "sink image_files",
        "sink metadata_json",
        "sink annotated",
        "sink video_files",
        "sink annotated_video",
        "sink always_on_rtsp",
        "sink fan_out",
    ] {
        assert!(list.contains(name), "{name}: {list}");
    }
    assert!(list.contains("    source_id (string, required)"), "{list}");
}

/// What a sink logs while it handles a frame joins that frame's trace in
/// the OTLP export, on the `receive` path and the `run` path: the exported
/// `savant.receive` span of each frame has the trace id `send` printed and
/// carries the sink's log line as an event.
#[test]
fn sink_logs_carry_the_frames_trace_id_in_the_otlp_export_on_receive_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.jpg");
    write_jpeg(&img, 90);
    let check = |requests: &[opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest],
                 sent: &[String],
                 event: &str| {
        let spans: Vec<_> = requests
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .filter(|s| s.name == "savant.receive")
            .collect();
        for t in sent {
            let span = spans
                .iter()
                .find(|s| s.trace_id.iter().map(|b| format!("{b:02x}")).collect::<String>() == *t)
                .unwrap_or_else(|| panic!("no savant.receive span in trace {t}: {} spans", spans.len()));
            assert!(
                span.events.iter().any(|e| e.name == event),
                "trace {t}: events {:?}",
                span.events.iter().map(|e| &e.name).collect::<Vec<_>>()
            );
        }
    };
    let sent_traces = |out: &str| -> Vec<String> {
        json_lines(out)
            .iter()
            .filter(|l| l["kind"] == "frame")
            .map(|l| l["trace_id"].as_str().unwrap().to_string())
            .collect()
    };

    // receive: its own per-message line and the metadata sink's
    let (addr, got) = grpc::grpc_receiver();
    let ep = format!("ipc://{}/r.ipc", dir.path().display());
    let receiver = Command::new(BIN)
        .args(["receive", "--socket", &format!("router+bind:{ep}")])
        .args(["--eos-count", "1", "--idle-timeout", "30"])
        .args(["--out-json", dir.path().join("m.jsonl").to_str().unwrap()])
        .args([
            "--otlp-protocol",
            "grpc",
            "--otlp-endpoint",
            &format!("http://{addr}"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, sent, err) = run(&[
        "send",
        "--socket",
        &format!("dealer+connect:{ep}"),
        "--repeat",
        "3",
        img.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let out = receiver.wait_with_output().unwrap();
    assert!(out.status.success());
    let traces = sent_traces(&sent);
    assert_eq!(traces.len(), 3);
    check(&got.lock().unwrap(), &traces, "received");
    check(&got.lock().unwrap(), &traces, "metadata record written");

    // run: a pipeline whose sink is the metadata sink, exporting per [telemetry]
    let (addr, got) = grpc::grpc_receiver();
    let ep = format!("ipc://{}/p.ipc", dir.path().display());
    let pipeline = dir.path().join("p.toml");
    std::fs::write(
        &pipeline,
        format!(
            "[telemetry]\notlp_protocol = 'grpc'\notlp_endpoint = 'http://{addr}'\n\
             [[sink]]\ntype = 'metadata_json'\npath = 'p.jsonl'\nsocket = 'router+bind:{ep}'\nidle_timeout = 30\neos_count = 1\n"
        ),
    )
    .unwrap();
    let runner = Command::new(BIN)
        .args(["run", pipeline.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let runner = common::KillOnDrop(runner);
    let (code, sent, err) = run(&[
        "send",
        "--socket",
        &format!("dealer+connect:{ep}"),
        "--repeat",
        "2",
        img.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let traces = sent_traces(&sent);
    // the reader stops after the EOS (eos_count = 1); the export is flushed at exit
    let mut runner = runner;
    assert!(runner.0.wait().unwrap().success());
    check(&got.lock().unwrap(), &traces, "metadata record written");
}
