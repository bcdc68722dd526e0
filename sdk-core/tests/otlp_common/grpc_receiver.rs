//! A real gRPC OTLP trace receiver for tests: a tonic server implementing
//! opentelemetry-proto's `TraceService` on 127.0.0.1, on a thread and
//! runtime of its own, keeping every request. Included with `#[path]` by
//! the sdk-core and CLI tests that export over gRPC.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};

/// What the receiver got.
pub type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

/// The receiver's `TraceService`: keeps every request.
struct Receiver(Received);

#[tonic::async_trait]
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

/// Starts the receiver; its address and what it receives.
pub fn grpc_receiver() -> (SocketAddr, Received) {
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
