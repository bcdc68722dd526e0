//! The embedded loopback module: a pass-through Savant module in-process,
//! so the SDK can be used and tested without a Savant installation.
//!
//! It reads from an input socket and forwards every message unchanged
//! (same topic, same bytes, same extra parts; EOS is acknowledged upstream
//! and forwarded downstream), optionally marking frames with an attribute,
//! and can serve a Savant-style health endpoint.
//!
//! ```no_run
//! use savant_sdk_core::loopback::{LoopbackConfig, LoopbackModule};
//! let module = LoopbackModule::start(
//!     LoopbackConfig::new("router+bind:ipc:///tmp/loopback/in.ipc", "dealer+connect:ipc:///tmp/loopback/out.ipc")
//!         .mark("loopback", "seen")
//!         .healthcheck_port(8888),
//! )?;
//! // ... send to in.ipc, receive from out.ipc ...
//! let stats = module.stop()?;
//! println!("forwarded {}", stats.forwarded);
//! # Ok::<(), savant_sdk_core::Error>(())
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::health_server::HealthServer;
use crate::model::{Attribute, AttributeValue, MessagePayload};
use crate::transport::{
    BlockingReader, BlockingWriter, ReaderConfig, ReaderResult, ReaderStats, WriterConfig,
};

/// Settings of the loopback module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopbackConfig {
    input: String,
    output: String,
    mark: Option<(String, String)>,
    healthcheck: Option<SocketAddr>,
    spin: Duration,
}

impl LoopbackConfig {
    /// Reads from `input` (reader spec, e.g. `router+bind:...`) and writes
    /// to `output` (writer spec, e.g. `pub+bind:...` as a Savant module
    /// does, or `dealer+connect:...`).
    pub fn new(input: impl Into<String>, output: impl Into<String>) -> Self {
        Self {
            input: input.into(),
            output: output.into(),
            mark: None,
            healthcheck: None,
            spin: Duration::from_micros(200),
        }
    }

    /// How long to keep polling without sleeping after a message (default
    /// 200 us; zero turns it off). Saves a thread wake-up per message when
    /// messages follow each other closely, for at most this much CPU time
    /// per message.
    pub fn spin(mut self, spin: Duration) -> Self {
        self.spin = spin;
        self
    }

    /// Adds the persistent frame attribute `namespace/name` (string value
    /// `"loopback"`) to every forwarded frame.
    pub fn mark(mut self, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        self.mark = Some((namespace.into(), name.into()));
        self
    }

    /// Serves `GET /healthcheck` on all interfaces at `port`.
    pub fn healthcheck_port(self, port: u16) -> Self {
        self.healthcheck_addr(SocketAddr::from(([0, 0, 0, 0], port)))
    }

    /// Serves `GET /healthcheck` at `addr`.
    pub fn healthcheck_addr(mut self, addr: SocketAddr) -> Self {
        self.healthcheck = Some(addr);
        self
    }
}

/// What the module did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopbackStats {
    /// Messages forwarded downstream.
    pub forwarded: u64,
    /// Messages that could not be sent downstream (logged and dropped).
    pub dropped: u64,
    /// The input reader's counters (filtered and malformed input).
    pub input: ReaderStats,
}

/// Starts [`LoopbackModule`]s.
#[derive(Debug)]
pub struct LoopbackModule;

impl LoopbackModule {
    /// Opens both sockets and starts forwarding on a thread of its own.
    pub fn start(config: LoopbackConfig) -> Result<LoopbackHandle> {
        let health = config
            .healthcheck
            .map(|addr| HealthServer::start(addr, "starting"))
            .transpose()?;
        let mut reader = BlockingReader::new(
            ReaderConfig::builder(&config.input)?
                .receive_timeout(Duration::from_millis(100))
                .build()?,
        )?;
        let mut writer = BlockingWriter::new(
            WriterConfig::builder(&config.output)?
                .assign_seq_ids(false)
                .build()?,
        )?;
        let stop = Arc::new(AtomicBool::new(false));
        let forwarded = Arc::new(AtomicU64::new(0));
        let dropped = Arc::new(AtomicU64::new(0));
        let (s, f, d) = (stop.clone(), forwarded.clone(), dropped.clone());
        let mark = config.mark.clone();
        let spin = config.spin;
        let thread = std::thread::Builder::new()
            .name("savant-loopback".into())
            .spawn(move || -> Result<ReaderStats> {
                let mut last = Instant::now();
                while !s.load(Ordering::Relaxed) {
                    // Right after a message, poll without sleeping for a
                    // short while: the next one usually follows, and a
                    // thread that never went to sleep needs no wake-up.
                    let spinning = last.elapsed() < spin;
                    let result = if spinning {
                        reader.try_receive()?
                    } else {
                        reader.receive()?
                    };
                    let m = match result {
                        ReaderResult::Message(m) => m,
                        ReaderResult::Timeout if spinning => {
                            std::thread::yield_now();
                            continue;
                        }
                        _ => continue,
                    };
                    let sent = match (&mark, &m.message.payload) {
                        (Some((ns, name)), MessagePayload::VideoFrame(_)) => {
                            let mut msg = m.message;
                            if let MessagePayload::VideoFrame(frame) = &mut msg.payload {
                                frame.attributes.retain(|a| a.key() != (ns.as_str(), name.as_str()));
                                frame.attributes.push(Attribute::persistent(
                                    ns.clone(),
                                    name.clone(),
                                    vec![AttributeValue::string("loopback")],
                                ));
                            }
                            writer.send_message(&String::from_utf8_lossy(&m.topic), &msg, &m.extra)
                        }
                        _ => writer.send_raw(
                            &m.topic,
                            &m.raw_message,
                            &m.extra,
                            m.message.is_end_of_stream(),
                        ),
                    };
                    last = Instant::now();
                    match sent {
                        Ok(_) => {
                            f.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            d.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(topic = %String::from_utf8_lossy(&m.topic), error = %e, "loopback could not forward a message");
                        }
                    }
                }
                Ok(reader.stats())
            })
            .map_err(|e| Error::Config(format!("cannot start loopback thread: {e}")))?;
        if let Some(h) = &health {
            h.set_status("running");
        }
        Ok(LoopbackHandle {
            stop,
            forwarded,
            dropped,
            thread: Some(thread),
            health,
        })
    }
}

/// A running loopback module. Dropping it stops the module.
#[derive(Debug)]
pub struct LoopbackHandle {
    stop: Arc<AtomicBool>,
    forwarded: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
    thread: Option<JoinHandle<Result<ReaderStats>>>,
    health: Option<HealthServer>,
}

impl LoopbackHandle {
    /// The health endpoint's URL, if one is served.
    pub fn health_url(&self) -> Option<String> {
        self.health.as_ref().map(HealthServer::url)
    }

    /// Messages forwarded so far.
    pub fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed)
    }

    /// Stops forwarding (within about 100 ms), closes the sockets and
    /// returns what the module did.
    pub fn stop(mut self) -> Result<LoopbackStats> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<LoopbackStats> {
        if let Some(h) = &self.health {
            h.set_status("stopping");
        }
        self.stop.store(true, Ordering::Relaxed);
        let input = match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| Error::Config("loopback thread panicked".into()))??,
            None => ReaderStats::default(),
        };
        if let Some(h) = &self.health {
            h.set_status("stopped");
        }
        Ok(LoopbackStats {
            forwarded: self.forwarded(),
            dropped: self.dropped.load(Ordering::Relaxed),
            input,
        })
    }
}

impl Drop for LoopbackHandle {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
