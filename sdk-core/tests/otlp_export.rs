//! Spans exported with OTLP/HTTP to a real receiver started here (an HTTP
//! server on 127.0.0.1 decoding the protobuf body with the
//! `opentelemetry-proto` types), with the log events emitted while each
//! frame was made inside that frame's trace. (OTLP/gRPC: `otlp_grpc_export.rs`.)
//!
//! Alone in its test binary: it installs a `tracing` subscriber, and
//! `tracing` caches per call site whether anyone listens, which other tests
//! running at the same time in the same process would race with.

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use savant_sdk_core::telemetry::{Propagation, Telemetry};

mod otlp_common;
mod support;
use support::read_request;

/// A minimal OTLP/HTTP trace receiver.
fn otlp_receiver() -> (String, Arc<Mutex<Vec<ExportTraceServiceRequest>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (line, body) = read_request(&mut stream);
            if line.starts_with("POST /v1/traces") {
                let req = ExportTraceServiceRequest::decode(&body[..]).expect("OTLP protobuf");
                g.lock().unwrap().push(req);
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n",
            );
        }
    });
    (url, got)
}

#[test]
fn spans_and_log_events_reach_an_otlp_receiver() {
    let (url, got) = otlp_receiver();
    let telemetry = Telemetry::builder("otlp-test-service")
        .otlp_http(&url)
        .resource_attribute("deployment.environment", "test")
        .propagation(Propagation::W3c)
        .build()
        .unwrap();
    let sent = otlp_common::send_two_logged_frames(&telemetry);
    otlp_common::check_export(&got.lock().unwrap(), &sent, "otlp-test-service");
}
