//! The client runners against a savant-rs 0.3.0 stand-in module (a
//! savant-rs reader forwarding to a savant-rs writer, marking frames), for
//! every socket pair and both trace formats:
//!
//! * our SourceRunner -> savant-rs stand-in -> savant-rs reader
//! * savant-rs traced writer -> savant-rs stand-in -> our SinkRunner
//! * savant-rs traced writer -> our loopback module -> savant-rs reader
//!
//! In each, the trace ids the sender reports equal the ones that arrive.

use std::collections::BTreeMap;
use std::time::Duration;

use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::source::SourceFrame;
use savant_sdk_core::telemetry::{extract_trace_id, Propagation};
use savant_sdk_tests::{payload, Peer};
use serde_json::Value;

const PAIRS: [(&str, &str); 3] = [("dealer", "router"), ("req", "rep"), ("pub", "sub")];
const FORMATS: [(Propagation, &str); 2] =
    [(Propagation::W3c, "w3c"), (Propagation::Jaeger, "jaeger")];

fn ipc(dir: &tempfile::TempDir, name: &str) -> String {
    format!("ipc://{}/{name}.ipc", dir.path().display())
}

/// The trace id in a JSON `propagated_context` printed by the peer.
fn trace_of(ctx: &Value) -> Option<String> {
    let map: BTreeMap<String, String> = ctx
        .as_object()?
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    extract_trace_id(&map).map(|t| t.to_string())
}

fn standin(input: &str, output: &str) -> Peer {
    let mut p = Peer::spawn(&[
        "standin",
        "--input",
        input,
        "--output",
        output,
        "--mark",
        "standin/seen",
    ])
    .unwrap();
    p.wait_ready(Duration::from_secs(20)).unwrap();
    p
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn our_source_through_a_savant_rs_module_into_a_savant_rs_reader() {
    let rt = rt();
    for (w, r) in PAIRS {
        for (propagation, name) in FORMATS {
            let dir = tempfile::tempdir().unwrap();
            let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
            let mut reader = Peer::spawn(&[
                "reader",
                "--socket",
                &format!("{r}+bind:{output}"),
                "--eos-count",
                "1",
                "--timeout",
                "30",
            ])
            .unwrap();
            reader.wait_ready(Duration::from_secs(20)).unwrap();
            let _module = standin(
                &format!("{r}+bind:{input}"),
                &format!("{w}+connect:{output}"),
            );
            let sent = rt.block_on(async {
                let source = SourceBuilder::new(format!("{w}+connect:{input}"))
                    .propagation(propagation)
                    .build()
                    .await
                    .unwrap();
                if w == "pub" {
                    tokio::time::sleep(Duration::from_millis(700)).await; // subscriptions travel
                }
                let mut sent = Vec::new();
                for i in 0..3 {
                    let f = VideoFrame::builder("cam-1").codec("jpeg").pts(i).build();
                    sent.push(
                        source
                            .send(SourceFrame::new(f, payload(i as usize, 1000)))
                            .await
                            .unwrap(),
                    );
                }
                source.send_eos("cam-1").await.unwrap();
                source.close().await;
                sent
            });
            let (status, lines) = reader.finish(Duration::from_secs(30)).unwrap();
            assert!(status.success(), "{w}/{r} {name}: {lines:?}");
            let frames: Vec<&Value> = lines
                .iter()
                .filter(|l| l["event"] == "message" && l["kind"] == "frame")
                .collect();
            assert_eq!(frames.len(), 3, "{w}/{r} {name}: {lines:?}");
            for (got, s) in frames.iter().zip(&sent) {
                assert_eq!(
                    trace_of(&got["propagated_context"]),
                    s.trace_id.map(|t| t.to_string()),
                    "{w}/{r} {name}: trace id through savant-rs"
                );
                assert_eq!(got["content_ok"], true);
                assert!(got["attributes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a == "standin/seen"));
            }
        }
    }
}

#[test]
fn a_savant_rs_source_through_a_savant_rs_module_into_our_sink() {
    let rt = rt();
    for (w, r) in PAIRS {
        for (_, name) in FORMATS {
            let dir = tempfile::tempdir().unwrap();
            let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
            let mut sink = rt
                .block_on(
                    SinkBuilder::new(format!("{r}+bind:{output}"))
                        .idle_timeout(Duration::from_secs(15))
                        .build(),
                )
                .unwrap();
            let _module = standin(
                &format!("{r}+bind:{input}"),
                &format!("{w}+connect:{output}"),
            );
            let writer = Peer::spawn(&[
                "writer",
                "--socket",
                &format!("{w}+connect:{input}"),
                "--source-id",
                "cam-2",
                "--count",
                "3",
                "--content-size",
                "1000",
                "--eos",
                "--trace",
                name,
                "--start-delay",
                if w == "pub" { "1.0" } else { "0" },
            ])
            .unwrap();
            let got = rt.block_on(async {
                let mut got = Vec::new();
                while let Some(res) = sink.next().await {
                    let res = res.unwrap();
                    let eos = res.is_end_of_stream();
                    got.push(res);
                    if eos {
                        break;
                    }
                }
                sink.close().await;
                got
            });
            let (status, lines) = writer.finish(Duration::from_secs(30)).unwrap();
            assert!(status.success(), "{lines:?}");
            let sent: Vec<Option<String>> = lines
                .iter()
                .filter(|l| l["sent"] == "frame")
                .map(|l| l["trace_id"].as_str().map(String::from))
                .collect();
            assert_eq!(sent.len(), 3, "{lines:?}");
            assert!(
                sent.iter().all(Option::is_some),
                "{name}: savant-rs traced its frames"
            );
            let frames: Vec<_> = got.iter().filter(|g| g.frame().is_some()).collect();
            assert_eq!(frames.len(), 3, "{w}/{r} {name}");
            for (g, s) in frames.iter().zip(&sent) {
                assert_eq!(g.trace_id.map(|t| t.to_string()), *s, "{w}/{r} {name}");
                assert_eq!(
                    g.content.as_ref().unwrap(),
                    &payload(g.pts().unwrap() as usize, 1000)
                );
                assert!(g.frame().unwrap().attribute("standin", "seen").is_some());
            }
            assert!(got.last().unwrap().is_end_of_stream());
        }
    }
}

#[test]
fn a_savant_rs_source_through_our_loopback_into_a_savant_rs_reader() {
    for (w, r) in PAIRS {
        for (_, name) in FORMATS {
            let dir = tempfile::tempdir().unwrap();
            let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
            let mut reader = Peer::spawn(&[
                "reader",
                "--socket",
                &format!("{r}+bind:{output}"),
                "--eos-count",
                "1",
                "--timeout",
                "30",
            ])
            .unwrap();
            reader.wait_ready(Duration::from_secs(20)).unwrap();
            let module = LoopbackModule::start(
                LoopbackConfig::new(format!("{r}+bind:{input}"), format!("{w}+connect:{output}"))
                    .mark("loopback", "seen"),
            )
            .unwrap();
            let writer = Peer::spawn(&[
                "writer",
                "--socket",
                &format!("{w}+connect:{input}"),
                "--source-id",
                "cam-3",
                "--count",
                "3",
                "--content-size",
                "1000",
                "--eos",
                "--trace",
                name,
                "--start-delay",
                if w == "pub" { "1.0" } else { "0" },
            ])
            .unwrap();
            let (status, wlines) = writer.finish(Duration::from_secs(30)).unwrap();
            assert!(status.success(), "{wlines:?}");
            let (status, rlines) = reader.finish(Duration::from_secs(30)).unwrap();
            assert!(status.success(), "{w}/{r} {name}: {rlines:?}");
            let stats = module.stop().unwrap();
            assert_eq!(stats.forwarded, 4, "{w}/{r} {name}");
            let sent: Vec<Option<String>> = wlines
                .iter()
                .filter(|l| l["sent"] == "frame")
                .map(|l| l["trace_id"].as_str().map(String::from))
                .collect();
            let got: Vec<&Value> = rlines
                .iter()
                .filter(|l| l["event"] == "message" && l["kind"] == "frame")
                .collect();
            assert_eq!(got.len(), 3, "{rlines:?}");
            for (g, s) in got.iter().zip(&sent) {
                assert!(s.is_some());
                assert_eq!(trace_of(&g["propagated_context"]), *s, "{w}/{r} {name}");
                assert_eq!(g["content_ok"], true);
                assert!(g["attributes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a == "loopback/seen"));
                // the loopback keeps the sender's seq ids
                assert_eq!(g["seq_id"], g["pts"].as_u64().unwrap() + 1);
            }
        }
    }
}

/// Telemetry end to end through savant-rs: every frame's trace survives the
/// stand-in module, and the trace matcher reports a latency for each.
#[test]
fn trace_matching_through_a_savant_rs_module() {
    use savant_sdk_core::client::TraceMatcher;
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
    let report = rt.block_on(async {
        let mut sink = SinkBuilder::new(format!("router+bind:{output}"))
            .idle_timeout(Duration::from_secs(3))
            .build()
            .await
            .unwrap();
        let _module = standin(
            &format!("router+bind:{input}"),
            &format!("dealer+connect:{output}"),
        );
        let source = SourceBuilder::new(format!("dealer+connect:{input}"))
            .propagation(Propagation::Jaeger)
            .build()
            .await
            .unwrap();
        let mut matcher = TraceMatcher::new();
        for i in 0..20 {
            let f = VideoFrame::builder("lat").codec("jpeg").pts(i).build();
            let at = std::time::Instant::now();
            let r = source
                .send(SourceFrame::new(f, payload(i as usize, 2000)))
                .await
                .unwrap();
            matcher.sent_at(r.trace_id.unwrap(), "lat", r.pts, at);
        }
        source.send_eos("lat").await.unwrap();
        while let Some(r) = sink.next().await {
            let r = r.unwrap();
            if let Some(t) = r.trace_id {
                matcher.received(t);
            }
            if r.is_end_of_stream() {
                break;
            }
        }
        source.close().await;
        sink.close().await;
        matcher.report()
    });
    assert_eq!(report.frames.len(), 20);
    assert_eq!(report.received(), 20, "missing: {:?}", report.missing());
    assert!(report.unexpected.is_empty());
    assert!(report
        .frames
        .iter()
        .all(|f| f.latency.unwrap() > Duration::ZERO));
    assert!(report.latency_quantile(0.99).unwrap() < Duration::from_secs(5));
}
