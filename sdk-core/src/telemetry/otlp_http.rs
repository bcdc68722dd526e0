//! A blocking HTTP/1.1 client for the OTLP/HTTP exporter.
//!
//! The batch span processor exports from a thread of its own, so a plain
//! blocking socket is all it needs: no HTTP stack, no runtime. Connecting,
//! sending and reading are each bounded by the timeout, so an unreachable
//! collector costs the export thread at most that, and never the send path.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use async_trait::async_trait;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

/// Posts OTLP payloads over plain HTTP.
#[derive(Debug, Clone)]
pub(crate) struct BlockingHttpClient {
    pub timeout: Duration,
}

fn post(req: &Request<Bytes>, timeout: Duration) -> Result<Response<Bytes>, HttpError> {
    let uri = req.uri();
    if uri.scheme_str() != Some("http") {
        return Err(format!("only http:// collector endpoints are supported, got {uri}").into());
    }
    let host = uri.host().ok_or("endpoint without a host")?;
    let port = uri.port_u16().unwrap_or(80);
    let addr = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| format!("cannot resolve {host}"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut head = format!(
        "{} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        req.method(),
        req.body().len()
    );
    for (k, v) in req.headers() {
        if let Ok(v) = v.to_str() {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(req.body())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let r = crate::client::http::parse_response(&raw)?;
    Ok(Response::builder()
        .status(r.status)
        .body(Bytes::from(r.body))?)
}

#[async_trait]
impl HttpClient for BlockingHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        post(&request, self.timeout)
    }
}
