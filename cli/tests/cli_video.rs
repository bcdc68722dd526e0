//! `savant-sdk send` with video inputs, run as a user would: a video file
//! made here with gst-launch-1.0 goes through the loopback subcommand to
//! `receive`, with an EOS per file; bad video inputs give one clear line.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

mod common;

use common::{json_lines, KillOnDrop, BIN};

fn make_mp4(path: &Path, frames: u32) {
    let status = Command::new("gst-launch-1.0")
        .args(["-q", "videotestsrc"])
        .arg(format!("num-buffers={frames}"))
        .args([
            "!",
            "video/x-raw,width=160,height=120,framerate=25/1",
            "!",
            "x264enc",
            "speed-preset=ultrafast",
            "key-int-max=5",
            "!",
            "h264parse",
            "!",
            "mp4mux",
            "!",
            "filesink",
        ])
        .arg(format!("location={}", path.display()))
        .status()
        .expect("gst-launch-1.0 (scripts/setup.sh installs it)");
    assert!(status.success());
}

#[test]
fn send_video_files_through_the_loopback_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    std::fs::create_dir(&videos).unwrap();
    make_mp4(&videos.join("a.mp4"), 10);
    make_mp4(&videos.join("b.mp4"), 7);
    let input = format!("ipc://{}/in.ipc", dir.path().display());
    let output = format!("ipc://{}/out.ipc", dir.path().display());
    let receiver = Command::new(BIN)
        .args([
            "receive",
            "--socket",
            &format!("router+bind:{output}"),
            "--eos-count",
            "3",
            "--idle-timeout",
            "20",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut module = KillOnDrop(
        Command::new(BIN)
            .args([
                "loopback",
                "--input",
                &format!("router+bind:{input}"),
                "--output",
                &format!("dealer+connect:{output}"),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(module.0.stdout.take().unwrap()).lines();
    let ready: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(ready["event"], "ready");

    let out = Command::new(BIN)
        .args([
            "send",
            "--socket",
            &format!("dealer+connect:{input}"),
            "--source-id",
            "cam-7",
            videos.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent = json_lines(&String::from_utf8_lossy(&out.stdout));
    let kinds: Vec<&str> = sent.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    let mut expected = vec!["frame"; 10];
    expected.push("eos");
    expected.extend(vec!["frame"; 7]);
    expected.push("eos");
    assert_eq!(kinds, expected, "a frame per access unit, an EOS per file");

    // --no-eos: the EOS between the files is sent, the last one is not.
    let out = Command::new(BIN)
        .args([
            "send",
            "--socket",
            &format!("dealer+connect:{input}"),
            "--source-id",
            "cam-7",
            "--no-eos",
            videos.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = json_lines(&String::from_utf8_lossy(&out.stdout));
    let kinds: Vec<&str> = again.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, expected[..expected.len() - 1].to_vec());

    let out = receiver.wait_with_output().unwrap();
    assert!(out.status.success());
    let got = json_lines(&String::from_utf8_lossy(&out.stdout));
    // The receiver stops at the third EOS: the one between the files of
    // the second send.
    assert_eq!(got.len(), sent.len() + 11, "{got:?}");
    for (s, r) in sent.iter().zip(&got) {
        assert_eq!(r["kind"], s["kind"]);
        assert_eq!(r["trace_id"], s["trace_id"]);
        if s["kind"] == "frame" {
            assert_eq!(r["content_bytes"], s["content_bytes"]);
        }
    }
    assert_eq!(got[0]["codec"], "h264");
    assert_eq!(got[0]["width"], 160);
    assert_eq!(got[0]["source_id"], "cam-7");

    Command::new("kill")
        .args(["-TERM", &module.0.id().to_string()])
        .status()
        .unwrap();
    assert!(module.0.wait().unwrap().success());
}

#[test]
fn bad_video_inputs_give_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.mp4");
    std::fs::write(&fake, "not a video, just text\n".repeat(100)).unwrap();
    let image = dir.path().join("a.jpg");
    std::fs::write(&image, [0xff, 0xd8, 0xff, 0xd9]).unwrap();
    let socket = format!("dealer+connect:ipc://{}/nobody.ipc", dir.path().display());
    for (inputs, needle) in [
        (vec![fake.to_str().unwrap()], "unsupported container"),
        (vec!["/nonexistent/clip.mp4"], "/nonexistent/clip.mp4"),
        (
            vec![fake.to_str().unwrap(), image.to_str().unwrap()],
            "not a video input",
        ),
        (vec!["rtsp://user:secret@"], "invalid setting"),
    ] {
        let out = Command::new(BIN)
            .args(["send", "--socket", &socket])
            .args(&inputs)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{inputs:?} should fail");
        assert!(err.contains(needle), "{inputs:?}: {err}");
        assert!(!err.contains("secret"), "credentials stay out: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
}
