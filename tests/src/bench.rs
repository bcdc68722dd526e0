//! What the throughput benches share: our raw `BlockingWriter` ->
//! `BlockingReader` pair, the savant-rs Python `bench-writer` ->
//! `bench-reader` pair and a bare `zmq` crate loop, each dealer -> router
//! over ipc, each measured at the reader from its first frame to its
//! last.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use savant_sdk_core::model::*;
use savant_sdk_core::transport::*;

use crate::{payload, SavantRs};

/// A throughput figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figure {
    /// Frames per second.
    pub msgs_per_sec: f64,
    /// Payload megabytes (10^6) per second.
    pub mb_per_sec: f64,
}

impl Figure {
    /// `n` frames with `bytes` of payload in `secs`.
    pub fn new(n: usize, bytes: usize, secs: f64) -> Self {
        let secs = secs.max(1e-9);
        Self {
            msgs_per_sec: n as f64 / secs,
            mb_per_sec: bytes as f64 / secs / 1e6,
        }
    }
}

/// The best of several runs (by messages per second).
pub fn best(v: Vec<Figure>) -> Figure {
    v.into_iter()
        .max_by(|a, b| a.msgs_per_sec.total_cmp(&b.msgs_per_sec))
        .expect("at least one run")
}

/// The bench's frame: 64x48 JPEG with one attribute, its content
/// external (in the next part) when `external`.
pub fn bench_frame(pts: i64, external: bool) -> Message {
    Message::video_frame(
        VideoFrame::builder("bench")
            .size(64, 48)
            .codec("jpeg")
            .keyframe(true)
            .pts(pts)
            .content(if external {
                FrameContent::external_zeromq()
            } else {
                FrameContent::None
            })
            .attribute(Attribute::persistent(
                "peer",
                "index",
                vec![AttributeValue::integer(pts)],
            ))
            .build(),
    )
}

/// Our `BlockingWriter` -> `BlockingReader`, each on its own thread:
/// `count` frames with `size` bytes of payload (none for 0), stamped
/// `"1.15.1"`.
pub fn raw_transport(dir: &Path, count: usize, size: usize, run: usize) -> Figure {
    let ep = format!("ipc://{}/ours-{size}-{run}.ipc", dir.display());
    let mut reader = BlockingReader::new(
        ReaderConfig::builder(&format!("router+bind:{ep}"))
            .unwrap()
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut writer = BlockingWriter::new(
        WriterConfig::builder(&format!("dealer+connect:{ep}"))
            .unwrap()
            .protocol_version(SavantRs::V1_15.protocol_version())
            .build()
            .unwrap(),
    )
    .unwrap();
    let content = payload(1, size);
    let extra: Vec<Bytes> = if size > 0 { vec![content] } else { vec![] };
    let rx = std::thread::spawn(move || {
        let mut first = None;
        let mut bytes = 0usize;
        let mut n = 0;
        loop {
            if let ReaderResult::Message(m) = reader.receive().unwrap() {
                if m.message.is_end_of_stream() {
                    break;
                }
                first.get_or_insert_with(Instant::now);
                bytes += m.extra.iter().map(Bytes::len).sum::<usize>();
                n += 1;
            }
        }
        (first.unwrap(), Instant::now(), n, bytes)
    });
    let message = bench_frame(0, size > 0);
    for _ in 0..count {
        writer.send_message("bench", &message, &extra).unwrap();
    }
    writer.send_eos("bench").unwrap();
    let (start, end, n, bytes) = rx.join().unwrap();
    assert_eq!(n, count);
    Figure::new(n, bytes, (end - start).as_secs_f64())
}

/// savant-rs: its `bench-reader` and `bench-writer` processes, `count`
/// frames with `size` bytes of payload; the reader's figure.
pub fn savant_rs_pair(
    savant: SavantRs,
    dir: &Path,
    count: usize,
    size: usize,
    run: usize,
) -> Figure {
    let ep = format!(
        "ipc://{}/savant-{}-{size}-{run}.ipc",
        dir.display(),
        savant.version()
    );
    let mut reader = savant
        .spawn(&[
            "bench-reader".to_string(),
            "--socket".into(),
            format!("router+bind:{ep}"),
            "--count".into(),
            count.to_string(),
        ])
        .unwrap();
    reader.wait_ready(Duration::from_secs(30)).unwrap();
    let writer = savant
        .spawn(&[
            "bench-writer".to_string(),
            "--socket".into(),
            format!("dealer+connect:{ep}"),
            "--count".into(),
            count.to_string(),
            "--content-size".into(),
            size.to_string(),
        ])
        .unwrap();
    let (rs, rlines) = reader.finish(Duration::from_secs(600)).unwrap();
    let (ws, _) = writer.finish(Duration::from_secs(60)).unwrap();
    assert!(rs.success() && ws.success(), "{savant}: {rlines:?}");
    let r = rlines
        .iter()
        .find(|l| l.get("msgs_per_sec").is_some())
        .expect("a result line");
    Figure {
        msgs_per_sec: r["msgs_per_sec"].as_f64().unwrap(),
        mb_per_sec: r["mb_per_sec"].as_f64().unwrap(),
    }
}

/// A bare `zmq` crate loop, the ceiling of any path on libzmq: a dealer
/// sends `count` times `[topic, message, payload]` (the message encoded
/// once, the payload `size` bytes, none for 0, each passed by reference
/// as the `zmq` crate does, so libzmq copies it into its message) and a
/// router receives them; no codec, no runner, default high-water marks.
pub fn bare_zmq(dir: &Path, count: usize, size: usize, run: usize) -> Figure {
    let ep = format!("ipc://{}/zmq-{size}-{run}.ipc", dir.display());
    let ctx = zmq::Context::new();
    let router = ctx.socket(zmq::ROUTER).unwrap();
    router.set_rcvhwm(50).unwrap();
    router.bind(&ep).unwrap();
    let dealer = ctx.socket(zmq::DEALER).unwrap();
    dealer.set_sndhwm(50).unwrap();
    dealer.connect(&ep).unwrap();
    let message = savant_sdk_core::codec::encode_message(&bench_frame(0, size > 0)).unwrap();
    let content = payload(1, size);
    let rx = std::thread::spawn(move || {
        let mut first = None;
        let (mut n, mut bytes) = (0usize, 0usize);
        let mut parts = Vec::with_capacity(4);
        loop {
            parts.clear();
            loop {
                let m = router.recv_msg(0).unwrap();
                let more = m.get_more();
                parts.push(m);
                if !more {
                    break;
                }
            }
            // [routing id, topic, message, payload] or the end marker
            if parts.len() == 2 {
                break;
            }
            first.get_or_insert_with(Instant::now);
            bytes += parts.get(3).map_or(0, |p| p.len());
            n += 1;
        }
        (first.unwrap(), Instant::now(), n, bytes)
    });
    for _ in 0..count {
        dealer.send(&b"bench"[..], zmq::SNDMORE).unwrap();
        if size > 0 {
            dealer.send(&message[..], zmq::SNDMORE).unwrap();
            dealer.send(&content[..], 0).unwrap();
        } else {
            dealer.send(&message[..], 0).unwrap();
        }
    }
    dealer.send(&b"end"[..], 0).unwrap();
    let (start, end, n, bytes) = rx.join().unwrap();
    assert_eq!(n, count);
    Figure::new(n, bytes, (end - start).as_secs_f64())
}
