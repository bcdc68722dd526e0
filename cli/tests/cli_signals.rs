//! SIGTERM and SIGINT while frames flow, to `send` (images and video),
//! `receive`, `loopback` and `run`: each exits 0 within 5 s of the
//! signal, the real savant-rs 1.15.1 reader gets the EOS of every stream
//! that was open, and `receive`'s sinks have flushed their files.
//!
//! Readiness is read from the processes' own output (a frame line, the
//! loopback's `ready` line), never slept for.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::{json_lines, KillOnDrop, BIN};
use savant_sdk_tests::{Peer, SavantRs};
use serde_json::Value;

/// How long a process may take to exit after the signal.
const BOUND: Duration = Duration::from_secs(5);

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

fn mp4(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("clip.mp4");
    let status = Command::new("gst-launch-1.0")
        .args(["-q", "videotestsrc", "num-buffers=50", "!"])
        .args(["video/x-raw,width=160,height=120,framerate=25/1", "!"])
        .args(["x264enc", "speed-preset=ultrafast", "key-int-max=5", "!"])
        .args(["h264parse", "!", "mp4mux", "!", "filesink"])
        .arg(format!("location={}", path.display()))
        .status()
        .expect("gst-launch-1.0 (scripts/setup.sh installs it)");
    assert!(status.success());
    path.to_str().unwrap().to_string()
}

/// A savant-rs 1.15.1 reader bound at `ep`, ready, until one EOS.
fn savant_reader(ep: &str) -> Peer {
    let mut reader = SavantRs::V1_15
        .spawn(&[
            "reader",
            "--socket",
            &format!("router+bind:{ep}"),
            "--eos-count",
            "1",
            "--timeout",
            "60",
        ])
        .unwrap();
    reader.wait_ready(Duration::from_secs(20)).unwrap();
    reader
}

/// Reads JSON lines from `out` until one satisfies `until`; returns the
/// reader for more.
fn wait_for(out: ChildStdout, until: impl Fn(&Value) -> bool) -> BufReader<ChildStdout> {
    let mut lines = BufReader::new(out);
    let started = Instant::now();
    let mut line = String::new();
    loop {
        line.clear();
        let n = lines.read_line(&mut line).unwrap();
        assert!(n > 0, "the process ended before it was ready");
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            if until(&v) {
                return lines;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(60), "not ready");
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for `child` to exit after a signal: its exit code within the bound.
fn exits_in_time(mut child: KillOnDrop, what: &str) -> i32 {
    let asked = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            let took = asked.elapsed();
            assert!(
                took < BOUND,
                "{what} took {took:?} to exit after the signal"
            );
            return status.code().unwrap_or(-1);
        }
        assert!(
            asked.elapsed() < BOUND + Duration::from_secs(5),
            "{what} still running {:?} after the signal",
            asked.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn(args: &[&str]) -> KillOnDrop {
    KillOnDrop(
        Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    )
}

/// `send --loop --pace INPUT` into a savant-rs reader; `signal` once
/// frames flow; exit 0 in time and the reader's last message the EOS.
fn send_stops_with_eos(input: &str, sig: &str) {
    let dir = tempfile::tempdir().unwrap();
    let ep = ipc(&dir, "in");
    let reader = savant_reader(&ep);
    let socket = format!("dealer+connect:{ep}");
    let mut send = spawn(&[
        "send",
        "--socket",
        &socket,
        "--source-id",
        "cam-1",
        "--protocol-version",
        "1.15.1",
        "--loop",
        "--pace",
        input,
    ]);
    let out = send.0.stdout.take().unwrap();
    let _rest = wait_for(out, |l| l["kind"] == "frame" && l["pts"].as_i64() > Some(0));
    signal(&send.0, sig);
    assert_eq!(exits_in_time(send, "send"), 0);
    let (status, lines) = reader.finish(Duration::from_secs(30)).unwrap();
    assert!(status.success(), "{lines:?}");
    let got: Vec<&Value> = lines.iter().filter(|l| l["event"] == "message").collect();
    assert!(got.len() >= 3, "frames flowed: {lines:?}");
    let last = got.last().unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["topic"].as_str()),
        (Some("eos"), Some("cam-1")),
        "{lines:?}"
    );
}

#[test]
fn sigterm_to_an_image_send_ends_its_stream_with_eos() {
    let dir = tempfile::tempdir().unwrap();
    send_stops_with_eos(&jpeg(&dir), "TERM");
}

#[test]
fn sigint_to_an_image_send_ends_its_stream_with_eos() {
    let dir = tempfile::tempdir().unwrap();
    send_stops_with_eos(&jpeg(&dir), "INT");
}

#[test]
fn sigterm_to_a_video_send_ends_its_stream_with_eos() {
    let dir = tempfile::tempdir().unwrap();
    send_stops_with_eos(&mp4(&dir), "TERM");
}

#[test]
fn sigterm_to_run_ends_every_open_stream_with_eos() {
    let dir = tempfile::tempdir().unwrap();
    let ep = ipc(&dir, "in");
    let reader = savant_reader(&ep);
    let img = jpeg(&dir);
    let pipeline = dir.path().join("p.toml");
    std::fs::write(
        &pipeline,
        format!(
            "protocol_version = '1.15.1'\n\
             [[source]]\ntype = 'jpeg_file'\npath = {img:?}\nsource_id = 'cam-1'\nrepeat = 0\npace = true\nsocket = 'dealer+connect:{ep}'\n"
        ),
    )
    .unwrap();
    let mut run = spawn(&["run", pipeline.to_str().unwrap()]);
    // `run` prints nothing per frame: wait until the reader sees frames
    let mut reader = reader;
    let first = reader.next_line(Duration::from_secs(30)).unwrap();
    assert_eq!(first["event"], "message", "{first}");
    signal(&run.0, "TERM");
    let out = run.0.stdout.take().unwrap();
    assert_eq!(exits_in_time(run, "run"), 0);
    let done: Vec<Value> = BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    let source = done
        .iter()
        .find(|l| l["event"] == "source_done")
        .unwrap_or_else(|| panic!("{done:?}"));
    assert_eq!(source["outcome"], "stopped", "{source}");
    let (status, lines) = reader.finish(Duration::from_secs(30)).unwrap();
    assert!(status.success(), "{lines:?}");
    let last = lines
        .iter()
        .rfind(|l| l["event"] == "message")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(last["kind"], "eos", "{lines:?}");
}

#[test]
fn sigterm_to_receive_flushes_its_files_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let ep = ipc(&dir, "out");
    let json = dir.path().join("meta.jsonl");
    let images = dir.path().join("images");
    let mut receive = spawn(&[
        "receive",
        "--socket",
        &format!("router+bind:{ep}"),
        "--idle-timeout",
        "60",
        "--out-json",
        json.to_str().unwrap(),
        "--out-images",
        images.to_str().unwrap(),
    ]);
    let img = jpeg(&dir);
    let _send = spawn(&[
        "send",
        "--socket",
        &format!("dealer+connect:{ep}"),
        "--loop",
        "--pace",
        &img,
    ]);
    let out = receive.0.stdout.take().unwrap();
    let _rest = wait_for(out, |l| l["kind"] == "frame" && l["pts"].as_i64() > Some(0));
    signal(&receive.0, "TERM");
    assert_eq!(exits_in_time(receive, "receive"), 0);
    let text = std::fs::read_to_string(&json).unwrap();
    let records = json_lines(&text);
    assert!(records.len() >= 2, "{text}");
    assert_eq!(
        records.len(),
        text.lines().count(),
        "every line complete: {text}"
    );
    let written = std::fs::read_dir(images.join("client")).unwrap().count();
    assert!(written >= 2, "{written} images");
}

#[test]
fn sigterm_to_loopback_stops_it_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
    let mut lb = spawn(&[
        "loopback",
        "--input",
        &format!("router+bind:{input}"),
        "--output",
        &format!("dealer+connect:{output}"),
    ]);
    let out = lb.0.stdout.take().unwrap();
    let rest = wait_for(out, |l| l["event"] == "ready");
    let img = jpeg(&dir);
    // frames flow into it (nobody reads its output: it queues them)
    let _send = spawn(&[
        "send",
        "--socket",
        &format!("dealer+connect:{input}"),
        "--loop",
        "--pace",
        &img,
    ]);
    std::thread::yield_now();
    signal(&lb.0, "TERM");
    assert_eq!(exits_in_time(lb, "loopback"), 0);
    let stopped: Vec<Value> = rest
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    assert!(
        stopped
            .iter()
            .any(|l| l["event"] == "stopped" && l["reason"] == "signal"),
        "{stopped:?}"
    );
}
