//! RtspSource against a real RTSP server (gst-rtsp-server on 127.0.0.1,
//! started here, with its GLib main loop on its own thread): frames
//! arrive over TCP and UDP, H.264, HEVC, VP8 and JPEG, audio beside the
//! video is ignored and an unsupported RTP codec is named; the server stops
//! and comes back mid-stream (and, separately, the video goes silent) and
//! the source sends EOS, reconnects and resumes on a keyframe with pts
//! still increasing; a client joining a running stream starts on a
//! keyframe; a wrong path and a refused connection give clear errors after
//! the configured attempts, without the URL's credentials.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gstreamer_rtsp_server as rtsp_server;
use rtsp_server::prelude::*;
use rtsp_server::{glib, gst};
use savant_sdk_core::source::{Source, SourceFrame, SourceItem};
use savant_sdk_sources::{
    RtspReconnect, RtspSource, RtspSourceBuilder, RtspTransport, SourceError,
};
use savant_sdk_tests::free_tcp_port;

const H264: &str = "( videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 \
    ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! rtph264pay name=pay0 pt=96 )";
const HEVC: &str = "( videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 \
    ! x265enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! rtph265pay name=pay0 pt=96 )";
const VP8: &str = "( videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 \
    ! vp8enc deadline=1 keyframe-max-dist=15 ! rtpvp8pay name=pay0 pt=96 )";
const JPEG: &str =
    "( videotestsrc is-live=true ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 \
    ! jpegenc ! rtpjpegpay name=pay0 pt=26 )";
/// H.264 with an audio stream beside it (which the source ignores).
const H264_AND_AUDIO: &str =
    "( videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 \
    ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! rtph264pay name=pay1 pt=96 \
    audiotestsrc is-live=true ! audioconvert ! rtpL16pay name=pay0 pt=97 )";
/// Raw video (RTP encoding RAW), which the source does not pass through.
const RAW: &str =
    "( videotestsrc is-live=true ! video/x-raw,format=I420,width=64,height=48,framerate=10/1 \
    ! rtpvrawpay name=pay0 pt=96 )";
/// H.264 with a keyframe every second.
const H264_LONG_GOP: &str = "( videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 \
    ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! rtph264pay name=pay0 pt=96 )";
/// H.264 through a `valve` named `v`, to silence the stream.
const H264_VALVE: &str =
    "( videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 \
    ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! valve name=v \
    ! rtph264pay name=pay0 pt=96 )";
const MOUNT: &str = "/cam";

/// A gst-rtsp-server serving one launch line at [`MOUNT`], with its GLib
/// main loop on its own thread. [`RtspServer::stop`] (or dropping it)
/// closes the listening socket, the client connections and the sessions.
struct RtspServer {
    port: u16,
    context: glib::MainContext,
    main_loop: glib::MainLoop,
    server: Option<rtsp_server::RTSPServer>,
    factory: rtsp_server::RTSPMediaFactory,
    source: Option<glib::SourceId>,
    thread: Option<JoinHandle<()>>,
}

impl RtspServer {
    fn start(port: u16, launch: &str) -> RtspServer {
        RtspServer::start_with(port, launch, false)
    }

    /// `shared`: every client gets the same media (a late client joins
    /// mid-stream) instead of its own.
    fn start_with(port: u16, launch: &str, shared: bool) -> RtspServer {
        gst::init().unwrap();
        let context = glib::MainContext::new();
        let main_loop = glib::MainLoop::new(Some(&context), false);
        let server = rtsp_server::RTSPServer::new();
        server.set_address("127.0.0.1");
        server.set_service(&port.to_string());
        let factory = rtsp_server::RTSPMediaFactory::new();
        factory.set_launch(launch);
        factory.set_shared(shared);
        server
            .mount_points()
            .unwrap()
            .add_factory(MOUNT, factory.clone());
        let source = server
            .attach(Some(&context))
            .unwrap_or_else(|e| panic!("RTSP server cannot listen on {port}: {e}"));
        let thread = {
            let (context, main_loop) = (context.clone(), main_loop.clone());
            std::thread::spawn(move || {
                context
                    .with_thread_default(|| main_loop.run())
                    .expect("own main context");
            })
        };
        RtspServer {
            port,
            context,
            main_loop,
            server: Some(server),
            factory,
            source: Some(source),
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("rtsp://127.0.0.1:{}{path}", self.port)
    }

    /// Stops serving: no mount, no listening socket, every client
    /// connection and session closed, main loop ended.
    fn stop(&mut self) {
        let (Some(server), Some(source), Some(thread)) =
            (self.server.take(), self.source.take(), self.thread.take())
        else {
            return;
        };
        let (context, main_loop) = (self.context.clone(), self.main_loop.clone());
        let (done_tx, done_rx) = mpsc::channel();
        self.context.invoke(move || {
            if let Some(mounts) = server.mount_points() {
                mounts.remove_factory(MOUNT);
            }
            server.client_filter(Some(&mut |_, _| rtsp_server::RTSPFilterResult::Remove));
            if let Some(pool) = server.session_pool() {
                pool.filter(Some(&mut |_, _| rtsp_server::RTSPFilterResult::Remove));
            }
            if let Some(listening) = context.find_source_by_id(&source) {
                listening.destroy();
            }
            drop(server);
            main_loop.quit();
            let _ = done_tx.send(());
        });
        done_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the server's main loop stops");
        thread.join().unwrap();
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the source gave, and when.
type Arrival = (Instant, Result<SourceItem, savant_sdk_core::Error>);

/// Reads a source on its own thread until dropped.
struct Reader {
    items: mpsc::Receiver<Arrival>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Reader {
    fn start(mut source: RtspSource) -> Reader {
        let (tx, items) = mpsc::channel();
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                loop {
                    let item = tokio::select! {
                        _ = &mut stopped => return,
                        item = source.next() => item,
                    };
                    let item = match item {
                        Ok(Some(item)) => Ok(item),
                        Ok(None) => return,
                        Err(e) => Err(e),
                    };
                    let failed = item.is_err();
                    if tx.send((Instant::now(), item)).is_err() || failed {
                        return;
                    }
                }
            });
        });
        Reader {
            items,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The next item, failing the test after `timeout`.
    fn next(&self, timeout: Duration, what: &str) -> (Instant, SourceItem) {
        match self.items.recv_timeout(timeout) {
            Ok((at, Ok(item))) => (at, item),
            Ok((_, Err(e))) => panic!("{what}: the source failed: {e}"),
            Err(_) => panic!("{what}: nothing from the source within {timeout:?}"),
        }
    }

    /// The error the source ends with, failing the test on frames or after
    /// `timeout`.
    fn error(&self, timeout: Duration) -> savant_sdk_core::Error {
        match self.items.recv_timeout(timeout) {
            Ok((_, Err(e))) => e,
            Ok((_, Ok(item))) => panic!("expected an error, got {item:?}"),
            Err(_) => panic!("no error within {timeout:?}"),
        }
    }

    /// `n` frames (failing on EOS or errors).
    fn frames(&self, n: usize, timeout: Duration, what: &str) -> Vec<SourceFrame> {
        let deadline = Instant::now() + timeout;
        (0..n)
            .map(|i| {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.next(left, &format!("{what}: frame {i}")) {
                    (_, SourceItem::Frame(f)) => f,
                    (_, other) => panic!("{what}: frame {i} is {other:?}"),
                }
            })
            .collect()
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Quick settings for tests.
fn builder(url: &str) -> RtspSourceBuilder {
    RtspSource::builder("cam-1", url)
        .latency(Duration::from_millis(100))
        .connect_timeout(Duration::from_secs(5))
        .silence_timeout(Duration::from_secs(2))
        .backoff(Duration::from_millis(100), Duration::from_millis(400))
        .attempts(2)
}

/// The 4-byte start code and the NAL unit types of an Annex B access unit.
fn nal_types(data: &[u8], hevc: bool) -> Vec<u8> {
    let mut types = Vec::new();
    let mut i = 0;
    while i + 3 < data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            let header = data[i + 3];
            types.push(if hevc {
                (header >> 1) & 0x3F
            } else {
                header & 0x1F
            });
            i += 3;
        } else {
            i += 1;
        }
    }
    types
}

fn check_frames(frames: &[SourceFrame], codec: &str, what: &str) {
    let hevc = codec == "hevc";
    let first = &frames[0];
    assert_eq!(first.frame.keyframe, Some(true), "{what}: a keyframe first");
    // SPS (and, for HEVC, VPS) come with the keyframe.
    if matches!(codec, "h264" | "hevc") {
        let types = nal_types(&first.content, hevc);
        let sps = if hevc { 33 } else { 7 };
        assert!(
            types.contains(&sps),
            "{what}: SPS in the first keyframe: {types:?}"
        );
    }
    let mut previous: Option<i64> = None;
    for (n, f) in frames.iter().enumerate() {
        let v = &f.frame;
        assert_eq!(v.source_id, "cam-1");
        assert_eq!(
            v.codec.as_deref(),
            Some(codec),
            "{what}: codec of frame {n}"
        );
        assert_eq!((v.width, v.height), (320, 240), "{what}: size of frame {n}");
        if matches!(codec, "h264" | "hevc") {
            assert_eq!(v.framerate, "30/1", "{what}: framerate of frame {n}");
        }
        assert!(!f.content.is_empty(), "{what}: frame {n} has content");
        assert!(v.keyframe.is_some(), "{what}: keyframe flag of frame {n}");
        if let Some(p) = previous {
            assert!(
                v.pts > p,
                "{what}: pts increase at frame {n}: {p} then {}",
                v.pts
            );
        }
        previous = Some(v.pts);
    }
    let keyframes = frames
        .iter()
        .filter(|f| f.frame.keyframe == Some(true))
        .count();
    assert!(
        keyframes >= 2,
        "{what}: keyframes every 15 frames, {keyframes} in {}",
        frames.len()
    );
}

fn frames_arrive(transport: RtspTransport, launch: &str, codec: &str) {
    let server = RtspServer::start(free_tcp_port(), launch);
    let source = builder(&server.url(MOUNT))
        .transport(transport)
        .build()
        .unwrap();
    assert_eq!(source.name(), format!("rtsp {}", server.url(MOUNT)));
    let reader = Reader::start(source);
    let frames = reader.frames(40, Duration::from_secs(10), &format!("{transport:?}"));
    check_frames(&frames, codec, &format!("{transport:?}/{codec}"));
}

#[test]
fn h264_frames_arrive_over_tcp() {
    frames_arrive(RtspTransport::Tcp, H264, "h264");
}

#[test]
fn h264_frames_arrive_over_udp() {
    frames_arrive(RtspTransport::Udp, H264, "h264");
}

#[test]
fn hevc_frames_arrive() {
    frames_arrive(RtspTransport::Tcp, HEVC, "hevc");
}

#[test]
fn vp8_frames_arrive() {
    frames_arrive(RtspTransport::Tcp, VP8, "vp8");
}

#[test]
fn jpeg_frames_arrive() {
    frames_arrive(RtspTransport::Udp, JPEG, "jpeg");
}

#[test]
fn audio_beside_video_is_ignored() {
    frames_arrive(RtspTransport::Tcp, H264_AND_AUDIO, "h264");
}

#[test]
fn unsupported_codec_is_named_at_once() {
    let server = RtspServer::start(free_tcp_port(), RAW);
    let reader = Reader::start(builder(&server.url(MOUNT)).attempts(5).build().unwrap());
    let e = reader.error(Duration::from_secs(10));
    eprintln!("{e}");
    let savant_sdk_core::Error::Source { source, .. } = &e else {
        panic!("not a source error: {e}");
    };
    match source.downcast_ref::<SourceError>() {
        Some(SourceError::UnsupportedCodec { codec, .. }) => assert_eq!(codec, "RTP RAW"),
        _ => panic!("not UnsupportedCodec: {e}"),
    }
}

#[test]
fn server_restart_gives_eos_and_resumes_on_a_keyframe_over_tcp() {
    server_restart(RtspTransport::Tcp);
}

/// Over UDP the RTSP connection is idle: the source notices the end by
/// RTCP BYE or by the silence timeout.
#[test]
fn server_restart_gives_eos_and_resumes_on_a_keyframe_over_udp() {
    server_restart(RtspTransport::Udp);
}

fn server_restart(transport: RtspTransport) {
    let port = free_tcp_port();
    let mut server = RtspServer::start(port, H264);
    let source = builder(&server.url(MOUNT))
        .transport(transport)
        .attempts(3)
        .reconnect(RtspReconnect::Forever)
        .build()
        .unwrap();
    let reader = Reader::start(source);
    let before = reader.frames(20, Duration::from_secs(10), "before the stop");
    check_frames(&before, "h264", "before the stop");

    server.stop();
    let stopped = Instant::now();
    // Frames already on their way may come first; then one EOS.
    let mut last_pts = before.last().unwrap().frame.pts;
    loop {
        match reader.next(
            Duration::from_secs(5),
            &format!("{transport:?}: after the stop"),
        ) {
            (_, SourceItem::Frame(f)) => {
                assert!(f.frame.pts > last_pts, "pts increase");
                last_pts = f.frame.pts;
            }
            (at, SourceItem::EndOfStream(id)) => {
                assert_eq!(id, "cam-1");
                eprintln!(
                    "{transport:?}: EOS {:?} after the stop",
                    at.duration_since(stopped)
                );
                break;
            }
            (_, other) => panic!("unexpected {other:?}"),
        }
    }
    // Down for a while: the source retries (and fails) in the meantime.
    std::thread::sleep(Duration::from_millis(1000).saturating_sub(stopped.elapsed()));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server is really down"
    );
    let _server = RtspServer::start(port, H264);
    let restarted = Instant::now();

    let (at, item) = reader.next(Duration::from_secs(10), "after the restart");
    let SourceItem::Frame(first) = item else {
        panic!("after the restart: a frame, not a second EOS: {item:?}");
    };
    eprintln!(
        "{transport:?}: resumed {:?} after the restart",
        at.duration_since(restarted)
    );
    assert!(
        at.duration_since(restarted) < Duration::from_secs(10),
        "resumed {:?} after the restart",
        at.duration_since(restarted)
    );
    assert!(
        first.frame.pts > last_pts,
        "pts keep increasing across the reconnect: {last_pts} then {}",
        first.frame.pts
    );
    let mut after = vec![first];
    after.extend(reader.frames(19, Duration::from_secs(5), "after the restart"));
    check_frames(&after, "h264", "after the restart");
}

/// A camera that is already streaming (a shared media another client
/// watches) is joined mid-GOP: the delta units before the first keyframe
/// are dropped.
#[test]
fn joining_mid_stream_starts_on_a_keyframe() {
    let server = RtspServer::start_with(free_tcp_port(), H264_LONG_GOP, true);
    let first = Reader::start(builder(&server.url(MOUNT)).build().unwrap());
    first.frames(10, Duration::from_secs(10), "first client");
    for round in 0..3 {
        // Somewhere inside the 30-frame GOP.
        std::thread::sleep(Duration::from_millis(150 + 200 * round));
        let late = Reader::start(builder(&server.url(MOUNT)).build().unwrap());
        let frames = late.frames(5, Duration::from_secs(10), "late client");
        assert_eq!(
            frames[0].frame.keyframe,
            Some(true),
            "round {round}: the late client starts on a keyframe"
        );
        while first.items.try_recv().is_ok() {}
    }
}

#[test]
fn silence_counts_as_a_disconnect() {
    let server = RtspServer::start(free_tcp_port(), H264_VALVE);
    let valves = std::sync::Arc::new(std::sync::Mutex::new(Vec::<gst::Element>::new()));
    let seen = valves.clone();
    server.factory.connect_media_configure(move |_, media| {
        let bin = media.element().downcast::<gst::Bin>().unwrap();
        seen.lock()
            .unwrap()
            .push(bin.by_name("v").expect("valve v"));
    });
    let source = builder(&server.url(MOUNT))
        .silence_timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    let reader = Reader::start(source);
    let before = reader.frames(20, Duration::from_secs(10), "before the silence");
    check_frames(&before, "h264", "before the silence");

    // The connection stays up, the video stops.
    let valve = valves.lock().unwrap()[0].clone();
    valve.set_property("drop", true);
    let silenced = Instant::now();
    let mut last_pts = before.last().unwrap().frame.pts;
    let eos_at = loop {
        match reader.next(Duration::from_secs(5), "after the silence") {
            (_, SourceItem::Frame(f)) => last_pts = f.frame.pts,
            (at, SourceItem::EndOfStream(_)) => break at,
            (_, other) => panic!("unexpected {other:?}"),
        }
    };
    let waited = eos_at.duration_since(silenced);
    eprintln!("EOS {waited:?} after the silence");
    assert!(
        waited >= Duration::from_millis(1400) && waited < Duration::from_secs(4),
        "EOS by the silence timeout, {waited:?} after the video stopped"
    );
    // A new connection gets a new media, with an open valve.
    let after = reader.frames(20, Duration::from_secs(10), "after the silence");
    check_frames(&after, "h264", "after the silence");
    assert!(after[0].frame.pts > last_pts, "pts keep increasing");
    assert!(valves.lock().unwrap().len() >= 2, "reconnected");
}

/// The typed error inside the SDK's error.
fn unreachable(e: &savant_sdk_core::Error) -> (&str, u32, &str) {
    let savant_sdk_core::Error::Source { source, .. } = e else {
        panic!("not a source error: {e}");
    };
    match source.downcast_ref::<SourceError>() {
        Some(SourceError::RtspUnreachable {
            url,
            attempts,
            detail,
        }) => (url.as_str(), *attempts, detail.as_str()),
        _ => panic!("not RtspUnreachable: {e}"),
    }
}

#[test]
fn wrong_path_is_a_clear_error_after_the_attempts() {
    let server = RtspServer::start(free_tcp_port(), H264);
    let url = server.url("/no-such-camera");
    let started = Instant::now();
    let reader = Reader::start(builder(&url).attempts(3).build().unwrap());
    let e = reader.error(Duration::from_secs(15));
    eprintln!("{e}");
    let (shown_url, attempts, detail) = unreachable(&e);
    assert_eq!(shown_url, url);
    assert_eq!(attempts, 3);
    assert!(detail.contains("Not Found"), "{detail}");
    let message = e.to_string();
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("3 attempt"), "{message}");
    assert!(message.contains("Not Found"), "{message}");
    // Two waits of 100 and 200 ms between three quick attempts.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "backoff between attempts: {:?}",
        started.elapsed()
    );
}

#[test]
fn refused_connection_is_a_clear_error() {
    let url = format!("rtsp://127.0.0.1:{}/cam", free_tcp_port());
    let reader = Reader::start(builder(&url).build().unwrap());
    let e = reader.error(Duration::from_secs(15));
    eprintln!("{e}");
    let (shown_url, attempts, detail) = unreachable(&e);
    assert_eq!(shown_url, url);
    assert_eq!(attempts, 2);
    assert!(detail.contains("Connection refused"), "{detail}");
    assert!(e.to_string().contains("Connection refused"), "{e}");
}

#[test]
fn credentials_stay_out_of_errors() {
    let server = RtspServer::start(free_tcp_port(), H264);
    let refused_port = free_tcp_port();
    for (url, prefix) in [
        (
            format!(
                "rtsp://admin:hunter2secret@127.0.0.1:{}/no-such-camera",
                server.port
            ),
            "rtsp://***@127.0.0.1:",
        ),
        (
            format!("rtsp://admin:hunter2secret@127.0.0.1:{refused_port}/cam"),
            "rtsp://***@127.0.0.1:",
        ),
        // Some cameras take credentials in the query.
        (
            format!(
                "rtsp://127.0.0.1:{}/no-such-camera?user=admin&password=hunter2secret",
                server.port
            ),
            "rtsp://127.0.0.1:",
        ),
    ] {
        let source = builder(&url).attempts(1).build().unwrap();
        let shown = format!("{} {:?}", source.name(), source);
        let reader = Reader::start(source);
        let e = reader.error(Duration::from_secs(15));
        eprintln!("{e}");
        let (shown_url, _, _) = unreachable(&e);
        assert!(shown_url.starts_with(prefix), "{shown_url}");
        for text in [e.to_string(), format!("{e:?}"), shown] {
            assert!(!text.contains("hunter2secret"), "password in {text}");
            assert!(!text.contains("admin"), "user name in {text}");
        }
    }
}
