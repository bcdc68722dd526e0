//! Spans exported with OTLP over gRPC to a real receiver started here: a
//! tonic gRPC server on 127.0.0.1 implementing opentelemetry-proto's
//! `TraceService`. The same frames and checks as the OTLP/HTTP test
//! (`otlp_export.rs`): the frame's trace id, the service name and resource
//! attributes, and the log events emitted while each frame was made.
//!
//! Alone in its test binary, for the reason given in `otlp_export.rs`
//! (it installs a `tracing` subscriber).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use savant_sdk_core::telemetry::{OtlpProtocol, Propagation, Telemetry};

mod otlp_common;

type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

/// The receiver's `TraceService`: keeps every request.
struct Receiver(Received);

#[async_trait::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// Starts a gRPC OTLP trace receiver on a thread (and runtime) of its own.
fn grpc_receiver() -> (SocketAddr, Received) {
    let got = Received::default();
    let service = TraceServiceServer::new(Receiver(got.clone()));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            tonic::transport::Server::builder()
                .serve_with_incoming(
                    service,
                    tonic::transport::server::TcpIncoming::from(listener),
                )
                .await
                .unwrap();
        });
    });
    (rx.recv().unwrap(), got)
}

#[test]
fn spans_and_log_events_reach_an_otlp_grpc_receiver() {
    let (addr, got) = grpc_receiver();
    let telemetry = Telemetry::builder("otlp-grpc-test-service")
        .otlp_grpc(format!("http://{addr}"))
        .resource_attribute("deployment.environment", "test")
        .propagation(Propagation::Jaeger)
        .build()
        .unwrap();
    let sent = otlp_common::send_two_logged_frames(&telemetry);
    otlp_common::check_export(&got.lock().unwrap(), &sent, "otlp-grpc-test-service");
}

#[test]
fn the_protocol_can_be_chosen_at_run_time() {
    // what the CLI does with --otlp-protocol grpc
    let (addr, got) = grpc_receiver();
    let telemetry = Telemetry::builder("otlp-grpc-runtime-choice")
        .otlp(
            "grpc".parse::<OtlpProtocol>().unwrap(),
            format!("http://{addr}"),
        )
        .build()
        .unwrap();
    drop(telemetry.frame_span("cam", 0)); // ends the span
    telemetry.shutdown();
    let requests = got.lock().unwrap();
    let names: Vec<_> = requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["savant.send_frame"]);
}
