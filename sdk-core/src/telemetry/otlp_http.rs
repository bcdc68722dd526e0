//! A blocking HTTP/1.1 client for the OTLP/HTTP exporter, on `ureq`.
//!
//! The batch span processor exports from a thread of its own, so a
//! blocking request is all it needs: no async HTTP stack, no runtime. The
//! whole request (DNS, connect, send, read) is bounded by the timeout, so
//! an unreachable collector costs the export thread at most that, and
//! never the send path.

use std::time::Duration;

use async_trait::async_trait;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

use crate::client::http;

/// Posts OTLP payloads over plain HTTP.
#[derive(Debug, Clone)]
pub(crate) struct BlockingHttpClient {
    pub timeout: Duration,
}

fn post(req: Request<Bytes>, timeout: Duration) -> Result<Response<Bytes>, HttpError> {
    let uri = req.uri();
    if uri.scheme_str() != Some("http") {
        return Err(format!("only http:// collector endpoints are supported, got {uri}").into());
    }
    let url = uri.to_string();
    let (mut parts, body) = req.into_parts();
    parts
        .headers
        .insert(ureq::http::header::CONNECTION, "close".parse()?);
    let req = Request::from_parts(parts, &body[..]);
    let fail = |e: ureq::Error| -> HttpError {
        format!(
            "OTLP export to {url} failed: {}",
            http::describe(&e, timeout)
        )
        .into()
    };
    let response = http::agent(timeout).run(req).map_err(fail)?;
    let (parts, mut body) = response.into_parts();
    let body = body
        .with_config()
        .limit(u64::MAX)
        .read_to_vec()
        .map_err(fail)?;
    Ok(Response::from_parts(parts, Bytes::from(body)))
}

#[async_trait]
impl HttpClient for BlockingHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        post(request, self.timeout)
    }
}
