//! Opening ZeroMQ sockets from a config, and moving parts in and out of
//! them without copying frame content.

use std::ffi::c_void;
use std::os::unix::fs::PermissionsExt;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::transport::config::{ms, Common};
use crate::transport::socket_spec::Endpoint;

/// The process-wide ZeroMQ context (one I/O thread, as savant-rs), made
/// at the first socket; [`terminate_context`] ends it.
static CTX: Mutex<Option<zmq::Context>> = Mutex::new(None);

/// The process-wide context (a new one after [`terminate_context`]).
pub(crate) fn context() -> zmq::Context {
    CTX.lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(zmq::Context::new)
        .clone()
}

/// Ends the process's ZeroMQ context, so that what closed sockets still
/// had queued is sent (each within its linger) before the process exits.
///
/// ZeroMQ sends on an I/O thread of its own: a writer that has closed may
/// still have messages queued there, and a process that exits without
/// ending the context drops them (a `send` without an EOS to wait for
/// would lose its last frames). Call this last, after every runner has
/// closed; it waits at most `max` (sockets still open keep the context
/// alive: then it returns `false` and the process can exit anyway).
/// A socket opened afterwards gets a new context.
///
/// ```
/// // after the runners have closed, before `main` returns
/// assert!(savant_sdk_core::transport::terminate_context(std::time::Duration::from_secs(1)));
/// ```
pub fn terminate_context(max: Duration) -> bool {
    let Some(ctx) = CTX.lock().unwrap_or_else(|p| p.into_inner()).take() else {
        return true;
    };
    // dropping the last clone terminates the context (zmq_ctx_term), which
    // blocks until every socket has closed and its linger has passed
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("zmq-term".into())
        .spawn(move || {
            drop(ctx);
            let _ = done_tx.send(());
        });
    spawned.is_ok() && done_rx.recv_timeout(max).is_ok()
}

pub(crate) fn zmq_err(operation: &'static str, endpoint: &str, source: zmq::Error) -> Error {
    Error::Zmq {
        operation,
        endpoint: endpoint.to_string(),
        source: Box::new(source),
    }
}

/// Creates the socket, applies the common options, and binds or connects.
/// `configure` sets the type-specific options before bind/connect.
pub(crate) fn open(
    common: &Common,
    configure: impl FnOnce(&zmq::Socket) -> zmq::Result<()>,
) -> Result<zmq::Socket> {
    let spec = &common.spec;
    let endpoint = spec.zmq_endpoint();
    let socket = context()
        .socket(spec.socket_type.zmq())
        .map_err(|e| zmq_err("socket", &endpoint, e))?;
    let set = |r: zmq::Result<()>| r.map_err(|e| zmq_err("setsockopt", &endpoint, e));
    set(socket.set_linger(ms(common.linger)))?;
    set(socket.set_rcvhwm(common.receive_hwm))?;
    set(configure(&socket))?;
    if spec.bind {
        if let Endpoint::Ipc(path) = &spec.endpoint {
            prepare_ipc_path(path)?;
        }
        socket
            .bind(&endpoint)
            .map_err(|e| zmq_err("bind", &endpoint, e))?;
        if let (Endpoint::Ipc(path), Some(mode)) = (&spec.endpoint, common.ipc_permissions) {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(
                |source| Error::Io {
                    operation: "set permissions of",
                    path: path.clone(),
                    source,
                },
            )?;
        }
    } else {
        socket
            .connect(&endpoint)
            .map_err(|e| zmq_err("connect", &endpoint, e))?;
    }
    Ok(socket)
}

/// Creates the parent folders of an ipc socket file; refuses a path that is
/// a folder.
fn prepare_ipc_path(path: &std::path::Path) -> Result<()> {
    if path.is_dir() {
        return Err(Error::Io {
            operation: "bind ipc socket at",
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::IsADirectory, "path is a directory"),
        });
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| Error::Io {
            operation: "create folder",
            path: parent.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// A received part, kept as the ZeroMQ message it arrived in so that
/// [`Bytes`] can point into it without a copy.
struct Part(zmq::Message);

impl AsRef<[u8]> for Part {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The last small leading parts seen (routing id, topic): consecutive
/// messages usually repeat them, and reusing the previous [`Bytes`] saves
/// an allocation per part.
#[derive(Debug, Default)]
pub(crate) struct SmallParts {
    last: [Bytes; 2],
}

/// Receives all parts of one multipart message into `parts` (cleared
/// first). Returns `Ok(false)` on timeout.
pub(crate) fn recv_multipart(
    socket: &zmq::Socket,
    parts: &mut Vec<Bytes>,
    small: &mut SmallParts,
    wait: bool,
) -> zmq::Result<bool> {
    parts.clear();
    loop {
        // Only the first part may be waited for; the rest of a multipart
        // message arrives with it.
        let flags = if wait || !parts.is_empty() {
            0
        } else {
            zmq::DONTWAIT
        };
        let msg = match socket.recv_msg(flags) {
            Ok(m) => m,
            Err(zmq::Error::EAGAIN) if parts.is_empty() => return Ok(false),
            Err(e) => return Err(e),
        };
        let more = msg.get_more();
        let i = parts.len();
        parts.push(if msg.len() <= 64 {
            // Small parts (topics, ids) are cheaper copied than shared.
            match small.last.get_mut(i) {
                Some(last) if last[..] == msg[..] => last.clone(),
                Some(last) => {
                    *last = Bytes::copy_from_slice(&msg);
                    last.clone()
                }
                None => Bytes::copy_from_slice(&msg),
            }
        } else {
            Bytes::from_owner(Part(msg))
        });
        if !more {
            return Ok(true);
        }
    }
}

unsafe extern "C" fn free_bytes(_data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the `Box<Bytes>` leaked in `send_part`; libzmq calls
    // this exactly once, when it no longer needs the data.
    drop(unsafe { Box::from_raw(hint as *mut Bytes) });
}

/// Sends one part. Content larger than a few bytes is handed to libzmq
/// without a copy: the message points into the [`Bytes`], which is kept
/// alive until libzmq frees the message.
pub(crate) fn send_part(socket: &mut zmq::Socket, data: &Bytes, more: bool) -> zmq::Result<()> {
    let flags = if more { zmq::SNDMORE } else { 0 };
    if data.len() < 256 {
        return socket.send(&data[..], flags);
    }
    let holder = Box::new(data.clone());
    let ptr = holder.as_ptr() as *mut c_void;
    let len = holder.len();
    let hint = Box::into_raw(holder) as *mut c_void;
    // SAFETY: zmq_msg_t is plain data initialised by zmq_msg_init_data; on
    // success the message owns `hint` (freed by `free_bytes`), on failure of
    // init we free it here. zmq_msg_send takes ownership on success; on
    // failure we close the message, which calls `free_bytes`.
    unsafe {
        let mut msg: zmq_sys::zmq_msg_t = std::mem::zeroed();
        if zmq_sys::zmq_msg_init_data(&mut msg, ptr, len, Some(free_bytes), hint) != 0 {
            drop(Box::from_raw(hint as *mut Bytes));
            return Err(zmq::Error::from_raw(zmq_sys::zmq_errno()));
        }
        let rc = zmq_sys::zmq_msg_send(&mut msg, socket.as_mut_ptr(), flags);
        if rc < 0 {
            let err = zmq::Error::from_raw(zmq_sys::zmq_errno());
            zmq_sys::zmq_msg_close(&mut msg);
            return Err(err);
        }
    }
    Ok(())
}
