//! Load: `savant-sdk send --streams N` sends one video file as N streams
//! through the loopback subcommand to `receive`; the sender's peak memory
//! and threads do not grow with N.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

mod common;

use common::{json_lines, KillOnDrop, BIN};

/// `(peak RSS in kB, most threads)` of a process polled until it exits,
/// and its exit status.
fn watch(mut child: std::process::Child) -> (u64, u64, std::process::ExitStatus) {
    let status_file = format!("/proc/{}/status", child.id());
    let (mut hwm, mut threads) = (0u64, 0u64);
    loop {
        // read before checking for the exit: a zombie's status is gone
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            for l in text.lines() {
                let value = |l: &str| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                if l.starts_with("VmHWM:") {
                    hwm = hwm.max(value(l));
                } else if l.starts_with("Threads:") {
                    threads = threads.max(value(l));
                }
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (hwm, threads, status);
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Sends `clip` as `streams` streams; returns (peak RSS kB, threads).
fn send_streams(input: &str, clip: &Path, streams: usize, pattern: &str, out: &Path) -> (u64, u64) {
    let child = Command::new(BIN)
        .args(["send", "--socket", &format!("dealer+connect:{input}")])
        .args([
            "--streams",
            &streams.to_string(),
            "--source-id-pattern",
            pattern,
        ])
        .arg(clip)
        .stdout(std::fs::File::create(out).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (hwm, threads, status) = watch(child);
    assert!(status.success(), "send --streams {streams} failed");
    (hwm, threads)
}

#[test]
fn a_thousand_streams_of_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    common::make_h264_mp4(&clip, 10);
    let input = format!("ipc://{}/in.ipc", dir.path().display());
    let output = format!("ipc://{}/out.ipc", dir.path().display());
    let received = dir.path().join("received.jsonl");
    let receiver = KillOnDrop(
        Command::new(BIN)
            .args(["receive", "--socket", &format!("router+bind:{output}")])
            // runs until the module has stopped (then SIGTERM): a reader that
            // left early would leave the module's output with no peer
            .args(["--idle-timeout", "300"])
            .stdout(std::fs::File::create(&received).unwrap())
            .spawn()
            .unwrap(),
    );
    let mut module = KillOnDrop(
        Command::new(BIN)
            .args(["loopback", "--input", &format!("router+bind:{input}")])
            .args(["--output", &format!("dealer+connect:{output}")])
            .args(["--shutdown-auth", "secret"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(module.0.stdout.take().unwrap()).lines();
    let ready: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(ready["event"], "ready");

    let (rss_10, threads_10) =
        send_streams(&input, &clip, 10, "warm-%d", &dir.path().join("sent10"));
    let (rss_1000, threads_1000) =
        send_streams(&input, &clip, 1000, "cam-%d", &dir.path().join("sent1000"));
    println!("sender, 10 streams: peak RSS {rss_10} kB, {threads_10} threads");
    println!("sender, 1000 streams: peak RSS {rss_1000} kB, {threads_1000} threads");
    assert!(
        threads_1000 <= threads_10 + 2,
        "{threads_1000} vs {threads_10}"
    );
    assert!(rss_1000 < 200 * 1024, "{rss_1000} kB");

    let sent = json_lines(&std::fs::read_to_string(dir.path().join("sent1000")).unwrap());
    assert_eq!(sent.len(), 11_000);
    // round robin: frame 0 of every stream first
    assert_eq!(sent[0]["source_id"], "cam-0");
    assert_eq!(sent[999]["source_id"], "cam-999");
    assert_eq!(sent[1000]["source_id"], "cam-0");

    // a Shutdown after the last EOS stops the module
    let out = Command::new(BIN)
        .args(["send", "--socket", &format!("dealer+connect:{input}")])
        .args(["--streams", "2", "--source-id-pattern", "last-%d"])
        .args(["--shutdown-auth", "secret"])
        .arg(&clip)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(last.last().unwrap()["kind"], "shutdown");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = module.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the module did not obey the Shutdown"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "the module obeyed");

    let mut receiver = receiver;
    Command::new("kill")
        .args(["-TERM", &receiver.0.id().to_string()])
        .status()
        .unwrap();
    assert!(receiver.0.wait().unwrap().success());
    let got = json_lines(&std::fs::read_to_string(&received).unwrap());
    let mut pts: HashMap<String, Vec<i64>> = HashMap::new();
    let mut eos: HashMap<String, u32> = HashMap::new();
    for l in &got {
        let id = l["source_id"].as_str().unwrap().to_string();
        match l["kind"].as_str().unwrap() {
            "frame" => {
                assert_eq!(eos.get(&id), None, "{id}: a frame after its EOS");
                pts.entry(id).or_default().push(l["pts"].as_i64().unwrap());
            }
            "eos" => *eos.entry(id).or_default() += 1,
            _ => {}
        }
    }
    for (prefix, n) in [("warm-", 10), ("cam-", 1000)] {
        for i in 0..n {
            let id = format!("{prefix}{i}");
            let p = pts.get(&id).unwrap_or_else(|| panic!("{id}: nothing"));
            assert_eq!(p.len(), 10, "{id}: {p:?}");
            assert!(p.windows(2).all(|w| w[0] < w[1]), "{id}: {p:?}");
            assert_eq!(eos.get(&id), Some(&1), "{id}: one EOS");
        }
    }
}

#[test]
fn bad_stream_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    std::fs::write(&clip, b"x").unwrap();
    let socket = format!("dealer+connect:ipc://{}/nobody.ipc", dir.path().display());
    for (args, needle) in [
        (
            vec!["--streams", "3", "--source-id-pattern", "cam"],
            "exactly one %d",
        ),
        (
            vec!["--streams", "3", "--source-id-pattern", "c%d-%d"],
            "exactly one %d",
        ),
        (
            vec!["--streams", "0", "--source-id-pattern", "c%d"],
            "at least 1",
        ),
        (vec!["--streams", "3"], "--source-id-pattern"),
    ] {
        let out = Command::new(BIN)
            .args(["send", "--socket", &socket])
            .args(&args)
            .arg(&clip)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// `send --loss-rate P --seed S`: the same seed drops the same frames.
#[test]
fn lossy_send_drops_the_same_frames_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let jpeg = dir.path().join("a.jpg");
    image::RgbImage::from_pixel(16, 16, image::Rgb([200, 10, 10]))
        .save(&jpeg)
        .unwrap();
    let endpoint = format!("ipc://{}/out.ipc", dir.path().display());
    let mut receiver = KillOnDrop(
        Command::new(BIN)
            .args(["receive", "--socket", &format!("router+bind:{endpoint}")])
            .args(["--eos-count", "3", "--idle-timeout", "60"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let send = |id: &str, seed: &str| {
        let out = Command::new(BIN)
            .args(["send", "--socket", &format!("dealer+connect:{endpoint}")])
            .args(["--source-id", id, "--repeat", "1000"])
            .args(["--loss-rate", "0.3", "--seed", seed])
            .arg(&jpeg)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        let pts: Vec<i64> = json_lines(&String::from_utf8_lossy(&out.stdout))
            .iter()
            .filter(|l| l["kind"] == "frame")
            .map(|l| l["pts"].as_i64().unwrap())
            .collect();
        (pts, err)
    };
    let (a, err) = send("a", "5");
    let (b, _) = send("b", "5");
    let (c, _) = send("c", "6");
    assert_eq!(a, b, "the same frames dropped");
    assert_ne!(a, c);
    let dropped = 1000 - a.len();
    assert!((240..=360).contains(&dropped), "{dropped}");
    assert!(
        err.contains(&format!(
            "dropped {dropped} of 1000 frames (loss rate 0.3, seed 5)"
        )),
        "{err}"
    );
    assert!(receiver.0.wait().unwrap().success());

    for rate in ["-0.1", "1", "1.5", "NaN", "x"] {
        let out = Command::new(BIN)
            .args(["send", "--socket", &format!("dealer+connect:{endpoint}")])
            .args(["--loss-rate", rate])
            .arg(&jpeg)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{rate} should fail");
        assert!(
            err.contains("not a probability in [0, 1)") || err.contains("not a number"),
            "{rate}: {err}"
        );
    }
}

/// The `multi_stream` source type of a pipeline file, through the
/// embedded loopback into a metadata sink: every stream's frames and EOS.
#[test]
fn a_multi_stream_pipeline_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::make_h264_mp4(&d.join("clip.mp4"), 10);
    let pipeline = format!(
        r#"[loopback]
input = "router+bind:ipc://{d}/in.ipc"
output = "dealer+connect:ipc://{d}/out.ipc"

[module]
input = "dealer+connect:ipc://{d}/in.ipc"
output = "router+bind:ipc://{d}/out.ipc"

[[source]]
type = "multi_stream"
path = "clip.mp4"
streams = 50
source_id_pattern = "cam-%d"

[[sink]]
type = "metadata_json"
path = "out.jsonl"
idle_timeout = 60
"#,
        d = d.display()
    );
    let file = d.join("p.toml");
    std::fs::write(&file, pipeline).unwrap();
    let out = Command::new(BIN)
        .args(["run", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = json_lines(&std::fs::read_to_string(d.join("out.jsonl")).unwrap());
    let mut frames: HashMap<String, Vec<i64>> = HashMap::new();
    let mut eos: HashMap<String, u32> = HashMap::new();
    for l in &got {
        let id = l["source_id"].as_str().unwrap().to_string();
        if l["event"] == "frame" {
            frames
                .entry(id)
                .or_default()
                .push(l["pts"].as_i64().unwrap());
        } else if l["event"] == "eos" {
            *eos.entry(id).or_default() += 1;
        }
    }
    assert_eq!(frames.len(), 50);
    for i in 0..50 {
        let id = format!("cam-{i}");
        assert_eq!(frames[&id].len(), 10, "{id}");
        assert!(frames[&id].windows(2).all(|w| w[0] < w[1]), "{id}");
        assert_eq!(eos.get(&id), Some(&1), "{id}");
    }
}
