//! What the CLI test binaries share: the binary, running it, reading its
//! JSON lines, and a child process that cannot outlive a failed test.

// Each test binary uses part of this.
#![allow(dead_code)]

use std::process::Command;

use serde_json::Value;

/// The `savant-sdk` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_savant-sdk");

/// Runs the binary to the end: exit code, stdout, stderr.
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The JSON lines of an output (other lines skipped).
pub fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A child process killed if the test fails before it ends.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub mod dumps;

/// Waits until an `ipc://` endpoint's socket file exists: the readiness
/// of a process that binds it (a reader bound before a sender that does
/// not wait for acknowledgements, `--no-eos`, starts).
pub fn wait_bound(endpoint: &str) {
    let path = endpoint.strip_prefix("ipc://").expect("an ipc:// endpoint");
    let started = std::time::Instant::now();
    while !std::path::Path::new(path).exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "nothing bound {endpoint}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// An MP4 of `frames` 160x120 H.264 frames at 25 fps, a keyframe every 5,
/// made with gst-launch-1.0.
pub fn make_h264_mp4(path: &std::path::Path, frames: u32) {
    let status = std::process::Command::new("gst-launch-1.0")
        .args(["-q", "videotestsrc"])
        .arg(format!("num-buffers={frames}"))
        .args([
            "!",
            "video/x-raw,width=160,height=120,framerate=25/1",
            "!",
            "x264enc",
            "speed-preset=ultrafast",
            "key-int-max=5",
            "!",
            "h264parse",
            "!",
            "mp4mux",
            "!",
            "filesink",
        ])
        .arg(format!("location={}", path.display()))
        .status()
        .expect("gst-launch-1.0 (scripts/setup.sh installs it)");
    assert!(status.success());
}
