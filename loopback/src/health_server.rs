//! A module-side health endpoint that answers like a Savant module's, in
//! both forms Savant has served:
//!
//! - `GET /healthcheck` (Savant 0.4.x): 200 with `running`, 503 with any
//!   other status, the status as plain text (`Content-Type: plain/text`,
//!   as Savant sends it);
//! - `GET /status` (Savant 0.5+ web server): 200 with the status as a JSON
//!   string (`"running"`), `Content-Type: application/json`.
//!
//! Other paths and methods get 404. The HTTP/1.x server is `tiny_http`'s
//! (persistent connections are kept while the client asks for them).

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tiny_http::{Header, Method, Request, Response, Server};

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
pub struct HealthServer {
    addr: SocketAddr,
    status: Arc<Mutex<String>>,
    server: Arc<Server>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for HealthServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthServer")
            .field("addr", &self.addr)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
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
        let server =
            Arc::new(Server::from_listener(listener, None).map_err(|e| {
                Error::Config(format!("cannot serve health checks on {addr}: {e}"))
            })?);
        let status = Arc::new(Mutex::new(status.to_string()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sv, sp) = (status.clone(), server.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("savant-health".into())
            .spawn(move || loop {
                match sv.recv() {
                    Ok(request) => {
                        let status = st.lock().map(|s| s.clone()).unwrap_or_default();
                        if let Err(e) = answer(request, &status) {
                            tracing::debug!(error = %e, "health endpoint could not answer");
                        }
                    }
                    // unblocked by drop, or tiny_http's accept loop failed
                    Err(e) => {
                        if !sp.load(Ordering::Relaxed) {
                            tracing::warn!(error = %e, "health endpoint stopped accepting");
                        }
                        break;
                    }
                }
            })
            .map_err(|e| Error::Config(format!("cannot start health thread: {e}")))?;
        Ok(Self {
            addr,
            status,
            server,
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
        // ends the answering thread's recv; dropping the last `Server`
        // then closes the listening socket
        self.stop.store(true, Ordering::Relaxed);
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The code, content type and body answering `method path` for `status`.
fn response_for(method: &Method, path: &str, status: &str) -> (u16, &'static str, String) {
    match (method, path) {
        (Method::Get, "/healthcheck") => (
            if status == "running" { 200 } else { 503 },
            "plain/text",
            status.to_string(),
        ),
        (Method::Get, "/status") => (
            200,
            "application/json",
            serde_json::Value::from(status).to_string(),
        ),
        _ => (404, "plain/text", String::new()),
    }
}

fn answer(request: Request, status: &str) -> std::io::Result<()> {
    let (code, content_type, body) = response_for(request.method(), request.url(), status);
    let content_type = Header::from_bytes("Content-Type", content_type)
        .map_err(|()| std::io::Error::other("bad Content-Type header"))?;
    request.respond(
        Response::from_data(body)
            .with_status_code(code)
            .with_header(content_type),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
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
        assert!(r.contains("Content-Type: plain/text\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\nstarting"), "{r}");
        let r = get(addr, "/status");
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
        assert!(r.contains("Content-Type: application/json\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\n\"starting\""), "{r}");
        server.set_status("running");
        let r = get(addr, "/healthcheck");
        assert!(
            r.starts_with("HTTP/1.1 200") && r.ends_with("running"),
            "{r}"
        );
        assert!(get(addr, "/status").ends_with("\"running\""));
        assert!(get(addr, "/other").starts_with("HTTP/1.1 404"));
        assert!(get(addr, "/healthcheck?x=1").starts_with("HTTP/1.1 404"));
    }

    #[test]
    fn answers_http_1_0_and_stops_when_dropped() {
        let server = HealthServer::start("127.0.0.1:0".parse().unwrap(), "running").unwrap();
        let addr = server.local_addr();
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "GET /status HTTP/1.0\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.0 200"), "{out}");
        assert!(out.ends_with("\r\n\r\n\"running\""), "{out}");
        drop(server);
        // the listening socket closes once tiny_http's accept thread sees the stop
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while TcpStream::connect(addr).is_ok() {
            assert!(std::time::Instant::now() < deadline, "still listening");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
