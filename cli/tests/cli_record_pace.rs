//! `savant-sdk replay --pace` keeps the recorded timing, measured at a
//! reader of ours. In a test binary of its own, so that no other test of
//! it loads the machine meanwhile.

mod common;

use std::time::Duration;

use common::dumps::{replay_and_receive, synthetic_dump};
use savant_sdk_core::codec::{decode_message, DecodeOptions};

#[test]
fn replay_with_pace_keeps_the_recorded_timing() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("paced");
    let gap = Duration::from_millis(40);
    let recorded = synthetic_dump(&dump, 15, gap);
    let tolerance = Duration::from_millis(5);
    // The bound is on the replay; a reader descheduled for more than 5 ms
    // on a loaded machine measures its own delay. A run with more such
    // arrivals than the bound allows is said and tried again, three runs
    // at the most.
    let mut misses = Vec::new();
    for attempt in 1..=3 {
        let got = replay_and_receive(&dir, &dump, &["--pace"]);
        assert_eq!(got.len(), recorded.len());
        // the bytes came as recorded
        for ((_, m, extra), r) in got.iter().zip(&recorded) {
            let rec = decode_message(r.message.clone(), &DecodeOptions::default()).unwrap();
            assert_eq!(*m, rec);
            assert_eq!(extra.concat(), r.content.to_vec());
        }
        // Each arrival against the recording's schedule (message i at
        // i * gap), anchored at the median offset: a late message counts
        // once (differences of consecutive arrivals count it twice), and
        // the first message's wait for the connection does not shift the
        // others. A pacing that drifts, waits twice or not at all puts
        // most arrivals off; a machine that deschedules the replay or the
        // reader for a few ms (this VM's steal time) puts one or two off,
        // which the bound allows.
        let mut offsets: Vec<i128> = got
            .iter()
            .enumerate()
            .map(|(i, (at, ..))| {
                (*at - got[0].0).as_nanos() as i128 - (gap * i as u32).as_nanos() as i128
            })
            .collect();
        let deviations = offsets.clone();
        offsets.sort_unstable();
        let anchor = offsets[offsets.len() / 2];
        let off: Vec<Duration> = deviations
            .iter()
            .map(|d| Duration::from_nanos((d - anchor).unsigned_abs() as u64))
            .filter(|d| *d > tolerance)
            .collect();
        let worst = off.iter().max().copied().unwrap_or_default();
        if off.len() <= 2 && worst < gap {
            eprintln!("paced run {attempt}: {} arrivals more than {tolerance:?} off the recording's schedule, the worst {worst:?}", off.len());
            break;
        }
        eprintln!("paced run {attempt}: arrivals off the recording's schedule by {off:?}");
        misses.push(off);
        assert!(
            attempt < 3,
            "more than 2 arrivals over {tolerance:?} (or one over {gap:?}) off the recording's schedule in every run: {misses:?}"
        );
    }

    // without --pace: as fast as possible, well under the recorded span
    let got = replay_and_receive(&dir, &dump, &[]);
    let span = got.last().unwrap().0 - got[0].0;
    assert!(span < gap * 15 / 2, "{span:?}");
}

#[test]
fn sigterm_ends_a_paced_wait() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("slow");
    // a frame, then its EOS 60 s later
    synthetic_dump(&dump, 1, Duration::from_secs(60));
    let ep = format!("ipc://{}/nobody.ipc", dir.path().display());
    let mut child = common::KillOnDrop(
        Command::new(common::BIN)
            .args([
                "replay",
                dump.to_str().unwrap(),
                "--pace",
                "--verbose",
                "--socket",
            ])
            .arg(format!("dealer+connect:{ep}"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["event"], "sent", "{first}");
    let asked = std::time::Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap()
        .success());
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert!(child.0.wait().unwrap().success());
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    let done: serde_json::Value = serde_json::from_str(rest.last().unwrap()).unwrap();
    assert_eq!(done["reason"], "signal", "{rest:?}");
    assert_eq!(done["sent"], 1, "{rest:?}");
}
