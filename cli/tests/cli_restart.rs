//! A module restart over dealer: `savant-sdk send --pace` through
//! `savant-sdk loopback` into `savant-sdk receive`, the loopback killed
//! with SIGKILL while frames flow and started again. ZeroMQ drops what the
//! dying module had queued (dealer has no per-message acknowledgement),
//! as it does for savant-rs; `receive` reports each gap in the source's
//! seq ids as a `gap` line, so the frames received and the frames
//! reported lost add up to the frames sent, exactly.
//!
//! Over req/rep every message is acknowledged: the module is killed twice
//! and nothing is lost or unreported. A message whose `OK` did not come is
//! sent again (counted in `send`'s `resends`); what the dying module had
//! queued on its own output shows as a gap at `receive`.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use common::{json_lines, KillOnDrop, BIN};
use serde_json::Value;

const FRAMES: u64 = 300;

fn loopback(input: &str, output: &str) -> KillOnDrop {
    loopback_on(&format!("router+bind:{input}"), output)
}

fn loopback_on(input_spec: &str, output: &str) -> KillOnDrop {
    let mut lb = KillOnDrop(
        Command::new(BIN)
            .args(["loopback", "--input", input_spec])
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

#[test]
fn a_module_killed_twice_over_req_rep_loses_nothing_unreported() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.jpg");
    image::RgbImage::from_pixel(16, 16, image::Rgb([9, 99, 199]))
        .save(&img)
        .unwrap();
    let input = format!("rep+bind:ipc://{}/in.ipc", dir.path().display());
    let output = format!("ipc://{}/out.ipc", dir.path().display());
    let mut receive = KillOnDrop(
        Command::new(BIN)
            .args(["receive", "--socket", &format!("router+bind:{output}")])
            .args(["--eos-count", "1", "--idle-timeout", "60"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut module = loopback_on(&input, &output);
    let mut send = KillOnDrop(
        Command::new(BIN)
            .args([
                "send",
                "--socket",
                &format!("req+connect:ipc://{}/in.ipc", dir.path().display()),
            ])
            .args(["--source-id", "cam", "--pace", "--fps", "100/1"])
            .args(["--ack-timeout", "0.5", "--ack-retries", "20"])
            .args(["--repeat", &FRAMES.to_string(), img.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let sent = BufReader::new(send.0.stdout.take().unwrap());
    let mut lines = sent.lines();
    let mut sent_lines = Vec::new();
    // at a third and at two thirds, the module dies (SIGKILL) and comes back
    for _ in 0..2 {
        for _ in 0..FRAMES / 3 {
            sent_lines.push(lines.next().unwrap().unwrap());
        }
        drop(module);
        module = loopback_on(&input, &output);
    }
    sent_lines.extend(lines.map_while(Result::ok));
    let mut err = String::new();
    send.0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(send.0.wait().unwrap().success(), "send: {err}");
    let sent = json_lines(&sent_lines.join("\n"));
    let sent_frames = sent.iter().filter(|l| l["kind"] == "frame").count() as u64;
    assert_eq!(sent_frames, FRAMES, "every frame was acknowledged: {err}");
    let resends: u64 = sent.iter().map(|l| l["resends"].as_u64().unwrap()).sum();

    let mut out = String::new();
    receive
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(receive.0.wait().unwrap().success());
    drop(module);
    let got = json_lines(&out);
    let pts: Vec<i64> = got
        .iter()
        .filter(|l| l["event"] == "received" && l["kind"] == "frame")
        .map(|l| l["pts"].as_i64().unwrap())
        .collect();
    let mut unique = pts.clone();
    unique.sort_unstable();
    unique.dedup();
    let duplicates = (pts.len() - unique.len()) as u64;
    let lost: u64 = got
        .iter()
        .filter(|l| l["event"] == "gap")
        .map(|l| l["lost"].as_u64().unwrap())
        .sum();
    assert!(got.iter().any(|l| l["kind"] == "eos"), "the stream ended");
    assert_eq!(
        unique.len() as u64 + lost,
        FRAMES,
        "{} received + {lost} reported lost ({duplicates} duplicates, {resends} resends)",
        unique.len()
    );
    assert!(
        duplicates <= resends,
        "a duplicate comes only from a resend: {duplicates} duplicates, {resends} resends"
    );
    eprintln!(
        "req/rep, module killed twice: {} of {FRAMES} received, {lost} reported lost at the \
         module's output, {duplicates} duplicates, {resends} resends",
        unique.len()
    );
}
