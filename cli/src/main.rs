//! `savant-sdk`: send frames to a Savant module, receive its results, run
//! the embedded loopback module, or run the demo.
// The doc comments of the argument types are `--help` text (clap), written
// for a terminal, not rustdoc: `<pts>` and `[[source]]` are meant literally.
#![allow(rustdoc::invalid_html_tags, rustdoc::broken_intra_doc_links)]

mod buffer;
mod demo;
mod diff;
mod inputs;
#[cfg(feature = "kafka")]
mod kafka;
mod loopback;
mod output;
mod probe;
mod progress;
mod protocol;
mod receive;
mod record;
mod run;
mod send;
mod send_video;
mod telemetry;
mod view;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Talk to Savant modules over ZeroMQ.
#[derive(Debug, Parser)]
#[command(name = "savant-sdk", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send JPEG/PNG files (folders are expanded, sorted), video files or RTSP cameras as frames.
    Send(send::SendArgs),
    /// Receive results and print one JSON line per message.
    Receive(Box<receive::ReceiveArgs>),
    /// Run the embedded pass-through module until SIGINT/SIGTERM.
    Loopback(loopback::LoopbackArgs),
    /// Send sample images through the embedded loopback module and report
    /// per-frame trace ids and round-trip latency.
    Demo(demo::DemoArgs),
    /// Run the sources and sinks (built-in and plugins) of a pipeline TOML file.
    Run(run::RunArgs),
    /// Find which protocol versions a running module accepts.
    ///
    /// For each candidate version, sends one EOS stamped with it to the
    /// module's input over dealer or req, on a throwaway topic of its own
    /// (savant-sdk-probe-<uuid>), and waits --timeout for the
    /// acknowledgement: a savant-rs 1.x or 2.x module acknowledges only its
    /// own version and drops the rest without a word. Prints one JSON line
    /// per candidate (or a table) and exits 0 when at least one version was
    /// acknowledged, 1 when none was.
    ///
    /// Side effects on the module: it sees one EOS per candidate it
    /// accepts, each for a source id nobody uses (a Savant module passes an
    /// EOS through its pipeline and on to its output), and logs a warning
    /// for each version it refuses. A savant-rs 1.x module blacklists a
    /// topic for about 10 s after a version mismatch on it, hence a fresh
    /// topic per candidate: the real sources' topics are never touched.
    /// Nothing else is sent.
    Probe(probe::ProbeArgs),
    /// Serve a live page in the browser: a tile per source id with the
    /// latest annotated frame, frames/s and the objects of the last
    /// frame, and the same numbers as JSON, until SIGINT/SIGTERM.
    ///
    /// Prints one JSON line {"event":"viewer","url":...} once serving.
    /// Endpoints: / (the page), /api/streams (JSON),
    /// /api/streams/<id>/frame.jpg (the latest picture),
    /// /api/streams/<id>/mjpeg (multipart/x-mixed-replace, for VLC or
    /// ffplay). JPEG and PNG frames are shown; video frames are counted
    /// without a picture.
    View(view::ViewArgs),
    /// Record every message of a socket, as its bytes came, into rotating
    /// segment files in the layout of Savant's message dumps (msgpack
    /// [time_ns, topic, message, content]); prints a JSON line when ready
    /// and one when stopped (idle timeout, --count, --eos-count, SIGINT/SIGTERM).
    Record(record::RecordArgs),
    /// Send a recording (ours or Savant's message dump) again, as fast as
    /// possible or with the recorded timing (--pace).
    Replay(record::ReplayArgs),
    /// Compare two runs' metadata JSON lines (receive --out-json) of the
    /// same input: frames by (source id, pts), objects per label by IoU
    /// (greedy, best first; boxes axis-aligned). Reports objects removed,
    /// added and moved (centre more than --move-px), attribute changes of
    /// matched objects, frames of one run only, and a summary per source
    /// and per label. Exit status 0: no differences, 1: differences, 2:
    /// bad input.
    Diff(diff::DiffArgs),
    /// Write what a socket receives into a Kafka topic (frame payloads in
    /// Redis or inline), in the layout of Savant's Kafka-Redis sink adapter.
    #[cfg(feature = "kafka")]
    KafkaSink(Box<kafka::KafkaSinkArgs>),
    /// Feed a module from a Kafka topic as a member of a consumer group
    /// (payloads fetched from Redis), like Savant's Kafka-Redis source adapter.
    #[cfg(feature = "kafka")]
    KafkaSource(Box<kafka::KafkaSourceArgs>),
    /// A persistent buffer between sources and a module, as Savant's
    /// buffer adapter: every message is stored (redb, fsync) before it is
    /// acknowledged upstream, sent on in order, and removed once the module
    /// accepted it (req output: acknowledged). When full, frames are
    /// refused until it drains to --threshold-percent while EOS and other
    /// service messages have --service-reserve. Prints a JSON line when
    /// ready (with the metrics URL), one per --stats-interval and one when
    /// stopped (SIGINT/SIGTERM); what is queued stays for the next start.
    Buffer(buffer::BufferArgs),
}

impl Command {
    /// The telemetry this command exports with, if it has the options.
    fn telemetry(&self) -> anyhow::Result<savant_sdk_core::telemetry::Telemetry> {
        use savant_sdk_core::telemetry::{Propagation, Telemetry};
        match self {
            Command::Send(a) => a.telemetry.build(a.trace.propagation()),
            Command::Demo(a) => a.telemetry.build(Some(a.trace.propagation())),
            Command::Receive(a) => a.telemetry.build(Some(Propagation::Jaeger)),
            Command::Loopback(a) => a.telemetry.build(Some(Propagation::Jaeger)),
            Command::Run(a) => run::telemetry(a),
            Command::Probe(_)
            | Command::View(_)
            | Command::Record(_)
            | Command::Replay(_)
            | Command::Diff(_)
            | Command::Buffer(_) => Ok(Telemetry::off()),
            #[cfg(feature = "kafka")]
            Command::KafkaSink(_) | Command::KafkaSource(_) => Ok(Telemetry::off()),
        }
    }
}

/// Frames are made on one thread and freed on another (the socket
/// threads): mimalloc's per-thread heaps take that without the locks
/// glibc's malloc pays for it.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let cli = Cli::parse();
    // large received frames reuse freed memory instead of new pages from
    // the kernel at every frame; not glibc: nothing to do
    savant_sdk_core::transport::reuse_message_memory();
    // the buffer's periodic stats are its log, at info
    let default_log = match cli.command {
        Command::Buffer(_) => "warn,savant_sdk_buffer=info",
        _ => "warn",
    };
    if let Command::Diff(a) = &cli.command {
        return diff::run(a);
    }
    let telemetry = match cli.command.telemetry() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("savant-sdk: error: {}", error_text(&e));
            return ExitCode::FAILURE;
        }
    };
    // Logs go to stderr; with telemetry exported they also become span
    // events of the frame being handled (without an exporter the layer
    // would record spans and events nobody sees: a dozen allocations a
    // message).
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log)),
                ),
        )
        .with(
            telemetry
                .is_exporting()
                .then(|| telemetry.tracing_layer())
                .flatten(),
        )
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("savant-sdk: error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let t = telemetry.clone();
    let result = rt.block_on(async move {
        match cli.command {
            Command::Send(a) => send::run(a, t).await,
            Command::Receive(a) => receive::run(*a, t).await,
            Command::Loopback(a) => loopback::run(a, t).await,
            Command::Demo(a) => demo::run(a, t).await,
            Command::Run(a) => run::run(a, t).await,
            Command::Probe(a) => probe::run(a).await,
            Command::View(a) => view::run(a).await,
            Command::Record(a) => record::record(a).await,
            Command::Replay(a) => record::replay(a).await,
            #[cfg(feature = "kafka")]
            Command::KafkaSink(a) => kafka::sink(*a).await,
            #[cfg(feature = "kafka")]
            Command::KafkaSource(a) => kafka::source(*a).await,
            Command::Buffer(a) => buffer::run(a).await,
            Command::Diff(_) => unreachable!("diff runs without the runtime"),
        }
    });
    output::flush();
    telemetry.shutdown(); // flushes pending spans
                          // the runtime's tasks end first: every socket closes, then what the
                          // closed writers still had queued is sent before the process exits
    drop(rt);
    if !savant_sdk_core::transport::terminate_context(std::time::Duration::from_secs(2)) {
        tracing::debug!("ZeroMQ context still in use after 2 s; exiting anyway");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("savant-sdk: error: {}", error_text(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, each said once. The SDK's errors
/// say their cause in their own message and also return it as their
/// `source()` (so code that prints only the top error loses nothing), and
/// a context line may repeat the start of the error it wraps; anyhow's
/// `{:#}` would print such text twice. A cause already inside the text
/// before it is left out, and a context that the next message begins with
/// gives way to it.
pub(crate) fn error_text(e: &anyhow::Error) -> String {
    savant_sdk_core::error::report(e.as_ref())
}

pub(crate) use output::emit;

/// Parses `ns/name`.
pub(crate) fn parse_ns_name(s: &str) -> Result<(String, String), String> {
    match s.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() => Ok((ns.into(), name.into())),
        _ => Err(format!("expected NAMESPACE/NAME, got {s:?}")),
    }
}

/// Parses `N/D` or `N`.
pub(crate) fn parse_fps(s: &str) -> Result<(i64, i64), String> {
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    match (n.parse::<i64>(), d.parse::<i64>()) {
        (Ok(n), Ok(d)) if n > 0 && d > 0 => Ok((n, d)),
        _ => Err(format!("expected a frame rate like 30/1, got {s:?}")),
    }
}

/// `jaeger` (Savant's default, and ours), `w3c` or `off` (on the command
/// line and in pipeline files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TraceFormat {
    /// Jaeger `uber-trace-id` (Savant's default).
    Jaeger,
    /// W3C `traceparent` (opt-in in Savant).
    W3c,
    /// No traces.
    Off,
}

impl TraceFormat {
    /// The propagation format; `None` for off.
    pub(crate) fn propagation(self) -> Option<savant_sdk_core::telemetry::Propagation> {
        use savant_sdk_core::telemetry::Propagation;
        match self {
            TraceFormat::W3c => Some(Propagation::W3c),
            TraceFormat::Jaeger => Some(Propagation::Jaeger),
            TraceFormat::Off => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::error_text;

    #[test]
    fn each_cause_is_said_once() {
        /// Says its cause and returns it as its source, as the SDK's errors do.
        #[derive(Debug)]
        struct Read(std::io::Error);
        impl std::fmt::Display for Read {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "cannot read x: {}", self.0)
            }
        }
        impl std::error::Error for Read {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let e = anyhow::Error::new(Read(io)).context("source images");
        assert_eq!(error_text(&e), "source images: cannot read x: No such file");
        let e = anyhow::anyhow!("source p: plugin p: next panicked: boom").context("source p");
        assert_eq!(error_text(&e), "source p: plugin p: next panicked: boom");
        let e = anyhow::anyhow!("b").context("a");
        assert_eq!(error_text(&e), "a: b");
    }
}
