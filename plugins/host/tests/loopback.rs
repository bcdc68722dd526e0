//! The example plugins loaded from their `.so` files: the synthetic
//! source's frames go through the embedded loopback module into the
//! frame-counter sink; counts and trace ids match, and the plugins' log
//! lines show up in the host's tracing inside the frames' spans.

mod support;

use std::time::Duration;

use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::source::SourceItem;
use savant_sdk_example_frame_counter::Summary;
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_plugin_host::{Origin, PluginRegistry};
use support::{capturing, library, SINK_LIB, SOURCE_LIB};
use tracing::Instrument;

#[test]
fn plugin_source_through_loopback_into_plugin_sink() {
    let (subscriber, capture) = capturing();
    let _guard = tracing::subscriber::set_default(subscriber);
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (
        format!("ipc://{}/in.ipc", dir.path().display()),
        format!("ipc://{}/out.ipc", dir.path().display()),
    );
    let summary_path = dir.path().join("summary.json");

    let mut registry = PluginRegistry::new();
    assert_eq!(
        registry.load(library(SOURCE_LIB)).unwrap(),
        vec!["synthetic"]
    );
    assert_eq!(
        registry.load(library(SINK_LIB)).unwrap(),
        vec!["frame-counter"]
    );
    assert!(matches!(
        registry.info("synthetic").unwrap().origin,
        Origin::Library(_)
    ));

    // a current-thread runtime: plugin calls and their log lines happen on
    // this thread, where the capturing subscriber is the default
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (sent, summary) = rt.block_on(async {
        let mut sink_runner = SinkBuilder::new(format!("router+bind:{output}"))
            .idle_timeout(Duration::from_secs(2))
            .build()
            .await
            .unwrap();
        let module = LoopbackModule::start(LoopbackConfig::new(
            format!("router+bind:{input}"),
            format!("dealer+connect:{output}"),
        ))
        .unwrap();
        let runner = SourceBuilder::new(format!("dealer+connect:{input}"))
            .build()
            .await
            .unwrap();
        let mut source = registry
            .source(
                "synthetic",
                "source_id = 'cam-1'\nframes = 6\nwidth = 64\nheight = 48",
            )
            .unwrap();
        let mut sent = Vec::new();
        for i in 0.. {
            // the frame's span: producing it and sending it happen inside
            let span = tracing::info_span!("frame", index = i);
            let item = source.next().instrument(span.clone()).await.unwrap();
            let Some(item) = item else { break };
            assert!(matches!(item, SourceItem::Frame(_)));
            sent.push(runner.send_item(item).instrument(span).await.unwrap());
        }
        runner.send_eos("cam-1").await.unwrap();
        runner.close().await;
        let mut sink = registry
            .sink(
                "frame-counter",
                &format!("summary = '{}'", summary_path.display()),
            )
            .unwrap();
        let consumed = sink_runner.run(&mut sink).await.unwrap();
        assert_eq!(consumed, 7, "6 frames and an EOS");
        module.stop().unwrap();
        sink_runner.close().await;
        let summary: Summary =
            serde_json::from_slice(&std::fs::read(&summary_path).unwrap()).unwrap();
        (sent, summary)
    });

    // counts and trace ids, as the plugin sink saw them
    assert_eq!(sent.len(), 6);
    assert_eq!(summary.total_frames, 6);
    let cam = &summary.sources["cam-1"];
    assert_eq!((cam.frames, cam.eos), (6, 1));
    assert!(cam.bytes > 6 * 100, "JPEG payloads arrived: {}", cam.bytes);
    let sent_traces: Vec<String> = sent
        .iter()
        .map(|r| r.trace_id.expect("telemetry on").to_string())
        .collect();
    assert_eq!(cam.trace_ids, sent_traces);

    let events = capture.events();
    let plugin_events: Vec<_> = events
        .iter()
        .filter(|e| e.target == "savant_sdk_plugin")
        .collect();
    // the source's log lines: one per frame, inside that frame's span
    let generated: Vec<_> = plugin_events
        .iter()
        .filter(|e| e.message().starts_with("generated frame"))
        .collect();
    assert_eq!(generated.len(), 6, "{plugin_events:#?}");
    for (i, e) in generated.iter().enumerate() {
        assert_eq!(e.fields["plugin"], "synthetic");
        assert_eq!(e.fields["plugin_target"], SOURCE_LIB);
        assert_eq!(
            e.span("frame").expect("inside the frame span")["index"],
            i.to_string()
        );
        assert!(e.span("savant.plugin.next").is_some());
    }
    // the sink's log lines: one per frame, inside the consume span that
    // carries that frame's trace id
    let counted: Vec<_> = plugin_events
        .iter()
        .filter(|e| e.message().starts_with("counted frame"))
        .collect();
    assert_eq!(counted.len(), 6);
    for (e, trace) in counted.iter().zip(&sent_traces) {
        assert_eq!(e.fields["plugin"], "frame-counter");
        let span = e
            .span("savant.plugin.consume")
            .expect("inside the consume span");
        assert_eq!(&span["trace_id"], trace);
        assert!(
            e.message().contains(&format!("trace_id={trace}")),
            "{}",
            e.message()
        );
    }
    // and the sink's own lines outside frames
    assert!(plugin_events
        .iter()
        .any(|e| e.message().starts_with("summary written")));
}
