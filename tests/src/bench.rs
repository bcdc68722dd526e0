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

/// What a bench reader saw: its first frame's arrival, the end, frames
/// and payload bytes.
pub type Arrivals = (Instant, Instant, usize, usize);

impl Figure {
    /// The figure of what a bench reader saw.
    pub fn of(a: Arrivals) -> Self {
        let (first, end, n, bytes) = a;
        Self::new(n, bytes, (end - first).as_secs_f64())
    }
}

/// The reader of [`raw_transport`], bound at `ep`.
pub fn raw_reader(ep: &str) -> BlockingReader {
    BlockingReader::new(
        ReaderConfig::builder(&format!("router+bind:{ep}"))
            .unwrap()
            .build()
            .unwrap(),
    )
    .unwrap()
}

/// Reads frames until an EOS.
pub fn raw_read_all(mut reader: BlockingReader) -> Arrivals {
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
}

/// The writer of [`raw_transport`]: connects to `ep`, sends `count`
/// frames with `size` bytes of payload (none for 0), stamped `"1.15.1"`,
/// and an EOS.
pub fn raw_send_all(ep: &str, count: usize, size: usize) {
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
    let message = bench_frame(0, size > 0);
    for _ in 0..count {
        writer.send_message("bench", &message, &extra).unwrap();
    }
    writer.send_eos("bench").unwrap();
}

/// Our `BlockingWriter` -> `BlockingReader`, each on its own thread:
/// `count` frames with `size` bytes of payload (none for 0), stamped
/// `"1.15.1"`.
pub fn raw_transport(dir: &Path, count: usize, size: usize, run: usize) -> Figure {
    let ep = format!("ipc://{}/ours-{size}-{run}.ipc", dir.display());
    let reader = raw_reader(&ep);
    let rx = std::thread::spawn(move || raw_read_all(reader));
    raw_send_all(&ep, count, size);
    let a = rx.join().unwrap();
    assert_eq!(a.2, count);
    Figure::of(a)
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

unsafe extern "C" fn free_bytes(_data: *mut std::ffi::c_void, hint: *mut std::ffi::c_void) {
    // SAFETY: `hint` is the `Box<Bytes>` leaked in `send_shared`; libzmq
    // calls this once, when it no longer needs the data
    drop(unsafe { Box::from_raw(hint as *mut Bytes) });
}

/// Sends `data` as one part without copying it (`zmq_msg_init_data`, the
/// message pointing into the `Bytes`, released when libzmq is done).
fn send_shared(socket: &mut zmq::Socket, data: &Bytes, flags: i32) {
    let holder = Box::new(data.clone());
    let (ptr, len) = (holder.as_ptr() as *mut std::ffi::c_void, holder.len());
    let hint = Box::into_raw(holder) as *mut std::ffi::c_void;
    // SAFETY: zmq_msg_t is plain data set up by zmq_msg_init_data, which
    // takes `hint` (freed by `free_bytes`); zmq_msg_send takes the message
    unsafe {
        let mut msg: zmq_sys::zmq_msg_t = std::mem::zeroed();
        assert_eq!(
            zmq_sys::zmq_msg_init_data(&mut msg, ptr, len, Some(free_bytes), hint),
            0
        );
        if zmq_sys::zmq_msg_send(&mut msg, socket.as_mut_ptr(), flags) < 0 {
            zmq_sys::zmq_msg_close(&mut msg);
            panic!(
                "zmq_msg_send: {}",
                zmq::Error::from_raw(zmq_sys::zmq_errno())
            );
        }
    }
}

/// The router of [`bare_zmq`], bound at `ep`.
pub fn zmq_router(ctx: &zmq::Context, ep: &str) -> zmq::Socket {
    let router = ctx.socket(zmq::ROUTER).unwrap();
    router.set_rcvhwm(50).unwrap();
    router.bind(ep).unwrap();
    router
}

/// Receives `[routing id, topic, message, payload...]` until the end
/// marker (two parts), which it answers.
pub fn zmq_read_all(router: zmq::Socket) -> Arrivals {
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
        if parts.len() == 2 {
            let end = Instant::now();
            // the sender waits for this before it closes (what it queued
            // is then surely through)
            router.send(&parts[0][..], zmq::SNDMORE).unwrap();
            router.send(&b"OK"[..], 0).unwrap();
            return (first.unwrap(), end, n, bytes);
        }
        first.get_or_insert_with(Instant::now);
        bytes += parts.get(3).map_or(0, |p| p.len());
        n += 1;
    }
}

/// The dealer of [`bare_zmq`]: connects to `ep`, sends `count` times
/// `[topic, message, payload]`, then the end marker, and waits for the
/// router's answer to it.
pub fn zmq_send_all(ctx: &zmq::Context, ep: &str, count: usize, size: usize) {
    let mut dealer = ctx.socket(zmq::DEALER).unwrap();
    dealer.set_sndhwm(50).unwrap();
    dealer.set_linger(-1).unwrap();
    dealer.connect(ep).unwrap();
    let message = savant_sdk_core::codec::encode_message(&bench_frame(0, size > 0)).unwrap();
    let content = payload(1, size);
    for _ in 0..count {
        dealer.send(&b"bench"[..], zmq::SNDMORE).unwrap();
        if size > 0 {
            dealer.send(&message[..], zmq::SNDMORE).unwrap();
            send_shared(&mut dealer, &content, 0);
        } else {
            dealer.send(&message[..], 0).unwrap();
        }
    }
    dealer.send(&b"end"[..], 0).unwrap();
    // the router's reply to the end marker: everything arrived
    dealer.recv_msg(0).unwrap();
}

/// A bare `zmq` crate loop, the ceiling of any path on libzmq: a dealer
/// sends `count` times `[topic, message, payload]` (the message encoded
/// once; the payload `size` bytes, none for 0, handed to libzmq without
/// a copy, as our writer does) and a router receives them; no codec, no
/// runner, default high-water marks.
pub fn bare_zmq(dir: &Path, count: usize, size: usize, run: usize) -> Figure {
    let ep = format!("ipc://{}/zmq-{size}-{run}.ipc", dir.display());
    let ctx = zmq::Context::new();
    let router = zmq_router(&ctx, &ep);
    let rx = std::thread::spawn(move || zmq_read_all(router));
    zmq_send_all(&ctx, &ep, count, size);
    let a = rx.join().unwrap();
    assert_eq!(a.2, count);
    Figure::of(a)
}
