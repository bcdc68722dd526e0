//! Spans exported with OTLP over gRPC to a real receiver started here: a
//! tonic gRPC server on 127.0.0.1 implementing opentelemetry-proto's
//! `TraceService`. The same frames and checks as the OTLP/HTTP test
//! (`otlp_export.rs`): the frame's trace id, the service name and resource
//! attributes, and the log events emitted while each frame was made.
//!
//! Alone in its test binary, for the reason given in `otlp_export.rs`
//! (it installs a `tracing` subscriber).

use savant_sdk_core::telemetry::{OtlpProtocol, Propagation, Telemetry};

#[path = "otlp_common/grpc_receiver.rs"]
mod grpc;
mod otlp_common;

use grpc::grpc_receiver;

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
