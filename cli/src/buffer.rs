//! `savant-sdk buffer`: the persistent buffer between sources and a module
//! (`savant_sdk_buffer::Buffer`), until SIGINT/SIGTERM.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;
use savant_sdk_buffer::{Buffer, BufferSettings};
use serde_json::json;

use crate::emit;

/// Arguments of `buffer`.
#[derive(Debug, Args)]
pub struct BufferArgs {
    /// Where sources send: a reader spec (router+bind:..., rep+bind:..., sub+...).
    #[arg(long)]
    input: String,
    /// The module's input: a writer spec (req+connect:... for acknowledged
    /// delivery, dealer+connect:..., pub+...).
    #[arg(long)]
    output: String,
    /// The store's directory (created if missing; what it holds is sent first).
    #[arg(long, value_name = "DIR")]
    path: PathBuf,
    /// Messages queued before frames are refused (Savant's BUFFER_LEN).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    capacity: u64,
    /// Room for EOS, shutdown and other service messages beyond the
    /// capacity (Savant's BUFFER_SERVICE_MESSAGES).
    #[arg(long, value_name = "M", default_value_t = 100)]
    service_reserve: u64,
    /// A full buffer takes frames again once drained to this percentage of
    /// the capacity (Savant's BUFFER_THRESHOLD_PERCENTAGE).
    #[arg(long, value_name = "PCT", default_value_t = 80)]
    threshold_percent: u8,
    /// Most messages stored in one durable commit (router and sub input).
    #[arg(long, value_name = "N", default_value_t = 64)]
    max_batch: usize,
    /// Receive high-water mark of the input: a larger queue stores more
    /// per fsync (throughput) and, over dealer input, is what a killed
    /// buffer can lose.
    #[arg(long, value_name = "N", default_value_t = 50)]
    receive_hwm: i32,
    /// Drop what the store holds at start.
    #[arg(long)]
    reset: bool,
    /// Port of the Prometheus endpoint GET /metrics (0: any free port, shown in the ready line).
    #[arg(long, value_name = "PORT", default_value_t = 8000)]
    metrics_port: u16,
    /// Address the metrics endpoint listens on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    metrics_bind: IpAddr,
    /// Serve no metrics endpoint.
    #[arg(long)]
    no_metrics: bool,
    /// Seconds between stats log lines and stats lines on stdout.
    #[arg(long, value_name = "S", default_value_t = 60.0)]
    stats_interval: f64,
    /// Milliseconds one send to the module may block before it is retried.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    send_timeout_ms: u64,
    /// Milliseconds to wait for the module's acknowledgement (req: every
    /// message; dealer: EOS) before sending the message again.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    ack_timeout_ms: u64,
}

fn stats_json(event: &str, s: &savant_sdk_buffer::BufferStats) -> serde_json::Value {
    json!({
        "event": event,
        "received": s.received,
        "pushed": s.pushed,
        "dropped": s.dropped,
        "dropped_frames": s.dropped_frames,
        "sent": s.sent,
        "send_timeouts": s.send_timeouts,
        "ack_timeouts": s.ack_timeouts,
        "queued": s.queued,
        "payload_bytes": s.payload_bytes,
        "full": s.full,
    })
}

pub async fn run(a: BufferArgs) -> Result<()> {
    if !a.stats_interval.is_finite() || a.stats_interval <= 0.0 {
        bail!("--stats-interval must be a number of seconds above 0");
    }
    let every = Duration::from_secs_f64(a.stats_interval);
    let mut settings = BufferSettings::new(&a.input, &a.output, &a.path)
        .capacity(a.capacity)
        .service_reserve(a.service_reserve)
        .metrics_addr((!a.no_metrics).then_some(SocketAddr::new(a.metrics_bind, a.metrics_port)));
    settings.threshold_percent = a.threshold_percent;
    settings.max_batch = a.max_batch;
    settings.receive_hwm = a.receive_hwm;
    settings.reset_on_start = a.reset;
    settings.stats_interval = every;
    settings.send_timeout = Duration::from_millis(a.send_timeout_ms);
    settings.ack_timeout = Duration::from_millis(a.ack_timeout_ms);
    settings.validate()?;
    // watched before `ready` is printed: a signal right after it is kept
    let mut signals = savant_sdk_core::pipeline::Signals::watch()?;
    let buffer = tokio::task::spawn_blocking(move || Buffer::start(settings)).await??;
    let start = buffer.stats();
    emit(json!({
        "event": "ready",
        "input": a.input,
        "output": a.output,
        "path": a.path,
        "queued": start.queued,
        "metrics": buffer.metrics_addr().map(|m| format!("http://{m}/metrics")),
    }));
    crate::output::flush();
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    let mut check = tokio::time::interval(Duration::from_millis(200));
    let reason = loop {
        tokio::select! {
            s = signals.next() => break s,
            _ = tick.tick() => emit(stats_json("stats", &buffer.stats())),
            _ = check.tick() => if buffer.has_failed() {
                break "failed";
            },
        }
    };
    tracing::info!(reason, "stopping the buffer");
    let stats = tokio::task::spawn_blocking(move || buffer.stop()).await??;
    let mut line = stats_json("stopped", &stats);
    line["reason"] = json!(reason);
    emit(line);
    Ok(())
}
