//! The viewer in a real headless browser (Debian's `chromium`): frames of
//! two source ids, JPEG pictures made here with a box that moves from
//! frame to frame, sent paced through the embedded loopback module into a
//! `ViewerSink`; while they flow, chromium loads the page (a tile per
//! source id), two screenshots differ, frame.jpg decodes to the sent size
//! and the MJPEG endpoint yields parts; after the senders finish, the
//! JSON frame counts equal what was sent. A third source of H.264 frames
//! is counted and shown without a picture, saying why.
//!
//! Waits are on conditions (the JSON endpoint polled with a deadline),
//! never on sleeps. `VIEWER_SCREENSHOTS=DIR` keeps the screenshots
//! (`viewer-1.png`, `viewer-2.png`, and `viewer-tiles.png`, the second
//! cropped to the tiles: the README's `docs/viewer.png`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::{Rgb, RgbImage};
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::model::{BoundingBox, VideoFrame, VideoObject};
use savant_sdk_core::source::SourceFrame;
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_viewer::{SentTimes, Viewer, ViewerOptions, ViewerSink};
use serde_json::Value;

const W: u32 = 320;
const H: u32 = 240;
const SOURCES: [&str; 2] = ["cam-a", "cam-b"];
/// A third source of H.264 frames: counted, shown without a picture.
const VIDEO: &str = "video";
/// Frames per source sent at least (more while the browser checks run).
const MIN_FRAMES: u64 = 40;
const DEADLINE: Duration = Duration::from_secs(90);

/// Debian's chromium, or a failure naming the package: CI installs it
/// (scripts/setup.sh), so a missing browser is an error, not a skip.
fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "{} not found: this test needs a headless browser, Debian's package `chromium` \
         (`apt-get install chromium`; scripts/setup.sh installs it), or CHROMIUM=/path/to/chromium",
        path.display()
    );
    path
}

/// Runs chromium headless with `args` and a fresh profile; its stdout.
fn run_chromium(args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1280,800",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().unwrap();
    let reading = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} did not finish in {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(status.success(), "chromium {args:?}: {status}\n{err}");
    reading.join().unwrap()
}

fn screenshot(url: &str, file: &Path) -> RgbImage {
    run_chromium(&[
        format!("--screenshot={}", file.display()),
        "--virtual-time-budget=2500".into(),
        url.into(),
    ]);
    image::open(file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .to_rgb8()
}

fn dump_dom(url: &str) -> String {
    run_chromium(&[
        "--dump-dom".into(),
        "--virtual-time-budget=2500".into(),
        url.into(),
    ])
}

/// A picture of frame `n` of source `s`: a background per source, a box
/// that moves with `n`, its colour changing with `n`.
fn picture(s: usize, n: u64) -> (Vec<u8>, (f32, f32)) {
    let bg = if s == 0 {
        Rgb([40, 60, 110])
    } else {
        Rgb([90, 50, 40])
    };
    let mut img = RgbImage::from_pixel(W, H, bg);
    let (x0, y0) = ((n * 7 % (u64::from(W) - 60)) as u32, 60 + (s as u32) * 60);
    let c = Rgb([(n * 23 % 256) as u8, 220, (255 - n * 11 % 256) as u8]);
    for y in y0..y0 + 50 {
        for x in x0..x0 + 60 {
            img.put_pixel(x, y, c);
        }
    }
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    (out.into_inner(), (x0 as f32 + 30.0, y0 as f32 + 25.0))
}

fn get(url: &str) -> (u16, Vec<u8>) {
    let agent = ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent();
    let mut r = agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap();
    (status, body)
}

fn streams(base: &str) -> Value {
    let (status, body) = get(&format!("{base}api/streams"));
    assert_eq!(status, 200);
    serde_json::from_slice(&body).unwrap()
}

fn stream<'a>(snapshot: &'a Value, id: &str) -> Option<&'a Value> {
    snapshot["streams"]
        .as_array()?
        .iter()
        .find(|s| s["source_id"] == id)
}

/// Polls the JSON endpoint until `ok` holds, or fails after the deadline.
fn wait_for(base: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let s = streams(base);
        if ok(&s) {
            return s;
        }
        assert!(started.elapsed() < DEADLINE, "{what}: still {s}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn frames_of(s: &Value, id: &str) -> u64 {
    stream(s, id)
        .and_then(|s| s["frames"].as_u64())
        .unwrap_or(0)
}

/// Reads an MJPEG response until it has yielded `parts` JPEG parts.
fn mjpeg_parts(addr: std::net::SocketAddr, id: &str, parts: usize) -> Vec<Vec<u8>> {
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        tcp,
        "GET /api/streams/{id}/mjpeg HTTP/1.1\r\nHost: {addr}\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    let started = Instant::now();
    loop {
        let mut chunk = [0u8; 65536];
        let n = tcp.read(&mut chunk).expect("MJPEG stream readable");
        assert!(n > 0, "MJPEG stream closed early");
        buf.extend_from_slice(&chunk[..n]);
        let jpegs = jpegs_in(&buf);
        if jpegs.len() >= parts {
            let head = String::from_utf8_lossy(&buf[..buf.len().min(400)]).to_string();
            assert!(
                head.contains("multipart/x-mixed-replace; boundary=savant-frame"),
                "{head}"
            );
            return jpegs;
        }
        assert!(started.elapsed() < DEADLINE, "MJPEG: {} parts", jpegs.len());
    }
}

/// The complete JPEG parts in an MJPEG response so far: each part's
/// Content-Length bytes after its header (the chunked framing around
/// them is skipped over: a part's bytes are searched from its header on).
fn jpegs_in(buf: &[u8]) -> Vec<Vec<u8>> {
    const KEY: &[u8] = b"Content-Length: ";
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = find(&buf[from..], KEY) {
        let at = from + i + KEY.len();
        let Some(end) = find(&buf[at..], b"\r\n") else {
            break;
        };
        let len: usize = std::str::from_utf8(&buf[at..at + end])
            .unwrap()
            .parse()
            .unwrap();
        let Some(start) = find(&buf[at..], b"\r\n\r\n").map(|p| at + p + 4) else {
            break;
        };
        if buf.len() < start + len {
            break;
        }
        out.push(buf[start..start + len].to_vec());
        from = start + len;
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn differing_pixels(a: &RgbImage, b: &RgbImage) -> usize {
    assert_eq!(a.dimensions(), b.dimensions());
    a.pixels().zip(b.pixels()).filter(|(p, q)| p != q).count()
}

#[test]
fn the_page_shows_a_tile_per_source_and_updates_while_frames_flow() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let input = format!("ipc://{}/in.ipc", tmp.path().display());
    let output = format!("ipc://{}/out.ipc", tmp.path().display());
    let sent_times = SentTimes::default();
    let viewer = Viewer::with_options(ViewerOptions {
        sent_times: Some(sent_times.clone()),
        ..Default::default()
    })
    .unwrap();
    let (server, reading, module, writer) = rt.block_on(async {
        let server = viewer.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let reader = SinkBuilder::new(format!("router+bind:{output}"))
            .idle_timeout(Duration::from_secs(120))
            .build()
            .await
            .unwrap();
        let reading = reader.spawn(ViewerSink::new(viewer.clone()));
        let module = LoopbackModule::start(LoopbackConfig::new(
            format!("router+bind:{input}"),
            format!("dealer+connect:{output}"),
        ))
        .unwrap();
        let writer = SourceBuilder::new(format!("dealer+connect:{input}"))
            .build()
            .await
            .unwrap();
        (server, reading, module, writer)
    });
    let base = server.url();
    let addr = server.addr();

    // the senders: both sources, paced at 25 frames/s, until told to stop
    // (and at least MIN_FRAMES each), then an EOS each
    let stop = Arc::new(AtomicBool::new(false));
    let sending = {
        let stop = stop.clone();
        let sent_times = sent_times.clone();
        rt.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(40));
            let mut n = 0u64;
            while n < MIN_FRAMES || !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                for (s, id) in SOURCES.iter().enumerate() {
                    let (jpeg, (xc, yc)) = picture(s, n);
                    let frame = VideoFrame::builder(*id)
                        .codec("jpeg")
                        .size(i64::from(W), i64::from(H))
                        .pts(n as i64)
                        .object(
                            VideoObject::new(
                                1,
                                "detector",
                                "person",
                                BoundingBox::new(xc, yc, 60.0, 50.0),
                            )
                            .with_confidence(0.5 + (n % 50) as f32 / 100.0),
                        )
                        .object(
                            VideoObject::new(
                                2,
                                "detector",
                                "car",
                                BoundingBox::new(250.0, 200.0, 80.0, 40.0),
                            )
                            .with_confidence(0.8),
                        )
                        .build();
                    let r = writer.send(SourceFrame::new(frame, jpeg)).await.unwrap();
                    sent_times.record(&r);
                }
                // a codec nothing here decodes (with or without GStreamer)
                let video = VideoFrame::builder(VIDEO)
                    .codec("mpeg2")
                    .size(640, 360)
                    .pts(n as i64)
                    .build();
                writer
                    .send(SourceFrame::new(video, vec![0, 0, 0, 1, 0x65]))
                    .await
                    .unwrap();
                n += 1;
            }
            for id in SOURCES.into_iter().chain([VIDEO]) {
                writer.send_eos(id).await.unwrap();
            }
            n
        })
    };

    // the sources arrive
    wait_for(&base, "both sources", |s| {
        SOURCES
            .iter()
            .chain(&[VIDEO])
            .all(|id| frames_of(s, id) >= 3)
    });

    // the page: a tile per source id, each with its picture
    let dom = dump_dom(&base);
    for id in SOURCES {
        assert!(
            dom.contains(&format!("data-source=\"{id}\"")),
            "no tile for {id}:\n{dom}"
        );
        assert!(
            dom.contains(&format!("src=\"/api/streams/{id}/frame.jpg?n=")),
            "no picture in the tile of {id}:\n{dom}"
        );
    }
    assert!(dom.contains("person"), "the objects are listed:\n{dom}");
    assert!(
        dom.contains(&format!("data-source=\"{VIDEO}\""))
            && dom.contains("no picture: codec mpeg2")
            && !dom.contains(&format!("src=\"/api/streams/{VIDEO}/")),
        "the video tile says why it has no picture:\n{dom}"
    );

    // two screenshots while frames flow differ
    let shots = match std::env::var_os("VIEWER_SCREENSHOTS") {
        Some(d) => {
            std::fs::create_dir_all(&d).unwrap();
            PathBuf::from(d)
        }
        None => tmp.path().to_path_buf(),
    };
    let first = screenshot(&base, &shots.join("viewer-1.png"));
    let after_first = frames_of(&streams(&base), "cam-a");
    wait_for(&base, "frames after the first screenshot", |s| {
        frames_of(s, "cam-a") >= after_first + 5
    });
    let second = screenshot(&base, &shots.join("viewer-2.png"));
    let changed = differing_pixels(&first, &second);
    assert!(
        changed > 1000,
        "the screenshots differ in {changed} pixels only"
    );
    if std::env::var_os("VIEWER_SCREENSHOTS").is_some() {
        // the three tiles and the header, for the README (docs/viewer.png)
        image::imageops::crop_imm(&second, 0, 0, 1280, 500)
            .to_image()
            .save(shots.join("viewer-tiles.png"))
            .unwrap();
    }

    // frame.jpg: a JPEG of the sent size, and it changes as frames come
    let jpeg_url = format!("{base}api/streams/cam-b/frame.jpg");
    let (status, one) = get(&jpeg_url);
    assert_eq!(status, 200);
    let one = image::load_from_memory(&one).unwrap().to_rgb8();
    assert_eq!(one.dimensions(), (W, H));
    let now = frames_of(&streams(&base), "cam-b");
    wait_for(&base, "frames after frame.jpg", |s| {
        frames_of(s, "cam-b") >= now + 5
    });
    let (_, two) = get(&jpeg_url);
    let two = image::load_from_memory(&two).unwrap().to_rgb8();
    assert!(
        differing_pixels(&one, &two) > 100,
        "frame.jpg did not change"
    );

    // MJPEG: parts that decode, while frames flow
    let parts = mjpeg_parts(addr, "cam-a", 2);
    for p in &parts {
        let img = image::load_from_memory(p).unwrap();
        assert_eq!((img.width(), img.height()), (W, H));
    }

    // the senders finish: the counts are what was sent, both ended
    stop.store(true, Ordering::Relaxed);
    let sent = rt.block_on(sending).unwrap();
    let last = wait_for(&base, "every frame counted and both ended", |s| {
        SOURCES
            .iter()
            .chain(&[VIDEO])
            .all(|id| stream(s, id).is_some_and(|st| st["frames"] == sent && st["ended"] == true))
    });
    for id in SOURCES {
        let st = stream(&last, id).unwrap();
        assert_eq!(st["frames"], sent, "{st}");
        assert_eq!(st["eos"], 1, "{st}");
        assert_eq!(st["pts"], sent - 1, "{st}");
        assert_eq!(
            (st["width"].as_u64(), st["height"].as_u64()),
            (Some(u64::from(W)), Some(u64::from(H)))
        );
        let labels: Vec<&str> = st["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| o["label"].as_str())
            .collect();
        assert_eq!(labels, ["person", "car"], "{st}");
        // the send times are known here: a round-trip latency is shown
        assert!(
            st["latency_mean_ms"].as_f64().is_some_and(|l| l >= 0.0),
            "{st}"
        );
    }
    let video = stream(&last, VIDEO).unwrap();
    assert_eq!(
        (&video["picture"], &video["eos"]),
        (&Value::Bool(false), &Value::from(1)),
        "{video}"
    );
    let (status, why) = get(&format!("{base}api/streams/{VIDEO}/frame.jpg"));
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&why).contains("codec mpeg2"));
    // a source that is not there
    let (status, _) = get(&format!("{base}api/streams/nope/frame.jpg"));
    assert_eq!(status, 404);
    let (status, page) = get(&base);
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&page).contains("Savant viewer"));

    server.stop();
    drop(reading);
    module.stop().unwrap();
}
