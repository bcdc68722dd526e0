//! Waiting for a Savant module's health endpoint (`GET /healthcheck`):
//! 200 with `running` is ready; 503 with a status body (`starting`, ...)
//! is "not ready yet"; any other code is an error.

use std::time::{Duration, Instant};

use crate::client::http::{self, HttpUrl};
use crate::error::HealthCheckError;

/// Polls a module's health endpoint until it reports an accepted status.
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
        let url = HttpUrl::parse(&self.url).map_err(|reason| HealthCheckError::BadUrl {
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
                    let status = String::from_utf8_lossy(&r.body).trim().to_string();
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
            if start.elapsed() + self.interval > self.timeout {
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
            tokio::time::sleep(self.interval).await;
        }
    }
}
