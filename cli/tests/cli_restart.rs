//! A module restart over dealer: `savant-sdk send --pace` through
//! `savant-sdk loopback` into `savant-sdk receive`, the loopback killed
//! with SIGKILL while frames flow and started again. ZeroMQ drops what the
//! dying module had queued (dealer has no per-message acknowledgement),
//! as it does for savant-rs; `receive` reports each gap in the source's
//! seq ids as a `gap` line, so the frames received and the frames
//! reported lost add up to the frames sent, exactly.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use common::{json_lines, KillOnDrop, BIN};
use serde_json::Value;

const FRAMES: u64 = 300;

fn loopback(input: &str, output: &str) -> KillOnDrop {
    let mut lb = KillOnDrop(
        Command::new(BIN)
            .args(["loopback", "--input", &format!("router+bind:{input}")])
            .args(["--output", &format!("dealer+connect:{output}")])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut ready = BufReader::new(lb.0.stdout.take().unwrap());
    let mut line = String::new();
    ready.read_line(&mut line).unwrap();
    assert!(line.contains("\"ready\""), "{line}");
    lb
}

#[test]
fn frames_lost_in_a_module_restart_over_dealer_are_reported_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.jpg");
    image::RgbImage::from_pixel(16, 16, image::Rgb([9, 99, 199]))
        .save(&img)
        .unwrap();
    let input = format!("ipc://{}/in.ipc", dir.path().display());
    let output = format!("ipc://{}/out.ipc", dir.path().display());
    let mut receive = KillOnDrop(
        Command::new(BIN)
            .args(["receive", "--socket", &format!("router+bind:{output}")])
            .args(["--eos-count", "1", "--idle-timeout", "60"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let module = loopback(&input, &output);
    let mut send = KillOnDrop(
        Command::new(BIN)
            .args(["send", "--socket", &format!("dealer+connect:{input}")])
            .args(["--source-id", "cam", "--pace", "--fps", "100/1"])
            .args(["--repeat", &FRAMES.to_string(), img.to_str().unwrap()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // a third of the way in, the module dies and comes back
    let sent = BufReader::new(send.0.stdout.take().unwrap());
    let mut lines = sent.lines();
    for _ in 0..FRAMES / 3 {
        lines.next().unwrap().unwrap();
    }
    drop(module); // SIGKILL
    let _module = loopback(&input, &output);
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(send.0.wait().unwrap().success(), "send: {rest:?}");
    let mut out = String::new();
    receive
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(receive.0.wait().unwrap().success());
    let got = json_lines(&out);
    let frames = got
        .iter()
        .filter(|l| l["event"] == "received" && l["kind"] == "frame")
        .count() as u64;
    let lost: u64 = got
        .iter()
        .filter(|l| l["event"] == "gap")
        .map(|l| l["lost"].as_u64().unwrap())
        .sum();
    assert!(
        got.iter().any(|l| l["kind"] == "eos"),
        "the stream ended: {frames} frames"
    );
    assert_eq!(
        frames + lost,
        FRAMES,
        "{frames} received + {lost} reported lost: {:?}",
        got.iter()
            .filter(|l| l["event"] == "gap")
            .collect::<Vec<&Value>>()
    );
}
