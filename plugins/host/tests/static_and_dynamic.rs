//! One source file, two ways: the example source linked into this test
//! (found through the static registry) and loaded from its `.so` give
//! the same frames.

mod support;

use savant_sdk_core::source::{Source, SourceItem};
use savant_sdk_plugin_host::{Origin, PluginRegistry};
use support::{capturing, library, SOURCE_LIB};

// Linked statically: its `export_source!` registration comes with it.
use savant_sdk_example_frame_counter as _;
use savant_sdk_example_synthetic_source as _;

fn frames(registry: &PluginRegistry) -> Vec<(String, i64, i64, i64, String, Vec<u8>)> {
    let mut source = registry
        .source(
            "synthetic",
            r#"{"frames": 4, "width": 96, "height": 64, "source_id": "s"}"#,
        )
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut out = Vec::new();
    while let Some(item) = rt.block_on(source.next()).unwrap() {
        let SourceItem::Frame(f) = item else {
            panic!("frames only")
        };
        let fr = f.frame;
        out.push((
            fr.source_id,
            fr.pts,
            fr.width,
            fr.height,
            fr.codec.unwrap_or_default(),
            f.content.to_vec(),
        ));
    }
    out
}

#[test]
fn linked_and_loaded_give_the_same_frames() {
    let (subscriber, capture) = capturing();
    let _guard = tracing::subscriber::set_default(subscriber);

    let linked = PluginRegistry::with_static().unwrap();
    let info = linked.info("synthetic").expect("registered statically");
    assert_eq!((info.origin, info.kind), (Origin::Static, "source"));
    assert_eq!(linked.info("frame-counter").unwrap().kind, "sink");

    let mut loaded = PluginRegistry::new();
    loaded.load(library(SOURCE_LIB)).unwrap();
    assert!(matches!(
        loaded.info("synthetic").unwrap().origin,
        Origin::Library(_)
    ));

    let a = frames(&linked);
    let b = frames(&loaded);
    assert_eq!(a.len(), 4);
    assert_eq!(a, b);
    assert!(a.iter().all(|f| f.5.starts_with(&[0xFF, 0xD8])));

    // linked, the plugin logs straight into our subscriber (its own
    // target); loaded, through the host callback
    let events = capture.events();
    let direct = events
        .iter()
        .filter(|e| e.target == SOURCE_LIB && e.message() == "generated frame")
        .count();
    let forwarded = events
        .iter()
        .filter(|e| e.target == "savant_sdk_plugin" && e.message().starts_with("generated frame"))
        .count();
    assert_eq!((direct, forwarded), (4, 4), "{events:#?}");
}
