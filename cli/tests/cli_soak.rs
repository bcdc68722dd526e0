//! Memory under churn through the command line: 60,000 source ids that
//! come and go (one frame and an EOS each) from a `SourceRunner` in this
//! test through `savant-sdk loopback` into `savant-sdk receive`. The
//! resident set of each process is read from /proc at the 30,000th and
//! the 60,000th EOS `receive` prints; over the second half each grows
//! less than [`GROWTH_KIB`] (nothing is kept per source id after its
//! EOS): 26 bytes a source id, less than any entry a map keyed by the
//! source id would keep (its key alone is a heap string). The same churn
//! of 100,000 ids in one process is `sdk-core/tests/soak.rs`.
//!
//! The same through the savant-rs 1.15.1 stand-in module (a Python
//! process on savant-rs's reader and writer) gives the reference figure:
//! every EOS arrives, and its growth is printed, not bounded (it is not
//! ours to fix).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use bytes::Bytes;
use common::{KillOnDrop, BIN};
use savant_sdk_core::client::SourceBuilder;
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::protocol::ProtocolVersion;
use savant_sdk_core::source::SourceFrame;
use savant_sdk_tests::SavantRs;

const SOURCES: usize = 60_000;

/// The most the resident set of our processes may grow over the second
/// half of the source ids, in KiB (observed: 0-20).
const GROWTH_KIB: u64 = 768;

/// The resident set of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// The module between the source and `receive`.
enum Module {
    /// `savant-sdk loopback`.
    Loopback(KillOnDrop),
    /// The savant-rs stand-in.
    StandIn(savant_sdk_tests::Peer),
}

impl Module {
    fn pid(&self) -> u32 {
        match self {
            Module::Loopback(l) => l.0.id(),
            Module::StandIn(p) => p.pid(),
        }
    }
}

fn loopback(input: &str, output: &str) -> Module {
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
    Module::Loopback(loopback)
}

fn stand_in(input: &str, output: &str) -> Module {
    let input = format!("router+bind:{input}");
    let output = format!("dealer+connect:{output}");
    Module::StandIn(SavantRs::V1_15.stand_in(&input, &output, &[]).unwrap())
}

/// RSS in KiB of (module, receive) at the middle and the last EOS.
fn soak(start_module: fn(&str, &str) -> Module, version: ProtocolVersion) -> [(u64, u64); 2] {
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
    let module = start_module(&input, &output);
    let (receive_pid, module_pid) = (receive.0.id(), module.pid());

    // the receiver's lines are read (and RSS taken) on a thread of their own
    let out = BufReader::new(receive.0.stdout.take().unwrap());
    let watcher = std::thread::spawn(move || {
        let mut eos = 0usize;
        let mut marks = Vec::new();
        for line in out.lines() {
            if line.unwrap().contains("\"kind\":\"eos\"") {
                eos += 1;
                if eos == SOURCES / 2 || eos == SOURCES {
                    marks.push((rss_kib(module_pid), rss_kib(receive_pid)));
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
            .protocol_version(version)
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
    drop(module);
    [marks[0], marks[1]]
}

#[test]
fn loopback_and_receive_stay_flat_as_source_ids_come_and_go() {
    let [(l0, r0), (l1, r1)] = soak(loopback, ProtocolVersion::default());
    eprintln!(
        "RSS at {} and {} source ids: loopback {l0} -> {l1} KiB, receive {r0} -> {r1} KiB",
        SOURCES / 2,
        SOURCES
    );
    assert!(
        l1.saturating_sub(l0) < GROWTH_KIB,
        "loopback grew {} KiB",
        l1 - l0
    );
    assert!(
        r1.saturating_sub(r0) < GROWTH_KIB,
        "receive grew {} KiB",
        r1 - r0
    );
}

#[test]
fn the_savant_rs_stand_in_carries_the_same_churn_reference_figure() {
    let [(s0, r0), (s1, r1)] = soak(stand_in, SavantRs::V1_15.protocol_version());
    eprintln!(
        "RSS at {} and {} source ids: savant-rs 1.15.1 stand-in {s0} -> {s1} KiB ({:+} KiB), \
         receive {r0} -> {r1} KiB",
        SOURCES / 2,
        SOURCES,
        s1 as i64 - s0 as i64
    );
    assert!(
        r1.saturating_sub(r0) < GROWTH_KIB,
        "receive grew {} KiB",
        r1 - r0
    );
}
