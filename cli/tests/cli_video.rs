//! `savant-sdk send` with video inputs, run as a user would: a video file
//! made here with gst-launch-1.0 goes through the loopback subcommand to
//! `receive`, with an EOS per file; bad video inputs give one clear line.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

mod common;

use common::{json_lines, KillOnDrop, BIN};
use savant_sdk_tests::rtsp_player::play_rtsp;

#[test]
fn send_video_files_through_the_loopback_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    std::fs::create_dir(&videos).unwrap();
    common::make_h264_mp4(&videos.join("a.mp4"), 10);
    common::make_h264_mp4(&videos.join("b.mp4"), 7);
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

/// A `receive` on a fresh router socket that stops after `eos` EOS.
fn receiver(endpoint: &str, eos: u32, extra: &[&str]) -> KillOnDrop {
    KillOnDrop(
        Command::new(BIN)
            .args(["receive", "--socket", &format!("router+bind:{endpoint}")])
            .args(["--eos-count", &eos.to_string(), "--idle-timeout", "30"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

fn send(endpoint: &str, args: &[&str]) -> Vec<Value> {
    let out = Command::new(BIN)
        .args(["send", "--socket", &format!("dealer+connect:{endpoint}")])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&String::from_utf8_lossy(&out.stdout))
}

fn finish(mut child: KillOnDrop) -> (bool, String, String) {
    let mut out = String::new();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.0.stdout.take().unwrap(), &mut out).unwrap();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut err).unwrap();
    (child.0.wait().unwrap().success(), out, err)
}

#[test]
fn several_video_inputs_repeat_keep_pts_increasing_and_name_each_frames_file() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.mp4"), dir.path().join("b.mp4"));
    common::make_h264_mp4(&a, 5);
    common::make_h264_mp4(&b, 4);
    let ep = format!("ipc://{}/m.ipc", dir.path().display());
    // an EOS per file, two rounds
    let rx = receiver(&ep, 4, &[]);
    let sent = send(
        &ep,
        &[
            "--source-id",
            "v",
            "--repeat",
            "2",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
    );
    let (ok, _, err) = finish(rx);
    assert!(ok, "{err}");
    let frames: Vec<&Value> = sent.iter().filter(|l| l["kind"] == "frame").collect();
    assert_eq!(
        frames.len(),
        18,
        "--repeat 2 sends both files twice: {sent:?}"
    );
    let pts: Vec<i64> = frames.iter().map(|l| l["pts"].as_i64().unwrap()).collect();
    assert!(
        pts.windows(2).all(|w| w[0] < w[1]),
        "pts of source v keep increasing: {pts:?}"
    );
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let files: Vec<&str> = frames.iter().map(|l| l["file"].as_str().unwrap()).collect();
    let mut expected = Vec::new();
    for _ in 0..2 {
        expected.extend([a; 5]);
        expected.extend([b; 4]);
    }
    assert_eq!(files, expected, "each frame names its own file");
    let eos: Vec<&str> = sent
        .iter()
        .filter(|l| l["kind"] == "eos")
        .map(|l| l["file"].as_str().unwrap())
        .collect();
    assert_eq!(eos, [a, b, a, b]);
}

#[test]
fn images_and_video_together_are_refused_the_same_way_in_a_folder_and_as_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let mixed = dir.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    common::make_h264_mp4(&mixed.join("clip.mp4"), 3);
    image::RgbImage::from_pixel(16, 16, image::Rgb([1, 2, 3]))
        .save_with_format(mixed.join("a.jpg"), image::ImageFormat::Jpeg)
        .unwrap();
    let socket = format!("dealer+connect:ipc://{}/nobody.ipc", dir.path().display());
    let clip = mixed.join("clip.mp4");
    let jpg = mixed.join("a.jpg");
    for inputs in [
        vec![mixed.to_str().unwrap()],
        vec![clip.to_str().unwrap(), jpg.to_str().unwrap()],
        vec![jpg.to_str().unwrap(), clip.to_str().unwrap()],
    ] {
        let out = Command::new(BIN)
            .args(["send", "--socket", &socket])
            .args(&inputs)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{inputs:?} should be refused");
        assert!(
            err.contains("send images and video in separate commands"),
            "{inputs:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "nothing sent: {inputs:?}");
    }
}

#[test]
fn out_video_on_a_mixed_stream_skips_the_jpeg_frames_and_writes_the_video() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    common::make_h264_mp4(&clip, 6);
    let image = dir.path().join("a.jpg");
    image::RgbImage::from_pixel(16, 16, image::Rgb([1, 2, 3]))
        .save_with_format(&image, image::ImageFormat::Jpeg)
        .unwrap();
    let out_dir = dir.path().join("videos");
    let ep = format!("ipc://{}/m.ipc", dir.path().display());
    let rx = receiver(&ep, 3, &["--out-video", out_dir.to_str().unwrap()]);
    // JPEG frames of source "cam", then H.264 of "v", then JPEG again
    send(&ep, &["--source-id", "cam", image.to_str().unwrap()]);
    send(&ep, &["--source-id", "v", clip.to_str().unwrap()]);
    send(&ep, &["--source-id", "cam", image.to_str().unwrap()]);
    let (ok, out, err) = finish(rx);
    assert!(ok, "receive keeps going past JPEG frames: {err}");
    let got = json_lines(&out);
    assert_eq!(
        got.iter().filter(|l| l["kind"] == "eos").count(),
        3,
        "{got:?}"
    );
    let videos: Vec<_> = std::fs::read_dir(out_dir.join("v"))
        .expect("a folder for source v")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    assert_eq!(videos.len(), 1, "{videos:?}");
    assert!(std::fs::metadata(&videos[0]).unwrap().len() > 0);
    assert!(!out_dir.join("cam").exists(), "no video for a JPEG source");
}

/// `receive --out-rtsp 0 --out-annotated-video DIR`: a video file sent
/// through the loopback subcommand is served over RTSP (a `gst-launch-1.0
/// rtspsrc` player gets pictures) and written re-encoded. The RTSP output
/// goes on with its stub picture after the stream, so `receive` runs until
/// the player is done and the EOS is in, then ends on SIGTERM, which
/// finishes its files.
#[test]
fn receive_serves_rtsp_and_writes_annotated_video() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("a.mp4");
    common::make_h264_mp4(&video, 60);
    let input = format!("ipc://{}/in.ipc", dir.path().display());
    let output = format!("ipc://{}/out.ipc", dir.path().display());
    let annotated = dir.path().join("annotated");
    let mut receiver = KillOnDrop(
        Command::new(BIN)
            .args(["receive", "--socket", &format!("router+bind:{output}")])
            .args(["--idle-timeout", "120"])
            .args(["--out-rtsp", "0", "--rtsp-address", "127.0.0.1"])
            .args(["--rtsp-framerate", "25/1"])
            .args(["--out-annotated-video", annotated.to_str().unwrap()])
            .stdout(Stdio::piped())
            // a file: a pipe nobody reads could fill and stop it
            .stderr(std::fs::File::create(dir.path().join("receive.err")).unwrap())
            .spawn()
            .unwrap(),
    );
    let mut received = BufReader::new(receiver.0.stdout.take().unwrap()).lines();
    let rtsp: Value = serde_json::from_str(&received.next().unwrap().unwrap()).unwrap();
    assert_eq!(rtsp["event"], "rtsp_output", "{rtsp}");
    let url = rtsp["url"]
        .as_str()
        .unwrap()
        .replace("<source_id>", "cam-9");
    let mut module = KillOnDrop(
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
    // paced at the file's 25 fps: 2.4 s of frames, then the stub picture
    let sender = Command::new(BIN)
        .args(["send", "--socket", &format!("dealer+connect:{input}")])
        .args(["--source-id", "cam-9", "--pace", video.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the stream is mounted at the first frame: the player retries until then
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let played = loop {
        // each attempt killed after 20 s
        let run = play_rtsp(&url, 10, std::time::Duration::from_secs(20)).unwrap();
        if run.decoded || std::time::Instant::now() > deadline {
            break run;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(
        played.decoded,
        "a player decoded 10 pictures from {url}: {}",
        played.output
    );
    let sent = sender.wait_with_output().unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    // every frame and the EOS received (a line each), then the signal
    let mut frames = 0;
    let eos = received.any(|l| {
        let l: Value = serde_json::from_str(&l.unwrap()).unwrap();
        frames += usize::from(l["kind"] == "frame");
        l["kind"] == "eos"
    });
    assert!(
        eos && frames == 60,
        "receive got {frames} frames, EOS {eos}"
    );
    let status = Command::new("kill")
        .args(["-TERM", &receiver.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = receiver.0.wait().unwrap();
    assert!(status.success(), "receive after SIGTERM: {status}");
    let files: Vec<_> = std::fs::read_dir(annotated.join("cam-9"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let meta = std::fs::read_to_string(files[0].with_extension("jsonl")).unwrap();
    assert_eq!(json_lines(&meta).len(), 60, "every frame re-encoded");
}
