//! One source id's constant-rate feed: every tick of the output frame
//! rate, the latest picture if it is fresh, else the stub picture, pushed
//! into the media's `appsrc` (when a player made the server start it).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer_app as gst_app;

use super::server::AppSrcSlot;
use super::stub::StubPicture;

/// What the feed shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedState {
    /// Frames arrive: the latest is shown.
    Live,
    /// No frame for `max_delay`: the stub is shown.
    Stub,
}

/// The latest picture of a source and when it came.
struct Latest {
    buffer: gst::Buffer,
    caps: gst::Caps,
    at: Instant,
}

/// The state the feeding thread and the sink share.
pub(crate) struct Shared {
    latest: Mutex<Option<Latest>>,
    pub(crate) appsrc: AppSrcSlot,
    stop: AtomicBool,
    /// Pictures pushed: live and stub.
    pub(crate) live_pushed: AtomicU64,
    pub(crate) stub_pushed: AtomicU64,
    stub_now: AtomicBool,
}

/// A running feed.
pub(crate) struct Feed {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// The caps of a packed RGB picture.
pub(crate) fn rgb_caps(width: u32, height: u32, fps: (i32, i32)) -> gst::Caps {
    gst::Caps::builder("video/x-raw")
        .field("format", "RGB")
        .field("width", width as i32)
        .field("height", height as i32)
        .field("framerate", gst::Fraction::new(fps.0, fps.1))
        .build()
}

impl Feed {
    /// Starts feeding at `fps`, the stub after `max_delay` without a frame.
    pub(crate) fn start(
        source_id: String,
        fps: (i32, i32),
        max_delay: Duration,
        mut stub: StubPicture,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            latest: Mutex::new(None),
            appsrc: Arc::new(Mutex::new(None)),
            stop: AtomicBool::new(false),
            live_pushed: AtomicU64::new(0),
            stub_pushed: AtomicU64::new(0),
            stub_now: AtomicBool::new(true),
        });
        let feeding = shared.clone();
        let interval =
            Duration::from_nanos((1_000_000_000u64 * fps.1.max(1) as u64) / fps.0.max(1) as u64);
        let thread = std::thread::Builder::new()
            .name(format!("rtsp-feed-{source_id}"))
            .spawn(move || {
                let mut next = Instant::now();
                let mut state = FeedState::Stub;
                while !feeding.stop.load(Ordering::Acquire) {
                    next += interval;
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    } else {
                        // behind (a slow machine): skip the missed ticks
                        next = now;
                    }
                    let appsrc = feeding
                        .appsrc
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone();
                    let fresh = feeding
                        .latest
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .as_ref()
                        .filter(|l| l.at.elapsed() < max_delay)
                        .map(|l| (l.buffer.copy(), l.caps.clone()));
                    let new_state = if fresh.is_some() {
                        FeedState::Live
                    } else {
                        FeedState::Stub
                    };
                    if new_state != state {
                        tracing::info!(source_id = %source_id, ?new_state, "always-on RTSP feed");
                        state = new_state;
                    }
                    feeding
                        .stub_now
                        .store(state == FeedState::Stub, Ordering::Release);
                    let Some(appsrc) = appsrc else {
                        continue; // nobody watches yet
                    };
                    let (buffer, caps) = match fresh {
                        Some(f) => f,
                        None => stub.current(),
                    };
                    if appsrc.caps().as_ref() != Some(&caps) {
                        appsrc.set_caps(Some(&caps));
                    }
                    if push(&appsrc, buffer).is_err() {
                        // the media was stopped: wait for the next one
                        let mut slot = feeding.appsrc.lock().unwrap_or_else(|p| p.into_inner());
                        if slot.as_ref() == Some(&appsrc) {
                            *slot = None;
                        }
                        continue;
                    }
                    match state {
                        FeedState::Live => feeding.live_pushed.fetch_add(1, Ordering::Relaxed),
                        FeedState::Stub => feeding.stub_pushed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// The shared state (the appsrc slot for the server).
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// A new picture to show.
    pub(crate) fn update(&self, buffer: gst::Buffer, caps: gst::Caps) {
        *self.shared.latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(Latest {
            buffer,
            caps,
            at: Instant::now(),
        });
    }

    /// What the feed shows now.
    pub(crate) fn state(&self) -> FeedState {
        if self.shared.stub_now.load(Ordering::Acquire) {
            FeedState::Stub
        } else {
            FeedState::Live
        }
    }

    /// Stops the thread.
    pub(crate) fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(appsrc) = self
            .shared
            .appsrc
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = appsrc.end_of_stream();
        }
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.stop();
    }
}

fn push(appsrc: &gst_app::AppSrc, buffer: gst::Buffer) -> Result<(), gst::FlowError> {
    // a live source: what a slow encoder has not taken yet is dropped
    // rather than queued without bound
    if appsrc.current_level_buffers() > 8 {
        return Ok(());
    }
    appsrc.push_buffer(buffer).map(|_| ())
}
