//! `savant-sdk record` and `savant-sdk replay`: messages to segment files
//! in the layout of Savant's message dumps, and back onto a socket.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use savant_sdk_core::codec::VersionPolicy;
use savant_sdk_core::transport::{
    BlockingReader, BlockingWriter, ReaderConfig, ReaderResult, WriteOutcome, WriterConfig,
};
use savant_sdk_record::{
    DumpItem, DumpReader, DumpRecord, DumpWriter, RecordError, ReplayOptions, Replayer,
    SegmentPolicy,
};
use serde_json::json;

use crate::emit;
use crate::protocol::parse_accept;

/// Arguments of `record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Reader socket, Savant syntax (e.g. router+bind:ipc:///tmp/zmq-sockets/input-video.ipc).
    #[arg(long)]
    socket: String,
    /// The directory of the segment files (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Start a new segment before one would pass N MiB.
    #[arg(long, value_name = "N", default_value_t = 64)]
    segment_mb: u64,
    /// Start a new segment after N messages.
    #[arg(long, value_name = "N")]
    segment_messages: Option<u64>,
    /// Start a new segment every S seconds (Savant's buffer adapter: 60).
    #[arg(long, value_name = "S")]
    segment_seconds: Option<f64>,
    /// Stop after S seconds without a message (0: never).
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    idle_timeout: f64,
    /// Stop after N EOS messages (recorded).
    #[arg(long, value_name = "N")]
    eos_count: Option<u64>,
    /// Stop after N messages.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Which protocol versions to record (default any: every message
    /// that decodes in a known layout is recorded, as its bytes came).
    #[arg(long, value_name = "VERSION|GEN", default_value = "any", value_parser = parse_accept)]
    accept_version: VersionPolicy,
}

/// Arguments of `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The dump: a directory of *.msgpack segments (ours or Savant's), a
    /// playlist file (segment paths one a line) or one segment.
    #[arg(value_name = "DIR")]
    dump: PathBuf,
    /// Writer socket, Savant syntax (e.g. dealer+connect:ipc:///tmp/zmq-sockets/input-video.ipc).
    #[arg(long)]
    socket: String,
    /// Keep the recorded timing (by the receive times); without it, as
    /// fast as the socket takes them.
    #[arg(long)]
    pace: bool,
    /// A fresh trace id for every recorded trace (traceparent,
    /// uber-trace-id); such messages are re-encoded in their own version.
    #[arg(long)]
    new_trace_ids: bool,
    /// Send topic and source id FROM as TO (repeatable); such messages are
    /// re-encoded in their own version.
    #[arg(long, value_name = "FROM=TO", value_parser = parse_rewrite)]
    source_id_rewrite: Vec<(String, String)>,
    /// One JSON line per message sent (default: only the summary).
    #[arg(long)]
    verbose: bool,
}

fn parse_rewrite(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a.into(), b.into())),
        _ => Err(format!("expected FROM=TO, got {s:?}")),
    }
}

fn seconds(s: f64, what: &str) -> Result<Option<Duration>> {
    if !s.is_finite() || s < 0.0 {
        bail!("{what} must be a number of seconds >= 0, got {s}");
    }
    Ok((s > 0.0).then(|| Duration::from_secs_f64(s)))
}

/// Sets `stop` at SIGINT/SIGTERM (watched by `signals`, made before any
/// readiness line) while `work` runs on a blocking thread.
async fn until_signal<T: Send + 'static>(
    mut signals: savant_sdk_core::pipeline::Signals,
    stop: Arc<AtomicBool>,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let mut task = tokio::task::spawn_blocking(work);
    tokio::select! {
        r = &mut task => r?,
        _ = signals.next() => {
            stop.store(true, Ordering::Relaxed);
            task.await?
        }
    }
}

pub async fn record(a: RecordArgs) -> Result<()> {
    if a.segment_mb == 0 || a.segment_messages == Some(0) {
        bail!("--segment-mb and --segment-messages must be above 0");
    }
    let idle = seconds(a.idle_timeout, "--idle-timeout")?;
    let policy = SegmentPolicy {
        max_bytes: a.segment_mb.saturating_mul(1024 * 1024),
        max_messages: a.segment_messages,
        max_duration: match a.segment_seconds {
            Some(s) => seconds(s, "--segment-seconds")?,
            None => None,
        },
    };
    let mut writer = DumpWriter::create(&a.out, policy)?;
    let config = ReaderConfig::builder(&a.socket)?
        .receive_timeout(Duration::from_millis(100))
        .version_policy(a.accept_version.clone())
        .build()?;
    let mut reader = BlockingReader::new(config)?;
    // watched before `ready` is printed: a signal right after it is kept
    let signals = savant_sdk_core::pipeline::Signals::watch()?;
    emit(json!({"event": "ready", "socket": a.socket, "out": a.out}));
    crate::output::flush();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let (reason, eos) = until_signal(signals, stop, move || {
        let mut last = Instant::now();
        let mut eos = 0u64;
        let reason = loop {
            if flag.load(Ordering::Relaxed) {
                break "signal";
            }
            if a.count.is_some_and(|n| writer.records() >= n) {
                break "count";
            }
            if a.eos_count.is_some_and(|n| eos >= n) {
                break "eos-count";
            }
            match reader.receive()? {
                ReaderResult::Message(m) => {
                    last = Instant::now();
                    writer.write(&DumpRecord::from_received(&m, DumpRecord::now_ns()))?;
                    if m.message.is_end_of_stream() {
                        eos += 1;
                    }
                }
                ReaderResult::Timeout if idle.is_some_and(|d| last.elapsed() >= d) => {
                    break "idle-timeout";
                }
                // skipped (and counted) by the reader
                _ => {}
            }
        };
        let stats = reader.stats();
        let records = writer.records();
        let segments = writer.finish()?;
        emit(json!({
            "event": "stopped",
            "reason": reason,
            "records": records,
            "segments": segments,
            "malformed": stats.malformed(),
            "version_refused": stats.version_refused,
        }));
        Ok((reason, eos))
    })
    .await?;
    tracing::debug!(reason, eos, "record done");
    Ok(())
}

pub async fn replay(a: ReplayArgs) -> Result<()> {
    let dump = DumpReader::open(&a.dump)?;
    let config = WriterConfig::builder(&a.socket)?.build()?;
    let linger = Duration::from_millis(100);
    let writer = BlockingWriter::new(config)?;
    let replayer = Replayer::new(
        writer,
        ReplayOptions {
            pace: a.pace,
            new_trace_ids: a.new_trace_ids,
            source_id_rewrite: a.source_id_rewrite.clone(),
        },
    )?;
    let signals = savant_sdk_core::pipeline::Signals::watch()?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let mut replayer = replayer.with_stop(stop.clone());
    let verbose = a.verbose;
    until_signal(signals, stop, move || {
        let (mut sent, mut damaged, mut max_late) = (0u64, 0u64, Duration::ZERO);
        let mut acknowledged_last = true;
        let mut reason = "end";
        for item in dump {
            if flag.load(Ordering::Relaxed) {
                reason = "signal";
                break;
            }
            match item? {
                DumpItem::Record(r) => {
                    let s = match replayer.send(&r) {
                        Err(RecordError::Stopped) => {
                            reason = "signal";
                            break;
                        }
                        other => other,
                    };
                    let s = s.with_context(|| {
                        format!(
                            "sending the recorded message {sent} (topic {})",
                            String::from_utf8_lossy(&r.topic)
                        )
                    })?;
                    sent += 1;
                    max_late = max_late.max(s.late);
                    acknowledged_last = matches!(s.outcome, WriteOutcome::Acknowledged { .. });
                    if verbose {
                        emit(json!({
                            "event": "sent",
                            "topic": String::from_utf8_lossy(&s.topic),
                            "kind": s.kind,
                            "reencoded": s.reencoded,
                            "late_ms": s.late.as_secs_f64() * 1e3,
                        }));
                    }
                }
                DumpItem::Damaged {
                    segment,
                    offset,
                    skipped,
                    truncated,
                    detail,
                } => {
                    damaged += 1;
                    tracing::warn!(segment = %segment.display(), offset, "skipped {skipped} bytes: {detail}");
                    emit(json!({
                        "event": "damaged",
                        "segment": segment,
                        "offset": offset,
                        "skipped_bytes": skipped,
                        "truncated": truncated,
                        "detail": detail,
                    }));
                }
            }
        }
        if !acknowledged_last {
            // the process-wide ZeroMQ context is never terminated: give
            // the I/O thread the linger to send what is queued
            std::thread::sleep(linger);
        }
        emit(json!({
            "event": "done",
            "reason": reason,
            "sent": sent,
            "damaged": damaged,
            "max_late_ms": max_late.as_secs_f64() * 1e3,
        }));
        Ok(())
    })
    .await
}
