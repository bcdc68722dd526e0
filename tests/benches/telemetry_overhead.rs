//! The exporter never blocks the send path: frames/s of `SourceRunner::send`
//! with telemetry off, with traces but no exporter, and with an OTLP
//! exporter whose collector is unreachable (a closed port) or hung (accepts
//! and never answers), over OTLP/HTTP and OTLP/gRPC, in the same run.
//!
//! `cargo bench -p savant-sdk-tests --bench telemetry_overhead [-- --quick]`
//!
//! Target (issue "Telemetry"): with an unreachable endpoint, within 10% of
//! telemetry off.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use savant_sdk_core::client::SourceBuilder;
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::source::SourceFrame;
use savant_sdk_core::telemetry::{OtlpProtocol, Propagation, Telemetry};
use savant_sdk_core::transport::{BlockingReader, ReaderConfig, ReaderResult};

fn run(dir: &std::path::Path, name: &str, telemetry: Telemetry, n: usize) -> f64 {
    let ep = format!("ipc://{}/{name}.ipc", dir.display());
    let mut reader = BlockingReader::new(
        ReaderConfig::builder(&format!("router+bind:{ep}"))
            .unwrap()
            .build()
            .unwrap(),
    )
    .unwrap();
    let drain = std::thread::spawn(move || {
        let mut k = 0;
        while k < n + 1 {
            if let ReaderResult::Message(_) = reader.receive().unwrap() {
                k += 1;
            }
        }
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rate = rt.block_on(async {
        let source = SourceBuilder::new(format!("dealer+connect:{ep}"))
            .telemetry(telemetry.clone())
            .build()
            .await
            .unwrap();
        let start = Instant::now();
        for i in 0..n {
            let f = VideoFrame::builder("t").codec("jpeg").pts(i as i64).build();
            source
                .send(SourceFrame::new(f, vec![0u8; 512]))
                .await
                .unwrap();
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        source.send_eos("t").await.unwrap();
        source.close().await;
        rate
    });
    drain.join().unwrap();
    // shutting down may wait for the export timeout; it is not timed
    std::thread::spawn(move || telemetry.shutdown());
    rate
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 5_000 } else { 60_000 };
    let runs = if quick { 2 } else { 12 };
    let dir = tempfile::tempdir().unwrap();
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    }; // dropped: connections are refused
    let hung = TcpListener::bind("127.0.0.1:0").unwrap(); // accepts, never answers
    let hung_addr = hung.local_addr().unwrap();
    let exporter = |protocol: OtlpProtocol, url: String| {
        Telemetry::builder("bench")
            .propagation(Propagation::W3c)
            .otlp(protocol, url)
            .export_timeout(Duration::from_secs(2))
            .build()
            .unwrap()
    };
    let mut best = [0f64; 6];
    for r in 0..runs {
        let figures = [
            run(dir.path(), &format!("off-{r}"), Telemetry::off(), n),
            run(
                dir.path(),
                &format!("ids-{r}"),
                Telemetry::new("bench", Propagation::W3c),
                n,
            ),
            run(
                dir.path(),
                &format!("closed-{r}"),
                exporter(OtlpProtocol::HttpProtobuf, format!("http://{closed}")),
                n,
            ),
            run(
                dir.path(),
                &format!("hung-{r}"),
                exporter(OtlpProtocol::HttpProtobuf, format!("http://{hung_addr}")),
                n,
            ),
            run(
                dir.path(),
                &format!("grpc-closed-{r}"),
                exporter(OtlpProtocol::Grpc, format!("http://{closed}")),
                n,
            ),
            run(
                dir.path(),
                &format!("grpc-hung-{r}"),
                exporter(OtlpProtocol::Grpc, format!("http://{hung_addr}")),
                n,
            ),
        ];
        for (b, f) in best.iter_mut().zip(figures) {
            *b = b.max(f);
        }
    }
    println!("SourceRunner::send, {n} frames, best of {runs} alternating runs");
    let names = [
        "telemetry off",
        "traces, no exporter",
        "OTLP/HTTP, collector refused",
        "OTLP/HTTP, collector hung",
        "OTLP/gRPC, collector refused",
        "OTLP/gRPC, collector hung",
    ];
    for (name, f) in names.iter().zip(best) {
        println!(
            "  {name:<31}: {f:>9.0} frames/s  ({:.2}x of off)",
            f / best[0]
        );
    }
    let worst = best[2..].iter().copied().fold(f64::INFINITY, f64::min) / best[0];
    println!(
        "  unreachable exporter vs off: {:.2} (target >= 0.90) {}",
        worst,
        if worst >= 0.9 { "MET" } else { "NOT MET" }
    );
    drop(hung);
}
