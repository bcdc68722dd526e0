//! Round-trip latency of one frame through a module over ipc, dealer ->
//! router on both hops: our embedded loopback module beside the savant-rs
//! 0.3.0 stand-in module (`savant_peer.py standin`), measured in the same
//! run with the same client. Frames go one at a time (send, wait for it to
//! come back), so this is latency, not throughput.
//!
//! `cargo bench -p savant-sdk-tests --bench latency [-- --quick]`
//!
//! Target (issue "Client SDK"): our p50 at most half of the savant-rs path's.

use std::time::{Duration, Instant};

use savant_sdk_core::model::*;
use savant_sdk_core::transport::*;
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_tests::{payload, SavantRs};

const CONTENT: usize = 64 * 1024;

fn round_trips(input: &str, output_reader: &mut BlockingReader, n: usize) -> Vec<f64> {
    let mut writer = BlockingWriter::new(
        WriterConfig::builder(&format!("dealer+connect:{input}"))
            .unwrap()
            .build()
            .unwrap(),
    )
    .unwrap();
    let content = payload(3, CONTENT);
    let mut out = Vec::with_capacity(n);
    for i in 0..(n + 50) {
        let frame = Message::video_frame(
            VideoFrame::builder("lat")
                .codec("jpeg")
                .pts(i as i64)
                .content(FrameContent::external_zeromq())
                .build(),
        );
        let start = Instant::now();
        writer
            .send_message("lat", &frame, std::slice::from_ref(&content))
            .unwrap();
        loop {
            match output_reader.receive().unwrap() {
                ReaderResult::Message(m) => {
                    assert_eq!(m.message.as_video_frame().unwrap().pts, i as i64);
                    break;
                }
                ReaderResult::Timeout => panic!("frame {i} did not come back"),
                _ => {}
            }
        }
        if i >= 50 {
            // the first 50 warm up connections and caches
            out.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    out.sort_by(f64::total_cmp);
    out
}

fn pct(v: &[f64], p: f64) -> f64 {
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn reader(output: &str) -> BlockingReader {
    BlockingReader::new(
        ReaderConfig::builder(&format!("router+bind:{output}"))
            .unwrap()
            .receive_timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
    )
    .unwrap()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 300 } else { 3000 };
    let dir = tempfile::tempdir().unwrap();

    let ours_with = |spin: Option<Duration>, name: &str| {
        let (input, output) = (
            format!("ipc://{}/{name}-in.ipc", dir.path().display()),
            format!("ipc://{}/{name}-out.ipc", dir.path().display()),
        );
        let mut r = reader(&output);
        let mut config = LoopbackConfig::new(
            format!("router+bind:{input}"),
            format!("dealer+connect:{output}"),
        );
        if let Some(spin) = spin {
            config = config.spin(spin);
        }
        let module = LoopbackModule::start(config).unwrap();
        let v = round_trips(&input, &mut r, n);
        module.stop().unwrap();
        v
    };
    let ours = ours_with(None, "ours");
    let ours_no_spin = ours_with(Some(Duration::ZERO), "ours-nospin");

    let (input, output) = (
        format!("ipc://{}/savant-in.ipc", dir.path().display()),
        format!("ipc://{}/savant-out.ipc", dir.path().display()),
    );
    let mut r = reader(&output);
    let standin = SavantRs::V0_3
        .stand_in(
            &format!("router+bind:{input}"),
            &format!("dealer+connect:{output}"),
            &[],
        )
        .unwrap();
    let theirs = round_trips(&input, &mut r, n);
    drop(standin);

    println!(
        "round trip of one {} KB frame over ipc, dealer->router both hops, {n} frames",
        CONTENT / 1024
    );
    println!(
        "  our loopback (default)    : p50 {:>8.1} us  p99 {:>8.1} us",
        pct(&ours, 0.5),
        pct(&ours, 0.99)
    );
    println!(
        "  ours, spin off            : p50 {:>8.1} us  p99 {:>8.1} us",
        pct(&ours_no_spin, 0.5),
        pct(&ours_no_spin, 0.99)
    );
    println!(
        "  savant-rs 0.3.0 stand-in  : p50 {:>8.1} us  p99 {:>8.1} us",
        pct(&theirs, 0.5),
        pct(&theirs, 0.99)
    );
    let ratio = pct(&ours, 0.5) / pct(&theirs, 0.5);
    println!(
        "  p50 ratio ours/savant-rs  : {ratio:.2} (target <= 0.50) {}",
        if ratio <= 0.5 { "MET" } else { "NOT MET" }
    );
}
