//! The example plugins, loaded from their `.so` files, through the
//! savant-rs stand-in module under 0.3.0 and 1.15.1
//! (`savant_rs_0_3::NAME`, `savant_rs_1_15::NAME`): the synthetic source's
//! frames reach the frame-counter sink with their trace ids, counted per
//! source.

use std::time::Duration;

use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_plugin_host::PluginRegistry;
use savant_sdk_tests::{peer_tests, SavantRs};
use serde_json::Value;

peer_tests!(plugin_source_through_savant_rs_standin_into_plugin_sink);

#[path = "../../plugins/host/tests/support/cargo_build.rs"]
mod cargo_build;

/// `lib<name>.so` of one of the plugins, all built (in a target folder
/// of their own, see `cargo_build`) the first time a test asks. The
/// same six packages as plugins/host/tests/support/mod.rs: one command,
/// one feature resolution, so the two never rebuild each other's `.so`.
fn library(name: &str) -> std::path::PathBuf {
    const PLUGINS: [&str; 6] = [
        "savant-sdk-example-synthetic-source",
        "savant-sdk-example-frame-counter",
        "savant-sdk-fixture-no-entry",
        "savant-sdk-fixture-wrong-abi",
        "savant-sdk-fixture-panicking",
        "savant-sdk-fixture-malformed",
    ];
    static BUILT: std::sync::OnceLock<Vec<cargo_build::Artifact>> = std::sync::OnceLock::new();
    let artifacts = BUILT.get_or_init(|| {
        let mut args = Vec::new();
        for p in PLUGINS {
            args.extend(["-p", p]);
        }
        args.push("--lib");
        cargo_build::cargo_build_apart("plugins", &args)
    });
    cargo_build::cdylib(artifacts, name)
        .unwrap_or_else(|| panic!("cargo built no lib{name}.so: {artifacts:?}"))
}

fn plugin_source_through_savant_rs_standin_into_plugin_sink(savant: SavantRs) {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (
        format!("ipc://{}/in.ipc", dir.path().display()),
        format!("ipc://{}/out.ipc", dir.path().display()),
    );
    let summary_path = dir.path().join("summary.json");
    let mut registry = PluginRegistry::new();
    registry
        .load(library("savant_sdk_example_synthetic_source"))
        .unwrap();
    registry
        .load(library("savant_sdk_example_frame_counter"))
        .unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut sink_runner = rt
        .block_on(
            SinkBuilder::new(format!("router+bind:{output}"))
                .idle_timeout(Duration::from_secs(3))
                .build(),
        )
        .unwrap();
    let _module = savant
        .stand_in(
            &format!("router+bind:{input}"),
            &format!("dealer+connect:{output}"),
            &["--mark", "standin/seen"],
        )
        .unwrap();

    let (sent, consumed) = rt.block_on(async {
        let runner = SourceBuilder::new(format!("dealer+connect:{input}"))
            .protocol_version(savant.protocol_version())
            .build()
            .await
            .unwrap();
        let mut sent = Vec::new();
        for source_id in ["cam-a", "cam-b"] {
            let source = registry
                .source(
                    "synthetic",
                    &format!("source_id = '{source_id}'\nframes = 4\nwidth = 64\nheight = 48"),
                )
                .unwrap();
            let summary = runner
                .send_stream_with(source, |r| sent.push(r.clone()))
                .await
                .unwrap();
            assert_eq!(summary.frames, 4, "{savant} module");
        }
        runner.close().await;
        let mut sink = registry
            .sink(
                "frame-counter",
                &format!("summary = '{}'", summary_path.display()),
            )
            .unwrap();
        let consumed = sink_runner.run(&mut sink).await.unwrap();
        sink_runner.close().await;
        (sent, consumed)
    });
    assert_eq!(consumed, 10, "{savant} module: 8 frames and 2 EOS");
    let summary: Value = serde_json::from_slice(&std::fs::read(&summary_path).unwrap()).unwrap();
    assert_eq!(summary["total_frames"], 8, "{savant} module: {summary}");
    for source_id in ["cam-a", "cam-b"] {
        let s = &summary["sources"][source_id];
        assert_eq!(
            (s["frames"].as_u64(), s["eos"].as_u64()),
            (Some(4), Some(1)),
            "{savant} module, {source_id}"
        );
        let expected: Vec<Value> = sent
            .iter()
            .filter(|r| r.kind == "frame" && r.source_id == source_id)
            .map(|r| Value::from(r.trace_id.expect("telemetry on").to_string()))
            .collect();
        assert_eq!(
            s["trace_ids"].as_array().unwrap(),
            &expected,
            "{savant} module, {source_id}"
        );
    }
}
