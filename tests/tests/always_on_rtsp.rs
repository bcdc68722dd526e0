//! AlwaysOnRtspSink: two source ids served at once through gst-rtsp-server;
//! real RTSP clients (our RtspSource and `gst-launch-1.0 rtspsrc`) stay
//! connected while the input flows, stops and resumes, and see the live
//! pictures, then the stub within `max_delay` + 1 s, then live pictures
//! again, without reconnecting; players that connect during and after the
//! outage get pictures too.

use std::io::Cursor;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use savant_sdk_core::model::{Message, VideoFrame};
use savant_sdk_core::sink::{Sink, SinkResult};
use savant_sdk_core::source::{Source, SourceItem};
use savant_sdk_gst::{Decoded, FrameDecoder};
use savant_sdk_sinks::{AlwaysOnRtspSink, FeedState, STUB_BACKGROUND};
use savant_sdk_sources::{RtspSource, RtspTransport};
use savant_sdk_tests::rtsp_player::play_rtsp;
use tokio::sync::mpsc;

/// A solid JPEG frame of `source_id`.
fn frame(source_id: &str, pts: i64, rgb: [u8; 3]) -> SinkResult {
    let img = image::RgbImage::from_pixel(160, 120, image::Rgb(rgb));
    let mut jpeg = Cursor::new(Vec::new());
    img.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
    let f = VideoFrame::builder(source_id)
        .codec("jpeg")
        .size(160, 120)
        .keyframe(true)
        .pts(pts)
        .build();
    SinkResult {
        topic: source_id.to_string(),
        message: Message::video_frame(f),
        content: Some(Bytes::from(jpeg.into_inner())),
        trace_id: None,
        seq_gap: None,
        log_handle: Default::default(),
    }
}

/// What a picture shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shows {
    Live,
    Stub,
    Other,
}

/// Classifies a decoded picture by its dominant colour: the input's
/// `live` colour, the stub's grey, or neither.
fn classify(rgb: &[u8], live: [u8; 3]) -> Shows {
    let near = |c: [u8; 3]| {
        let close = rgb
            .chunks_exact(3)
            .filter(|p| (0..3).all(|i| p[i].abs_diff(c[i]) < 40))
            .count();
        close * 10 > (rgb.len() / 3) * 7 // 70 % of the pixels
    };
    if near(live) {
        Shows::Live
    } else if near(STUB_BACKGROUND.0) {
        Shows::Stub
    } else {
        Shows::Other
    }
}

/// A player that connects now: `gst-launch-1.0 rtspsrc` decoding 5
/// pictures within 10 s ([`play_rtsp`]); its output is printed when it got
/// none, or failed at its teardown after them.
async fn late_player(url: &str) -> bool {
    let started = Instant::now();
    let u = url.to_string();
    let run = tokio::task::spawn_blocking(move || play_rtsp(&u, 5, Duration::from_secs(10)))
        .await
        .unwrap()
        .unwrap();
    match run.status {
        None => {
            eprintln!(
                "late player on {url}: no 5 pictures within 10 s: {}",
                run.output
            );
            false
        }
        Some(status) if !run.decoded => {
            eprintln!(
                "late player on {url}: no 5 pictures ({status} after {:?}): {}",
                started.elapsed(),
                run.output
            );
            false
        }
        Some(status) => {
            if !status.success() {
                eprintln!(
                    "late player on {url}: pictures decoded, then {status} at its teardown: {}",
                    run.output.trim()
                );
            }
            true
        }
    }
}

/// One frame of each source, 100 ms of pts later.
async fn feed(sink: &mut AlwaysOnRtspSink, pts: &mut i64, a: [u8; 3], b: [u8; 3]) {
    *pts += 100_000_000;
    sink.consume(frame("cam-a", *pts, a)).await.unwrap();
    sink.consume(frame("cam-b", *pts, b)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_stay_connected_through_an_outage_and_see_the_stub() {
    let mut sink = AlwaysOnRtspSink::builder(0)
        .address("127.0.0.1")
        .framerate(10, 1)
        .keyframe_interval(5)
        .max_delay(Duration::from_secs(1))
        .build()
        .unwrap();
    const GREEN: [u8; 3] = [0, 200, 0];
    const BLUE: [u8; 3] = [0, 0, 220];
    let mut pts = 0i64;
    // the streams are mounted at their first frames
    sink.consume(frame("cam-a", pts, GREEN)).await.unwrap();
    sink.consume(frame("cam-b", pts, BLUE)).await.unwrap();

    // player 1: our RtspSource on cam-a, read on a task
    let url = sink.url("cam-a");
    assert!(url.ends_with("/stream/cam-a"), "{url}");
    let mut source = RtspSource::builder("player", &url)
        .transport(RtspTransport::Tcp)
        .latency(Duration::from_millis(50))
        .build()
        .unwrap();
    let (tx, mut rx) = mpsc::channel::<(Instant, SourceItem)>(1024);
    let reader = tokio::spawn(async move {
        while let Ok(Some(item)) = source.next().await {
            if tx.send((Instant::now(), item)).await.is_err() {
                return;
            }
        }
    });
    // player 2: gst-launch on cam-b
    let mut gst = Command::new("gst-launch-1.0")
        .args(["-q", "rtspsrc", &format!("location={}", sink.url("cam-b"))])
        .args([
            "protocols=tcp",
            "latency=50",
            "!",
            "rtph264depay",
            "!",
            "h264parse",
        ])
        .args(["!", "avdec_h264", "!", "fakesink", "sync=false"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // live for 3 s (the players connect meanwhile)
    for _ in 0..30 {
        feed(&mut sink, &mut pts, GREEN, BLUE).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sink.state("cam-a"), Some(FeedState::Live));
    // the input stops for 3 s; a player that connects meanwhile gets pictures
    let stopped = Instant::now();
    let during = late_player(&sink.url("cam-b")).await;
    assert!(
        during,
        "a player connecting during the outage decodes pictures"
    );
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(stopped.elapsed())).await;
    assert_eq!(sink.state("cam-a"), Some(FeedState::Stub));
    assert_eq!(sink.state("cam-b"), Some(FeedState::Stub), "both streams");
    // and resumes for 3 s
    // and resumes for 3 s; a player that connects meanwhile gets pictures
    let resumed = Instant::now();
    let url_a = sink.url("cam-a");
    // fed for 3 s at least, and until the player is done (a loaded machine
    // may take longer to start it)
    let player = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        late_player(&url_a).await
    });
    let mut fed = 0;
    while fed < 30 || !player.is_finished() {
        feed(&mut sink, &mut pts, GREEN, BLUE).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        fed += 1;
    }
    let after = player.await.unwrap();
    assert!(
        after,
        "a player connecting after the outage decodes pictures"
    );
    let ended = Instant::now();
    assert_eq!(sink.state("cam-a"), Some(FeedState::Live));
    let (live_b, stub_b) = sink.pushed("cam-b").unwrap();
    assert!(
        live_b > 0 && stub_b > 0,
        "cam-b pushed live {live_b}, stub {stub_b}"
    );

    // player 2 was connected the whole time
    assert!(
        gst.try_wait().unwrap().is_none(),
        "gst-launch rtspsrc is still playing"
    );
    gst.kill().unwrap();
    let _ = gst.wait();
    reader.abort();

    // player 1's pictures, decoded, in arrival order
    let mut decoder = FrameDecoder::new();
    let mut arrivals = Vec::new();
    let mut shown: Vec<(Instant, Shows)> = Vec::new();
    let mut out = Vec::new();
    while let Ok((at, item)) = rx.try_recv() {
        match item {
            SourceItem::Frame(f) => {
                arrivals.push(at);
                let r = SinkResult {
                    topic: "player".into(),
                    message: Message::video_frame(f.frame),
                    content: Some(f.content),
                    trace_id: None,
                    seq_gap: None,
                    log_handle: Default::default(),
                };
                decoder.push(r, &mut out).unwrap();
            }
            SourceItem::EndOfStream(_) => panic!("the player reconnected (an EOS)"),
            other => panic!("unexpected {other:?}"),
        }
        for d in out.drain(..) {
            if let Decoded::Picture { picture, .. } = d {
                shown.push((at, classify(picture.as_bytes(), GREEN)));
            }
        }
    }
    decoder.finish(&mut out).unwrap();
    assert!(shown.len() > 40, "pictures: {}", shown.len());
    // what the player saw, in runs: live, stub, live (a picture or two
    // at a switch may be neither, while the encoder catches up)
    let mut runs: Vec<Shows> = Vec::new();
    for (_, s) in shown.iter().filter(|(_, s)| *s != Shows::Other) {
        if runs.last() != Some(s) {
            runs.push(*s);
        }
    }
    let others = shown.iter().filter(|(_, s)| *s == Shows::Other).count();
    assert_eq!(runs, [Shows::Live, Shows::Stub, Shows::Live], "{shown:?}");
    assert!(others <= 4, "{others} pictures neither live nor stub");
    let first = |what: Shows, after: Instant| {
        shown
            .iter()
            .find(|(at, s)| *s == what && *at >= after)
            .map(|(at, _)| *at)
    };
    let connected = shown.first().unwrap().0;
    let live1 = first(Shows::Live, connected).expect("live pictures before the outage");
    assert!(live1 < stopped);
    let stub = first(Shows::Stub, stopped).expect("the stub during the outage");
    assert!(
        stub.duration_since(stopped) <= Duration::from_secs(2),
        "stub {:?} after the input stopped (max_delay 1 s + 1 s)",
        stub.duration_since(stopped)
    );
    let live2 = first(Shows::Live, resumed).expect("live pictures after the outage");
    assert!(live2 < ended);
    // no gap in what the player got: the stream never stopped
    let longest = arrivals
        .windows(2)
        .map(|w| w[1].duration_since(w[0]))
        .max()
        .unwrap();
    assert!(
        longest < Duration::from_millis(1500),
        "longest gap {longest:?}"
    );
    sink.finish().await.unwrap();
}
