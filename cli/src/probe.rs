//! `savant-sdk probe`: which protocol version does a running module
//! accept? One EOS per candidate version, each on a throwaway topic; the
//! versions whose EOS is acknowledged are the ones the module reads.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::Args;
use savant_sdk_core::codec::encode_message_as;
use savant_sdk_core::model::{EndOfStream, Message};
use savant_sdk_core::protocol::{Generation, ProtocolVersion, SAVANT_RELEASES};
use savant_sdk_core::transport::{
    BlockingWriter, SocketSpec, SocketType, WriteOutcome, WriterConfig,
};
use savant_sdk_core::Error;
use serde_json::json;

use crate::emit;
use crate::protocol::parse_version;

/// Versions savant-rs releases in use stamp, besides the table's.
const COMMON_VERSIONS: [&str; 5] = ["1.15.1", "1.15.0", "1.13.0", "0.2.0", "2.1.1"];

/// The topic prefix of the probe's EOS messages.
pub const TOPIC_PREFIX: &str = "savant-sdk-probe-";

/// Arguments of `probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The module's input, as a writer socket: dealer or req (e.g.
    /// dealer+connect:ipc:///tmp/zmq-sockets/input-video.ipc). A pub
    /// socket gets no acknowledgements and cannot probe. Over req, a
    /// reader that answers every message whatever its version (as this
    /// SDK's rep reader does, so as not to wedge the sender) shows every
    /// version acknowledged: probe such a module over dealer.
    #[arg(long)]
    socket: String,
    /// Versions to try, comma-separated, in order (default: each Savant
    /// release's, newest first, then 1.15.1, 1.15.0, 1.13.0, 0.2.0, 2.1.1
    /// and one per known generation, without repeats).
    #[arg(long, value_name = "VERSION,...", value_delimiter = ',', value_parser = parse_version)]
    candidates: Vec<ProtocolVersion>,
    /// Seconds to wait for each candidate's acknowledgement (and for its
    /// send).
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    timeout: f64,
    /// Output: json (one line per candidate, then a summary) or table.
    #[arg(long, value_enum, default_value_t = ProbeFormat::Json)]
    format: ProbeFormat,
}

/// How `probe` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ProbeFormat {
    /// JSON lines.
    Json,
    /// A table for people.
    Table,
}

/// What one candidate got.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// The module acknowledged the EOS: it reads this version.
    Acknowledged,
    /// Sent, no acknowledgement in time: the module drops this version
    /// (or nothing reads the socket).
    NoAck,
    /// Could not even be sent in time (no peer, or its queue is full).
    NotSent,
    /// Something else failed.
    Failed(String),
}

impl Outcome {
    fn name(&self) -> &'static str {
        match self {
            Outcome::Acknowledged => "acknowledged",
            Outcome::NoAck => "no_ack",
            Outcome::NotSent => "not_sent",
            Outcome::Failed(_) => "error",
        }
    }
}

/// The default candidates, in order, without repeats.
pub fn default_candidates() -> Vec<ProtocolVersion> {
    let texts = SAVANT_RELEASES
        .iter()
        .rev()
        .map(|(_, v)| v.to_string())
        .chain(COMMON_VERSIONS.iter().map(|v| v.to_string()))
        .chain(
            Generation::ALL
                .iter()
                .map(|g| g.default_version().as_str().to_string()),
        );
    let mut out: Vec<ProtocolVersion> = Vec::new();
    for t in texts {
        let v = ProtocolVersion::parse(&t).expect("the built-in versions are known");
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn open(spec: &str, timeout: Duration) -> Result<BlockingWriter, Error> {
    BlockingWriter::new(
        WriterConfig::builder(spec)?
            .send_timeout(timeout)
            .send_retries(0)
            .ack_timeout(timeout)
            .ack_retries(0)
            .linger(Duration::ZERO)
            .build()?,
    )
}

/// Sends one EOS stamped `version` on `topic` and sees what comes back.
fn try_version(writer: &mut BlockingWriter, version: &ProtocolVersion, topic: &str) -> Outcome {
    let eos = Message::end_of_stream(EndOfStream::new(topic));
    let system_id = uuid::Uuid::new_v4().to_string();
    let bytes = match encode_message_as(&eos, version, 1, &system_id) {
        Ok(b) => b,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    match writer.send_raw(topic.as_bytes(), &bytes, &[], true) {
        Ok(WriteOutcome::Acknowledged { .. }) => Outcome::Acknowledged,
        Ok(WriteOutcome::Sent { .. }) => {
            Outcome::Failed("this socket type gets no acknowledgement".into())
        }
        Err(Error::AckTimeout { .. }) => Outcome::NoAck,
        Err(Error::SendTimeout { .. }) => Outcome::NotSent,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// One candidate's result.
struct Tried {
    version: ProtocolVersion,
    topic: String,
    outcome: Outcome,
    elapsed: Duration,
}

/// Tries every candidate in turn. A connecting socket is opened afresh for
/// each (a late acknowledgement cannot be taken for the next candidate's);
/// a bound one is opened once (rebinding the address could race its
/// release), where req's correlation still keeps late replies apart.
fn probe(spec: &str, candidates: &[ProtocolVersion], timeout: Duration) -> Result<Vec<Tried>> {
    let parsed = SocketSpec::parse_writer(spec)?;
    if !matches!(parsed.socket_type, SocketType::Dealer | SocketType::Req) {
        bail!(
            "probe needs a dealer or req socket (a {} gets no acknowledgements), e.g. \
             dealer+connect:ipc:///tmp/zmq-sockets/input-video.ipc",
            parsed.socket_type.as_str()
        );
    }
    let fresh_each = !parsed.bind;
    let mut shared = if fresh_each {
        None
    } else {
        Some(open(spec, timeout)?)
    };
    let mut tried = Vec::with_capacity(candidates.len());
    for version in candidates {
        let topic = format!("{TOPIC_PREFIX}{}", uuid::Uuid::new_v4());
        let start = Instant::now();
        let outcome = match &mut shared {
            Some(w) => try_version(w, version, &topic),
            None => match open(spec, timeout) {
                Ok(mut w) => try_version(&mut w, version, &topic),
                Err(e) => Outcome::Failed(e.to_string()),
            },
        };
        tried.push(Tried {
            version: version.clone(),
            topic,
            outcome,
            elapsed: start.elapsed(),
        });
    }
    Ok(tried)
}

pub async fn run(a: ProbeArgs) -> Result<()> {
    if !(a.timeout.is_finite() && a.timeout > 0.0) {
        bail!(
            "--timeout must be a positive number of seconds, not {}",
            a.timeout
        );
    }
    let timeout = Duration::from_secs_f64(a.timeout);
    let candidates = if a.candidates.is_empty() {
        default_candidates()
    } else {
        a.candidates.clone()
    };
    let spec = a.socket.clone();
    let tried = tokio::task::spawn_blocking(move || probe(&spec, &candidates, timeout)).await??;
    let accepted: Vec<&str> = tried
        .iter()
        .filter(|t| t.outcome == Outcome::Acknowledged)
        .map(|t| t.version.as_str())
        .collect();
    match a.format {
        ProbeFormat::Json => {
            for t in &tried {
                emit(json!({
                    "event": "probe",
                    "protocol_version": t.version.as_str(),
                    "generation": t.version.generation().name(),
                    "topic": t.topic,
                    "outcome": t.outcome.name(),
                    "error": match &t.outcome { Outcome::Failed(e) => Some(e), _ => None },
                    "elapsed_ms": t.elapsed.as_secs_f64() * 1e3,
                }));
            }
            emit(json!({
                "event": "probe_summary",
                "socket": a.socket,
                "tried": tried.len(),
                "accepted": accepted,
            }));
        }
        ProbeFormat::Table => {
            println!(
                "{:<10} {:<10} {:<13} {:>9}",
                "VERSION", "GENERATION", "OUTCOME", "MS"
            );
            for t in &tried {
                println!(
                    "{:<10} {:<10} {:<13} {:>9.1}{}",
                    t.version.as_str(),
                    t.version.generation().name(),
                    t.outcome.name(),
                    t.elapsed.as_secs_f64() * 1e3,
                    match &t.outcome {
                        Outcome::Failed(e) => format!("  {e}"),
                        _ => String::new(),
                    }
                );
            }
            if !accepted.is_empty() {
                println!("accepted: {}", accepted.join(", "));
            }
        }
    }
    if accepted.is_empty() {
        let nothing_sent = tried.iter().all(|t| t.outcome == Outcome::NotSent);
        bail!(
            "{} acknowledged none of the {} versions tried{}",
            a.socket,
            tried.len(),
            if nothing_sent {
                ": nothing could be sent (is a module there?)"
            } else {
                " (is a module there and reading? does it run a savant-rs whose version was not tried? give it with --candidates)"
            }
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_candidates_cover_the_table_the_common_versions_and_each_generation() {
        let c: Vec<String> = default_candidates()
            .iter()
            .map(|v| v.as_str().to_string())
            .collect();
        assert_eq!(c, ["1.15.0", "1.13.0", "0.2.0", "1.15.1", "2.1.1"]);
        for g in Generation::ALL {
            assert!(default_candidates().iter().any(|v| v.generation() == g));
        }
    }
}
