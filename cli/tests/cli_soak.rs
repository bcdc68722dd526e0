//! Memory under churn through the command line: 100,000 source ids that
//! come and go (one frame and an EOS each) from a `SourceRunner` in this
//! test through `savant-sdk loopback` into `savant-sdk receive`. The
//! resident set of each process is read from /proc at the 50,000th and
//! the 100,000th EOS `receive` prints; over the second half each grows
//! less than 1 MB (nothing is kept per source id after its EOS).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use bytes::Bytes;
use common::{KillOnDrop, BIN};
use savant_sdk_core::client::SourceBuilder;
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::source::SourceFrame;

const SOURCES: usize = 100_000;

/// The resident set of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn loopback_and_receive_stay_flat_as_source_ids_come_and_go() {
    let dir = tempfile::tempdir().unwrap();
    let input = format!("ipc://{}/in.ipc", dir.path().display());
    let output = format!("ipc://{}/out.ipc", dir.path().display());
    let mut receive = KillOnDrop(
        Command::new(BIN)
            .args(["receive", "--socket", &format!("router+bind:{output}")])
            .args(["--eos-count", &SOURCES.to_string(), "--idle-timeout", "120"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut loopback = KillOnDrop(
        Command::new(BIN)
            .args(["loopback", "--input", &format!("router+bind:{input}")])
            .args(["--output", &format!("dealer+connect:{output}")])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut ready = BufReader::new(loopback.0.stdout.take().unwrap());
    let mut line = String::new();
    ready.read_line(&mut line).unwrap();
    assert!(line.contains("\"ready\""), "{line}");
    let (receive_pid, loopback_pid) = (receive.0.id(), loopback.0.id());

    // the receiver's lines are read (and RSS taken) on a thread of their own
    let out = BufReader::new(receive.0.stdout.take().unwrap());
    let watcher = std::thread::spawn(move || {
        let mut eos = 0usize;
        let mut marks = Vec::new();
        for line in out.lines() {
            if line.unwrap().contains("\"kind\":\"eos\"") {
                eos += 1;
                if eos == SOURCES / 2 || eos == SOURCES {
                    marks.push((rss_kib(loopback_pid), rss_kib(receive_pid)));
                }
            }
        }
        (eos, marks)
    });

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let source = SourceBuilder::new(format!("dealer+connect:{input}"))
            .telemetry_off()
            .build()
            .await
            .unwrap();
        let payload = Bytes::from_static(&[0xA5; 64]);
        for i in 0..SOURCES {
            let id = format!("cam-{i}");
            let frame = VideoFrame::builder(id.as_str()).codec("jpeg").build();
            source
                .send(SourceFrame::new(frame, payload.clone()))
                .await
                .unwrap();
            source.send_eos(&id).await.unwrap();
        }
        source.close().await;
    });
    let status = receive.0.wait().unwrap();
    assert!(status.success());
    let (eos, marks) = watcher.join().unwrap();
    assert_eq!(eos, SOURCES);
    let ((l0, r0), (l1, r1)) = (marks[0], marks[1]);
    eprintln!(
        "RSS at {} and {} source ids: loopback {l0} -> {l1} KiB, receive {r0} -> {r1} KiB",
        SOURCES / 2,
        SOURCES
    );
    assert!(
        l1.saturating_sub(l0) < 1024,
        "loopback grew {} KiB",
        l1 - l0
    );
    assert!(r1.saturating_sub(r0) < 1024, "receive grew {} KiB", r1 - r0);
}
