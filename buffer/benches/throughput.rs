//! Throughput through the buffer against the same sockets without it,
//! measured in the same run: a dealer writer straight into a router
//! reader, then the same frames through a `Buffer` (router in, dealer or
//! req out), each to the reader receiving the last one; and the req → rep
//! input, which stores and fsyncs every message before its
//! acknowledgement.
//!
//! `cargo bench -p savant-sdk-buffer --bench throughput`
//! (`BENCH_FRAMES`, default 20000; `BENCH_CONTENT`, bytes per frame,
//! default 1024)

use std::time::{Duration, Instant};

use bytes::Bytes;
use savant_sdk_buffer::{Buffer, BufferSettings};
use savant_sdk_core::model::{FrameContent, Message, VideoFrame};
use savant_sdk_core::transport::{
    BlockingReader, BlockingWriter, ReaderConfig, ReaderResult, WriterConfig,
};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn frame(pts: i64) -> Message {
    Message::video_frame(
        VideoFrame::builder("cam-1")
            .size(64, 48)
            .codec("jpeg")
            .pts(pts)
            .content(FrameContent::external_zeromq())
            .build(),
    )
}

/// Sends `n` frames into `into`, reads them from `from`; the time from the
/// first send to the last frame read.
fn run(into: &str, from: &str, n: usize, content: usize) -> Duration {
    let mut reader = BlockingReader::new(
        ReaderConfig::builder(from)
            .unwrap()
            .receive_timeout(Duration::from_millis(100))
            .build()
            .unwrap(),
    )
    .unwrap();
    let into = into.to_string();
    let payload = Bytes::from(vec![7u8; content]);
    let start = Instant::now();
    let sender = std::thread::spawn(move || {
        let mut w = BlockingWriter::new(
            WriterConfig::builder(&into)
                .unwrap()
                .send_timeout(Duration::from_secs(30))
                .ack_timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        )
        .unwrap();
        for pts in 0..n {
            w.send_message("cam-1", &frame(pts as i64), std::slice::from_ref(&payload))
                .unwrap();
        }
        // the reader closes after the last frame; keep the socket open
        // until then
        std::thread::sleep(Duration::from_millis(200));
    });
    let mut got = 0;
    let deadline = start + Duration::from_secs(600);
    while got < n {
        assert!(
            Instant::now() < deadline,
            "only {got} of {n} frames arrived"
        );
        if let ReaderResult::Message(m) = reader.receive().unwrap() {
            if m.message.as_video_frame().is_some() {
                got += 1;
            }
        }
    }
    let elapsed = start.elapsed();
    sender.join().unwrap();
    elapsed
}

/// `n` frames from a `sender` into a buffer (`input` bound, `output`
/// connected, capacity 2n, receive hwm `hwm`) and on to a `module`: the
/// buffer's store named `name`, its endpoints `<name>-in` and `<name>-out`.
fn through_buffer(
    dir: &tempfile::TempDir,
    name: &str,
    (sender, input): (&str, &str),
    (output, module): (&str, &str),
    n: usize,
    content: usize,
    hwm: i32,
) -> Duration {
    let ep = |side: &str| format!("ipc://{}/{name}-{side}.ipc", dir.path().display());
    let mut s = BufferSettings::new(
        format!("{input}+bind:{}", ep("in")),
        format!("{output}+connect:{}", ep("out")),
        dir.path().join(name),
    )
    .capacity(n as u64 * 2)
    .metrics_addr(None);
    s.receive_hwm = hwm;
    s.max_batch = hwm.max(64) as usize;
    s.stats_interval = Duration::from_secs(3600);
    let buffer = Buffer::start(s).unwrap();
    let elapsed = run(
        &format!("{sender}+connect:{}", ep("in")),
        &format!("{module}+bind:{}", ep("out")),
        n,
        content,
    );
    buffer.stop().unwrap();
    elapsed
}

fn main() {
    let n = env("BENCH_FRAMES", 20_000);
    let content = env("BENCH_CONTENT", 1024);
    let dir = tempfile::tempdir().unwrap();
    let ep = |name: &str| format!("ipc://{}/{name}.ipc", dir.path().display());
    let rate = |d: Duration, n: usize| n as f64 / d.as_secs_f64();

    let direct = run(
        &format!("dealer+connect:{}", ep("direct")),
        &format!("router+bind:{}", ep("direct")),
        n,
        content,
    );

    let via_dealer = through_buffer(
        &dir,
        "dealer-out",
        ("dealer", "router"),
        ("dealer", "router"),
        n,
        content,
        50,
    );
    let via_dealer_hwm = through_buffer(
        &dir,
        "dealer-out-hwm",
        ("dealer", "router"),
        ("dealer", "router"),
        n,
        content,
        1000,
    );
    let via_req = through_buffer(
        &dir,
        "req-out",
        ("dealer", "router"),
        ("req", "rep"),
        n,
        content,
        50,
    );

    // req → rep input: one fsync per message before its acknowledgement
    let m = (n / 20).max(100);
    let direct_req = run(
        &format!("req+connect:{}", ep("direct-req")),
        &format!("rep+bind:{}", ep("direct-req")),
        m,
        content,
    );
    let via_rep_in = through_buffer(
        &dir,
        "rep-in",
        ("req", "rep"),
        ("dealer", "router"),
        m,
        content,
        50,
    );

    println!("{n} frames of {content} B (req input: {m}), msg/s:");
    println!(
        "  dealer -> router, no buffer:                 {:>9.0}",
        rate(direct, n)
    );
    println!(
        "  dealer -> buffer -> dealer -> router:        {:>9.0}  ({:.2} of no buffer)",
        rate(via_dealer, n),
        direct.as_secs_f64() / via_dealer.as_secs_f64()
    );
    println!(
        "  the same, receive hwm and batch 1000:        {:>9.0}  ({:.2} of no buffer)",
        rate(via_dealer_hwm, n),
        direct.as_secs_f64() / via_dealer_hwm.as_secs_f64()
    );
    println!(
        "  dealer -> buffer -> req -> rep (acked):      {:>9.0}  ({:.2} of no buffer)",
        rate(via_req, n),
        direct.as_secs_f64() / via_req.as_secs_f64()
    );
    println!(
        "  req -> rep, no buffer:                       {:>9.0}",
        rate(direct_req, m)
    );
    println!(
        "  req -> buffer (fsync each) -> dealer:        {:>9.0}  ({:.2} of req -> rep)",
        rate(via_rep_in, m),
        direct_req.as_secs_f64() / via_rep_in.as_secs_f64()
    );
}
