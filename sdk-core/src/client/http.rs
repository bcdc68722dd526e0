//! The core's HTTP client (module health checks, Jaeger log queries, the
//! OTLP/HTTP exporter): `ureq` over plain `http://`, set up as a bare
//! HTTP/1.1 client as before: one connection per request (`Connection:
//! close`, nothing pooled), no proxy taken from the environment, no
//! redirect followed, and every status returned as a response rather than
//! an error. Each request is bounded by its timeout from DNS lookup to the
//! last byte of the body.

use std::time::Duration;

use ureq::http::Uri;
use ureq::Agent;

/// A response: status code and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Parses an `http://host[:port][/path]` URL.
pub(crate) fn parse_url(url: &str) -> Result<Uri, String> {
    let uri: Uri = url.parse().map_err(|e| format!("{e}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        _ => return Err("only http:// URLs are supported".into()),
    }
    match uri.host() {
        None | Some("") => return Err("no host".into()),
        Some(_) => {}
    }
    // `http` takes any digits for a port; a port must be a u16
    let authority = uri.authority().map_or("", |a| a.as_str());
    let after_host = authority
        .rsplit_once(']')
        .map_or(authority, |(_, rest)| rest);
    if let Some((_, port)) = after_host.rsplit_once(':') {
        port.parse::<u16>()
            .map_err(|_| format!("bad port {port:?}"))?;
    }
    Ok(uri)
}

/// The agent every request of the core goes through; `timeout` bounds
/// each whole request.
pub(crate) fn agent(timeout: Duration) -> Agent {
    Agent::config_builder()
        .proxy(None)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .http_status_as_error(false)
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        .timeout_global(Some(timeout))
        .build()
        .new_agent()
}

/// A transport error as text, a timeout told as such.
pub(crate) fn describe(e: &ureq::Error, timeout: Duration) -> String {
    match e {
        ureq::Error::Timeout(_) => format!("no response within {timeout:?} ({e})"),
        _ => e.to_string(),
    }
}

/// GETs `url` within `timeout` (connect, send and read together), blocking.
pub(crate) fn get_blocking(
    url: &Uri,
    timeout: Duration,
    headers: &[(String, String)],
) -> Result<HttpResponse, String> {
    let mut req = agent(timeout).get(url).header("Connection", "close");
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let mut r = req.call().map_err(|e| describe(&e, timeout))?;
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(u64::MAX)
        .read_to_vec()
        .map_err(|e| describe(&e, timeout))?;
    Ok(HttpResponse { status, body })
}

/// GETs `url` within `timeout` (connect, send and read together) on
/// tokio's blocking pool; the caller gets an answer by the timeout even if
/// the blocking thread were late.
pub(crate) async fn get(
    url: &Uri,
    timeout: Duration,
    headers: &[(&str, &str)],
) -> Result<HttpResponse, String> {
    let url = url.clone();
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let task = tokio::task::spawn_blocking(move || get_blocking(&url, timeout, &headers));
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(format!("HTTP request task failed: {e}")),
        Err(_) => Err(format!("no response within {timeout:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("http://127.0.0.1:8888/healthcheck").unwrap();
        assert_eq!(
            (u.host(), u.port_u16(), u.path()),
            (Some("127.0.0.1"), Some(8888), "/healthcheck")
        );
        let u = parse_url("http://example").unwrap();
        assert_eq!((u.port_u16(), u.path()), (None, "/"));
        let u = parse_url("http://[::1]:9/x?y=1").unwrap();
        assert_eq!((u.host(), u.port_u16()), (Some("[::1]"), Some(9)));
        for bad in [
            "https://x/",
            "ftp://x",
            "http://x:port/",
            "http://x:70000/",
            "http://",
            "127.0.0.1:8888/healthcheck",
            "",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_closed_port_is_an_error_naming_the_cause() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let url = parse_url(&format!("http://{closed}/")).unwrap();
        let e = get_blocking(&url, Duration::from_secs(2), &[]).unwrap_err();
        assert!(e.contains("refused") || e.contains("connection"), "{e}");
    }

    #[test]
    fn a_silent_server_is_cut_off_at_the_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = parse_url(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let start = std::time::Instant::now();
        let e = get_blocking(&url, Duration::from_millis(200), &[]).unwrap_err();
        let took = start.elapsed();
        assert!(e.contains("no response within 200ms"), "{e}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        drop(listener);
    }
}
