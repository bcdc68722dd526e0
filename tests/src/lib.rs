//! Helpers shared by the cross-crate and interop tests: running the real
//! savant-rs peers (`python/savant_peer.py` under savant-rs 0.3.0 or
//! 1.15.1, in the venvs made by `scripts/setup.sh`) and reading their
//! JSON-lines output.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

pub mod bench;
pub mod media;
pub mod rtsp_player;
use savant_sdk_core::protocol::ProtocolVersion;
use serde_json::Value;

/// Which real savant-rs the peer script runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SavantRs {
    /// savant-rs 0.3.0 (Savant 0.4.x), from the package registry, in
    /// `.venv`: stamps `"0.2.0"`, checks no version over ZeroMQ.
    V0_3,
    /// savant-rs 1.15.1 (Savant 0.6.x), the wheel in `shared/wheels`, in
    /// `.venv-savant-rs-1.15`: stamps `"1.15.1"` and drops (without an
    /// ack) every message whose version is not exactly that.
    V1_15,
}

impl SavantRs {
    /// Both peers, oldest first: what every interop test runs against.
    pub const ALL: [SavantRs; 2] = [SavantRs::V0_3, SavantRs::V1_15];

    /// Its version, `"0.3.0"` or `"1.15.1"`.
    pub fn version(self) -> &'static str {
        match self {
            SavantRs::V0_3 => "0.3.0",
            SavantRs::V1_15 => "1.15.1",
        }
    }

    /// `"savant-rs 0.3.0"` or `"savant-rs 1.15.1"`, for failure messages.
    pub fn name(self) -> &'static str {
        match self {
            SavantRs::V0_3 => "savant-rs 0.3.0",
            SavantRs::V1_15 => "savant-rs 1.15.1",
        }
    }

    /// The protocol version its writers stamp, and so the one our writers
    /// must stamp to be read by it: `"0.2.0"` for 0.3.0 (which reads any
    /// version, our default `"1.15.0"` included), `"1.15.1"` for 1.15.1
    /// (which reads nothing else).
    pub fn protocol_version(self) -> ProtocolVersion {
        ProtocolVersion::parse(match self {
            SavantRs::V0_3 => "0.2.0",
            SavantRs::V1_15 => "1.15.1",
        })
        .expect("a known protocol version")
    }

    /// The environment variable naming its interpreter.
    pub fn python_env(self) -> &'static str {
        match self {
            SavantRs::V0_3 => "SAVANT_PYTHON",
            SavantRs::V1_15 => "SAVANT_PYTHON_1_15",
        }
    }

    /// Its venv, relative to the workspace root.
    pub fn venv(self) -> &'static str {
        match self {
            SavantRs::V0_3 => ".venv",
            SavantRs::V1_15 => ".venv-savant-rs-1.15",
        }
    }

    /// The Python interpreter that has it: the variable
    /// [`python_env`](Self::python_env) names, or `VENV/bin/python` at
    /// the workspace root.
    pub fn python(self) -> PathBuf {
        if let Some(p) = std::env::var_os(self.python_env()) {
            return PathBuf::from(p);
        }
        let p = workspace_root().join(self.venv()).join("bin/python");
        assert!(
            p.exists(),
            "{} is missing: run scripts/setup.sh first (it creates {} with {})",
            p.display(),
            self.venv(),
            self.name()
        );
        p
    }

    /// Starts `savant_peer.py ARGS...` under this savant-rs.
    pub fn spawn<S: AsRef<str>>(self, args: &[S]) -> Result<Peer> {
        Peer::spawn_with(self, args)
    }

    /// Starts the stand-in module (`savant_peer.py standin`) reading
    /// `input` and writing `output` (full socket specs), with `extra`
    /// arguments (e.g. `--mark NS/NAME`), and waits for its `ready` line.
    pub fn stand_in(self, input: &str, output: &str, extra: &[&str]) -> Result<Peer> {
        let mut args = vec!["standin", "--input", input, "--output", output];
        args.extend_from_slice(extra);
        let mut peer = self.spawn(&args)?;
        peer.wait_ready(Duration::from_secs(30))?;
        Ok(peer)
    }

    /// Runs the peer to completion; its exit status and output.
    pub fn run_peer<S: AsRef<str>>(
        self,
        args: &[S],
        within: Duration,
    ) -> Result<(ExitStatus, Vec<Value>)> {
        self.spawn(args)?.finish(within)
    }
}

impl std::fmt::Display for SavantRs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The Python interpreter that has savant-rs 0.3.0: `$SAVANT_PYTHON`, or
/// `.venv/bin/python` at the workspace root.
pub fn python() -> PathBuf {
    SavantRs::V0_3.python()
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

/// The message dump script (Savant's dump layout read and written with
/// Python's `msgpack`, a savant-rs reader with receive times).
pub fn dump_tool_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/dump_tool.py")
}

/// A running savant-rs peer process; killed when dropped.
pub struct Peer {
    /// Which savant-rs it runs.
    pub savant: SavantRs,
    child: Child,
    lines: mpsc::Receiver<Value>,
    /// Every line read so far.
    pub seen: Vec<Value>,
}

impl Peer {
    /// Starts `savant_peer.py ARGS...` under savant-rs 0.3.0.
    pub fn spawn<S: AsRef<str>>(args: &[S]) -> Result<Peer> {
        Self::spawn_with(SavantRs::V0_3, args)
    }

    /// Starts `savant_peer.py ARGS...` under `savant`.
    pub fn spawn_with<S: AsRef<str>>(savant: SavantRs, args: &[S]) -> Result<Peer> {
        Self::spawn_script(savant, &peer_script(), args)
    }

    /// Starts another script of `tests/python` (e.g. [`dump_tool_script`])
    /// under `savant`, read the same way (JSON lines on stdout).
    pub fn spawn_script<S: AsRef<str>>(
        savant: SavantRs,
        script: &std::path::Path,
        args: &[S],
    ) -> Result<Peer> {
        let mut cmd = Command::new(savant.python());
        if savant == SavantRs::V1_15 && std::env::var_os("LOGLEVEL").is_none() {
            // 1.x logs every call at TRACE level without it
            cmd.env("LOGLEVEL", "warn");
        }
        let mut child = cmd
            .arg(script)
            .args(args.iter().map(|a| a.as_ref()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting the {savant} peer"))?;
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
            savant,
            child,
            lines,
            seen: Vec::new(),
        })
    }

    /// The process id of the peer (for /proc readings).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next JSON line, waiting at most `within`.
    pub fn next_line(&mut self, within: Duration) -> Result<Value> {
        let v = self
            .lines
            .recv_timeout(within)
            .with_context(|| format!("no output from the {} peer in time", self.savant))?;
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

    /// Calls `probe` until the peer reports a probe: `probe` sends a
    /// message on the topic the peer's reader was started with
    /// (`--probe-topic`), before each wait of 200 ms (a no-op when a
    /// savant-rs writer probes by itself, `writer --probe-until`). A
    /// publisher's messages reach a subscriber only once the
    /// subscription has travelled back, some time after the
    /// connection; what is sent after this returns arrives. Probes still
    /// in flight are reported as probes too, not counted as messages.
    /// Other lines are kept in [`Peer::seen`].
    pub fn wait_for_probe(&mut self, mut probe: impl FnMut(), within: Duration) -> Result<()> {
        let end = Instant::now() + within;
        let mut probes = 0;
        loop {
            if Instant::now() > end {
                bail!(
                    "the {} peer reported no probe in {within:?} ({probes} tries); output: {:?}",
                    self.savant,
                    self.seen
                );
            }
            probe();
            probes += 1;
            match self.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(v) => {
                    let is_probe = v["event"] == "probe";
                    self.seen.push(v);
                    if is_probe {
                        return Ok(());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    bail!("the {} peer exited; output: {:?}", self.savant, self.seen)
                }
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
                    "{} peer still running after {within:?}; output: {:?}",
                    self.savant,
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

/// Runs the savant-rs 0.3.0 peer to completion and returns its exit
/// status and output.
pub fn run_peer<S: AsRef<str>>(args: &[S], within: Duration) -> Result<(ExitStatus, Vec<Value>)> {
    Peer::spawn(args)?.finish(within)
}

/// `--probe-until PATH` for a savant-rs writer on socket type `w`: a pub
/// sends probes (on topic `probe`) until the receiving side creates PATH,
/// once a probe reached it; the other types need nothing.
pub fn writer_probe_args(w: &str, path: &std::path::Path) -> Vec<String> {
    match w {
        "pub" => vec!["--probe-until".into(), path.display().to_string()],
        _ => Vec::new(),
    }
}

/// A tokio runtime of two workers, as on this 2-core machine.
pub fn two_worker_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
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

/// One `#[test]` per savant-rs peer for each named function
/// `fn NAME(peer: SavantRs)` of the calling module: `savant_rs_0_3::NAME`
/// and `savant_rs_1_15::NAME`, so that a failure names the peer and one
/// peer's failure does not hide the other's result.
#[macro_export]
macro_rules! peer_tests {
    ($($name:ident),* $(,)?) => {
        mod savant_rs_0_3 {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::SavantRs::V0_3)
                }
            )*
        }
        mod savant_rs_1_15 {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::SavantRs::V1_15)
                }
            )*
        }
    };
}

/// Sends `source` through an in-process loopback module (ipc sockets in
/// `work`) into `sink` until every source id the source sent has ended,
/// then finishes the sink; returns what the source runner sent. The path
/// a user's program takes: `SourceRunner` -> module -> `SinkRunner`.
pub async fn through_loopback<S, K>(
    work: &std::path::Path,
    source: S,
    sink: &mut K,
) -> Result<savant_sdk_core::client::StreamSummary>
where
    S: savant_sdk_core::source::Source,
    K: savant_sdk_core::sink::Sink + ?Sized,
{
    use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
    use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
    let in_addr = format!("ipc://{}/in.ipc", work.display());
    let out_addr = format!("ipc://{}/out.ipc", work.display());
    let mut runner = SinkBuilder::new(format!("router+bind:{out_addr}"))
        .idle_timeout(Duration::from_secs(10))
        .stop_when_all_ended()
        .build()
        .await?;
    let module = LoopbackModule::start(LoopbackConfig::new(
        format!("router+bind:{in_addr}"),
        format!("dealer+connect:{out_addr}"),
    ))?;
    let writer = SourceBuilder::new(format!("dealer+connect:{in_addr}"))
        .build()
        .await?;
    let (sent, received) = tokio::join!(writer.send_stream(source), runner.run(sink));
    let sent = sent?;
    received?;
    sink.finish().await?;
    writer.close().await;
    module.stop()?;
    runner.close().await;
    Ok(sent)
}
