//! The client runners against a savant-rs stand-in module (a savant-rs
//! reader forwarding to a savant-rs writer, marking frames), under
//! savant-rs 0.3.0 and 1.15.1 (each test once per peer:
//! `savant_rs_0_3::NAME`, `savant_rs_1_15::NAME`), for every socket pair
//! and both trace formats (W3C and Jaeger):
//!
//! * our SourceRunner -> savant-rs stand-in -> savant-rs reader
//! * savant-rs traced writer -> savant-rs stand-in -> our SinkRunner
//! * savant-rs traced writer -> our loopback module -> savant-rs reader
//!
//! In each, the trace ids the sender reports equal the ones that arrive.
//! Our writers stamp the version the peer accepts
//! ([`SavantRs::protocol_version`]).

use std::collections::BTreeMap;
use std::time::Duration;

use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::source::SourceFrame;
use savant_sdk_core::telemetry::{extract_trace_id, Propagation};
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_tests::{payload, peer_tests, Peer, SavantRs};
use serde_json::Value;

peer_tests!(
    our_source_through_a_savant_rs_module_into_a_savant_rs_reader,
    a_savant_rs_source_through_a_savant_rs_module_into_our_sink,
    a_savant_rs_source_through_our_loopback_into_a_savant_rs_reader,
    trace_matching_through_a_savant_rs_module,
);

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

fn standin(savant: SavantRs, input: &str, output: &str) -> Peer {
    savant
        .stand_in(input, output, &["--mark", "standin/seen"])
        .unwrap()
}

fn our_source_through_a_savant_rs_module_into_a_savant_rs_reader(savant: SavantRs) {
    let rt = savant_sdk_tests::two_worker_runtime();
    for (w, r) in PAIRS {
        for (propagation, name) in FORMATS {
            let dir = tempfile::tempdir().unwrap();
            let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
            let mut reader = Peer::spawn_with(
                savant,
                &[
                    "reader",
                    "--socket",
                    &format!("{r}+bind:{output}"),
                    "--eos-count",
                    "1",
                    "--probe-topic",
                    "probe",
                    "--timeout",
                    "60",
                ],
            )
            .unwrap();
            reader.wait_ready(Duration::from_secs(20)).unwrap();
            let _module = standin(
                savant,
                &format!("{r}+bind:{input}"),
                &format!("{w}+connect:{output}"),
            );
            let source = rt
                .block_on(
                    SourceBuilder::new(format!("{w}+connect:{input}"))
                        .propagation(propagation)
                        .protocol_version(savant.protocol_version())
                        .build(),
                )
                .unwrap();
            if w == "pub" {
                // both subscriptions (the module's and the reader's) have travelled
                let probe = || {
                    let f = VideoFrame::builder("probe").codec("jpeg").build();
                    rt.block_on(source.send(SourceFrame::new(f, payload(0, 10))))
                        .unwrap();
                };
                reader
                    .wait_for_probe(probe, Duration::from_secs(30))
                    .unwrap();
            }
            let sent = rt.block_on(async {
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
            let what = format!("ours -> {savant} module -> {savant} reader, {w}/{r} {name}");
            let (status, lines) = reader.finish(Duration::from_secs(30)).unwrap();
            assert!(status.success(), "{what}: {lines:?}");
            let frames: Vec<&Value> = lines
                .iter()
                .filter(|l| l["event"] == "message" && l["kind"] == "frame")
                .collect();
            assert_eq!(frames.len(), 3, "{what}: {lines:?}");
            for (got, s) in frames.iter().zip(&sent) {
                assert!(s.trace_id.is_some(), "{what}: we traced the frame");
                assert_eq!(
                    trace_of(&got["propagated_context"]),
                    s.trace_id.map(|t| t.to_string()),
                    "{what}: trace id through savant-rs"
                );
                assert_eq!(got["content_ok"], true, "{what}");
                assert!(
                    got["attributes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|a| a == "standin/seen"),
                    "{what}: {got}"
                );
                assert_eq!(
                    got["protocol_version"],
                    savant.protocol_version().as_str(),
                    "{what}"
                );
            }
        }
    }
}

fn a_savant_rs_source_through_a_savant_rs_module_into_our_sink(savant: SavantRs) {
    let rt = savant_sdk_tests::two_worker_runtime();
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
                savant,
                &format!("{r}+bind:{input}"),
                &format!("{w}+connect:{output}"),
            );
            let probed = dir.path().join("probed");
            let writer = Peer::spawn_with(
                savant,
                &[
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
                ]
                .into_iter()
                .map(String::from)
                // a pub probes until a probe got here (both subscriptions travelled)
                .chain(savant_sdk_tests::writer_probe_args(w, &probed))
                .collect::<Vec<_>>(),
            )
            .unwrap();
            let got = rt.block_on(async {
                let mut got = Vec::new();
                while let Some(res) = sink.next().await {
                    let res = res.unwrap();
                    if res.source_id() == "probe" {
                        std::fs::write(&probed, b"").unwrap();
                        continue;
                    }
                    let eos = res.is_end_of_stream();
                    got.push(res);
                    if eos {
                        break;
                    }
                }
                sink.close().await;
                got
            });
            let what = format!("{savant} writer -> {savant} module -> our sink, {w}/{r} {name}");
            let (status, lines) = writer.finish(Duration::from_secs(30)).unwrap();
            assert!(status.success(), "{what}: {lines:?}");
            let sent: Vec<Option<String>> = lines
                .iter()
                .filter(|l| l["sent"] == "frame")
                .map(|l| l["trace_id"].as_str().map(String::from))
                .collect();
            assert_eq!(sent.len(), 3, "{what}: {lines:?}");
            assert!(
                sent.iter().all(Option::is_some),
                "{what}: savant-rs traced its frames"
            );
            let frames: Vec<_> = got.iter().filter(|g| g.frame().is_some()).collect();
            assert_eq!(frames.len(), 3, "{what}");
            for (g, s) in frames.iter().zip(&sent) {
                assert_eq!(g.trace_id.map(|t| t.to_string()), *s, "{what}");
                assert_eq!(
                    g.content.as_ref().unwrap(),
                    &payload(g.pts().unwrap() as usize, 1000),
                    "{what}"
                );
                assert!(
                    g.frame().unwrap().attribute("standin", "seen").is_some(),
                    "{what}"
                );
            }
            assert!(got.last().unwrap().is_end_of_stream(), "{what}");
        }
    }
}

fn a_savant_rs_source_through_our_loopback_into_a_savant_rs_reader(savant: SavantRs) {
    for (w, r) in PAIRS {
        for (_, name) in FORMATS {
            let dir = tempfile::tempdir().unwrap();
            let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
            let mut reader = Peer::spawn_with(
                savant,
                &[
                    "reader",
                    "--socket",
                    &format!("{r}+bind:{output}"),
                    "--eos-count",
                    "1",
                    "--probe-topic",
                    "probe",
                    "--timeout",
                    "60",
                ],
            )
            .unwrap();
            reader.wait_ready(Duration::from_secs(20)).unwrap();
            let module = LoopbackModule::start(
                LoopbackConfig::new(format!("{r}+bind:{input}"), format!("{w}+connect:{output}"))
                    .mark("loopback", "seen"),
            )
            .unwrap();
            let probed = dir.path().join("probed");
            let writer = Peer::spawn_with(
                savant,
                &[
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
                ]
                .into_iter()
                .map(String::from)
                .chain(savant_sdk_tests::writer_probe_args(w, &probed))
                .collect::<Vec<_>>(),
            )
            .unwrap();
            if w == "pub" {
                // the writer probes; its probes come out of the loopback
                reader
                    .wait_for_probe(|| {}, Duration::from_secs(30))
                    .unwrap();
                std::fs::write(&probed, b"").unwrap();
            }
            let what =
                format!("{savant} writer -> our loopback -> {savant} reader, {w}/{r} {name}");
            let (status, wlines) = writer.finish(Duration::from_secs(30)).unwrap();
            assert!(status.success(), "{what}: {wlines:?}");
            let (status, rlines) = reader.finish(Duration::from_secs(30)).unwrap();
            assert!(status.success(), "{what}: {rlines:?}");
            let stats = module.stop().unwrap();
            // and the probes, for a pub (some before the reader's subscription came)
            let probes = rlines.iter().filter(|l| l["event"] == "probe").count() as u64;
            if w == "pub" {
                assert!(
                    stats.forwarded >= 4 + probes && probes >= 1,
                    "{what}: {stats:?}"
                );
            } else {
                assert_eq!(stats.forwarded, 4, "{what}");
            }
            let sent: Vec<&Value> = wlines.iter().filter(|l| l["sent"] == "frame").collect();
            let got: Vec<&Value> = rlines
                .iter()
                .filter(|l| l["event"] == "message" && l["kind"] == "frame")
                .collect();
            assert_eq!(got.len(), 3, "{what}: {rlines:?}");
            assert_eq!(sent.len(), 3, "{what}: {wlines:?}");
            for (g, s) in got.iter().zip(&sent) {
                let trace = s["trace_id"].as_str().map(String::from);
                assert!(trace.is_some(), "{what}: savant-rs traced its frames");
                assert_eq!(trace_of(&g["propagated_context"]), trace, "{what}");
                assert_eq!(g["content_ok"], true, "{what}");
                assert!(
                    g["attributes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|a| a == "loopback/seen"),
                    "{what}: {g}"
                );
                // the loopback keeps the sender's version, seq ids and system id
                assert_eq!(g["seq_id"], g["pts"].as_u64().unwrap() + 1, "{what}");
                assert_eq!(g["seq_id"], s["seq_id"], "{what}");
                assert_eq!(g["system_id"], s["system_id"], "{what}");
                assert_eq!(g["protocol_version"], s["protocol_version"], "{what}");
                assert_eq!(
                    g["protocol_version"],
                    savant.protocol_version().as_str(),
                    "{what}"
                );
            }
        }
    }
}

/// Telemetry end to end through savant-rs: every frame's trace survives the
/// stand-in module, and the trace matcher reports a latency for each.
fn trace_matching_through_a_savant_rs_module(savant: SavantRs) {
    use savant_sdk_core::client::TraceMatcher;
    let rt = savant_sdk_tests::two_worker_runtime();
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
    let report = rt.block_on(async {
        let mut sink = SinkBuilder::new(format!("router+bind:{output}"))
            .idle_timeout(Duration::from_secs(3))
            .build()
            .await
            .unwrap();
        let _module = standin(
            savant,
            &format!("router+bind:{input}"),
            &format!("dealer+connect:{output}"),
        );
        let source = SourceBuilder::new(format!("dealer+connect:{input}"))
            .propagation(Propagation::Jaeger)
            .protocol_version(savant.protocol_version())
            .build()
            .await
            .unwrap();
        let matcher = TraceMatcher::new();
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
    assert_eq!(report.frames.len(), 20, "{savant}");
    assert_eq!(
        report.received(),
        20,
        "{savant} module: missing: {:?}",
        report.missing()
    );
    assert!(report.unexpected.is_empty(), "{savant}");
    assert!(report
        .frames
        .iter()
        .all(|f| f.latency.unwrap() > Duration::ZERO));
    assert!(report.latency_quantile(0.99).unwrap() < Duration::from_secs(5));
}
