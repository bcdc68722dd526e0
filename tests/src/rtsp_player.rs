//! A real RTSP client for the tests: `gst-launch-1.0 rtspsrc` decoding a
//! number of H.264 pictures, killed when it takes too long (a player left
//! connected to a server that went away can wait forever).

use std::io::{Read, Seek};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// What one player run saw.
#[derive(Debug)]
pub struct PlayerRun {
    /// It decoded the pictures: it reached the EOS that its
    /// `fakesink num-buffers=N` posts after the Nth one.
    pub decoded: bool,
    /// Its exit status; `None` when it was killed at the deadline.
    pub status: Option<ExitStatus>,
    /// What it printed, standard output then standard error.
    pub output: String,
}

/// Plays `url` over TCP until `pictures` pictures are decoded, for at
/// most `within`. What counts is [`PlayerRun::decoded`], not the exit
/// status: a player that stops reading while it shuts down can find its
/// connection closed by the server when it sends its TEARDOWN ("Could not
/// write to resource"), which says nothing about the pictures.
pub fn play_rtsp(url: &str, pictures: u32, within: Duration) -> Result<PlayerRun> {
    let mut out = tempfile::tempfile().context("a file for the player's output")?;
    let mut player = Command::new("gst-launch-1.0")
        .args(["rtspsrc", &format!("location={url}"), "protocols=tcp"])
        .args(["!", "rtph264depay", "!", "h264parse", "!", "avdec_h264"])
        .args([
            "!",
            "fakesink",
            &format!("num-buffers={pictures}"),
            "sync=false",
        ])
        .stdout(out.try_clone()?)
        .stderr(out.try_clone()?)
        .spawn()
        .context("starting gst-launch-1.0")?;
    let until = Instant::now() + within;
    let status = loop {
        if let Some(status) = player.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= until {
            let _ = player.kill();
            let _ = player.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut output = String::new();
    out.rewind()?;
    out.read_to_string(&mut output)?;
    Ok(PlayerRun {
        decoded: output.contains("Got EOS from element"),
        status,
        output,
    })
}
