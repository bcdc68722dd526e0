//! Writer-to-reader throughput over ipc, dealer to router, for
//! metadata-only frames and for 300 KB frames: ours beside savant-rs
//! 1.15.1 and savant-rs 0.3.0 (each its Python `BlockingWriter` ->
//! `BlockingReader`, two processes) measured in the same run, the three
//! alternating. Ours stamps `"1.15.1"` (the layout with `system_id`).
//!
//! `cargo bench -p savant-sdk-tests --bench throughput [-- --quick]`
//!
//! Targets: at least 3x savant-rs 1.15.1 messages/s for metadata-only
//! frames, at least 1.3x its MB/s for 300 KB frames (the ratios to 0.3.0
//! are printed beside them).

use savant_sdk_tests::bench::{best, raw_transport as ours, savant_rs_pair as savant_rs, Figure};
use savant_sdk_tests::SavantRs;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let dir = tempfile::tempdir().unwrap();
    // Runs of about half a second each (ours) to a few seconds (Python);
    // the three alternate so that all see the same machine load; the best
    // run of each counts.
    let runs = if quick { 2 } else { 5 };
    let cases: [(&str, usize, usize, usize, bool); 2] = if quick {
        [
            ("metadata-only", 30_000, 10_000, 0, true),
            ("300 KB frames", 1_000, 500, 300_000, false),
        ]
    } else {
        [
            ("metadata-only", 300_000, 100_000, 0, true),
            ("300 KB frames", 5_000, 2_000, 300_000, false),
        ]
    };
    println!(
        "writer -> reader over ipc, dealer -> router, default settings (HWM 50); \
         best of {runs} alternating runs"
    );
    let mut all_met = true;
    for (label, n_ours, n_theirs, size, target_msgs) in cases {
        let (mut o, mut v115, mut v03) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            o.push(ours(dir.path(), n_ours, size, run));
            v115.push(savant_rs(SavantRs::V1_15, dir.path(), n_theirs, size, run));
            v03.push(savant_rs(SavantRs::V0_3, dir.path(), n_theirs, size, run));
        }
        let (o, v115, v03) = (best(o), best(v115), best(v03));
        let ratio = |s: &Figure| {
            if target_msgs {
                o.msgs_per_sec / s.msgs_per_sec
            } else {
                o.mb_per_sec / s.mb_per_sec
            }
        };
        let (unit, target) = if target_msgs {
            ("msg/s", 3.0)
        } else {
            ("MB/s", 1.3)
        };
        let (r115, r03) = (ratio(&v115), ratio(&v03));
        let met = r115 >= target;
        all_met &= met;
        println!(
            "{label:>14}: ours {:>9.0} msg/s {:>7.1} MB/s | savant-rs 1.15.1 {:>8.0} msg/s {:>7.1} MB/s \
             | savant-rs 0.3.0 {:>8.0} msg/s {:>7.1} MB/s",
            o.msgs_per_sec,
            o.mb_per_sec,
            v115.msgs_per_sec,
            v115.mb_per_sec,
            v03.msgs_per_sec,
            v03.mb_per_sec,
        );
        println!(
            "{:>14}  {unit} ours/1.15.1 {r115:.2}x (target {target:.1}x) {} | ours/0.3.0 {r03:.2}x",
            "",
            if met { "MET" } else { "NOT MET" }
        );
    }
    println!(
        "targets against savant-rs 1.15.1: {}",
        if all_met { "all met" } else { "NOT all met" }
    );
}
