//! Synthetic dumps and a reader of ours for the record/replay tests.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use savant_sdk_core::codec::encode_message_as;
use savant_sdk_core::model::{FrameContent, Message, VideoFrame};
use savant_sdk_core::protocol::ProtocolVersion;
use savant_sdk_core::transport::{BlockingReader, ReaderConfig, ReaderResult};
use savant_sdk_record::{DumpRecord, DumpWriter, SegmentPolicy};

use super::{KillOnDrop, BIN};

fn ipc(dir: &tempfile::TempDir, name: &str) -> String {
    format!("ipc://{}/{name}.ipc", dir.path().display())
}

/// A dump of `n` frames of `cam-p` (0.2.0), `gap` apart, then an EOS; the
/// frames carry `uber-trace-id`s, two frames a trace.
pub fn synthetic_dump(dir: &std::path::Path, n: u64, gap: Duration) -> Vec<DumpRecord> {
    let v = ProtocolVersion::parse("0.2.0").unwrap();
    let mut w = DumpWriter::create(dir, SegmentPolicy::default()).unwrap();
    let t0 = DumpRecord::now_ns();
    let gap = u64::try_from(gap.as_nanos()).unwrap();
    let mut out = Vec::new();
    for i in 0..=n {
        let mut m = if i < n {
            let f = VideoFrame::builder("cam-p")
                .codec("jpeg")
                .pts(i as i64)
                .content(FrameContent::external_zeromq())
                .build();
            Message::video_frame(f)
        } else {
            Message::end_of_stream(savant_sdk_core::model::EndOfStream::new("cam-p"))
        };
        m.propagated_context.insert(
            "uber-trace-id".into(),
            format!("{:032x}:00000000000000{:02x}:0:01", 0xabc0 + i / 2, i),
        );
        let rec = DumpRecord {
            time_ns: t0 + i * gap,
            topic: Bytes::from_static(b"cam-p"),
            message: encode_message_as(&m, &v, i + 1, "").unwrap(),
            content: if i < n {
                Bytes::from(vec![i as u8; 100])
            } else {
                Bytes::new()
            },
        };
        w.write(&rec).unwrap();
        out.push(rec);
    }
    w.finish().unwrap();
    out
}

/// Replays `dump` with `extra` into a reader of ours: each message and
/// when it arrived.
pub fn replay_and_receive(
    dir: &tempfile::TempDir,
    dump: &std::path::Path,
    extra: &[&str],
) -> Vec<(Instant, Message, Vec<Bytes>)> {
    let ep = ipc(dir, "paced");
    let mut reader = BlockingReader::new(
        ReaderConfig::builder(&format!("router+bind:{ep}"))
            .unwrap()
            .receive_timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut replay = KillOnDrop(
        Command::new(BIN)
            .args(["replay", dump.to_str().unwrap(), "--socket"])
            .arg(format!("dealer+connect:{ep}"))
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut got = Vec::new();
    loop {
        match reader.receive().unwrap() {
            ReaderResult::Message(m) => {
                let at = Instant::now();
                let eos = m.message.is_end_of_stream();
                got.push((at, m.message, m.extra));
                if eos {
                    break;
                }
            }
            ReaderResult::Timeout => panic!("nothing from the replay"),
            other => panic!("{other:?}"),
        }
    }
    assert!(replay.0.wait().unwrap().success());
    got
}
