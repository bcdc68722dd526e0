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

/// A test folder with a JPEG, the module's input and output endpoints,
/// and a `receive` bound on the output until one EOS.
struct Setup {
    _dir: tempfile::TempDir,
    img: std::path::PathBuf,
    input: String,
    output: String,
    receive: KillOnDrop,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.jpg");
    image::RgbImage::from_pixel(16, 16, image::Rgb([9, 99, 199]))
        .save(&img)
        .unwrap();
    let input = format!("ipc://{}/in.ipc", dir.path().display());
    let output = format!("ipc://{}/out.ipc", dir.path().display());
    let receive = KillOnDrop(
        Command::new(BIN)
            .args(["receive", "--socket", &format!("router+bind:{output}")])
            .args(["--eos-count", "1", "--idle-timeout", "60"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    Setup {
        _dir: dir,
        img,
        input,
        output,
        receive,
    }
}

/// `send` of FRAMES paced frames over `socket`, with `extra` arguments.
fn send(socket: &str, img: &std::path::Path, extra: &[&str]) -> KillOnDrop {
    KillOnDrop(
        Command::new(BIN)
            .args(["send", "--socket", socket])
            .args(["--source-id", "cam", "--pace", "--fps", "100/1"])
            .args(extra)
            .args(["--repeat", &FRAMES.to_string(), img.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// What `receive` printed, once it ended: the pts of the frames
/// received, the frames its `gap` lines report lost, and the gap lines.
fn received(mut receive: KillOnDrop) -> (Vec<i64>, u64, Vec<Value>) {
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
    assert!(got.iter().any(|l| l["kind"] == "eos"), "the stream ended");
    let pts = got
        .iter()
        .filter(|l| l["event"] == "received" && l["kind"] == "frame")
        .map(|l| l["pts"].as_i64().unwrap())
        .collect();
    let gaps: Vec<Value> = got.into_iter().filter(|l| l["event"] == "gap").collect();
    let lost = gaps.iter().map(|l| l["lost"].as_u64().unwrap()).sum();
    (pts, lost, gaps)
}

/// Reads `send`'s stdout: `n` lines, then the module is restarted by
/// `restart`, `rounds` times; then the rest. Waits for `send` to succeed
/// and returns its lines.
fn run_send(mut send: KillOnDrop, rounds: usize, n: u64, mut restart: impl FnMut()) -> Vec<Value> {
    let mut lines = BufReader::new(send.0.stdout.take().unwrap()).lines();
    let mut sent = Vec::new();
    for _ in 0..rounds {
        for _ in 0..n {
            sent.push(lines.next().unwrap().unwrap());
        }
        restart();
    }
    sent.extend(lines.map_while(Result::ok));
    let mut err = String::new();
    send.0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(send.0.wait().unwrap().success(), "send: {err}");
    json_lines(&sent.join("\n"))
}

#[test]
fn frames_lost_in_a_module_restart_over_dealer_are_reported_exactly() {
    let s = setup();
    let (input, output) = (&s.input, &s.output);
    let mut module = Some(loopback(input, output));
    let send = send(&format!("dealer+connect:{input}"), &s.img, &[]);
    // a third of the way in, the module dies and comes back
    let _sent = run_send(send, 1, FRAMES / 3, || {
        drop(module.take()); // SIGKILL
        module = Some(loopback(input, output));
    });
    let (pts, lost, gaps) = received(s.receive);
    let frames = pts.len() as u64;
    assert_eq!(
        frames + lost,
        FRAMES,
        "{frames} received + {lost} reported lost: {gaps:?}"
    );
}

#[test]
fn a_module_killed_twice_over_req_rep_loses_nothing_unreported() {
    let s = setup();
    let rep = format!("rep+bind:{}", s.input);
    let mut module = Some(loopback_on(&rep, &s.output));
    let send = send(
        &format!("req+connect:{}", s.input),
        &s.img,
        &["--ack-timeout", "0.5", "--ack-retries", "20"],
    );
    // at a third and at two thirds, the module dies (SIGKILL) and comes back
    let sent = run_send(send, 2, FRAMES / 3, || {
        drop(module.take());
        module = Some(loopback_on(&rep, &s.output));
    });
    let sent_frames = sent.iter().filter(|l| l["kind"] == "frame").count() as u64;
    assert_eq!(sent_frames, FRAMES, "every frame was acknowledged");
    let resends: u64 = sent.iter().map(|l| l["resends"].as_u64().unwrap()).sum();

    let (pts, lost, gaps) = received(s.receive);
    drop(module);
    let mut unique = pts.clone();
    unique.sort_unstable();
    unique.dedup();
    let duplicates = (pts.len() - unique.len()) as u64;
    assert_eq!(
        unique.len() as u64 + lost,
        FRAMES,
        "{} received + {lost} reported lost ({duplicates} duplicates, {resends} resends): {gaps:?}",
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
