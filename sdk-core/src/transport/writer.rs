//! The blocking writer: dealer, req or pub, with savant-rs's send retries
//! and acknowledgements.

use bytes::Bytes;

use crate::codec::encode_message_as;
use crate::error::{Error, Result};
use crate::model::{EndOfStream, Message, Shutdown};
use crate::seq_id::SeqIdGenerator;
use crate::transport::config::{ms, WriterConfig};
use crate::transport::socket::{self, zmq_err};
use crate::transport::socket_spec::SocketType;

/// The acknowledgement payload.
pub const ACK: &[u8] = b"OK";

/// What a successful send did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Queued for sending; no acknowledgement is expected (frames over
    /// dealer, everything over pub).
    Sent {
        /// Send attempts used (1 when the first one went through).
        attempts: u32,
    },
    /// Sent and acknowledged with `OK` (EOS over dealer, everything over req).
    Acknowledged {
        /// Send attempts used.
        attempts: u32,
        /// Waits for the acknowledgement used.
        ack_waits: u32,
        /// Times the message was sent again because a wait for its `OK`
        /// timed out (req only, see
        /// [`WriterConfigBuilder::resend_unacknowledged`](crate::transport::WriterConfigBuilder::resend_unacknowledged)).
        /// A resent message may reach the module twice: it is delivered at
        /// least once.
        resends: u32,
    },
}

impl WriteOutcome {
    /// Times the message was resent after a wait for its acknowledgement
    /// timed out (0 for everything but req).
    pub fn resends(&self) -> u32 {
        match self {
            Self::Sent { .. } => 0,
            Self::Acknowledged { resends, .. } => *resends,
        }
    }
}

/// Sends messages on the calling thread. For async code use
/// [`crate::transport::Writer`], which runs one of these on its own thread.
///
/// Every message goes out as `[topic, message, extra...]`. A dealer waits
/// for `OK` after an EOS, a req after every message; a send that finds the
/// queue full waits `send_timeout` and retries `send_retries` times.
///
/// A req whose wait for `OK` times out sends the message again (the module
/// may have restarted and lost it) before the next wait, up to
/// `ack_retries` times, and counts it in [`WriteOutcome::Acknowledged`]'s
/// `resends`; when no `OK` comes at all the send fails with
/// [`Error::AckTimeout`]. Over req every message is therefore either
/// acknowledged or reported failed.
///
/// ```no_run
/// use bytes::Bytes;
/// use savant_sdk_core::model::{FrameContent, Message, VideoFrame};
/// use savant_sdk_core::transport::{BlockingWriter, WriterConfig};
///
/// let mut writer = BlockingWriter::new(
///     WriterConfig::builder("dealer+connect:ipc:///tmp/savant/input.ipc")?.build()?,
/// )?;
/// let frame = VideoFrame::builder("cam-1")
///     .codec("jpeg")
///     .content(FrameContent::external_zeromq())
///     .build();
/// let jpeg = Bytes::from(std::fs::read("frame.jpeg").unwrap());
/// writer.send_message("cam-1", &Message::video_frame(frame), &[jpeg])?;
/// writer.send_eos("cam-1")?; // waits for the module's OK
/// # Ok::<(), savant_sdk_core::Error>(())
/// ```
pub struct BlockingWriter {
    socket: zmq::Socket,
    config: WriterConfig,
    endpoint: String,
    seq_ids: SeqIdGenerator,
    wants_acks: bool,
    /// The parts of the last reply (kept to reuse their buffer).
    ack_parts: Vec<Bytes>,
    /// This writer's id, sent by generations that carry one (a UUIDv4, as
    /// savant-rs 1.15 makes).
    system_id: String,
}

impl std::fmt::Debug for BlockingWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingWriter")
            .field("spec", &self.config.common.spec.to_string())
            .finish()
    }
}

impl BlockingWriter {
    /// Opens the socket (binds or connects).
    pub fn new(config: WriterConfig) -> Result<Self> {
        let socket_type = config.common.spec.socket_type;
        let socket = open_socket(&config)?;
        Ok(Self {
            endpoint: config.common.spec.zmq_endpoint(),
            wants_acks: socket_type != SocketType::Pub,
            ack_parts: Vec::with_capacity(2),
            socket,
            system_id: if config.protocol_version.generation().has_system_id() {
                uuid::Uuid::new_v4().to_string()
            } else {
                String::new()
            },
            config,
            seq_ids: SeqIdGenerator::default(),
        })
    }

    /// This writer's system id (empty for generations before 1.15).
    pub fn system_id(&self) -> &str {
        &self.system_id
    }

    /// Source ids whose sequence numbering is open (released at their EOS).
    pub fn open_sources(&self) -> usize {
        self.seq_ids.open_sources()
    }

    /// The configuration.
    pub fn config(&self) -> &WriterConfig {
        &self.config
    }

    /// Sends `[topic, message, extra...]`.
    ///
    /// The message is stamped with the configured protocol version (which
    /// picks the layout) and, from 1.15 on, this writer's system id.
    /// Frames, user data and EOS get the next per-source sequence id unless
    /// the config turned numbering off (then the message's own seq id and
    /// system id are sent); from 1.15 on the other kinds are numbered on an
    /// auxiliary counter, as savant-rs 1.15 does. Extra parts larger than a
    /// few hundred bytes are passed to ZeroMQ without copying.
    pub fn send_message(
        &mut self,
        topic: &str,
        message: &Message,
        extra: &[Bytes],
    ) -> Result<WriteOutcome> {
        let generation = self.config.protocol_version.generation();
        let (seq_id, system_id) = if self.config.assign_seq_ids {
            let id = self
                .seq_ids
                .id_for(message, generation.numbers_auxiliary_messages());
            (id, self.system_id.as_str())
        } else if message.system_id.is_empty() {
            (message.seq_id, self.system_id.as_str())
        } else {
            (message.seq_id, message.system_id.as_str())
        };
        let encoded = encode_message_as(message, &self.config.protocol_version, seq_id, system_id)?;
        self.send_raw(
            topic.as_bytes(),
            &encoded,
            extra,
            message.is_end_of_stream(),
        )
    }

    /// Sends an already encoded message part as it is (no re-encoding, no
    /// renumbering): what a forwarding module does. `is_eos` says whether
    /// to wait for the acknowledgement an EOS gets.
    pub fn send_raw(
        &mut self,
        topic: &[u8],
        message: &Bytes,
        extra: &[Bytes],
        is_eos: bool,
    ) -> Result<WriteOutcome> {
        let attempts = self.send_parts(topic, message, extra)?;
        let is_req = self.config.common.spec.socket_type == SocketType::Req;
        if !(is_req || (is_eos && self.wants_acks)) {
            return Ok(WriteOutcome::Sent { attempts });
        }
        let resend = is_req && self.config.resend_unacknowledged;
        let tries = self.config.ack_retries + 1;
        let mut resends = 0;
        for wait in 1..=tries {
            if self.wait_ack(is_eos)? {
                return Ok(WriteOutcome::Acknowledged {
                    attempts,
                    ack_waits: wait,
                    resends,
                });
            }
            if resend && wait < tries {
                tracing::warn!(
                    endpoint = %self.endpoint,
                    wait,
                    "no acknowledgement within the ack timeout: sending the message again"
                );
                self.reopen_req()?;
                self.send_parts(topic, message, extra)?;
                resends += 1;
            } else {
                tracing::debug!(endpoint = %self.endpoint, wait, "no acknowledgement yet");
            }
        }
        if is_req {
            // the unanswered request must not wait in the pipe for the
            // module's return, ahead of whatever is sent next
            self.reopen_req()?;
        }
        Err(Error::AckTimeout {
            endpoint: self.endpoint.clone(),
            attempts: tries,
            timeout: self.config.ack_timeout,
            protocol_version: self.config.protocol_version.to_string(),
        })
    }

    /// Sends an EOS for `source_id` (topic = source id) and, over dealer or
    /// req, waits for `OK`.
    pub fn send_eos(&mut self, source_id: &str) -> Result<WriteOutcome> {
        let eos = Message::end_of_stream(EndOfStream::new(source_id));
        self.send_message(source_id, &eos, &[])
    }

    /// Sends a shutdown request with `auth` on `topic`.
    pub fn send_shutdown(&mut self, topic: &str, auth: &str) -> Result<WriteOutcome> {
        self.send_message(topic, &Message::shutdown(Shutdown::new(auth)), &[])
    }

    fn send_parts(&mut self, topic: &[u8], message: &Bytes, extra: &[Bytes]) -> Result<u32> {
        let tries = self.config.send_retries + 1;
        for attempt in 1..=tries {
            match self.socket.send(topic, zmq::SNDMORE) {
                Ok(()) => {
                    // The rest of a multipart message follows the first part.
                    socket::send_part(&mut self.socket, message, !extra.is_empty())
                        .map_err(|e| zmq_err("send", &self.endpoint, e))?;
                    for (i, part) in extra.iter().enumerate() {
                        socket::send_part(&mut self.socket, part, i + 1 < extra.len())
                            .map_err(|e| zmq_err("send", &self.endpoint, e))?;
                    }
                    return Ok(attempt);
                }
                Err(zmq::Error::EAGAIN) => {
                    tracing::debug!(endpoint = %self.endpoint, attempt, "send timed out, retrying");
                }
                Err(e) => return Err(zmq_err("send", &self.endpoint, e)),
            }
        }
        Err(Error::SendTimeout {
            endpoint: self.endpoint.clone(),
            attempts: tries,
            timeout: self.config.send_timeout,
        })
    }

    /// A connecting req opens a new socket (the old one closed with linger
    /// 0) after a wait for `OK` timed out, before it resends or gives up:
    /// on the old one every resend would queue another copy while the
    /// module is away, and the module would get them all when it comes
    /// back. A bound req keeps its socket (its peers connect to it).
    fn reopen_req(&mut self) -> Result<()> {
        if self.config.common.spec.bind {
            return Ok(());
        }
        self.socket
            .set_linger(0)
            .map_err(|e| zmq_err("setsockopt", &self.endpoint, e))?;
        self.socket = open_socket(&self.config)?;
        Ok(())
    }

    /// One wait of at most `ack_timeout` for the reply: `false` when none
    /// came.
    fn wait_ack(&mut self, check_ok: bool) -> Result<bool> {
        let parts = &mut self.ack_parts;
        match socket::recv_multipart(&self.socket, parts, &mut Default::default(), true) {
            Ok(true) => {
                let last = parts.last().map(|p| &p[..]).unwrap_or_default();
                if check_ok && last != ACK {
                    return Err(Error::UnexpectedAck {
                        endpoint: self.endpoint.clone(),
                        reply: String::from_utf8_lossy(last).into_owned(),
                    });
                }
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(e) => Err(zmq_err("receive ack", &self.endpoint, e)),
        }
    }
}

/// Opens (binds or connects) a writer's socket with its options.
fn open_socket(config: &WriterConfig) -> Result<zmq::Socket> {
    let socket_type = config.common.spec.socket_type;
    socket::open(&config.common, |s| {
        s.set_sndhwm(config.send_hwm)?;
        s.set_sndtimeo(ms(config.send_timeout))?;
        if socket_type != SocketType::Pub {
            s.set_rcvtimeo(ms(config.ack_timeout))?;
        }
        if socket_type == SocketType::Req {
            // A req that timed out waiting for OK may send again, and a
            // late OK is not taken for the next message's.
            s.set_req_relaxed(true)?;
            s.set_req_correlate(true)?;
        }
        Ok(())
    })
}

#[cfg(test)]
fn _blocking_writer_is_send() {
    fn is_send<T: Send>() {}
    is_send::<BlockingWriter>();
}
