//! Waiting for a Savant module's health endpoint: 200 with `running` is
//! ready; 200 or 503 with another status (`starting`, ...) is "not ready
//! yet"; any other code is an error.
//!
//! Both endpoints Savant modules serve are understood, told apart by the
//! body: Savant 0.4.x's `GET /healthcheck` answers the status as plain
//! text (`running`), Savant 0.5+'s `GET /status` on the web-server port
//! as a JSON string (`"running"`, `"stopped"`, `"shutdown"`).

use std::time::{Duration, Instant};

use crate::client::http;
use crate::error::HealthCheckError;

/// Polls a module's health endpoint until it reports an accepted status.
///
/// The URL may name either endpoint: `http://HOST:8888/healthcheck`
/// (Savant 0.4.x, plain-text body) or `http://HOST:8080/status` (Savant
/// 0.5+, JSON string body); the body's form decides how it is read.
///
/// ```no_run
/// use std::time::Duration;
/// use savant_sdk_core::client::HealthCheck;
/// # async fn run() -> Result<(), savant_sdk_core::HealthCheckError> {
/// HealthCheck::new("http://127.0.0.1:8888/healthcheck")
///     .timeout(Duration::from_secs(60))
///     .interval(Duration::from_secs(1))
///     .wait(&["running"])
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    url: String,
    timeout: Duration,
    interval: Duration,
}

impl HealthCheck {
    /// Savant's defaults: 60 s timeout, 5 s interval.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            timeout: Duration::from_secs(60),
            interval: Duration::from_secs(5),
        }
    }

    /// How long to wait in all.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// How long between polls.
    pub fn interval(mut self, t: Duration) -> Self {
        self.interval = t;
        self
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Polls until the body is one of `accepted` (sources: `running`;
    /// sinks: `running` or `stopping`).
    pub async fn wait(&self, accepted: &[&str]) -> Result<(), HealthCheckError> {
        let url = http::parse_url(&self.url).map_err(|reason| HealthCheckError::BadUrl {
            url: self.url.clone(),
            reason,
        })?;
        let start = Instant::now();
        let mut last_status: Option<String> = None;
        let mut last_error = String::new();
        loop {
            let left = self.timeout.saturating_sub(start.elapsed());
            match http::get(
                &url,
                left.min(self.interval.max(Duration::from_secs(1))),
                &[],
            )
            .await
            {
                Ok(r) if r.status == 200 || r.status == 503 => {
                    let status = status_of(&r.body);
                    if accepted.contains(&status.as_str()) {
                        return Ok(());
                    }
                    tracing::info!(url = %self.url, status = %status, "module not ready yet");
                    last_status = Some(status);
                }
                Ok(r) => {
                    return Err(HealthCheckError::UnexpectedStatus {
                        url: self.url.clone(),
                        code: r.status,
                    })
                }
                Err(e) => {
                    tracing::info!(url = %self.url, error = %e, "module health endpoint not reachable yet");
                    last_error = e;
                }
            }
            // the last attempt is made at the timeout, not an interval before
            let left = self.timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                let waited = start.elapsed();
                return Err(match last_status {
                    Some(last_status) => HealthCheckError::NotReady {
                        url: self.url.clone(),
                        waited,
                        last_status,
                    },
                    None => HealthCheckError::Unreachable {
                        url: self.url.clone(),
                        waited,
                        error: last_error,
                    },
                });
            }
            tokio::time::sleep(self.interval.min(left)).await;
        }
    }
}

/// The status a health endpoint's body reports: a JSON string (`"running"`,
/// from Savant 0.5+'s `/status`) is unquoted; anything else is taken as
/// plain text (`running`, from `/healthcheck`), trimmed.
fn status_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.starts_with('"') {
        if let Ok(s) = serde_json::from_str::<String>(text) {
            return s.trim().to_string();
        }
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn bodies_of_both_endpoints_give_the_status() {
        assert_eq!(status_of(b"running"), "running");
        assert_eq!(status_of(b"starting\n"), "starting");
        assert_eq!(status_of(b"\"running\""), "running");
        assert_eq!(status_of(b" \"shutdown\"\n"), "shutdown");
        assert_eq!(status_of(b"\"st\\u006fpped\""), "stopped");
        assert_eq!(status_of(b""), "");
        // not a JSON string: read as text, quote and all
        assert_eq!(status_of(b"\"running"), "\"running");
    }

    /// Serves `path` on 127.0.0.1 (any free port): the first `not_ready`
    /// requests get `first`, later ones `then`, each as `code` with
    /// `content_type`; other paths get 404. Returns the URL and a request
    /// counter.
    fn serve(
        path: &'static str,
        content_type: &'static str,
        code: &'static str,
        first: &'static str,
        then: &'static str,
        not_ready: usize,
    ) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                let mut buf = [0u8; 1024];
                let mut n = 0;
                while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") && n < buf.len() {
                    match stream.read(&mut buf[n..]) {
                        Ok(0) | Err(_) => break,
                        Ok(r) => n += r,
                    }
                }
                let req = String::from_utf8_lossy(&buf[..n]).into_owned();
                let asked = req.split_whitespace().nth(1).unwrap_or("").to_string();
                let (code, body) = if asked == path {
                    let i = h.fetch_add(1, Ordering::SeqCst);
                    (code, if i < not_ready { first } else { then })
                } else {
                    ("404 Not Found", "")
                };
                let _ = write!(
                    stream,
                    "HTTP/1.0 {code}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, hits)
    }

    fn check(url: &str) -> HealthCheck {
        HealthCheck::new(url)
            .timeout(Duration::from_secs(10))
            .interval(Duration::from_millis(20))
    }

    #[tokio::test]
    async fn a_status_endpoint_with_a_json_string_body() {
        let (url, hits) = serve(
            "/status",
            "application/json",
            "200 OK",
            "\"starting\"",
            "\"running\"",
            2,
        );
        check(&url).wait(&["running"]).await.unwrap();
        assert_eq!(
            hits.load(Ordering::SeqCst),
            3,
            "waited through two \"starting\""
        );
        // never running: the last status is unquoted
        let (url, _) = serve(
            "/status",
            "application/json",
            "200 OK",
            "\"stopped\"",
            "\"shutdown\"",
            1,
        );
        let e = check(&url)
            .timeout(Duration::from_millis(300))
            .wait(&["running"])
            .await
            .unwrap_err();
        assert!(
            matches!(e, HealthCheckError::NotReady { ref last_status, .. } if last_status == "shutdown"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_healthcheck_endpoint_with_a_plain_text_body() {
        let (url, hits) = serve(
            "/healthcheck",
            "plain/text",
            "503 Service Unavailable",
            "starting",
            "running",
            1,
        );
        // 503 with "running" never happens in Savant; here the code says
        // "not ready" only through the body
        check(&url).wait(&["running"]).await.unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        let (url, _) = serve(
            "/healthcheck",
            "plain/text",
            "200 OK",
            "running",
            "running",
            0,
        );
        check(&url).wait(&["running"]).await.unwrap();
        let e = check(&url.replace("/healthcheck", "/status"))
            .wait(&["running"])
            .await
            .unwrap_err();
        assert!(
            matches!(e, HealthCheckError::UnexpectedStatus { code: 404, .. }),
            "{e}"
        );
    }
}
