//! Helpers shared by the cross-crate and interop tests: running the
//! savant-rs 0.3.0 peer (`python/savant_peer.py` in the venv made by
//! `scripts/setup.sh`) and reading its JSON-lines output.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

pub mod media;
use serde_json::Value;

/// The Python interpreter that has savant-rs 0.3.0: `$SAVANT_PYTHON`, or
/// `.venv/bin/python` at the workspace root.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SAVANT_PYTHON") {
        return PathBuf::from(p);
    }
    let p = workspace_root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh first (it creates the venv with savant-rs 0.3.0)",
        p.display()
    );
    p
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The peer script.
pub fn peer_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/savant_peer.py")
}

/// A running savant-rs peer process; killed when dropped.
pub struct Peer {
    child: Child,
    lines: mpsc::Receiver<Value>,
    /// Every line read so far.
    pub seen: Vec<Value>,
}

impl Peer {
    /// Starts `savant_peer.py ARGS...`.
    pub fn spawn<S: AsRef<str>>(args: &[S]) -> Result<Peer> {
        let mut child = Command::new(python())
            .arg(peer_script())
            .args(args.iter().map(|a| a.as_ref()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the savant-rs peer")?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    Err(_) => eprintln!("peer: {line}"),
                }
            }
        });
        Ok(Peer {
            child,
            lines,
            seen: Vec::new(),
        })
    }

    /// The next JSON line, waiting at most `within`.
    pub fn next_line(&mut self, within: Duration) -> Result<Value> {
        let v = self
            .lines
            .recv_timeout(within)
            .context("no output from the savant-rs peer in time")?;
        self.seen.push(v.clone());
        Ok(v)
    }

    /// Waits for `{"event":"ready"}`.
    pub fn wait_ready(&mut self, within: Duration) -> Result<()> {
        let end = Instant::now() + within;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let v = self.next_line(left)?;
            if v["event"] == "ready" {
                return Ok(());
            }
        }
    }

    /// Waits for the process to end, collecting the rest of its output.
    pub fn finish(mut self, within: Duration) -> Result<(ExitStatus, Vec<Value>)> {
        let end = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait()? {
                // the reader thread ends with the pipe
                while let Ok(v) = self.lines.recv_timeout(Duration::from_millis(500)) {
                    self.seen.push(v);
                }
                return Ok((status, std::mem::take(&mut self.seen)));
            }
            if Instant::now() > end {
                bail!(
                    "savant-rs peer still running after {within:?}; output: {:?}",
                    self.seen
                );
            }
            while let Ok(v) = self.lines.try_recv() {
                self.seen.push(v);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the peer to completion and returns its exit status and output.
pub fn run_peer<S: AsRef<str>>(args: &[S], within: Duration) -> Result<(ExitStatus, Vec<Value>)> {
    Peer::spawn(args)?.finish(within)
}

/// A free TCP port on 127.0.0.1.
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The payload pattern both sides use: byte `j` of frame `i` is `(i + j) % 251`.
pub fn payload(i: usize, len: usize) -> bytes::Bytes {
    (0..len)
        .map(|j| ((i + j) % 251) as u8)
        .collect::<Vec<_>>()
        .into()
}

/// The README's Rust examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
