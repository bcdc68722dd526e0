//! A module-side health endpoint that answers like a Savant module's, in
//! both forms Savant has served:
//!
//! - `GET /healthcheck` (Savant 0.4.x): 200 with `running`, 503 with any
//!   other status, the status as plain text (`Content-Type: plain/text`,
//!   as Savant sends it);
//! - `GET /status` (Savant 0.5+ web server): 200 with the status as a JSON
//!   string (`"running"`), `Content-Type: application/json`.
//!
//! Other paths get 404.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use savant_sdk_core::error::{Error, Result};

/// Lifecycle states a module reports.
pub const STATUSES: [&str; 5] = ["initializing", "starting", "running", "stopping", "stopped"];

/// A running health endpoint; stops when dropped.
///
/// ```
/// use savant_sdk_loopback::health_server::HealthServer;
/// let server = HealthServer::start("127.0.0.1:0".parse().unwrap(), "starting").unwrap();
/// server.set_status("running");
/// assert!(server.url().ends_with("/healthcheck"));
/// assert!(server.status_url().ends_with("/status"));
/// ```
#[derive(Debug)]
pub struct HealthServer {
    addr: SocketAddr,
    status: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HealthServer {
    /// Listens on `addr` (port 0 picks a free one) reporting `status`.
    pub fn start(addr: SocketAddr, status: &str) -> Result<Self> {
        let listener = TcpListener::bind(addr).map_err(|source| Error::Io {
            operation: "listen for health checks on",
            path: addr.to_string().into(),
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| Error::Io {
            operation: "read address of",
            path: addr.to_string().into(),
            source,
        })?;
        listener.set_nonblocking(true).map_err(|source| Error::Io {
            operation: "configure",
            path: addr.to_string().into(),
            source,
        })?;
        let status = Arc::new(Mutex::new(status.to_string()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (status.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("savant-health".into())
            .spawn(move || {
                while !sp.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let body = st.lock().map(|s| s.clone()).unwrap_or_default();
                            let _ = answer(stream, &body);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "health endpoint accept failed");
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            })
            .map_err(|e| Error::Config(format!("cannot start health thread: {e}")))?;
        Ok(Self {
            addr,
            status,
            stop,
            thread: Some(thread),
        })
    }

    /// Changes the reported status.
    pub fn set_status(&self, status: &str) {
        if let Ok(mut s) = self.status.lock() {
            *s = status.to_string();
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/healthcheck` (plain-text body, as Savant 0.4.x).
    pub fn url(&self) -> String {
        format!("http://{}/healthcheck", self.addr)
    }

    /// `http://ADDR/status` (JSON string body, as Savant 0.5+).
    pub fn status_url(&self) -> String {
        format!("http://{}/status", self.addr)
    }
}

impl Drop for HealthServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(mut stream: TcpStream, status: &str) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while n < buf.len() {
        let r = stream.read(&mut buf[n..])?;
        if r == 0 {
            break;
        }
        n += r;
        if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let request = String::from_utf8_lossy(&buf[..n]);
    let mut words = request.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let (code, content_type, body) = match (method, path) {
        ("GET", "/healthcheck") => (
            if status == "running" {
                "200 OK"
            } else {
                "503 Service Unavailable"
            },
            "plain/text",
            status.to_string(),
        ),
        ("GET", "/status") => (
            "200 OK",
            "application/json",
            serde_json::Value::from(status).to_string(),
        ),
        _ => ("404 Not Found", "plain/text", String::new()),
    };
    write!(
        stream,
        "HTTP/1.1 {code}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_healthcheck_as_text_and_status_as_json() {
        let server = HealthServer::start("127.0.0.1:0".parse().unwrap(), "starting").unwrap();
        let addr = server.local_addr();
        let r = get(addr, "/healthcheck");
        assert!(r.starts_with("HTTP/1.1 503"), "{r}");
        assert!(r.ends_with("\r\n\r\nstarting"), "{r}");
        let r = get(addr, "/status");
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
        assert!(r.contains("application/json"), "{r}");
        assert!(r.ends_with("\r\n\r\n\"starting\""), "{r}");
        server.set_status("running");
        let r = get(addr, "/healthcheck");
        assert!(
            r.starts_with("HTTP/1.1 200") && r.ends_with("running"),
            "{r}"
        );
        assert!(get(addr, "/status").ends_with("\"running\""));
        assert!(get(addr, "/other").starts_with("HTTP/1.1 404"));
    }
}
